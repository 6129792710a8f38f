"""Standardised effect sizes with analytic and bootstrap confidence intervals.

Defines the `EffectSize` record and:

- `cohens_d` (two independent groups, pooled SD) and `cohens_d_from_stats`
  (the same from means, SDs and sizes alone, for aggregated tables),
  `hedges_g` (the same with the small-sample correction J), `paired_d` (d_z: mean difference over the SD of
  the differences) and `cohens_h` (two proportions, arcsine transform);
- the point formulas they are built from: `d_from_stats`, `hedges_j`,
  `d_variance`, `dz_variance`, `h_from_proportions`.

Every estimate is "first group minus second group": positive when `x` (or the
first proportion) is larger.

Analytic CIs are normal approximations, estimate +- z * SE, with

- var(d)   = (n1 + n2) / (n1 n2) + d^2 / (2 (n1 + n2))
  (Hedges & Olkin 1985, *Statistical Methods for Meta-Analysis*, eq. 5.8 in the
  large-sample form; Borenstein et al. 2009, *Introduction to Meta-Analysis*,
  eq. 4.20),
- var(g)   = J^2 var(d), J = Gamma(df/2) / (sqrt(df/2) Gamma((df-1)/2)),
  df = n1 + n2 - 2 (Hedges 1981; approximation 1 - 3 / (4 df - 1)),
- var(d_z) = 1/n + d_z^2 / (2n) (the one-sample form of the same expansion),
- var(h)   = 1/n1 + 1/n2 (Cohen 1988, *Statistical Power Analysis*, ch. 6: the
  arcsine transform stabilises the variance).

Bootstrap CIs ("percentile" or "bca") resample within each group from the
Generator the caller passes; for proportions a within-group resample of n
Bernoulli outcomes is exactly a Binomial(n, p_hat) draw, so `cohens_h` draws
counts. BCa uses closed-form jackknife values (no n^2 loops).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Literal, Optional

import numpy as np
from numpy.typing import ArrayLike
from scipy import special

from simlab.stats import bootstrap as _bs
from simlab.stats._validation import (
    InsufficientDataError,
    as_vector,
    check_confidence,
    check_rng,
    check_summary_groups,
)

CIMethod = Literal["analytic", "percentile", "bca"]

__all__ = [
    "CIMethod",
    "EffectSize",
    "cohens_d",
    "cohens_d_from_stats",
    "cohens_h",
    "d_from_stats",
    "d_variance",
    "dz_variance",
    "h_from_proportions",
    "hedges_g",
    "hedges_j",
    "paired_d",
]


@dataclass(frozen=True)
class EffectSize:
    """One effect-size estimate and its confidence interval.

    Attributes:
        measure: "cohen_d", "hedges_g", "cohen_dz" or "cohen_h".
        estimate: the point estimate (first group minus second).
        ci_low, ci_high: interval bounds (NaN when `ci_method` is None).
        ci_method: "analytic", "percentile", "bca" or None.
        confidence: nominal coverage of the interval, e.g. 0.95.
        se: analytic standard error (reported whatever the CI method).
        n: group sizes (one entry for paired data).
        n_boot: bootstrap resamples, None for analytic intervals.
    """

    measure: str
    estimate: float
    ci_low: float
    ci_high: float
    ci_method: Optional[str]
    confidence: float
    se: float
    n: tuple[int, ...]
    n_boot: Optional[int] = None

    def covers(self, value: float) -> bool:
        """Whether `value` lies inside the closed interval."""
        return bool(self.ci_low <= value <= self.ci_high)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict (tuples become lists)."""
        d = asdict(self)
        d["n"] = list(self.n)
        return d

    def __str__(self) -> str:
        ci = (
            f" [{self.ci_low:.3f}, {self.ci_high:.3f}] ({self.confidence:.0%} {self.ci_method} CI)"
            if self.ci_method
            else ""
        )
        return f"{self.measure} = {self.estimate:.3f}{ci}"


# ---------------------------------------------------------------- point formulas


def hedges_j(df: float, *, exact: bool = True) -> float:
    """Hedges' small-sample correction factor J(df).

    Exact: Gamma(df/2) / (sqrt(df/2) Gamma((df-1)/2)) (Hedges 1981, eq. 6e);
    otherwise the approximation 1 - 3 / (4 df - 1). Requires df > 1.
    """
    if df <= 1:
        raise InsufficientDataError(f"Hedges' J needs df > 1, got df={df}")
    if not exact:
        return 1.0 - 3.0 / (4.0 * df - 1.0)
    return float(np.exp(special.gammaln(df / 2.0) - 0.5 * np.log(df / 2.0) - special.gammaln((df - 1.0) / 2.0)))


def d_from_stats(mean1: float, sd1: float, n1: int, mean2: float, sd2: float, n2: int) -> float:
    """Cohen's d from summary statistics: (mean1 - mean2) / pooled SD (ddof=1 SDs)."""
    if n1 + n2 < 3:
        raise InsufficientDataError("Cohen's d needs n1 + n2 >= 3")
    pooled = math.sqrt(((n1 - 1) * sd1**2 + (n2 - 1) * sd2**2) / (n1 + n2 - 2))
    if pooled == 0.0:
        raise InsufficientDataError("Cohen's d is undefined: both groups have zero variance")
    return (mean1 - mean2) / pooled


def d_variance(d: float, n1: int, n2: int) -> float:
    """Large-sample variance of Cohen's d (Hedges & Olkin 1985)."""
    return (n1 + n2) / (n1 * n2) + d**2 / (2.0 * (n1 + n2))


def dz_variance(dz: float, n: int) -> float:
    """Large-sample variance of the paired effect size d_z."""
    return 1.0 / n + dz**2 / (2.0 * n)


def h_from_proportions(p1: float, p2: float) -> float:
    """Cohen's h = 2 asin(sqrt(p1)) - 2 asin(sqrt(p2))."""
    for name, p in (("p1", p1), ("p2", p2)):
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"{name} must be a proportion in [0, 1], got {p}")
    return 2.0 * math.asin(math.sqrt(p1)) - 2.0 * math.asin(math.sqrt(p2))


# ---------------------------------------------------------------- helpers


def _z(confidence: float) -> float:
    return float(special.ndtri(0.5 + confidence / 2.0))


def _check_method(ci: Optional[str]) -> None:
    if ci not in (None, "analytic", "percentile", "bca"):
        raise ValueError(f"unknown ci method {ci!r}; use 'analytic', 'percentile', 'bca' or None")


def _check_n_boot(n_boot: int) -> int:
    n_boot = int(n_boot)
    if n_boot < 2:
        raise ValueError("n_boot must be at least 2")
    return n_boot


def _ss(x: np.ndarray) -> float:
    c = x - x.mean()
    return float(c @ c)


def _boot_d(x: np.ndarray, y: np.ndarray, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """Bootstrap replicates of Cohen's d, resampling each group (chunked)."""
    n1, n2 = x.size, y.size
    df = n1 + n2 - 2
    chunk = max(1, _bs._CHUNK_ELEMENTS // (n1 + n2))
    out = np.empty(n_boot)
    done = 0
    with np.errstate(divide="ignore", invalid="ignore"):
        while done < n_boot:
            b = min(chunk, n_boot - done)
            xb = x[rng.integers(0, n1, size=(b, n1))]
            yb = y[rng.integers(0, n2, size=(b, n2))]
            mx, my = xb.mean(axis=1), yb.mean(axis=1)
            ss = ((xb - mx[:, None]) ** 2).sum(axis=1) + ((yb - my[:, None]) ** 2).sum(axis=1)
            out[done : done + b] = (mx - my) / np.sqrt(ss / df)
            done += b
    return out


def _loo_mean_ss(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Leave-one-out means and sums of squares of `x`, in O(n)."""
    n = x.size
    m = x.mean()
    c = x - m
    q = float(c @ c)
    shift = -c / (n - 1)  # leave-one-out mean minus full mean
    ss = (q - c**2) - (n - 1) * shift**2
    return m + shift, np.maximum(ss, 0.0)


def _jack_d(x: np.ndarray, y: np.ndarray) -> list[np.ndarray]:
    df = x.size + y.size - 3
    mx_loo, ssx_loo = _loo_mean_ss(x)
    my_loo, ssy_loo = _loo_mean_ss(y)
    ssx, ssy = _ss(x), _ss(y)
    with np.errstate(divide="ignore", invalid="ignore"):
        jx = (mx_loo - y.mean()) / np.sqrt((ssx_loo + ssy) / df)
        jy = (x.mean() - my_loo) / np.sqrt((ssx + ssy_loo) / df)
    return [jx, jy]


def _two_group(x: ArrayLike, y: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    xa = as_vector(x, "x", min_n=2)
    ya = as_vector(y, "y", min_n=2)
    return xa, ya


def _d_with_ci(
    xa: np.ndarray,
    ya: np.ndarray,
    scale: float,
    measure: str,
    ci: Optional[str],
    confidence: float,
    n_boot: int,
    rng: Any,
) -> EffectSize:
    n1, n2 = xa.size, ya.size
    d = d_from_stats(xa.mean(), math.sqrt(_ss(xa) / (n1 - 1)), n1, ya.mean(), math.sqrt(_ss(ya) / (n2 - 1)), n2)
    est = scale * d
    se = scale * math.sqrt(d_variance(d, n1, n2))
    lo = hi = float("nan")
    nb = None
    if ci == "analytic":
        z = _z(confidence)
        lo, hi = est - z * se, est + z * se
    elif ci in ("percentile", "bca"):
        rng = check_rng(rng)
        nb = _check_n_boot(n_boot)
        boot = _boot_d(xa, ya, nb, rng)
        lo_d, hi_d = _bs.interval(ci, d, boot, confidence, lambda: _bs.jackknife_acceleration(_jack_d(xa, ya)))
        lo, hi = scale * lo_d, scale * hi_d
    return EffectSize(measure, float(est), float(lo), float(hi), ci, confidence, float(se), (n1, n2), nb)


# ---------------------------------------------------------------- public estimators


def cohens_d(
    x: ArrayLike,
    y: ArrayLike,
    *,
    ci: Optional[CIMethod] = "analytic",
    confidence: float = 0.95,
    n_boot: int = 2000,
    rng: Optional[np.random.Generator] = None,
) -> EffectSize:
    """Cohen's d of two independent groups, standardised by the pooled SD.

    Args:
        x, y: observations of the first and second group (>= 2 each, no NaN).
        ci: "analytic" (normal approximation, Hedges & Olkin variance),
            "percentile" or "bca" (bootstrap, needs `rng`), or None.
        confidence: nominal coverage.
        n_boot: bootstrap resamples.
        rng: seeded `numpy.random.Generator`; required for bootstrap CIs.
    """
    _check_method(ci)
    confidence = check_confidence(confidence)
    xa, ya = _two_group(x, y)
    return _d_with_ci(xa, ya, 1.0, "cohen_d", ci, confidence, n_boot, rng)


def cohens_d_from_stats(
    mean1: float,
    sd1: float,
    n1: int,
    mean2: float,
    sd2: float,
    n2: int,
    *,
    confidence: float = 0.95,
) -> EffectSize:
    """Cohen's d with its analytic CI from summary statistics (first group minus second).

    For tables aggregated elsewhere (a SQL GROUP BY): equals `cohens_d` on the
    raw data with the same means, ddof=1 SDs and sizes. Only the analytic
    interval is available (a bootstrap needs the observations).

    Raises:
        InsufficientDataError: a group has fewer than 2 observations, an SD is
            not finite, or both groups have zero variance.
    """
    confidence = check_confidence(confidence)
    check_summary_groups("Cohen's d", n1, sd1, n2, sd2)
    d = d_from_stats(mean1, sd1, int(n1), mean2, sd2, int(n2))
    se = math.sqrt(d_variance(d, n1, n2))
    z = _z(confidence)
    return EffectSize("cohen_d", float(d), d - z * se, d + z * se, "analytic", confidence, float(se), (int(n1), int(n2)))


def hedges_g(
    x: ArrayLike,
    y: ArrayLike,
    *,
    exact: bool = True,
    ci: Optional[CIMethod] = "analytic",
    confidence: float = 0.95,
    n_boot: int = 2000,
    rng: Optional[np.random.Generator] = None,
) -> EffectSize:
    """Hedges' g: Cohen's d times the small-sample correction J(n1 + n2 - 2).

    `exact` selects the gamma-function J (default) or the approximation
    1 - 3/(4 df - 1) used by most software (e.g. statsmodels
    `effectsize_smd`). The analytic SE is J * SE(d); bootstrap intervals are
    J times those of d (J is a constant for fixed group sizes).
    Other arguments as in `cohens_d`.
    """
    _check_method(ci)
    confidence = check_confidence(confidence)
    xa, ya = _two_group(x, y)
    j = hedges_j(xa.size + ya.size - 2, exact=exact)
    return _d_with_ci(xa, ya, j, "hedges_g", ci, confidence, n_boot, rng)


def paired_d(
    x: ArrayLike,
    y: Optional[ArrayLike] = None,
    *,
    ci: Optional[CIMethod] = "analytic",
    confidence: float = 0.95,
    n_boot: int = 2000,
    rng: Optional[np.random.Generator] = None,
) -> EffectSize:
    """Paired effect size d_z = mean(x - y) / SD(x - y).

    Pass the two paired measurements, or the differences alone as `x`.
    Equals t / sqrt(n) of the paired t test. Bootstrap resamples pairs.
    Other arguments as in `cohens_d`.
    """
    _check_method(ci)
    confidence = check_confidence(confidence)
    xa = as_vector(x, "x", min_n=2)
    if y is not None:
        ya = as_vector(y, "y", min_n=2)
        if ya.size != xa.size:
            raise ValueError(f"paired samples differ in length: {xa.size} vs {ya.size}")
        diff = xa - ya
    else:
        diff = xa
    n = diff.size
    ss = _ss(diff)
    if ss == 0.0:
        raise InsufficientDataError("d_z is undefined: the paired differences have zero variance")
    dz = float(diff.mean() / math.sqrt(ss / (n - 1)))
    se = math.sqrt(dz_variance(dz, n))
    lo = hi = float("nan")
    nb = None
    if ci == "analytic":
        z = _z(confidence)
        lo, hi = dz - z * se, dz + z * se
    elif ci in ("percentile", "bca"):
        rng = check_rng(rng)
        nb = _check_n_boot(n_boot)
        boot = np.empty(nb)
        chunk = max(1, _bs._CHUNK_ELEMENTS // n)
        done = 0
        with np.errstate(divide="ignore", invalid="ignore"):
            while done < nb:
                b = min(chunk, nb - done)
                db = diff[rng.integers(0, n, size=(b, n))]
                boot[done : done + b] = db.mean(axis=1) / db.std(axis=1, ddof=1)
                done += b

        def accel() -> float:
            m_loo, ss_loo = _loo_mean_ss(diff)
            with np.errstate(divide="ignore", invalid="ignore"):
                jack = m_loo / np.sqrt(ss_loo / (n - 2)) if n > 2 else np.zeros(n)
            return _bs.jackknife_acceleration([jack])

        lo, hi = _bs.interval(ci, dz, boot, confidence, accel)
    return EffectSize("cohen_dz", dz, float(lo), float(hi), ci, confidence, float(se), (n,), nb)


def cohens_h(
    k1: int,
    n1: int,
    k2: int,
    n2: int,
    *,
    ci: Optional[CIMethod] = "analytic",
    confidence: float = 0.95,
    n_boot: int = 2000,
    rng: Optional[np.random.Generator] = None,
) -> EffectSize:
    """Cohen's h for two proportions k1/n1 and k2/n2 (first minus second).

    The analytic CI is h +- z sqrt(1/n1 + 1/n2). Bootstrap replicates draw
    k* ~ Binomial(n, k/n) per group, which is exactly the nonparametric
    bootstrap of the underlying 0/1 outcomes. For outcome arrays pass
    ``(x.sum(), x.size, y.sum(), y.size)``. Other arguments as in `cohens_d`.
    """
    _check_method(ci)
    confidence = check_confidence(confidence)
    for name, k, n in (("group 1", k1, n1), ("group 2", k2, n2)):
        if int(n) != n or int(k) != k:
            raise ValueError(f"{name}: counts must be integers, got k={k}, n={n}")
        if n < 1:
            raise InsufficientDataError(f"{name} has no observations")
        if not 0 <= k <= n:
            raise ValueError(f"{name}: successes k={k} must lie in [0, n={n}]")
    k1, n1, k2, n2 = int(k1), int(n1), int(k2), int(n2)
    h = h_from_proportions(k1 / n1, k2 / n2)
    se = math.sqrt(1.0 / n1 + 1.0 / n2)
    lo = hi = float("nan")
    nb = None
    if ci == "analytic":
        z = _z(confidence)
        lo, hi = h - z * se, h + z * se
    elif ci in ("percentile", "bca"):
        rng = check_rng(rng)
        nb = _check_n_boot(n_boot)
        b1 = rng.binomial(n1, k1 / n1, size=nb)
        b2 = rng.binomial(n2, k2 / n2, size=nb)
        boot = 2.0 * np.arcsin(np.sqrt(b1 / n1)) - 2.0 * np.arcsin(np.sqrt(b2 / n2))

        def accel() -> float:
            phi1 = 2.0 * math.asin(math.sqrt(k1 / n1))
            phi2 = 2.0 * math.asin(math.sqrt(k2 / n2))
            vals, weights = [], []
            for k, n in ((k1, n1), (k2, n2)):
                if n < 2:  # a single observation has no jackknife; contributes nothing
                    vals.append(np.zeros(1))
                    weights.append(np.ones(1))
                    continue
                # phi of the group with one success / one failure left out
                vals.append(
                    2.0 * np.arcsin(np.sqrt(np.array([max(k - 1, 0), min(k, n - 1)]) / (n - 1)))
                )
                weights.append(np.array([k, n - k], dtype=float))
            # h = phi1 - phi2: leave-one-out h values per group
            vals = [vals[0] - phi2, phi1 - vals[1]]
            return _bs.jackknife_acceleration(vals, weights)

        lo, hi = _bs.interval(ci, h, boot, confidence, accel)
    return EffectSize("cohen_h", float(h), float(lo), float(hi), ci, confidence, float(se), (n1, n2), nb)
