"""A run's condition as columns: `condition_columns` and `CONDITION_COLUMNS`.

A study crosses scenarios x agent profiles per slot (``agents: {lead: [...],
counterpart: [...]}`` or one list per scenario role) x named conditions. The
combined label (``"lead_hmm vs counterpart_victim | high"``) stays in
``runs.condition`` for display; these columns hold each part on its own so a
query can group or facet by any of them:

- ``role_a`` / ``role_b``: the scenario's first and second role (the same A
  and B as ``utility_a`` / ``utility_b``);
- ``slot_a`` / ``slot_b``: the study's ``agents:`` key that filled the role
  (``lead`` / ``counterpart``, or the role itself);
- ``agent_a`` / ``agent_b``: the agent profile id in that role;
- ``strategy_a`` / ``strategy_b``: that profile's emotion-strategy name;
- ``condition_name``: the study's ``conditions:`` key (None without conditions).

Everything is derived from the run's spec (`RunSpec.to_json()`, stored as
``spec_json``), so the writer and the migration of older stores compute the
columns with this one function.
"""
from __future__ import annotations

from typing import Any

CONDITION_COLUMNS: tuple[str, ...] = (
    "role_a", "slot_a", "agent_a", "strategy_a",
    "role_b", "slot_b", "agent_b", "strategy_b",
    "condition_name",
)
"""The `runs` columns `condition_columns` fills, in table order."""

_NOT_SLOTS = ("scenario", "condition")


def condition_columns(spec: dict[str, Any] | None) -> dict[str, Any]:
    """The condition columns of one run from its spec dict (`RunSpec.to_json()`); all None for no spec.

    Roles come from ``scenario.roles`` (else the order of ``profiles``); a
    third or later role has no column (every shipped protocol has one or two).
    """
    out: dict[str, Any] = dict.fromkeys(CONDITION_COLUMNS)
    if not isinstance(spec, dict):
        return out
    scenario = spec.get("scenario") if isinstance(spec.get("scenario"), dict) else {}
    profiles = spec.get("profiles") if isinstance(spec.get("profiles"), dict) else {}
    values = spec.get("condition_values") if isinstance(spec.get("condition_values"), dict) else {}
    roles = scenario.get("roles") if isinstance(scenario.get("roles"), list) else list(profiles)
    slots = {str(v): k for k, v in values.items() if k not in _NOT_SLOTS}  # profile id -> agents: key
    for suffix, role in zip(("a", "b"), roles):
        role = str(role)
        profile = profiles.get(role) if isinstance(profiles.get(role), dict) else {}
        agent = profile.get("id")
        strategy = profile.get("strategy")
        out[f"role_{suffix}"] = role
        out[f"agent_{suffix}"] = agent
        out[f"strategy_{suffix}"] = strategy.get("name") if isinstance(strategy, dict) else strategy
        out[f"slot_{suffix}"] = role if role in values else slots.get(str(agent))
    condition = values.get("condition")
    out["condition_name"] = None if condition is None else str(condition)
    return out
