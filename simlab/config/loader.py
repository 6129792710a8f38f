"""Load YAML configs into typed models, with errors that name file, field and fix.

Names in a study (``debt_collection``, ``boulware_creditor``) resolve against
the study file's folder first, then ``scenarios/`` / ``agents/`` beside it, then
the built-ins, and stay confined to those folders (`simlab.config.resolve`).
Every file is read through the bounded reader of `simlab.config.safe_yaml`
(size, depth, aliases, string lengths, finite numbers), so a hostile file is a
one-line `ConfigError`, never a hang, a memory blow-up or a traceback.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ValidationError

from simlab.config.models import AgentProfile, Scenario, Study
from simlab.config.resolve import confined_file, resolve_name
from simlab.config.safe_yaml import read_yaml_file
from simlab.config.templates import scenario_problems, template_problems
from simlab.errors import ConfigError
from simlab.registry import SCENARIO_MODELS

Kind = Literal["scenario", "agent", "study"]
_MODELS: dict[str, type[BaseModel]] = {"scenario": Scenario, "agent": AgentProfile, "study": Study}

_HINTS = {
    "extra_forbidden": "remove it or check its spelling",
    "missing": "add it",
    "literal_error": "use one of the allowed values",
}


def resolve_path(kind: Kind, name: str, near: Path | None = None) -> Path:
    """The YAML file for `name` of `kind` (see `simlab.config.resolve`); ConfigError listing where it looked."""
    return resolve_name(kind, name, near)


def study_file(path: str | Path) -> Path:
    """A study given on the command line: an existing file path, or a name looked up in experiments/."""
    p = Path(path)
    try:
        if p.is_file():
            return p
    except OSError as exc:
        raise ConfigError(f"study {str(path)[:200]}: unusable path ({exc.strerror}); check it") from None
    text = str(path)
    if "/" in text or "\\" in text:
        raise ConfigError(f"study file {text[:200]} not found; check the path")
    return resolve_name("study", text)


def read_yaml(path: Path) -> dict[str, Any]:
    """The mapping a bounded, safe YAML read of `path` gives (`simlab.config.safe_yaml`)."""
    data = read_yaml_file(path)
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
        full = confined_file(path.parent.resolve(), bank["path"], f"{path}: case_bank.path")
        data = {**data, "case_bank": {**bank, "path": str(full)}}
    return parse("scenario", data, path)  # type: ignore[return-value]


def load_agent(name: str, near: Path | None = None) -> AgentProfile:
    path = resolve_path("agent", name, near)
    return parse("agent", read_yaml(path), path)  # type: ignore[return-value]


def load_study(path: str | Path) -> Study:
    p = study_file(path)
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
    try:
        kind = detect_kind(data)
    except ConfigError as exc:
        raise ConfigError(f"{p}: {exc}") from None
    try:
        model = model_for(kind, data).model_validate(data)
    except ValidationError as exc:
        return kind, None, format_validation_errors(p, exc)
    problems: list[str] = []
    if kind == "scenario":
        problems += [f"{p}: {line}" for line in scenario_problems(model.model_dump())]
    if kind == "agent":
        problems += _check_strategy(p, model, strategies)  # type: ignore[arg-type]
        problems += [f"{p}: {line}" for line in template_problems("persona", model.persona, None)]  # type: ignore[union-attr]
    if kind == "study":
        study: Study = model  # type: ignore[assignment]
        scenarios = []
        for i, name in enumerate(study.scenarios):
            try:
                scenarios.append(load_scenario(name, near=p))
            except ConfigError as exc:
                problems.append(f"{p}: scenarios.{i}: {exc}")
        agents: list[AgentProfile] = []
        for role, ids in study.agents.items():
            for i, aid in enumerate(ids):
                try:
                    agent = load_agent(aid, near=p)
                except ConfigError as exc:
                    problems.append(f"{p}: agents.{role}.{i}: {exc}")
                    continue
                agents.append(agent)
                if agent.role != role:
                    problems.append(f"{p}: agents.{role}.{i}: profile '{aid}' has role '{agent.role}', not '{role}'")
                problems += _check_strategy(p, agent, strategies, f"agents.{role}.{i}: ")
        for sc in scenarios:
            try:
                study.role_map(sc.roles)
            except ValueError as exc:
                problems.append(f"{p}: scenario '{sc.id}': {exc}")
            sc_data = sc.model_dump()
            seen = set()
            for agent in [None, *agents]:
                profiles = {agent.role: agent.model_dump()} if agent is not None else {}
                for line in scenario_problems(sc_data, profiles):
                    if line not in seen:
                        seen.add(line)
                        problems.append(f"{p}: scenario '{sc.id}': {line}")
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
