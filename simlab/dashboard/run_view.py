"""One run's JSON columns as plot-ready frames, for the run explorer.

Defines `reservation_values`, `roles_of`, `offer_trajectories`, `belief_frame`,
`reliability_frame` and `format_offer`.
"""
from __future__ import annotations

from typing import Any

import pandas as pd

from simlab.dashboard.catalog import loads as _loads

def _find_utilities(spec: Any, depth: int = 0) -> dict[str, Any] | None:
    if not isinstance(spec, dict) or depth > 3:
        return None
    u = spec.get("utilities")
    if isinstance(u, dict) and any(isinstance(v, dict) and "reservation" in v for v in u.values()):
        return u
    for key in ("scenario", "resolved_scenario", "spec"):
        found = _find_utilities(spec.get(key), depth + 1)
        if found:
            return found
    for v in spec.values():
        if isinstance(v, dict):
            found = _find_utilities(v, depth + 1)
            if found:
                return found
    return None


def reservation_values(spec_json: Any) -> dict[str, float]:
    """role -> reservation utility from a run's spec_json (``utilities.<role>.reservation``), or {}."""
    u = _find_utilities(_loads(spec_json))
    if not u:
        return {}
    out = {}
    for role, cfg in u.items():
        if isinstance(cfg, dict) and cfg.get("reservation") is not None:
            try:
                out[str(role)] = float(cfg["reservation"])
            except (TypeError, ValueError):
                continue
    return out


def roles_of(turns: pd.DataFrame, spec_json: Any = None) -> list[str]:
    """The two roles in speaking order (from spec_json's roles when present)."""
    spec = _loads(spec_json)
    roles: list[str] = []
    for cand in (spec, spec.get("scenario") if isinstance(spec, dict) else None):
        if isinstance(cand, dict) and isinstance(cand.get("roles"), list):
            roles = [str(r) for r in cand["roles"]]
            break
    if not roles and not turns.empty:
        roles = [str(r) for r in pd.unique(turns["role"].dropna())]
    return roles


def offer_trajectories(turns: pd.DataFrame, roles: list[str]) -> pd.DataFrame:
    """Long frame: for every offer, its utility to each role.

    Columns: turn_index, round, proposer, to_role, utility. A turn by role R
    gives utility_self to R and utility_other to the other role.
    """
    rows = []
    if turns.empty:
        return pd.DataFrame(columns=["turn_index", "round", "proposer", "to_role", "utility"])
    for t in turns.itertuples(index=False):
        proposer = str(t.role) if t.role is not None else str(t.speaker)
        other = next((r for r in roles if r != proposer), "other")
        for to_role, value in ((proposer, t.utility_self), (other, t.utility_other)):
            if value is None or pd.isna(value):
                continue
            rows.append([int(t.turn_index), t.round, proposer, to_role, float(value)])
    return pd.DataFrame(rows, columns=["turn_index", "round", "proposer", "to_role", "utility"])


def _numeric_map_frame(turns: pd.DataFrame, column: str, inner: str, key_name: str, value_name: str,
                       *, top_level: bool) -> pd.DataFrame:
    """Long frame of a per-turn JSON map {key: number}: the map under `inner`, or (`top_level`) the column itself."""
    rows = []
    for t in turns.itertuples(index=False):
        value = _loads(getattr(t, column))
        if isinstance(value, dict) and isinstance(value.get(inner), dict):
            value = value[inner]
        elif not top_level:
            continue
        if not isinstance(value, dict):
            continue
        for key, number in value.items():
            if isinstance(number, (int, float)) and not isinstance(number, bool):
                rows.append([int(t.turn_index), t.round, str(t.role), str(key), float(number)])
    return pd.DataFrame(rows, columns=["turn_index", "round", "role", key_name, value_name])


def belief_frame(turns: pd.DataFrame) -> pd.DataFrame:
    """Long frame of belief_json ({state: prob}, or nested under "belief"): turn_index, round, role, state, prob."""
    return _numeric_map_frame(turns, "belief_json", "belief", "state", "prob", top_level=True)


def reliability_frame(turns: pd.DataFrame) -> pd.DataFrame:
    """Long frame of experts_json["reliabilities"] ({expert: w}): turn_index, round, role, expert, weight."""
    return _numeric_map_frame(turns, "experts_json", "reliabilities", "expert", "weight", top_level=False)


def format_offer(offer_json: Any) -> str:
    """'issue=value, ...' for a turn's offer_json, or ''."""
    offer = _loads(offer_json)
    if not isinstance(offer, dict):
        return ""
    parts = []
    for k, v in offer.items():
        if isinstance(v, float):
            parts.append(f"{k}={v:,.4g}")
        else:
            parts.append(f"{k}={v}")
    return ", ".join(parts)
