"""The Python API for studies from scripts: `run_study`, `Study`, `open_store`, `StoreReader`, `report`.

What `simlab run` / `simlab report` do, as functions returning pandas
DataFrames, the way Mesa offers ``batch_run`` beside its UI (issue 8, item 6)::

    import simlab

    study = simlab.Study(study="deadline-sweep", scenarios=["debt_collection"],
                         agents={"creditor": ["boulware_creditor"], "debtor": ["cooperative_debtor"]},
                         conditions={f"d{d}": {"scenario": {"deadline": d}} for d in (4, 8, 12)},
                         seeds=[1, 2, 3], backend={"kind": "scripted"})
    runs = simlab.run_study(study, store="runs/sweep.duckdb")
    runs.groupby("condition")["agreement"].mean()

`Study` is the very pydantic model the YAML files are validated with, so a
study built in Python is checked exactly like one read from a file. This module
sits at the top of the layers, beside the CLI; `import simlab` loads it only
when one of its names is first used.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Callable, Mapping

import pandas as pd
from pydantic import ValidationError

from simlab.config.loader import format_validation_errors, load_study
from simlab.config.models import Study
from simlab.errors import ConfigError, StoreError
from simlab.store.store import DEFAULT_STORE, RunStore

__all__ = ["Study", "StoreReader", "apply_overrides", "check_workers", "max_workers", "open_store", "report", "run_study"]


def max_workers() -> int:
    """The most worker processes a study may ask for: 4 x the CPU count."""
    return 4 * (os.cpu_count() or 1)


def check_workers(workers: int) -> int:
    """`workers` if it is between 1 and `max_workers()`; ConfigError otherwise."""
    if isinstance(workers, bool) or not isinstance(workers, int):
        raise ConfigError(f"--workers must be a whole number, got {workers!r}")
    if workers < 1:
        raise ConfigError("--workers must be at least 1")
    if workers > max_workers():
        raise ConfigError(
            f"--workers {workers} is more than 4 x the {os.cpu_count() or 1} CPUs of this machine ({max_workers()}); use fewer"
        )
    return workers


def _set_dotted(data: dict[str, Any], key: str, value: Any) -> None:
    parts = key.split(".")
    node = data
    for part in parts[:-1]:
        nxt = node.get(part)
        if nxt is None:
            nxt = node[part] = {}
        if not isinstance(nxt, dict):
            raise ConfigError(f"overrides: '{key}': '{part}' is not a mapping in the study; override it whole")
        node = nxt
    node[parts[-1]] = value


def apply_overrides(study: Study, overrides: Mapping[str, Any] | None) -> Study:
    """A copy of `study` with `overrides` set, re-validated.

    Keys are study fields, dotted for nested ones: ``{"seeds": [1, 2],
    "scenario_overrides.deadline": 8, "backend.temperature": 0.2}``.
    """
    if not overrides:
        return study
    data = study.model_dump()
    for key, value in overrides.items():
        if not isinstance(key, str) or not key:
            raise ConfigError(f"overrides: keys are study field names such as 'seeds', got {key!r}")
        _set_dotted(data, key, value)
    try:
        return Study.model_validate(data)
    except ValidationError as exc:
        raise ConfigError("; ".join(format_validation_errors("overrides", exc))) from None


def _as_study(study: Study | str | Path | Mapping[str, Any]) -> tuple[Study, Path | None]:
    if isinstance(study, Study):
        return study, None
    if isinstance(study, Mapping):
        try:
            return Study.model_validate(dict(study)), None
        except ValidationError as exc:
            raise ConfigError("; ".join(format_validation_errors("study", exc))) from None
    if isinstance(study, (str, Path)):
        from simlab.config.loader import study_file

        path = study_file(study)
        return load_study(path), path
    raise ConfigError(f"run_study: give a Study, a mapping or a path to a study YAML, not {type(study).__name__}")


def run_study(
    study: Study | str | Path | Mapping[str, Any],
    backend: str | None = None,
    store: str | Path = DEFAULT_STORE,
    workers: int = 1,
    overrides: Mapping[str, Any] | None = None,
    cache: str | Path | None = None,
    base_dir: str | Path | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    executor: str = "local",
    address: str | None = None,
) -> pd.DataFrame:
    """Run every run of `study` not already in `store`; return all of its runs as a DataFrame.

    Args:
        study: a `Study`, a mapping of its fields, or the path (or name) of a study YAML.
        backend: override the study's backend kind (``scripted`` runs in milliseconds, no model).
        store: the DuckDB run store (created if missing); finished runs are skipped on a rerun.
        workers: worker processes (1 to 4 x the CPU count).
        overrides: study fields to replace, dotted for nested ones (see `apply_overrides`).
        cache: the LLM response cache file (None: no cache).
        base_dir: where the names of a Python-built study resolve (default: the current directory,
            as if the study file lay there); a study file's names resolve beside the file.
        on_progress: called with (finished, total) after each run.
        executor: ``local`` (processes on this machine) or ``ray`` (Ray tasks; `workers` then counts tasks).
        address: the Ray cluster for ``executor="ray"``: None (a private local cluster), ``auto`` or ``ray://HOST:10001``.

    Returns:
        One row per run of the study as expanded now (already stored runs included), in the
        order of the study's grid, with the `runs` table's columns plus one ``metric.NAME``
        column per scenario metric. Failed runs are included with ``status == "failed"``.

    Raises:
        ConfigError: the study, an override or an argument is invalid (nothing is run).
    """
    from simlab.sweep.expand import expand_study
    from simlab.sweep.runner import run_study as _run

    model, path = _as_study(study)
    model = apply_overrides(model, overrides)
    if executor != "ray":
        check_workers(workers)
    from simlab.llm.base import BACKENDS

    if backend is not None and backend not in BACKENDS:
        raise ConfigError(f"backend: unknown backend '{backend}'; use one of {', '.join(BACKENDS.names())}")
    near = path
    if near is None:
        near = Path(base_dir or Path.cwd()) / f"{model.study}.yaml"  # names resolve in base_dir, as for a file there
    specs = expand_study(model, near, backend_kind=backend)
    _run(
        model, workers=workers, backend=backend, store_path=store,
        cache_path=Path(cache) if cache is not None else None, on_progress=on_progress, study_path=near,
        executor=executor, address=address,
    )
    frame = open_store(store).runs(model.study, run_ids=[s.run_id for s in specs])
    order = {s.run_id: i for i, s in enumerate(specs)}
    frame = frame.assign(_order=frame["run_id"].map(order)).sort_values("_order").drop(columns="_order")
    return frame.reset_index(drop=True)


def _expand_json_column(frame: pd.DataFrame, column: str, prefix: str) -> pd.DataFrame:
    if column not in frame.columns or frame.empty:
        return frame
    parsed = [json.loads(v) if isinstance(v, str) and v else {} for v in frame[column]]
    keys = sorted({k for d in parsed if isinstance(d, dict) for k in d})
    for k in keys:
        frame[f"{prefix}{k}"] = [d.get(k) if isinstance(d, dict) else None for d in parsed]
    return frame


class StoreReader:
    """Read-only DataFrame views of one run store (`open_store`).

    Every read opens the file for the one query and closes it again, so a study
    writing the same store meanwhile is not blocked for long.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._store = RunStore(self.path, read_only=True)

    def query(self, sql: str, params: list[Any] | None = None) -> pd.DataFrame:
        """Any read-only SQL over the store's tables (studies, runs, turns, llm_calls)."""
        return self._store.query(sql, params)

    def require_study(self, study_id: str) -> str:
        """`study_id` if the store holds that study; StoreError naming the studies it holds otherwise."""
        from simlab.report.write import require_study

        return require_study(self._store, study_id)

    def studies(self) -> pd.DataFrame:
        """One row per study: id, description, config path, runs planned, timestamps."""
        return self.query(
            "SELECT study_id, description, config_path, n_runs_planned, created_at, updated_at FROM studies ORDER BY study_id"
        )

    def runs(self, study: str | Study | None = None, run_ids: list[str] | None = None, status: str | None = None) -> pd.DataFrame:
        """Runs of `study` (an id or a `Study`; None: every study), ordered by study, condition, seed, replicate.

        Adds one ``metric.NAME`` column per key of ``metrics_json`` (the scenario's outcome metrics).
        `run_ids` restricts to those runs, `status` to ``done`` or ``failed``.
        Raises StoreError for a study id the store does not hold.
        """
        sid = study.study if isinstance(study, Study) else study
        where, params = [], []
        if sid is not None:
            self.require_study(sid)
            where.append("study_id = ?")
            params.append(sid)
        if status is not None:
            where.append("status = ?")
            params.append(status)
        sql = "SELECT * FROM runs" + (" WHERE " + " AND ".join(where) if where else "")
        sql += " ORDER BY study_id, condition, seed, replicate, run_id"
        frame = self.query(sql, params)
        if run_ids is not None:
            frame = frame[frame["run_id"].isin(set(run_ids))]
        return _expand_json_column(frame.reset_index(drop=True), "metrics_json", "metric.")

    def turns(self, run_id: str) -> pd.DataFrame:
        """The turns of one run (a full id or a unique prefix), in order; StoreError if none matches."""
        ids = self.query("SELECT run_id FROM runs WHERE starts_with(run_id, ?) ORDER BY run_id LIMIT 2", [run_id])["run_id"]
        if len(ids) == 0:
            raise StoreError(f"no run '{run_id}' in {self.path}; list run ids with simlab runs STUDY")
        if len(ids) > 1:
            raise StoreError(f"run id prefix '{run_id}' is ambiguous in {self.path}; give more characters")
        return self.query("SELECT * FROM turns WHERE run_id = ? ORDER BY turn_index", [ids[0]])

    def human_trials(self, name: str | None = None) -> pd.DataFrame:
        """Imported human-trial rows (``simlab import human FILE --as NAME``), one per participant and task.

        `name` selects one imported dataset (StoreError naming the imported ones if it is
        not there); None gives every dataset's rows one after another. A store with no
        human import (or written before human imports existed) gives an empty DataFrame:
        there are no human trials in it. Rows are read by `simlab.store.human.load_human_trials`
        (JSON columns decoded, each condition its own column).
        """
        from simlab.store.human import human_datasets, load_human_trials

        if name is not None:
            return load_human_trials(self._store, name)
        names = list(human_datasets(self._store)["dataset"])
        if not names:
            return pd.DataFrame()
        return pd.concat([load_human_trials(self._store, n) for n in names], ignore_index=True)


def open_store(path: str | Path = DEFAULT_STORE) -> StoreReader:
    """A read-only `StoreReader` over the run store at `path`; StoreError if it does not exist."""
    return StoreReader(path)


def report(
    study_id: str | Study, store: str | Path = DEFAULT_STORE, out: str | Path | None = None, baseline: str | None = None
) -> Path:
    """Write the study's report (what `simlab report` writes); returns the report.md path.

    `out` defaults to ``reports/<study_id>``; an existing file there, a study the store
    does not hold or a `baseline` that is not one of the study's lead agents is an error
    before anything is written. ``simlab.report(...)`` is this function (the
    `simlab.report` package is callable).
    """
    from simlab.report.write import write_report

    sid = study_id.study if isinstance(study_id, Study) else study_id
    return write_report(sid, store=store, out=out, baseline=baseline)
