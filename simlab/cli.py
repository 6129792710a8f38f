"""The `simlab` command line (Typer).

Every `SimlabError` becomes one line on stderr and a non-zero exit code; no
traceback for user errors.
"""
from __future__ import annotations

import functools
import json
import sys
from pathlib import Path
from typing import Any, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from simlab.config.resolve import check_file_target
from simlab.errors import ConfigError, SimlabError
from simlab.store.store import DEFAULT_STORE

app = typer.Typer(add_completion=False, no_args_is_help=True, help="simlab: LLM agents negotiating under emotional pressure.")
console = Console(width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 160)

StoreOpt = typer.Option(DEFAULT_STORE, "--store", help="DuckDB run store file.")


@app.command()
def validate(path: Path = typer.Argument(..., help="A scenario, agent or study YAML file.")) -> None:
    """Check a config file; print every problem (file, field, hint) or what it resolved to."""
    from simlab.config.loader import validate_file
    from simlab.llm.base import BACKENDS
    from simlab.strategies import STRATEGIES

    kind, model, problems = validate_file(path, strategies=STRATEGIES, backends=BACKENDS)
    specs = []
    if not problems and kind == "agent":
        from simlab.emotion.labels import DEFAULT_SPACE
        from simlab.strategies.params import validate_strategy_params

        try:
            validate_strategy_params(model.strategy.name, model.strategy.params, DEFAULT_SPACE)  # type: ignore[union-attr]
        except ConfigError as exc:
            problems = [f"{path}: strategy.params: {exc}"]
    if not problems and kind == "study":
        # everything `simlab run` checks before its first run: expansion, strict params, every template, one session per cell
        from simlab.sweep.expand import expand_study
        from simlab.sweep.gate import check_specs
        from simlab.sweep.runner import preflight

        specs = expand_study(model, path)  # type: ignore[arg-type]
        problems = [f"{path}: {line}" for line in check_specs(specs)]
        if not problems:
            try:
                preflight(specs, gate=False)
            except ConfigError as exc:
                problems = [f"{path}: {exc}"]
    if problems:
        for line in problems:
            err.print(line, markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(1)
    console.print(f"{path}: valid {kind}", markup=False)
    console.print_json(json.dumps(model.model_dump(), default=str))  # type: ignore[union-attr]
    if kind == "study":
        console.print(f"{len(specs)} runs in {len({s.condition for s in specs})} conditions", markup=False)
        from simlab.engine.cases import case_error

        bad = [e for e in (case_error(s.scenario) for s in specs) if e]
        if bad:  # such a case fails its own run; the rest of the study runs
            err.print(f"{path}: warning: {len(bad)} of {len(specs)} runs have a case that cannot be applied and "
                      f"will fail; first: {bad[0]}", markup=False, highlight=False, soft_wrap=True)


@app.command()
def run(
    study: Path = typer.Argument(..., help="Study YAML (experiments/*.yaml)."),
    workers: Optional[int] = typer.Option(None, "--workers", "-w", help="Workers: local processes (default 1) or Ray tasks (default: one per cluster CPU)."),
    backend: Optional[str] = typer.Option(None, "--backend", help="Override the study's backend kind (embedded, openai, transformers, scripted)."),
    store: Path = StoreOpt,
    no_cache: bool = typer.Option(False, "--no-cache", help="Do not use the LLM response cache."),
    executor: str = typer.Option("local", "--executor", help="Where runs execute: local (processes on this machine) or ray (a Ray cluster)."),
    address: Optional[str] = typer.Option(None, "--address", help="Ray cluster: auto (started with `ray start --head`) or ray://HOST:10001; default: a private local cluster."),
) -> None:
    """Run a study (skipping runs already stored) and print a table per condition."""
    from simlab.llm.base import BACKENDS
    from simlab.store.store import RunStore
    from simlab.sweep.execute import DEFAULT_CACHE
    from simlab.sweep.runner import run_study
    from simlab.report.summary import summary_table

    if backend is not None and backend not in BACKENDS:
        raise ConfigError(f"--backend: unknown backend '{backend}'; use one of {', '.join(BACKENDS.names())}")
    from simlab.api import check_workers

    if executor == "local":
        check_workers(1 if workers is None else workers)
    elif workers is not None and workers < 1:  # Ray tasks: as many as the cluster can take
        raise ConfigError("--workers must be at least 1")
    check_file_target(store, "--store")
    cache = None if no_cache else store.parent / DEFAULT_CACHE.name
    progress = Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        TextColumn("ETA"), TimeRemainingColumn(), console=err, transient=False,
    )
    task = progress.add_task("runs", total=None)

    def on_progress(done: int, total: int) -> None:
        if not progress.live.is_started:  # started with the first finished run, after config checks
            progress.start()
        progress.update(task, completed=done, total=total)

    try:
        result = run_study(study, workers=workers, backend=backend, store_path=store, cache_path=cache, on_progress=on_progress,
                           executor=executor, address=address)
    finally:
        progress.stop()
    console.print(
        f"study {result.study_id}: {result.planned} runs planned, {result.skipped} already stored, "
        f"{result.ran} ran ({result.failed} failed) in {result.wall_s:.1f}s",
        markup=False,
    )
    for e in result.errors[:5]:
        err.print(f"failed run {e}", markup=False, soft_wrap=True)
    console.print(summary_table(RunStore(store, read_only=True), result.study_id))
    if result.failed:
        raise typer.Exit(1)


@app.command()
def show(run_id: str = typer.Argument(..., help="A run id (or a unique prefix)."), store: Path = StoreOpt) -> None:
    """Print one run's transcript: round, speaker, offer, emotion, message, utilities."""
    from simlab.store.store import RunStore
    from simlab.sweep.summary import transcript_table

    header, table = transcript_table(RunStore(store, read_only=True), run_id)
    console.print(header, markup=False)
    console.print(table)


@app.command()
def runs(
    study_id: str = typer.Argument(...), store: Path = StoreOpt, limit: int = typer.Option(20, "--limit", min=1, help="Most rows to list.")
) -> None:
    """List a study's runs (id, condition, seed, outcome)."""
    from rich.table import Table

    from simlab.api import open_store

    reader = open_store(store)
    reader.require_study(study_id)
    df = reader.query(
        "SELECT run_id, condition, seed, status, outcome, rounds, utility_a, utility_b FROM runs WHERE study_id = ? ORDER BY condition, seed LIMIT ?",
        [study_id, limit],
    )
    table = Table(title=f"runs of {study_id}")
    for c in df.columns:
        table.add_column(c)
    for row in df.itertuples(index=False):
        table.add_row(*[f"{v:.3f}" if isinstance(v, float) else str(v) for v in row])
    console.print(table)


@app.command()
def summary(study_id: str = typer.Argument(...), store: Path = StoreOpt) -> None:
    """Print the per-condition table of a stored study."""
    from simlab.api import open_store
    from simlab.store.store import RunStore
    from simlab.report.summary import summary_table

    open_store(store).require_study(study_id)
    console.print(summary_table(RunStore(store, read_only=True), study_id))


@app.command()
def export(
    study_id: str = typer.Argument(...),
    format: str = typer.Option("parquet", "--format", help="parquet or csv"),
    out: Optional[Path] = typer.Option(None, "--out", help="Output folder (default exports/<study_id>)."),
    store: Path = StoreOpt,
) -> None:
    """Export a study's runs, turns and LLM calls to Parquet (or CSV) files."""
    from simlab.api import open_store
    from simlab.config.resolve import output_dir
    from simlab.store.export import export_study

    open_store(store).require_study(study_id)
    paths = export_study(store, study_id, format, output_dir("exports", study_id, out))
    for p in paths:
        console.print(str(p), markup=False)


@app.command()
def report(
    study_id: str = typer.Argument(..., help="The study id (the `study:` field of its YAML)."),
    store: Path = StoreOpt,
    out: Optional[Path] = typer.Option(None, "--out", help="Output folder (default reports/<study_id>)."),
    baseline: Optional[str] = typer.Option(None, "--baseline", help="Agent id to test every strategy against (default: the vanilla one)."),
) -> None:
    """Write reports/<study_id>/report.md with tables, effect sizes, tests and PNG plots."""
    from simlab.api import report as build

    path = build(study_id, store=store, out=out, baseline=baseline)
    console.print(f"report written to {path}", markup=False)
    text = path.read_text(encoding="utf-8")
    console.print(text.split("\n\n")[1] if "\n\n" in text else "", markup=False, soft_wrap=True)


fit_app = typer.Typer(help="Fit models on stored runs.", no_args_is_help=True)
app.add_typer(fit_app, name="fit")


@fit_app.command("hmm")
def fit_hmm_cmd(
    study: str = typer.Option(..., "--study", help="Study id whose stored turns to fit on."),
    role: Optional[str] = typer.Option(None, "--role", help="Whose emotions to model (default: the counterpart, each scenario's second role)."),
    states: int = typer.Option(4, "--states", min=1, max=64, help="Hidden states (4 keeps the names cooperative, distressed, hostile, deceptive)."),
    seed: int = typer.Option(0, "--seed"),
    out: Optional[Path] = typer.Option(None, "--out", help="Where to save the parameters (default models/hmm_<study>.json)."),
    store: Path = StoreOpt,
) -> None:
    """Fit the counterpart-state HMM (Baum-Welch, hmmlearn) on a study's detected emotions and save it.

    Use the file with `strategy: {name: hmm_game_theory, params: {hmm: PATH}}`.
    """
    from simlab.config.resolve import output_dir
    from simlab.store.store import RunStore
    from simlab.strategies.hmm_tracker import fit_hmm_from_turns, label_sequences_from_turns, save_params

    rs = RunStore(store, read_only=True)
    df = rs.query(
        """SELECT t.run_id, t.role, t.turn_index, t.detected_json AS detected, t.emotion,
                  json_extract_string(r.spec_json, '$.scenario.roles[1]') AS counterpart
           FROM turns t JOIN runs r USING (run_id)
           WHERE r.study_id = ? AND r.status = 'done' ORDER BY t.run_id, t.turn_index""",
        [study],
    )
    if len(df) == 0:
        raise ConfigError(f"study '{study}' has no stored turns in {store}; run it first or check --study")
    df = df[df["role"] == role] if role else df[df["role"] == df["counterpart"]]
    if len(df) == 0:
        raise ConfigError(f"no turns of role '{role}' in study '{study}'; check --role")
    sequences = label_sequences_from_turns(df.to_dict("records"))
    params = fit_hmm_from_turns(sequences, n_states=states, seed=seed)
    path = check_file_target(out or Path("models") / f"hmm_{output_dir('models', study).name}.json", "--out")
    path.parent.mkdir(parents=True, exist_ok=True)
    save_params(params, path)
    console.print(f"fitted a {states}-state HMM on {len(sequences)} sequences ({len(df)} turns); saved to {path}", markup=False)


from simlab.learn.commands import dataset_cmd, ope_cmd, train_app  # noqa: E402 - learned selectors (issue 11)

app.add_typer(train_app, name="train")
app.command("dataset")(dataset_cmd)
app.command("ope")(ope_cmd)


import_app = typer.Typer(help="Bring outside data into simlab: human trials, Genius domains.", no_args_is_help=True)
app.add_typer(import_app, name="import")


@import_app.command("human")
def import_human_cmd(
    file: Path = typer.Argument(..., help="CSV, TSV or Parquet: one row per participant and task."),
    name: str = typer.Option(..., "--as", help="Dataset name reports refer to (simlab report STUDY --human NAME)."),
    mapping: Path = typer.Option(..., "--mapping", help="YAML mapping of the file's columns (see README, human data)."),
    replace: bool = typer.Option(False, "--replace", help="Overwrite a dataset of the same name."),
    store: Path = StoreOpt,
) -> None:
    """Load a human-trial table into the store's human_trials table, with its provenance (file hash, mapping, time)."""
    from simlab.store.human import import_human, load_mapping
    from simlab.store.store import RunStore

    prov = import_human(RunStore(store), file, name, load_mapping(mapping), replace=replace)
    console.print(
        f"imported {prov['n_rows']} trials of {prov['n_participants']} participants as '{name}' into {store} "
        f"(sha256 {prov['file_sha256'][:12]})",
        markup=False,
    )


@import_app.command("genius")
def import_genius_cmd(
    folder: Path = typer.Argument(..., help="A Genius folder: one domain XML and its profile XMLs."),
    out: Path = typer.Option(..., "--out", help="Scenario YAML to write."),
    profile: Optional[list[str]] = typer.Option(None, "--profile", help="Profile file (twice) when the folder has more than two."),
    role: Optional[list[str]] = typer.Option(None, "--role", help="Role name of each profile (twice; default from the file names)."),
    deadline: int = typer.Option(20, "--deadline", min=1, max=1000, help="Rounds (Genius domains set none)."),
    scenario_id: Optional[str] = typer.Option(None, "--id", help="Scenario id (default genius-<folder>-v1)."),
) -> None:
    """Convert a Genius XML domain and two linear-additive profiles into a simlab scenario YAML."""
    import yaml

    from pydantic import ValidationError

    from simlab.config.models import Scenario
    from simlab.config.resolve import check_file_target as _target
    from simlab.interop.genius import genius_to_scenario, read_genius_folder

    data = genius_to_scenario(read_genius_folder(folder, profile or None), deadline=deadline, roles=role or None, scenario_id=scenario_id)
    try:
        Scenario.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ConfigError(f"Genius folder {folder}: the converted scenario is invalid ({first['msg']}); report this") from None
    path = _target(out, "--out")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"# converted from the Genius folder {folder} by `simlab import genius`\n"
                    + yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    console.print(f"wrote {path}: {len(data['issues'])} issues, roles {', '.join(data['roles'])}", markup=False)


@app.command()
def dashboard(
    store: Path = StoreOpt,
    port: int = typer.Option(8501, "--port", help="Port on 127.0.0.1."),
) -> None:
    """Start the Streamlit dashboard over the run store (read-only)."""
    from simlab.dashboard.launch import launch

    code = launch(store, port)
    if isinstance(code, int) and code:
        raise typer.Exit(code)


@functools.lru_cache(maxsize=1)
def _click_command() -> Any:
    """The Click command Typer builds from `app` (built once per process: building it reads every
    command's type hints, which dominated repeated in-process calls such as the config fuzz test)."""
    return typer.main.get_command(app)


def _click_base() -> type[Exception]:
    """The ClickException class of the Click that Typer uses: Typer 0.26+ vendors its own copy
    (``typer._click``), so ``click.ClickException`` from the separate package no longer matches;
    the base is found on the public `typer.BadParameter` instead of a private import."""
    for cls in typer.BadParameter.__mro__:
        if cls.__name__ == "ClickException":
            return cls
    raise RuntimeError("typer.BadParameter does not derive from a ClickException; update simlab.cli")  # pragma: no cover


_CLICK_ERROR = _click_base()


def main() -> None:
    """Entry point: run the app, turning SimlabError into one line."""
    try:
        code = _click_command().main(prog_name="simlab", standalone_mode=False)
        sys.exit(code if isinstance(code, int) else 0)
    except SimlabError as exc:
        err.print(f"error: {exc}", markup=False, highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        err.print("aborted", markup=False)
        sys.exit(130)
    except KeyboardInterrupt:
        err.print("interrupted: finished runs are stored; run the study again to resume", markup=False)
        sys.exit(130)
    except _CLICK_ERROR as exc:  # usage errors: unknown option, bad value, missing argument
        if type(exc).__name__ == "NoArgsIsHelpError":  # bare `simlab`: the help text
            err.print(exc.format_message(), markup=False, highlight=False, soft_wrap=True)
            sys.exit(exc.exit_code)
        message = " ".join(exc.format_message().split())
        cmd = getattr(getattr(exc, "ctx", None), "command_path", None)
        hint = f" (see {cmd} --help)" if cmd else ""
        err.print(f"error: {message}{hint}", markup=False, highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code if isinstance(exc.exit_code, int) and exc.exit_code else 2)


if __name__ == "__main__":
    main()
