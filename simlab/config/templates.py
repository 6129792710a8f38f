"""Checks of the ``{fact}`` templates in scenarios and agent profiles: `template_problems`.

Personas, contexts, behaviour texts and (in decision scenarios) questions,
instructions, arm texts and judgement prompts are `str.format` templates filled
with the run's facts. A lone ``{`` or a placeholder without a fact would only
fail when that role first speaks, after other runs of the study were written;
these checks find every such template of every role before a study starts
(`simlab validate` and the pre-flight check of `simlab run`).
"""
from __future__ import annotations

import string
from typing import Any, Iterator

# (dotted field path, '*' for every key of a mapping / item of a list) of each template field
_SCENARIO_FIELDS: tuple[str, ...] = (
    "personas.*",
    "context",
    "question",
    "instructions",
    "behaviours.*.description",
    "behaviours.*.instructions",
    "arms.*.text",
    "items.*.texts.*",
    "judgement.prompt",
)


def _walk(data: Any, parts: list[str], where: str) -> Iterator[tuple[str, Any]]:
    if not parts:
        yield where, data
        return
    head, rest = parts[0], parts[1:]
    if head == "*":
        if isinstance(data, dict):
            for k, v in data.items():
                yield from _walk(v, rest, f"{where}.{k}")
        elif isinstance(data, list):
            for i, v in enumerate(data):
                key = v.get("id", i) if isinstance(v, dict) else i
                yield from _walk(v, rest, f"{where}.{key}")
    elif isinstance(data, dict) and head in data:
        yield from _walk(data[head], rest, f"{where}.{head}" if where else head)


def scenario_templates(scenario: dict[str, Any]) -> list[tuple[str, str]]:
    """(field path, text) of every template field of a scenario mapping."""
    out = []
    for spec in _SCENARIO_FIELDS:
        for where, text in _walk(scenario, spec.split("."), ""):
            if isinstance(text, str) and text:
                out.append((where.lstrip("."), text))
    return out


def placeholders(text: str) -> set[str]:
    """The fact names `text` uses (``{balance}`` -> balance); ValueError on malformed braces."""
    names = set()
    for _, name, spec, _ in string.Formatter().parse(text):
        if name is not None:
            if name == "" or not name.isidentifier():
                raise ValueError(f"placeholder {{{name}}} is not a fact name (use {{name}}, or {{{{ }}}} for a literal brace)")
            names.add(name)
            if spec:
                placeholders(spec)
    return names


def template_problems(where: str, text: str, facts: set[str] | None) -> list[str]:
    """Problems of one template: malformed braces, and (when `facts` is given) placeholders without a fact."""
    try:
        used = placeholders(text)
    except ValueError as exc:
        return [f"{where}: {exc} in the template; write a literal brace as {{{{ or }}}}"]
    if facts is None:
        return []
    missing = sorted(used - facts)
    if missing:
        return [f"{where}: uses {', '.join('{' + m + '}' for m in missing)} but the scenario has no such fact; add it under facts:"]
    return []


def case_fact_names(scenario: dict[str, Any]) -> set[str]:
    """Facts a scenario's case bank sets per run (columns mapped to a bare name or ``facts.NAME``)."""
    bank = scenario.get("case_bank") or {}
    names = set()
    cols = bank.get("columns", {}) if isinstance(bank, dict) else {}
    for target in (cols.values() if isinstance(cols, dict) else []):
        if isinstance(target, str):
            if target.startswith("facts."):
                names.add(target[len("facts."):])
            elif "." not in target and target != "deadline":
                names.add(target)
    if bank:
        names.add("case_id")
    return names


def scenario_problems(scenario: dict[str, Any], profiles: dict[str, dict[str, Any]] | None = None) -> list[str]:
    """Every template problem of a scenario and of the agent profiles (role -> profile mapping) playing it.

    Negotiation templates must only use facts the scenario (or its case bank)
    defines; decision scenarios check their own placeholders in their models and
    keep unknown ones in agent personas as written, so only their brace syntax is checked here.
    """
    negotiation = scenario.get("protocol", "alternating_offers") == "alternating_offers"
    facts = set(scenario.get("facts") or {}) | case_fact_names(scenario) if negotiation else None
    problems = []
    for where, text in scenario_templates(scenario):
        problems += template_problems(where, text, facts)
    for role, prof in (profiles or {}).items():
        persona = prof.get("persona") or ""
        if isinstance(persona, str) and persona:
            problems += template_problems(f"agent '{prof.get('id', role)}' ({role}): persona", persona, facts)
    return problems
