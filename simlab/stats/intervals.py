"""Confidence intervals of one group: a proportion (Wilson) and a mean (Student t).

Defines `wilson_interval` (k successes in n), `t_interval` (a mean from its
summary statistics) and `mean_ci` (a mean and its t interval from the data).
These are the only implementations in simlab; reports, the decision analysis
and the dashboard all call them.

- Wilson score interval (Wilson 1927, "Probable inference, the law of
  succession, and statistical inference", *JASA* 22, 209-212):
  (p + z^2/2n -+ z sqrt(p(1-p)/n + z^2/4n^2)) / (1 + z^2/n). It stays inside
  [0, 1] and keeps close to nominal coverage for small n and extreme p, where
  the Wald interval fails (Brown, Cai & DasGupta 2001, *Statistical Science*
  16, 101-133).
- Student t interval: mean +- t_{n-1, (1+c)/2} sd / sqrt(n).

A group too small for an interval (n = 0 for a proportion, n < 2 or a
non-finite SD for a mean) gets NaN bounds, which tables print as "-": a
summary table keeps its row and says that the interval is missing rather than
dropping the group.
"""
from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike
from scipy import special, stats

from simlab.stats._validation import check_confidence

__all__ = ["mean_ci", "t_interval", "wilson_interval"]


def wilson_interval(k: float, n: int, *, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of the proportion k/n; (NaN, NaN) when n is 0.

    Args:
        k: successes (0 <= k <= n; a float from mean * n is accepted).
        n: trials.
        confidence: nominal coverage, e.g. 0.95.
    """
    confidence = check_confidence(confidence)
    if n <= 0:
        return (math.nan, math.nan)
    if not 0 <= k <= n:
        raise ValueError(f"successes k={k} must lie in [0, n={n}]")
    z = float(special.ndtri(0.5 + confidence / 2.0))
    p = k / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2.0 * n)) / denom
    half = z * math.sqrt(max(p * (1.0 - p) / n + z * z / (4.0 * n * n), 0.0)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def t_interval(mean: float, sd: float, n: int, *, confidence: float = 0.95) -> tuple[float, float]:
    """Student t interval of a mean from (mean, sample SD, n); (NaN, NaN) when n < 2 or sd is not finite."""
    confidence = check_confidence(confidence)
    if n < 2 or sd is None or not math.isfinite(sd):
        return (math.nan, math.nan)
    half = float(stats.t.ppf(0.5 + confidence / 2.0, n - 1)) * sd / math.sqrt(n)
    return (mean - half, mean + half)


def mean_ci(x: ArrayLike, *, confidence: float = 0.95) -> tuple[float, float, float]:
    """(mean, low, high) of the non-NaN values of `x` with a Student t interval.

    All NaN for no values; NaN bounds for a single value.
    """
    a = np.asarray(x, dtype=float).reshape(-1)
    a = a[~np.isnan(a)]
    if a.size == 0:
        return (math.nan, math.nan, math.nan)
    m = float(a.mean())
    sd = float(a.std(ddof=1)) if a.size > 1 else math.nan
    return (m, *t_interval(m, sd, int(a.size), confidence=confidence))
