"""What `simlab validate` and `simlab run` check of an expanded study before any run starts: `check_specs`.

The config loader checks each file on its own (it sits below the strategies and
cannot look them up); this gate checks the study as it will run, spec by spec,
after condition overrides and case banks are applied:

- every agent's strategy params against the strategy's strict ``Params`` model
  (`simlab.strategies.params.validate_strategy_params` in the label space runs
  use, the same check the strategy runs when it is built), so an unknown key or a NaN is refused before
  the study starts, not after its first runs were written;
- every template of every role (personas, contexts, behaviour texts, decision
  texts) rendered against the run's own facts (`simlab.config.templates`);
- the backend's options against its strict model (`simlab.llm.options`).

Each problem is one line; `simlab validate` prints them all, `simlab run`
stops on them before the first run.
"""
from __future__ import annotations

import json
from typing import Iterable

from simlab.config.templates import scenario_problems
from simlab.emotion.labels import DEFAULT_SPACE
from simlab.engine.spec import RunSpec
from simlab.errors import ConfigError
from simlab.llm.options import check_backend_options
from simlab.strategies.params import validate_strategy_params


def param_problems(specs: Iterable[RunSpec]) -> list[str]:
    """One line per distinct (agent, strategy params) the study's runs use that the strategy refuses."""
    problems: list[str] = []
    seen: set[tuple[str, str]] = set()
    for spec in specs:
        for role, prof in spec.profiles.items():
            strategy = prof.get("strategy") or {}
            key = (str(prof.get("id")), json.dumps(strategy, sort_keys=True, default=str))
            if key in seen:
                continue
            seen.add(key)
            try:
                validate_strategy_params(str(strategy.get("name", "vanilla")), strategy.get("params") or {}, DEFAULT_SPACE)
            except ConfigError as exc:
                where = f" in condition '{spec.condition}'" if spec.condition_values.get("condition") else ""
                problems.append(f"agent '{prof.get('id')}' ({role}){where}: {exc}")
    return problems


def template_problems_of(specs: Iterable[RunSpec]) -> list[str]:
    """One line per template problem of each distinct (resolved scenario, profiles) of the study."""
    problems: list[str] = []
    seen_inputs: set[str] = set()
    seen_lines: set[str] = set()
    for spec in specs:
        key = json.dumps([spec.scenario, spec.profiles], sort_keys=True, default=str)
        if key in seen_inputs:
            continue
        seen_inputs.add(key)
        for line in scenario_problems(spec.scenario, spec.profiles):
            full = f"scenario '{spec.scenario.get('id')}': {line}"
            if full not in seen_lines:
                seen_lines.add(full)
                problems.append(full)
    return problems


def backend_problems(specs: Iterable[RunSpec]) -> list[str]:
    """One line per distinct backend spec of the study whose options its backend does not accept."""
    problems: list[str] = []
    seen: set[str] = set()
    for spec in specs:
        backends = [spec.backend] + [p["backend"] for p in spec.profiles.values() if p.get("backend")]
        for b in backends:
            key = json.dumps(b, sort_keys=True, default=str)
            if key in seen:
                continue
            seen.add(key)
            try:
                check_backend_options(str(b.get("kind")), b.get("options"))
            except ConfigError as exc:
                problems.append(str(exc))
    return problems


def check_specs(specs: list[RunSpec]) -> list[str]:
    """Every problem the gate finds in `specs` (empty: the study may start)."""
    return param_problems(specs) + template_problems_of(specs) + backend_problems(specs)


def require_valid(specs: list[RunSpec]) -> None:
    """ConfigError with the first problem (and how many more) if the gate finds any."""
    problems = check_specs(specs)
    if problems:
        more = f" (and {len(problems) - 1} more problems: run simlab validate on the study)" if len(problems) > 1 else ""
        raise ConfigError(problems[0] + more)
