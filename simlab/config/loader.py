"""Load YAML configs into typed models, with errors that name file, field and fix.

Names in a study (``debt_collection``, ``boulware_creditor``) resolve to files by
looking, in order, at: the name as a path; ``<dir>/<name>.yaml`` beside the
study file's project (the current directory and the directory above the study
file); the built-ins shipped in the package (``simlab/_data``) or the source
checkout.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, Protocol

import yaml
from pydantic import BaseModel, ValidationError

from simlab.config.models import AgentProfile, Scenario, Study
from simlab.errors import ConfigError
from simlab.registry import SCENARIO_MODELS

Kind = Literal["scenario", "agent", "study"]
_DIRS: dict[str, str] = {"scenario": "scenarios", "agent": "agents", "study": "experiments"}
_MODELS: dict[str, type[BaseModel]] = {"scenario": Scenario, "agent": AgentProfile, "study": Study}

_HINTS = {
    "extra_forbidden": "remove it or check its spelling",
    "missing": "add it",
    "literal_error": "use one of the allowed values",
}


def _builtin_roots() -> list[Path]:
    pkg = Path(__file__).resolve().parent.parent
    return [pkg / "_data", pkg.parent]


def resolve_path(kind: Kind, name: str, near: Path | None = None) -> Path:
    """The YAML file for `name` of `kind`; ConfigError listing where it looked."""
    direct = Path(name)
    if direct.suffix in (".yaml", ".yml") and direct.is_file():
        return direct
    sub = _DIRS[kind]
    roots: list[Path] = [Path.cwd()]
    if near is not None:
        near = Path(near)
        roots += [near.parent, near.parent.parent]
    roots += _builtin_roots()
    candidates = []
    for root in roots:
        for fname in (name, f"{name}.yaml", f"{name}.yml"):
            candidates.append(root / sub / fname)
    for c in candidates:
        if c.is_file():
            return c
    shown = name if name.endswith((".yaml", ".yml")) else f"{name}.yaml"
    raise ConfigError(
        f"{kind} '{name}' not found: looked for {shown} and {sub}/{shown} in the current directory, beside the study "
        f"and among the built-ins; create it or fix the name"
    )


def read_yaml(path: Path) -> dict[str, Any]:
    """`yaml.safe_load` of a file that must hold a mapping."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file; check the path") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{path}:{where} is not valid YAML ({getattr(exc, 'problem', exc)}); fix the syntax") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of fields at the top level, got {type(data).__name__}")
    return data


def format_validation_errors(path: Path | str, exc: ValidationError) -> list[str]:
    """One line per problem: ``file: field.path: message (hint)``."""
    lines = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
        msg = err["msg"].removeprefix("Value error, ")
        hint = _HINTS.get(err["type"])
        lines.append(f"{path}: {loc}: {msg}" + (f" ({hint})" if hint else ""))
    return lines


def detect_kind(data: dict[str, Any]) -> Kind:
    """Guess the kind of a YAML mapping from its keys."""
    if "study" in data:
        return "study"
    if "issues" in data or "utilities" in data or "domain" in data or "protocol" in data:
        return "scenario"
    if "role" in data:
        return "agent"
    raise ConfigError(
        "cannot tell whether this is a scenario, agent or study file: a study has 'study:', "
        "a scenario 'issues:', an agent 'role:'"
    )


def scenario_model_for(data: dict[str, Any]) -> type[BaseModel]:
    """The pydantic model a scenario mapping follows, chosen by its `protocol` field."""
    return SCENARIO_MODELS.get(str(data.get("protocol", "alternating_offers")))


def model_for(kind: Kind, data: dict[str, Any]) -> type[BaseModel]:
    """The pydantic model of a mapping of `kind` (scenarios dispatch on their protocol)."""
    if kind == "scenario":
        return scenario_model_for(data)
    return _MODELS[kind]


def parse(kind: Kind, data: dict[str, Any], path: Path | str) -> BaseModel:
    try:
        return model_for(kind, data).model_validate(data)
    except ValidationError as exc:
        lines = format_validation_errors(path, exc)
        raise ConfigError(lines[0] if len(lines) == 1 else f"{len(lines)} problems: " + "; ".join(lines)) from None


def load_scenario(name: str, near: Path | None = None) -> Scenario:
    path = resolve_path("scenario", name, near)
    data = read_yaml(path)
    bank = data.get("case_bank")
    if isinstance(bank, dict) and isinstance(bank.get("path"), str):
        bank_path = Path(bank["path"])
        if not bank_path.is_absolute():
            data = {**data, "case_bank": {**bank, "path": str((path.parent / bank_path).resolve())}}
    return parse("scenario", data, path)  # type: ignore[return-value]


def load_agent(name: str, near: Path | None = None) -> AgentProfile:
    path = resolve_path("agent", name, near)
    return parse("agent", read_yaml(path), path)  # type: ignore[return-value]


def load_study(path: str | Path) -> Study:
    p = Path(path)
    if not p.is_file():
        p = resolve_path("study", str(path))
    return parse("study", read_yaml(p), p)  # type: ignore[return-value]


class Names(Protocol):
    """What `validate_file` needs of a registry: membership and the known names (a `Registry` fits)."""

    def __contains__(self, name: str) -> bool: ...

    def names(self) -> list[str]: ...


def validate_file(
    path: str | Path, strategies: Names | None = None, backends: Names | None = None
) -> tuple[Kind, BaseModel | None, list[str]]:
    """Check one YAML file; returns (kind, model or None, problem lines).

    For a study, also resolves every scenario and agent it names and checks that
    each agent's role exists in each scenario. Strategy and backend names are
    checked against `strategies` and `backends` when given (the CLI passes
    `STRATEGIES` and `BACKENDS`; config sits below the layers that fill them,
    so it cannot look them up itself).
    """
    p = Path(path)
    data = read_yaml(p)
    kind = detect_kind(data)
    try:
        model = model_for(kind, data).model_validate(data)
    except ValidationError as exc:
        return kind, None, format_validation_errors(p, exc)
    problems: list[str] = []
    if kind == "agent":
        problems += _check_strategy(p, model, strategies)  # type: ignore[arg-type]
    if kind == "study":
        study: Study = model  # type: ignore[assignment]
        scenarios = []
        for i, name in enumerate(study.scenarios):
            try:
                scenarios.append(load_scenario(name, near=p))
            except ConfigError as exc:
                problems.append(f"{p}: scenarios.{i}: {exc}")
        for role, ids in study.agents.items():
            for i, aid in enumerate(ids):
                try:
                    agent = load_agent(aid, near=p)
                except ConfigError as exc:
                    problems.append(f"{p}: agents.{role}.{i}: {exc}")
                    continue
                if agent.role != role:
                    problems.append(f"{p}: agents.{role}.{i}: profile '{aid}' has role '{agent.role}', not '{role}'")
                problems += _check_strategy(p, agent, strategies, f"agents.{role}.{i}: ")
        for sc in scenarios:
            try:
                study.role_map(sc.roles)
            except ValueError as exc:
                problems.append(f"{p}: scenario '{sc.id}': {exc}")
        if backends is not None and study.backend.kind not in backends:
            problems.append(f"{p}: backend.kind: unknown backend '{study.backend.kind}' (known: {', '.join(backends.names())})")
    return kind, model, problems


def _check_strategy(path: Path, agent: AgentProfile, strategies: Names | None, prefix: str = "") -> list[str]:
    if strategies is not None and agent.strategy.name not in strategies:
        return [
            f"{path}: {prefix}strategy.name: unknown strategy '{agent.strategy.name}' "
            f"(known: {', '.join(strategies.names())})"
        ]
    return []
