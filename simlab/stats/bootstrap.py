"""Bootstrap confidence intervals: percentile and BCa.

Defines `percentile_interval`, `bca_interval`, `jackknife_acceleration` and the
generic `bootstrap_ci` for any vectorised statistic of one or more independent
samples. The effect-size functions in `simlab.stats.effect_sizes` use the same
interval code with fast, closed-form resampling of their own.

Randomness comes only from the `numpy.random.Generator` the caller passes in, so
an interval is reproducible from its seed (STYLE.md, item 2). Samples are
resampled independently (stratified bootstrap), as in `scipy.stats.bootstrap`;
the BCa acceleration uses the multi-sample jackknife formula of Efron &
Tibshirani (1993), *An Introduction to the Bootstrap*, ch. 14, as scipy does.
"""
from __future__ import annotations

import warnings
from typing import Callable, Literal, Sequence

import numpy as np
from numpy.typing import ArrayLike
from scipy import special

from simlab.stats._validation import as_vector, check_confidence, check_rng

BootstrapMethod = Literal["percentile", "bca"]

# Largest number of floats materialised at once when resampling.
_CHUNK_ELEMENTS = 1 << 22


def _ndtri(p: float) -> float:
    return float(special.ndtri(p))


def _finite(boot: np.ndarray) -> np.ndarray:
    boot = np.asarray(boot, dtype=float)
    ok = np.isfinite(boot)
    if not ok.all():
        warnings.warn(
            f"{int((~ok).sum())} of {boot.size} bootstrap replicates were not finite "
            "(a resample without variation) and were dropped",
            RuntimeWarning,
            stacklevel=3,
        )
        boot = boot[ok]
    return boot


def percentile_interval(boot: ArrayLike, confidence: float = 0.95) -> tuple[float, float]:
    """Equal-tailed percentile interval of bootstrap replicates."""
    confidence = check_confidence(confidence)
    b = _finite(np.asarray(boot, dtype=float))
    if b.size == 0:
        return (float("nan"), float("nan"))
    alpha = 1.0 - confidence
    lo, hi = np.quantile(b, [alpha / 2.0, 1.0 - alpha / 2.0])
    return (float(lo), float(hi))


def jackknife_acceleration(
    jack_values: Sequence[ArrayLike],
    weights: Sequence[ArrayLike | None] | None = None,
) -> float:
    """BCa acceleration from leave-one-out estimates, one array per sample.

    `weights` (optional) gives the multiplicity of each leave-one-out value, so
    binary data can pass two values (drop a success, drop a failure) and their
    counts instead of n copies. Returns 0 when the jackknife has no spread.
    """
    num = 0.0
    den = 0.0
    for j, vals in enumerate(jack_values):
        v = np.asarray(vals, dtype=float)
        w = None if weights is None or weights[j] is None else np.asarray(weights[j], dtype=float)
        if w is None:
            w = np.ones_like(v)
        n = w.sum()
        if n < 2:
            continue
        mean = (w * v).sum() / n
        u = (n - 1.0) * (mean - v)
        num += (w * u**3).sum() / n**3
        den += (w * u**2).sum() / n**2
    if den <= 0.0 or not np.isfinite(den):
        return 0.0
    return float(num / (6.0 * den**1.5))


def bca_interval(
    theta_hat: float,
    boot: ArrayLike,
    acceleration: float,
    confidence: float = 0.95,
) -> tuple[float, float]:
    """Bias-corrected and accelerated interval (Efron 1987).

    The bias correction z0 counts ties as half below, half above the estimate.
    Returns (nan, nan) with a RuntimeWarning when every replicate lies on one
    side of the estimate (z0 infinite).
    """
    confidence = check_confidence(confidence)
    b = _finite(np.asarray(boot, dtype=float))
    if b.size == 0:
        return (float("nan"), float("nan"))
    prop = (np.count_nonzero(b < theta_hat) + np.count_nonzero(b <= theta_hat)) / (2.0 * b.size)
    if prop <= 0.0 or prop >= 1.0:
        warnings.warn(
            "BCa interval undefined: all bootstrap replicates lie on one side of the estimate",
            RuntimeWarning,
            stacklevel=2,
        )
        return (float("nan"), float("nan"))
    z0 = _ndtri(prop)
    alpha = 1.0 - confidence
    levels = []
    for tail in (alpha / 2.0, 1.0 - alpha / 2.0):
        z = _ndtri(tail)
        denom = 1.0 - acceleration * (z0 + z)
        adj = special.ndtr(z0 + (z0 + z) / denom) if denom > 0 else (0.0 if z < 0 else 1.0)
        levels.append(float(adj))
    lo, hi = np.quantile(b, levels)
    return (float(lo), float(hi))


def interval(
    method: BootstrapMethod,
    theta_hat: float,
    boot: np.ndarray,
    confidence: float,
    acceleration: Callable[[], float],
) -> tuple[float, float]:
    """Dispatch to `percentile_interval` or `bca_interval` (acceleration computed lazily)."""
    if method == "percentile":
        return percentile_interval(boot, confidence)
    if method == "bca":
        return bca_interval(theta_hat, boot, acceleration(), confidence)
    raise ValueError(f"unknown bootstrap method {method!r}; use 'percentile' or 'bca'")


def bootstrap_ci(
    statistic: Callable[..., np.ndarray],
    samples: Sequence[ArrayLike],
    *,
    rng: np.random.Generator,
    n_boot: int = 2000,
    confidence: float = 0.95,
    method: BootstrapMethod = "bca",
) -> tuple[float, float]:
    """Bootstrap CI of `statistic` over independent `samples`.

    Args:
        statistic: vectorised function of the samples; each argument arrives
            with observations on the last axis (shape ``(..., n_i)``) and it
            must reduce that axis, e.g. ``lambda x, y: x.mean(-1) - y.mean(-1)``.
        samples: one 1-D array per independent group; each is resampled within
            itself.
        rng: the caller's seeded Generator (required).
        n_boot: number of bootstrap resamples.
        confidence: coverage of the interval.
        method: "percentile" or "bca".

    Returns:
        (low, high).
    """
    rng = check_rng(rng)
    confidence = check_confidence(confidence)
    data = [as_vector(s, f"samples[{i}]", min_n=2) for i, s in enumerate(samples)]
    if n_boot < 2:
        raise ValueError("n_boot must be at least 2")
    theta_hat = float(statistic(*data))
    total = sum(d.size for d in data)
    chunk = max(1, _CHUNK_ELEMENTS // total)
    parts = []
    done = 0
    while done < n_boot:
        b = min(chunk, n_boot - done)
        resampled = [d[rng.integers(0, d.size, size=(b, d.size))] for d in data]
        parts.append(np.asarray(statistic(*resampled), dtype=float).reshape(b))
        done += b
    boot = np.concatenate(parts)

    def accel() -> float:
        return jackknife_acceleration(_jackknife(statistic, data))

    return interval(method, theta_hat, boot, confidence, accel)


def _jackknife(statistic: Callable[..., np.ndarray], data: list[np.ndarray]) -> list[np.ndarray]:
    """Leave-one-out estimates per sample, computed in memory-bounded chunks."""
    out = []
    for j, d in enumerate(data):
        n = d.size
        rows = max(1, _CHUNK_ELEMENTS // max(n, 1))
        vals = []
        for start in range(0, n, rows):
            stop = min(n, start + rows)
            keep = np.ones((stop - start, n), dtype=bool)
            keep[np.arange(stop - start), np.arange(start, stop)] = False
            loo = np.broadcast_to(d, keep.shape)[keep].reshape(stop - start, n - 1)
            args = [
                loo if k == j else np.broadcast_to(other, (stop - start, other.size))
                for k, other in enumerate(data)
            ]
            vals.append(np.asarray(statistic(*args), dtype=float).reshape(stop - start))
        out.append(np.concatenate(vals))
    return out
