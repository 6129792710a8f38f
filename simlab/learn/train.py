"""Training configs and runs behind ``simlab train rl|iql CONFIG.yaml``: `TrainRLFile`, `TrainIQLFile`, `run_train`.

A train config is YAML with ``kind: rl`` or ``kind: iql`` (pydantic, unknown
keys rejected). A trained model's id hashes its resolved config (scenario and
counterpart profiles included, for RL) and, for IQL, the dataset file's
SHA-256, so training the same thing again is skipped, like a stored run. Models
live in ``<out>/<kind>-<id>/`` (default ``models/``): ``meta.json``, the
weights (``model.zip`` or ``iql.pt``), and for RL ``learning_curve.png``.
"""
from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from simlab.config.loader import format_validation_errors, read_yaml
from simlab.errors import ConfigError
from simlab.learn.env import EnvConfig
from simlab.learn.iql import IQLConfig
from simlab.learn.rl import RLConfig


class TrainRLFile(BaseModel):
    """``kind: rl``: an environment and an SB3 algorithm."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["rl"]
    env: EnvConfig
    rl: RLConfig = Field(default_factory=RLConfig)
    out: str = Field("models", description="folder the model folder is written under")
    name: str | None = Field(None, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$",
                             description="also copy the model to <out>/<name> (a stable path for agent profiles)")


class TrainIQLFile(BaseModel):
    """``kind: iql``: a dataset (from ``simlab dataset``) and IQL hyper-parameters."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["iql"]
    dataset: str = Field(..., description="a .parquet file written by `simlab dataset`")
    iql: IQLConfig = Field(default_factory=IQLConfig)
    out: str = "models"
    name: str | None = Field(None, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$",
                             description="also copy the model to <out>/<name> (a stable path for agent profiles)")
    counterparts: list[str] | None = Field(None, description="train only on decisions against these counterpart ids")


@dataclass
class TrainResult:
    kind: str
    model_id: str
    folder: Path
    skipped: bool
    summary: dict[str, Any]
    alias: Path | None = None


def load_train_config(path: str | Path) -> TrainRLFile | TrainIQLFile:
    """The train config at `path`; ConfigError naming the file and field."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"train config {p} not found")
    data = read_yaml(p)
    kind = data.get("kind")
    models = {"rl": TrainRLFile, "iql": TrainIQLFile}
    if kind not in models:
        raise ConfigError(f"{p}: kind: must be 'rl' or 'iql' (got {kind!r})")
    try:
        return models[kind].model_validate(data)
    except ValidationError as exc:
        lines = format_validation_errors(p, exc)
        raise ConfigError(lines[0] if len(lines) == 1 else f"{len(lines)} problems: " + "; ".join(lines)) from None


def _resolve(path: str, near: Path) -> Path:
    p = Path(path)
    if p.is_absolute() or p.exists():
        return p
    beside = near.parent / p
    return beside if beside.exists() else p


def model_id(payload: dict[str, Any]) -> str:
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def run_train(path: str | Path, progress: bool = False, on_progress: Callable[[int, int], None] | None = None,
              force: bool = False) -> TrainResult:
    """Train the model of the config at `path`, or return the stored one when its id exists.

    With ``name``, the model folder is also copied to ``<out>/<name>`` (replacing what was there), the path
    agent profiles name (``params: {model: models/<name>}``).
    """
    p = Path(path)
    cfg = load_train_config(p)
    if isinstance(cfg, TrainIQLFile):
        result = _train_iql(cfg, p, on_progress, force)
    else:
        result = _train_rl(cfg, p, progress, force)
    if cfg.name:
        alias = result.folder.parent / cfg.name
        if alias.resolve() != result.folder.resolve():
            shutil.rmtree(alias, ignore_errors=True)
            shutil.copytree(result.folder, alias)
        result.alias = alias
    return result


def _existing(folder: Path, kind: str, mid: str) -> TrainResult | None:
    meta = folder / "meta.json"
    if meta.is_file():
        return TrainResult(kind, mid, folder, True, json.loads(meta.read_text(encoding="utf-8")).get("summary", {}))
    return None


def _train_iql(cfg: TrainIQLFile, path: Path, on_progress: Callable[[int, int], None] | None, force: bool) -> TrainResult:
    from simlab.learn.dataset import load_dataset
    from simlab.learn.iql import train_iql

    data = load_dataset(_resolve(cfg.dataset, path))
    if cfg.counterparts:
        data = data.only_counterparts(cfg.counterparts)
    mid = model_id({"kind": "iql", "iql": cfg.iql.model_dump(), "dataset": data.digest, "counterparts": cfg.counterparts})
    folder = _resolve(cfg.out, path) / f"iql-{mid}"
    if not force and (hit := _existing(folder, "iql", mid)):
        return hit
    learner = train_iql(data, cfg.iql, on_progress)
    summary = {"rows": len(data), "train_s": learner.history[-1].get("wall_s"), "final_losses": learner.history[-2]
               if len(learner.history) > 1 else {}}
    learner.save(folder, {"model_id": mid, "emotions": list(data.emotions), "dataset": str(cfg.dataset),
                          "dataset_sha256": data.digest, "dataset_meta": data.meta, "summary": summary})
    return TrainResult("iql", mid, folder, False, summary)


def _train_rl(cfg: TrainRLFile, path: Path, progress: bool, force: bool) -> TrainResult:
    from simlab.learn.env import NegotiationEnv
    from simlab.learn.rl import learning_curve_png, train_rl

    probe = NegotiationEnv(cfg.env, near=path)  # resolves scenario and counterparts for the id
    resolved = {"scenario": probe.scenario_data, "counterparts": probe.counterparts, "role": probe.role}
    probe.close()
    mid = model_id({"kind": "rl", "env": cfg.env.model_dump(), "resolved": resolved, "rl": cfg.rl.model_dump()})
    folder = _resolve(cfg.out, path) / f"{cfg.rl.algo}-{mid}"
    if not force and (hit := _existing(folder, cfg.rl.algo, mid)):
        return hit
    model, env, summary = train_rl(cfg.env, cfg.rl, near=path, progress=progress)
    folder.mkdir(parents=True, exist_ok=True)
    model.save(str(folder / "model.zip"))
    learning_curve_png(summary["curve"], folder / "learning_curve.png", f"{cfg.rl.algo.upper()} in {probe.scenario_data['id']}")
    meta = {
        "kind": cfg.rl.algo, "model_id": mid, "emotions": list(env.emotions),
        "n_features": int(env.observation_space.shape[0]), "env": cfg.env.model_dump(), "rl": cfg.rl.model_dump(),
        "summary": {"train_s": summary["train_s"], "evaluation": summary["evaluation"],
                    "episodes": len(summary["curve"])},
    }
    (folder / "meta.json").write_text(json.dumps(meta, indent=1, sort_keys=True), encoding="utf-8")
    env.close()
    return TrainResult(cfg.rl.algo, mid, folder, False, meta["summary"])
