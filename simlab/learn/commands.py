"""CLI commands of the learning layer: ``simlab train rl|iql|expresser``, ``simlab dataset``, ``simlab ope``.

`simlab.cli` mounts them (`train_app`, `dataset_cmd`, `ope_cmd`); heavy imports
(torch, stable-baselines3, gymnasium) happen inside the commands, so the CLI
starts fast. Errors are `SimlabError`s, which the CLI prints as one line.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

import typer
from rich.console import Console
from rich.table import Table

from simlab.errors import ConfigError
from simlab.stats.intervals import mean_ci
from simlab.store.store import DEFAULT_STORE

console = Console(soft_wrap=True)  # paths and figures on one line (scripts and tests read them)
train_app = typer.Typer(help="Train learned emotion selectors (online RL, offline IQL) and the LoRA emotion expresser.", no_args_is_help=True)


def _train(config: Path, force: bool) -> None:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from simlab.learn.train import load_train_config, run_train

    cfg = load_train_config(config)
    if cfg.kind == "iql":
        with Progress("training IQL", BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), console=console) as bar:
            task = bar.add_task("iql", total=cfg.iql.steps)
            result = run_train(config, on_progress=lambda n, total: bar.update(task, completed=n), force=force)
    else:
        result = run_train(config, progress=True, force=force)
    verb = "already trained (same config and data): skipped" if result.skipped else "trained"
    console.print(f"{result.kind} model {result.model_id} {verb} -> {result.folder}")
    ev = result.summary.get("evaluation")
    if ev:
        top = max(ev["emotion_share"], key=ev["emotion_share"].get)
        console.print(
            f"evaluation: mean return {ev['mean_return']:.3f}, utility {ev['mean_utility']:.3f}, "
            f"agreement {ev['agreement_rate']:.0%}; most shown {top} ({ev['emotion_share'][top]:.0%})"
        )
        console.print(f"learning curve: {result.folder / 'learning_curve.png'}")


@train_app.command("rl")
def train_rl_cmd(
    config: Path = typer.Argument(..., help="A train config with kind: rl."),
    force: bool = typer.Option(False, "--force", help="Retrain even if a model with this id exists."),
) -> None:
    """Train PPO or DQN (stable-baselines3) in NegotiationEnv; model under models/."""
    _train(config, force)


@train_app.command("iql")
def train_iql_cmd(
    config: Path = typer.Argument(..., help="A train config with kind: iql."),
    force: bool = typer.Option(False, "--force", help="Retrain even if a model with this id exists."),
) -> None:
    """Train the discrete IQL selector on a dataset from `simlab dataset`."""
    _train(config, force)


@train_app.command("expresser")
def train_expresser_cmd(
    config: Path = typer.Argument(..., help="A train config with kind: expresser."),
    force: bool = typer.Option(False, "--force", help="Retrain even if an adapter with this id exists."),
) -> None:
    """LoRA-tune the transformers backend's model to express the requested emotion (stored turns); adapter under models/."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from simlab.learn.expresser import check_expresser_input, load_expresser_config, train_expresser

    cfg = load_expresser_config(config)
    check_expresser_input(cfg, near=config)  # bad store / study / data: one line before the progress bar
    with Progress("training expresser", BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), console=console) as bar:
        task = bar.add_task("lora", total=cfg.lora.steps)
        meta = train_expresser(cfg, near=config, force=force, on_progress=lambda n, total: bar.update(task, completed=n))
    verb = "already trained (same config and data): skipped" if meta["skipped"] else "trained"
    console.print(f"expresser {meta['model_id']} {verb} -> {meta['folder']}")
    console.print(
        f"emotion-expression accuracy on {meta['n_eval']} held-out prompts (lexicon detector = requested emotion): "
        f"before {meta['accuracy_before']:.1%}, after {meta['accuracy_after']:.1%} ({meta['n_train']} training examples)"
    )
    console.print(f"use it: backend: {{kind: transformers, options: {{adapter: {meta['folder']}}}}}")


def dataset_cmd(
    study_id: str = typer.Argument(..., help="The study whose runs become decisions."),
    out: Path = typer.Option(..., "--out", help="Output .parquet file."),
    role: Optional[str] = typer.Option(None, "--role", help="The deciding role (default: each scenario's first role)."),
    emotions: str = typer.Option("ekman7", "--emotions", help="Label space the study used."),
    store: Path = typer.Option(DEFAULT_STORE, "--store", help="DuckDB run store file."),
) -> None:
    """One row per decision of a role: observation, action, propensity, reward, next observation, done."""
    from simlab.learn.dataset import build_dataset, write_dataset

    rows, meta = build_dataset(store, study_id, role=role, emotions=emotions)
    meta["study_config"] = _study_config(store, study_id)
    path = write_dataset(rows, meta, out)
    missing = sum(not r["has_propensity"] for r in rows)
    note = f"; {missing} without a logged propensity (marked)" if missing else "; every decision has its propensity"
    console.print(f"{len(rows)} decisions from {meta['n_runs']} runs -> {path}{note}")


def _study_config(store: Path, study_id: str) -> dict[str, Any] | None:
    from simlab.store.store import RunStore

    df = RunStore(store, read_only=True).query("SELECT config_json FROM studies WHERE study_id = ?", [study_id])
    return json.loads(df["config_json"][0]) if len(df) and df["config_json"][0] else None


def policy_fn(model: Path, stochastic: bool = False) -> tuple[Any, Any]:
    """(loaded policy, obs batch -> action probabilities): greedy unless `stochastic`."""
    import numpy as np

    from simlab.strategies.learned import load_policy

    policy = load_policy(model)

    def probs(obs: Any) -> Any:
        out = np.array([policy.probs(x) for x in np.asarray(obs, dtype=np.float32)])
        if not stochastic or policy.kind == "dqn":
            out = np.eye(out.shape[1])[out.argmax(axis=1)]
        return out

    return policy, probs


def online_env_config(meta: dict[str, Any], policy_meta: dict[str, Any]) -> dict[str, Any]:
    """The env that replays the dataset's counterparts: the model's own env (RL), else the study's."""
    if "env" in policy_meta:
        return dict(policy_meta["env"])
    study = meta.get("study_config")
    if not study:
        raise ConfigError("--online: the dataset names no study config (rebuild it with `simlab dataset`)")
    keys = [k for k in study["agents"] if k not in ("lead", meta.get("role"))]
    counterparts = [a for k in keys for a in study["agents"][k]]
    return {"scenario": study["scenarios"][0], "counterparts": counterparts,
            "scenario_overrides": study.get("scenario_overrides") or {}, "seeds": study.get("seeds"),
            "backend": {"kind": "scripted"}, "detector": study.get("detector", "lexicon")}


def ope_cmd(
    policy: Path = typer.Option(..., "--policy", help="A model folder (or its model.zip / iql.pt)."),
    dataset: Path = typer.Option(..., "--dataset", help="A .parquet file from `simlab dataset`."),
    online: int = typer.Option(0, "--online", help="Also run the policy N episodes online against the same counterparts."),
    gamma: float = typer.Option(1.0, "--gamma", help="Discount of the value estimated."),
    boot: int = typer.Option(200, "--boot", help="Bootstrap resamples."),
    seed: int = typer.Option(0, "--seed"),
    stochastic: bool = typer.Option(False, "--stochastic", help="Evaluate the policy's distribution, not its argmax."),
    fqe_only: bool = typer.Option(False, "--fqe-only", help="Allow a dataset without propensities (FQE only)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Also write the estimates as JSON."),
) -> None:
    """Off-policy value of a trained selector: per-decision WIS, doubly robust and FQE with bootstrap CIs and ESS."""
    import numpy as np

    from simlab.learn.dataset import load_dataset
    from simlab.learn.ope import evaluate_offline

    data = load_dataset(dataset)
    if not fqe_only:
        data.require_propensities("per-decision WIS and doubly robust (pass --fqe-only for FQE alone)")
    loaded, probs = policy_fn(policy, stochastic)
    if tuple(loaded.emotions) != tuple(data.emotions) or loaded.n_features != data.obs.shape[1]:
        raise ConfigError(f"--policy {policy} was trained on another label space or featuriser than --dataset {dataset}")
    res = evaluate_offline(data, probs, gamma=gamma, n_boot=boot, seed=seed)
    if online:
        from simlab.learn.env import NegotiationEnv
        from simlab.learn.rl import evaluate_policy_fn

        env = NegotiationEnv(online_env_config(data.meta, loaded.meta))
        ev = evaluate_policy_fn(env, lambda x: int(np.argmax(probs(x[None])[0])), online, seed=10_000 + seed)
        r = np.array(ev["returns"])
        mean, low, high = mean_ci(r, confidence=res["level"])
        res["online"] = {"estimate": mean, "ci_low": low, "ci_high": high, "episodes": online}
    table = Table(title=f"value of {policy} from {res['n_episodes']} logged episodes ({res['n_decisions']} decisions)")
    for col in ("estimator", "estimate", f"{res['level']:.0%} CI"):
        table.add_column(col)
    names = {"pdwis": "per-decision WIS", "dr": "doubly robust (WDR)", "fqe": "fitted-Q evaluation", "online": "online (measured)"}
    for key, label in names.items():
        if key in res:
            e = res[key]
            if e.get("why_unreliable"):
                table.add_row(label, "not reliable", e["why_unreliable"])
            else:
                table.add_row(label, f"{e['estimate']:.3f}", f"[{e['ci_low']:.3f}, {e['ci_high']:.3f}]")
        elif key in ("pdwis", "dr"):
            table.add_row(label, "not computed", res["why_no_is"] or "")
    console.print(table)
    if res.get("ess") is not None:
        console.print(f"effective sample size of the episode weights: {res['ess']:.1f} of {res['n_episodes']}")
    if out:
        out.write_text(json.dumps(res, indent=1), encoding="utf-8")
