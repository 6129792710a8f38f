"""What the compare page can plot and group by: `Metric`, `GroupOption`, and the SQL helpers behind them.

A metric is a number per run (a run column, a numeric key of ``metrics_json`` /
``utilities_json``, an outcome rate); a group option is a text column to group
runs by (a run column, a condition column, a key of ``condition_json``). The
`StoreReader` builds the catalogue of a study from these.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

SAFE_KEY = re.compile(r"^[^\"\\\x00-\x1f]{1,200}$")


# --------------------------------------------------------------------------- metrics and groups
@dataclass(frozen=True)
class Metric:
    """A number per run the compare page can plot.

    `key` is stable (``col:utility_a``, ``metrics:recovery_rate``,
    ``utilities:debtor``, ``outcome:walk_away``); `sql` is the expression over
    a `runs` row, with JSON paths bound through `params`; `binary` metrics are
    0/1 per run, so their mean is a rate (Wilson CI, Cohen's h).
    """

    key: str
    label: str
    sql: str
    binary: bool = False
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class GroupOption:
    """A column the compare page can group runs by (`sql` yields text)."""

    key: str
    label: str
    sql: str
    params: dict[str, Any] = field(default_factory=dict)


BASE_METRICS: list[tuple[str, str, bool]] = [
    ("agreement", "agreement rate", True),
    ("utility_a", "utility A", False),
    ("utility_b", "utility B", False),
    ("social_welfare", "social welfare", False),
    ("pareto_distance", "Pareto distance", False),
    ("nash_distance", "Nash distance", False),
    ("rounds", "rounds", False),
    ("n_turns", "turns", False),
    ("ethics_violations", "ethics violations", False),
    ("parse_failures", "parse failures", False),
    ("prompt_tokens", "prompt tokens", False),
    ("completion_tokens", "completion tokens", False),
    ("wall_s", "wall time (s)", False),
    ("llm_s", "LLM time (s)", False),
]

BASE_GROUPS: list[tuple[str, str]] = [
    ("condition", "condition"),
    ("scenario", "scenario"),
    ("backend", "backend"),
    ("model", "model"),
    ("domain", "domain"),
    ("protocol", "protocol"),
    ("agents_json", "agents"),
    ("replicate", "replicate"),
    ("seed", "seed"),
]

CONDITION_GROUPS: list[tuple[str, str, str]] = [
    ("agent_a", "slot_a", "agent"),
    ("strategy_a", "slot_a", "strategy"),
    ("agent_b", "slot_b", "agent"),
    ("strategy_b", "slot_b", "strategy"),
    ("condition_name", "", "named condition"),
]
"""(column, slot column, what) of the condition columns (`simlab.store.conditions`) the page groups by.

Labelled by the study's own slot name where one slot fills the column
("lead strategy", "counterpart agent"), else "agent A" / "strategy B"."""


def condition_group_label(column: str, slot_column: str, what: str, slots: list[str]) -> str:
    """The label of a condition column: "<slot> <what>" when all runs share one slot name, else "<what> A/B"."""
    if not slot_column:
        return what
    if len(slots) == 1 and slots[0]:
        return f"{slots[0]} {what}"
    return f"{what} {column[-1].upper()}"


NUMERIC_JSON = ("BIGINT", "UBIGINT", "DOUBLE", "BOOLEAN", "HUGEINT", "INTEGER")


def json_path(*keys: str) -> str:
    return "$" + "".join(f'."{k}"' for k in keys)


def json_metric_sql(column: str, param: str) -> str:
    return f"TRY_CAST(json_extract({column}, ${param}) AS DOUBLE)"


INTEGER_JSON = ("BIGINT", "UBIGINT", "HUGEINT", "INTEGER")


def structure_sql(column: str) -> str:
    """SQL for the merged JSON structure (keys -> types) of a JSON-text column's objects."""
    cast = f"TRY_CAST({column} AS JSON)"
    return f"json_group_structure(CASE WHEN json_type({cast}) = 'OBJECT' THEN {cast} END)"


def numeric_leaves(structure: Any) -> list[tuple[tuple[str, ...], str]]:
    """(keys, type) of numeric and boolean leaves of a `json_group_structure`, one nested level deep.

    A key whose type differs between runs merges to "JSON" there and is skipped.
    """
    out: list[tuple[tuple[str, ...], str]] = []
    if not isinstance(structure, dict):
        return out
    for key, kind in structure.items():
        if not SAFE_KEY.match(key):
            continue
        if isinstance(kind, str) and kind in NUMERIC_JSON:
            out.append(((key,), kind))
        elif isinstance(kind, dict):
            for sub, sub_kind in kind.items():
                if SAFE_KEY.match(sub) and isinstance(sub_kind, str) and sub_kind in NUMERIC_JSON:
                    out.append(((key, sub), sub_kind))
    return out


def loads(text: Any) -> Any:
    """A JSON-text column value as Python (dicts and lists pass through); None when missing or not JSON."""
    if text is None or (isinstance(text, float) and math.isnan(text)):
        return None
    if isinstance(text, (dict, list)):
        return text
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return None

