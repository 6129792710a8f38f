"""Human-trial data beside an advisory study's simulated runs: `human_beside` (frames for the compare page).

When a store holds an imported human dataset (``simlab import human``,
`simlab.store.human`) that shares a domain with an advisory study, the compare
page draws the human harmful-choice rates and Cohen's h beside the simulated
ones. Nothing is computed here: the simulated runs come from
`simlab.decision.analysis.load_advisory`, the human trials from
`simlab.report.human.human_advisory_frame` (the advisory protocol's own
`rating_outcomes` on the raw rows), and both go through the same
`advisory_summary` (Wilson intervals) and `advisory_contrasts` (Cohen's h,
analytic CI, Fisher's exact p, Holm); the human rates also get the report's
participant cluster bootstrap, because one participant's several tasks are
not independent. This module only lays those results out side by side.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from simlab.decision import analysis as an
from simlab.report.human import human_advisory_frame
from simlab.stats import InsufficientDataError
from simlab.stats.cluster import cluster_bootstrap_ci
from simlab.store.human import human_datasets

RATE_COLUMNS = ["domain", "advisor_type", "source", "n", "participants", "rate", "ci_low", "ci_high",
                "cluster_ci_low", "cluster_ci_high"]
EFFECT_COLUMNS = ["domain", "contrast", "source", "n_a", "n_b", "rate_a", "rate_b", "h", "h_lo", "h_hi", "p_choice",
                  "p_choice_holm"]
N_BOOT = 1000
"""Cluster-bootstrap resamples per human rate (seed 0: the page shows the same interval every time)."""


@dataclass
class HumanBeside:
    """What the compare page draws: one row per (domain, advisor, source) and per (domain, contrast, source).

    `source` is ``simulated`` (or ``simulated: <decider>`` when a study has
    several deciders) or ``human: <dataset>``. `notes` says, per dataset,
    why it is missing or what it is.
    """

    datasets: list[str] = field(default_factory=list)
    rates: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=RATE_COLUMNS))
    effects: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=EFFECT_COLUMNS))
    notes: list[str] = field(default_factory=list)


def _sources(frame: pd.DataFrame, human: str | None) -> pd.Series:
    if human is not None:
        return pd.Series(f"human: {human}", index=frame.index)
    if frame["group"].nunique() > 1:
        return "simulated: " + frame["group"].astype(str)
    return pd.Series("simulated", index=frame.index)


def _rates(frame: pd.DataFrame, human: str | None, rng: np.random.Generator) -> pd.DataFrame:
    summary = an.advisory_summary(frame)
    out = pd.DataFrame({
        "domain": summary["domain"], "advisor_type": summary["advisor_type"], "group": summary["group"],
        "n": summary["n"], "rate": summary["harmful_rate"],
        "ci_low": [ci[0] for ci in summary["harmful_ci"]], "ci_high": [ci[1] for ci in summary["harmful_ci"]],
    })
    out["source"] = _sources(out, human)
    parts, lows, highs = [], [], []
    for r in out.itertuples():
        g = frame[(frame["group"] == r.group) & (frame["domain"] == r.domain) & (frame["advisor_type"] == r.advisor_type)]
        if human is None:
            parts.append(math.nan)
            lows.append(math.nan)
            highs.append(math.nan)
            continue
        g = g.dropna(subset=["harmful_choice"])
        parts.append(int(g["participant"].nunique()))
        if g["participant"].nunique() >= 2:
            _, lo, hi = cluster_bootstrap_ci(g[["participant", "harmful_choice"]],
                                             lambda d: float(np.mean(d["harmful_choice"])), "participant",
                                             rng=rng, n_boot=N_BOOT)
        else:
            lo = hi = math.nan
        lows.append(lo)
        highs.append(hi)
    out["participants"], out["cluster_ci_low"], out["cluster_ci_high"] = parts, lows, highs
    return out[RATE_COLUMNS]


def _effects(frame: pd.DataFrame, human: str | None) -> pd.DataFrame:
    c = an.advisory_contrasts(frame)
    if c.empty:
        return pd.DataFrame(columns=EFFECT_COLUMNS)
    c = c.assign(contrast=c["a"] + " vs " + c["b"])
    c["source"] = _sources(c, human)
    return c[EFFECT_COLUMNS]


def human_beside(store: Any, study_id: str, seed: int = 0) -> HumanBeside | None:
    """Simulated and human harmful-choice rates and Cohen's h of advisory study `study_id`, side by side.

    Args:
        store: anything with ``query(sql, params)`` and ``path`` (a `StoreReader` or `RunStore`).
        study_id: the study.
        seed: the cluster bootstrap's seed.

    Returns:
        None when the study has no finished advisory runs; else a `HumanBeside`
        (with no dataset when none is imported for the study's domains).
    """
    sim = an.load_advisory(store, study_id)
    if sim.empty:
        return None
    out = HumanBeside()
    imported = human_datasets(store)
    if imported.empty:
        return out
    domains = set(sim["domain"])
    rng = np.random.default_rng(seed)
    rates, effects = [], []
    for name in imported["dataset"]:
        try:
            hum = human_advisory_frame(store, name)
        except InsufficientDataError as exc:
            out.notes.append(f"`{name}`: not shown: {exc}")
            continue
        shared = domains & set(hum["domain"])
        if not shared:
            out.notes.append(f"`{name}`: no domain in common with this study (its domains: "
                             f"{', '.join(sorted(set(hum['domain'])))}; the study's: {', '.join(sorted(domains))})")
            continue
        out.datasets.append(name)
        hum = hum[hum["domain"].isin(shared)]
        rates.append(_rates(hum, name, rng))
        effects.append(_effects(hum, name))
    if not out.datasets:
        return out
    shown = sim[sim["domain"].isin(set().union(*(set(r["domain"]) for r in rates)))]
    rates.insert(0, _rates(shown, None, rng))
    effects.insert(0, _effects(shown, None))
    out.rates = pd.concat(rates, ignore_index=True).sort_values(["domain", "advisor_type", "source"], kind="stable",
                                                                ignore_index=True)
    effects = [e for e in effects if not e.empty]
    if effects:
        out.effects = pd.concat(effects, ignore_index=True).sort_values(["domain", "contrast", "source"], kind="stable",
                                                                        ignore_index=True)
    return out
