"""The compare page's statistics over a `group_summary` frame: `add_intervals`, `effect_sizes_vs`.

Every interval, effect size and test comes from `simlab.stats` (Wilson and
Student t intervals, Cohen's d with Welch's t for means, Cohen's h with the
two-proportion z test for rates); this module only maps summary rows (n,
mean, sd per group) onto those functions. A comparison that cannot be
computed keeps its row, with NaN numbers and a `note` saying why.
"""
from __future__ import annotations

import math
from typing import Any

import pandas as pd

from simlab.stats import (
    InsufficientDataError,
    cohens_d_from_stats,
    cohens_h,
    t_interval,
    two_proportion_z,
    welch_t_from_stats,
    wilson_interval,
)

EFFECT_COLUMNS = ["group", "n", "mean", "baseline_mean", "difference", "effect", "effect_ci_low", "effect_ci_high",
                  "p_value", "note"]


def _sd(value: Any) -> float:
    return float(value) if value is not None and not pd.isna(value) else math.nan


def add_intervals(summary: pd.DataFrame, binary: bool, level: float = 0.95) -> pd.DataFrame:
    """Add ci_low / ci_high (Wilson for a rate, Student t for a mean) to a `group_summary` frame."""
    out = summary.copy()
    lows, highs = [], []
    for row in out.itertuples(index=False):
        n = int(row.n)
        if binary:
            lo, hi = wilson_interval(_count(row.mean, n), n, confidence=level)
        else:
            lo, hi = t_interval(row.mean, _sd(row.sd), n, confidence=level)
        lows.append(lo)
        highs.append(hi)
    out["ci_low"] = lows
    out["ci_high"] = highs
    return out


def _count(rate: float, n: int) -> int:
    """Successes behind a group's mean of 0/1 values (mean * n is a whole number up to rounding)."""
    return int(round(min(max(float(rate), 0.0), 1.0) * n))


def effect_sizes_vs(summary: pd.DataFrame, baseline: str, binary: bool, level: float = 0.95) -> pd.DataFrame:
    """Each group against `baseline`: difference, Cohen's d (means) or h (rates), its CI and a p-value.

    The p-value is Welch's t-test from summary statistics for means, the pooled
    two-proportion z-test for rates. Where a group is too small or has no
    variation, the effect or p-value is NaN and `note` says why. A summary with
    a ``by`` column (a second grouping) is compared within each ``by`` level,
    against that level's baseline group, and the result keeps the ``by`` column.
    """
    if "by" in summary.columns:
        parts = []
        for by_value, sub in summary.groupby("by", sort=False):
            part = effect_sizes_vs(sub.drop(columns=["by"]), baseline, binary, level)
            part.insert(1, "by", by_value)
            parts.append(part)
        columns = EFFECT_COLUMNS[:1] + ["by"] + EFFECT_COLUMNS[1:]
        parts = [p for p in parts if not p.empty]
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)
    base = summary[summary["group"] == baseline]
    if base.empty:
        return pd.DataFrame(columns=EFFECT_COLUMNS)
    b = base.iloc[0]
    n0 = int(b["n"])
    rows = []
    for r in summary.itertuples(index=False):
        if r.group == baseline:
            continue
        n1 = int(r.n)
        eff = lo = hi = p = math.nan
        notes = []
        if binary:
            k1, k0 = _count(r.mean, n1), _count(b["mean"], n0)
            try:
                es = cohens_h(k1, n1, k0, n0, confidence=level)
                eff, lo, hi = es.estimate, es.ci_low, es.ci_high
            except InsufficientDataError as exc:
                notes.append(f"no Cohen's h: {exc}")
            try:
                p = two_proportion_z(k1, n1, k0, n0).p_value
            except InsufficientDataError as exc:
                notes.append(f"no p: {exc}")
        else:
            s1, s0 = _sd(r.sd), _sd(b["sd"])
            try:
                es = cohens_d_from_stats(r.mean, s1, n1, b["mean"], s0, n0, confidence=level)
                eff, lo, hi = es.estimate, es.ci_low, es.ci_high
            except InsufficientDataError as exc:
                notes.append(f"no Cohen's d: {exc}")
            try:
                p = welch_t_from_stats(r.mean, s1, n1, b["mean"], s0, n0).p_value
            except InsufficientDataError as exc:
                notes.append(f"no p: {exc}")
        rows.append([r.group, n1, r.mean, b["mean"], r.mean - b["mean"], eff, lo, hi, p, "; ".join(notes)])
    return pd.DataFrame(rows, columns=EFFECT_COLUMNS)
