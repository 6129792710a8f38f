"""Intervals that respect a metric's bounds: `bounded_mean_ci`.

A t interval around the mean of a bounded quantity (a utility in [0, 1], a
distance >= 0, a collection rate) can reach outside what the quantity can be
(an agreement-rate CI of [-0.1, 0.5], a utility above 1). Reports draw these
instead: the percentile bootstrap of the mean (Efron & Tibshirani 1993, ch. 13),
whose bounds are means of resamples and so always lie inside
[min(x), max(x)], hence inside the metric's bounds, clipped to `low` / `high`
when they are given. Rates (0/1 outcomes) use `simlab.stats.wilson_interval`.

The bootstrap generator is seeded from `seed` (default 0), so a report is
reproducible to the last digit; the data are sorted before resampling, so the
interval does not depend on the order the runs were loaded in.
"""
from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

from simlab.stats._validation import check_confidence

__all__ = ["bounded_mean_ci"]


def bounded_mean_ci(
    x: ArrayLike,
    low: float | None = None,
    high: float | None = None,
    *,
    confidence: float = 0.95,
    n_boot: int = 2000,
    seed: int = 0,
) -> tuple[float, float, float]:
    """(mean, ci_low, ci_high) of `x` (NaNs dropped) by the percentile bootstrap, inside [low, high].

    Bounds are NaN when there are fewer than two values or the values do not
    vary (no interval can be estimated from identical values; a report says so).
    """
    confidence = check_confidence(confidence)
    a = np.sort(np.asarray(x, dtype=float).ravel())
    a = a[~np.isnan(a)]
    if a.size == 0:
        return (math.nan, math.nan, math.nan)
    m = float(a.mean())
    if low is not None:
        m = max(m, float(low))
    if high is not None:
        m = min(m, float(high))
    if a.size < 2 or float(a[-1]) == float(a[0]):
        return (m, math.nan, math.nan)
    rng = np.random.default_rng(seed)
    means = np.empty(int(n_boot))
    chunk = max(1, (1 << 20) // a.size)
    for start in range(0, int(n_boot), chunk):
        stop = min(int(n_boot), start + chunk)
        idx = rng.integers(0, a.size, size=(stop - start, a.size))
        means[start:stop] = a[idx].mean(axis=1)
    alpha = 1.0 - confidence
    lo, hi = (float(v) for v in np.quantile(means, [alpha / 2, 1 - alpha / 2]))
    lo, hi = max(lo, float(a[0])), min(hi, float(a[-1]))
    if low is not None:
        lo = max(lo, float(low))
    if high is not None:
        hi = min(hi, float(high))
    return (m, lo, hi)
