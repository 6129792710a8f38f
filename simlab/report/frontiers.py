"""The two Pareto frontiers of a negotiation study, side by side: `frontier_section`.

simlab scores every agreement against two frontiers (`simlab.engine.outcome`):

- the **convex hull** frontier (`runs.pareto_distance`, `runs.nash_distance`):
  the frontier of all utility pairs reachable by mixing outcomes; for
  continuous issues it is the exact frontier;
- the **reachable** frontier (``utilities_json.reachable``): the Pareto-optimal
  outcomes the negotiation can actually agree on when every issue is discrete
  or integer, with the Nash point among them; NegMAS's `pareto_frontier` /
  `nash_points` give the same numbers.

A reachable value is missing ("= hull") when a continuous issue makes every
hull point reachable, or the outcome space is too large to enumerate.
"""
from __future__ import annotations

import json
import math
from typing import Any

import pandas as pd

from simlab.stats.bounded import bounded_mean_ci

__all__ = ["frontier_section"]


def _reachable(utilities_json: Any) -> dict[str, Any]:
    try:
        data = json.loads(utilities_json) if utilities_json else {}
    except (TypeError, ValueError):
        return {}
    return data.get("reachable") or {}


def _cell(x: pd.Series) -> str:
    x = pd.to_numeric(x, errors="coerce").dropna()
    if x.empty:
        return "= hull"
    if x.nunique() < 2:
        return f"{x.iloc[0]:.3f}"
    m, lo, hi = bounded_mean_ci(x.to_numpy(dtype=float), 0.0, None)
    return f"{m:.3f} [{lo:.3f}, {hi:.3f}]" if math.isfinite(lo) else f"{m:.3f}"


def frontier_section(store: Any, study_id: str, strategy_of: pd.Series | None = None) -> list[str]:
    """Markdown: mean Pareto and Nash distances per domain (and strategy) to both frontiers, each column named."""
    df = store.query(
        "SELECT run_id, domain, condition_json, pareto_distance, nash_distance, utilities_json FROM runs "
        "WHERE study_id = ? AND status = 'done' AND protocol = 'alternating_offers' ORDER BY run_id",
        [study_id],
    )
    if df.empty:
        return []
    reach = df["utilities_json"].map(_reachable)
    df["pareto_reachable"] = reach.map(lambda r: r.get("pareto_distance"))
    df["nash_reachable"] = reach.map(lambda r: r.get("nash_distance"))
    if strategy_of is not None:
        df["strategy"] = df["run_id"].map(strategy_of)
    else:
        df["strategy"] = df["condition_json"].map(lambda s: (json.loads(s) or {}).get("lead", "")) if len(df) else ""
    lines = [
        "## Pareto and Nash distances: convex-hull and reachable frontiers",
        "",
        "Convex hull: the frontier of every utility pair reachable by mixing outcomes (the `pareto_distance` and "
        "`nash_distance` columns above). Reachable: the Pareto-optimal outcomes a negotiation can agree on (discrete "
        "and integer issues; individually rational, as NegMAS computes them) and the Nash point among them; "
        "'= hull' where a continuous issue makes every hull point reachable. Means with 95% bootstrap intervals.",
        "",
        "| domain | strategy | n | Pareto distance (convex hull) | Pareto distance (reachable outcomes) | "
        "Nash distance (convex hull) | Nash distance (reachable outcomes) |",
        "|---|---|---|---|---|---|---|",
    ]
    for (domain, strategy), g in df.groupby(["domain", "strategy"], sort=True):
        lines.append(
            f"| {domain} | {strategy} | {len(g)} | {_cell(g['pareto_distance'])} | {_cell(g['pareto_reachable'])} | "
            f"{_cell(g['nash_distance'])} | {_cell(g['nash_reachable'])} |"
        )
    return lines + [""]
