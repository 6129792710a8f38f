"""Hypothesis tests returning one small record each, and Holm's correction.

Defines `HypothesisTestResult`, `welch_t` (and `welch_t_from_stats` for
aggregated tables), `two_proportion_z`, `chi2_independence`,
`fisher_exact_2x2`, `HolmResult` and `holm`.

Every test reports its statistic, p value, degrees of freedom (None where the
test has none) and an effect size with its name, so a report can tabulate mixed
tests uniformly. Holm's step-down procedure (Holm 1979, "A simple sequentially
rejective multiple test procedure", *Scandinavian Journal of Statistics* 6,
65-70) controls the family-wise error rate under any dependence.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Optional

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

from simlab.stats._validation import InsufficientDataError, as_vector, check_summary_groups
from simlab.stats.effect_sizes import d_from_stats, h_from_proportions

Alternative = Literal["two-sided", "less", "greater"]

__all__ = [
    "Alternative",
    "HolmResult",
    "HypothesisTestResult",
    "chi2_independence",
    "fisher_exact_2x2",
    "holm",
    "two_proportion_z",
    "welch_t",
    "welch_t_from_stats",
]


@dataclass(frozen=True)
class HypothesisTestResult:
    """Outcome of one hypothesis test.

    Attributes:
        test: "welch_t", "two_proportion_z", "chi2_independence" or "fisher_exact".
        statistic: t, chi-square, or the sample odds ratio (Fisher).
        p_value: p value for `alternative`.
        df: degrees of freedom (Welch's are fractional); None for Fisher.
        effect_size: the accompanying effect size.
        effect_size_name: "cohen_d", "cohen_h", "cramers_v" or "odds_ratio".
        n: observations per group (Welch) or the table total (chi-square, Fisher).
        alternative: "two-sided", "less" or "greater".
        details: test-specific extras (means, CI of the mean difference, expected counts ...).
    """

    test: str
    statistic: float
    p_value: float
    df: Optional[float]
    effect_size: float
    effect_size_name: str
    n: tuple[int, ...]
    alternative: str = "two-sided"
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict."""
        d = asdict(self)
        d["n"] = list(self.n)
        d["details"] = {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in self.details.items()}
        return d


def _check_alternative(alternative: str) -> None:
    if alternative not in ("two-sided", "less", "greater"):
        raise ValueError(f"alternative must be 'two-sided', 'less' or 'greater', got {alternative!r}")


def welch_t(
    x: ArrayLike,
    y: ArrayLike,
    *,
    alternative: Alternative = "two-sided",
    confidence: float = 0.95,
) -> HypothesisTestResult:
    """Welch's unequal-variance t test of mean(x) - mean(y).

    t = (mean1 - mean2) / sqrt(s1^2/n1 + s2^2/n2) with Welch-Satterthwaite df
    (Welch 1947, *Biometrika* 34, 28-35). The effect size is Cohen's d with the
    pooled SD (so it matches `cohens_d`); `details` holds the means, the mean
    difference, its standard error and its Welch CI at `confidence`.
    """
    _check_alternative(alternative)
    xa = as_vector(x, "x", min_n=2)
    ya = as_vector(y, "y", min_n=2)
    return _welch(float(xa.mean()), float(xa.var(ddof=1)), xa.size, float(ya.mean()), float(ya.var(ddof=1)), ya.size,
                  alternative, confidence)


def welch_t_from_stats(
    mean1: float,
    sd1: float,
    n1: int,
    mean2: float,
    sd2: float,
    n2: int,
    *,
    alternative: Alternative = "two-sided",
    confidence: float = 0.95,
) -> HypothesisTestResult:
    """`welch_t` from summary statistics (means, ddof=1 SDs, sizes), for tables aggregated elsewhere.

    Raises:
        InsufficientDataError: a group has fewer than 2 observations, an SD is
            not finite, or both groups have zero variance.
    """
    _check_alternative(alternative)
    check_summary_groups("Welch's t", n1, sd1, n2, sd2)
    return _welch(float(mean1), float(sd1) ** 2, int(n1), float(mean2), float(sd2) ** 2, int(n2), alternative, confidence)


def _welch(m1: float, v1: float, n1: int, m2: float, v2: float, n2: int, alternative: str, confidence: float) -> HypothesisTestResult:
    a, b = v1 / n1, v2 / n2
    se = math.sqrt(a + b)
    if se == 0.0:
        raise InsufficientDataError("Welch's t is undefined: both groups have zero variance")
    t = (m1 - m2) / se
    df = (a + b) ** 2 / (a**2 / (n1 - 1) + b**2 / (n2 - 1))
    p = _p_value(stats.t, t, alternative, df)
    q = stats.t.ppf(0.5 + confidence / 2.0, df)
    d = d_from_stats(m1, math.sqrt(v1), n1, m2, math.sqrt(v2), n2)
    return HypothesisTestResult(
        test="welch_t",
        statistic=float(t),
        p_value=float(min(1.0, p)),
        df=float(df),
        effect_size=float(d),
        effect_size_name="cohen_d",
        n=(n1, n2),
        alternative=alternative,
        details={
            "mean_x": m1,
            "mean_y": m2,
            "mean_diff": m1 - m2,
            "se_diff": se,
            "diff_ci_low": m1 - m2 - q * se,
            "diff_ci_high": m1 - m2 + q * se,
            "confidence": confidence,
        },
    )


def _p_value(dist: Any, statistic: float, alternative: str, *args: float) -> float:
    if alternative == "two-sided":
        return float(2.0 * dist.sf(abs(statistic), *args))
    if alternative == "greater":
        return float(dist.sf(statistic, *args))
    return float(dist.cdf(statistic, *args))


def two_proportion_z(
    k1: int,
    n1: int,
    k2: int,
    n2: int,
    *,
    alternative: Alternative = "two-sided",
) -> HypothesisTestResult:
    """Pooled two-proportion z test of k1/n1 - k2/n2.

    z = (p1 - p2) / sqrt(p (1 - p) (1/n1 + 1/n2)), p = (k1 + k2) / (n1 + n2)
    (the score test; its square is Pearson's chi-square of the 2x2 table
    without continuity correction, Agresti 2013, *Categorical Data
    Analysis*, 3.1). The effect size is Cohen's h.

    Raises:
        InsufficientDataError: a group is empty, or every outcome is the same
            (the pooled proportion is 0 or 1, so z is undefined).
    """
    _check_alternative(alternative)
    for name, k, n in (("group 1", k1, n1), ("group 2", k2, n2)):
        if n < 1:
            raise InsufficientDataError(f"{name} has no observations")
        if not 0 <= k <= n:
            raise ValueError(f"{name}: successes k={k} must lie in [0, n={n}]")
    p1, p2 = k1 / n1, k2 / n2
    pooled = (k1 + k2) / (n1 + n2)
    se = math.sqrt(pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2))
    if se == 0.0:
        raise InsufficientDataError("the two-proportion z test is undefined: every outcome in both groups is the same")
    z = (p1 - p2) / se
    p = _p_value(stats.norm, z, alternative)
    return HypothesisTestResult(
        test="two_proportion_z",
        statistic=float(z),
        p_value=float(min(1.0, p)),
        df=None,
        effect_size=h_from_proportions(p1, p2),
        effect_size_name="cohen_h",
        n=(int(n1), int(n2)),
        alternative=alternative,
        details={"p1": p1, "p2": p2, "pooled": pooled, "se_diff": se},
    )


def _table(table: ArrayLike) -> np.ndarray:
    t = np.asarray(table, dtype=float)
    if t.ndim != 2 or min(t.shape) < 2:
        raise ValueError(f"a contingency table must be 2-D with at least 2 rows and 2 columns, got shape {t.shape}")
    if (t < 0).any() or not np.all(np.isfinite(t)) or not np.allclose(t, np.round(t)):
        raise ValueError("a contingency table holds non-negative integer counts")
    return t


def chi2_independence(table: ArrayLike, *, correction: bool = False) -> HypothesisTestResult:
    """Pearson chi-square test of independence of an r x c contingency table.

    Args:
        table: counts (array-like or DataFrame, e.g. ``pd.crosstab(a, b)``).
        correction: Yates' continuity correction for 2x2 tables. Off by
            default (scipy switches it on); the plain Pearson statistic is what
            Cramer's V is defined from.

    Effect size: Cramer's V = sqrt(chi2_uncorrected / (N (min(r, c) - 1)))
    (Cramer 1946). Raises `InsufficientDataError` when a row or column sums to
    zero (expected counts of zero).
    """
    t = _table(table)
    if (t.sum(axis=0) == 0).any() or (t.sum(axis=1) == 0).any():
        raise InsufficientDataError("a row or column of the table is empty; drop it before testing")
    res = stats.chi2_contingency(t, correction=correction)
    plain = stats.chi2_contingency(t, correction=False).statistic if correction else res.statistic
    n = float(t.sum())
    v = math.sqrt(plain / (n * (min(t.shape) - 1)))
    return HypothesisTestResult(
        test="chi2_independence",
        statistic=float(res.statistic),
        p_value=float(res.pvalue),
        df=float(res.dof),
        effect_size=float(v),
        effect_size_name="cramers_v",
        n=(int(n),),
        details={"expected": res.expected_freq, "correction": bool(correction and res.dof == 1)},
    )


def fisher_exact_2x2(table: ArrayLike, *, alternative: Alternative = "two-sided") -> HypothesisTestResult:
    """Fisher's exact test of a 2x2 table [[a, b], [c, d]].

    The statistic and effect size are the sample odds ratio ad / bc (inf or 0
    when a cell is zero); `details` adds the Haldane-Anscombe odds ratio
    ((a+.5)(d+.5) / ((b+.5)(c+.5))), which stays finite, and the two row
    proportions a/(a+b), c/(c+d).
    """
    _check_alternative(alternative)
    t = _table(table)
    if t.shape != (2, 2):
        raise ValueError(f"Fisher's exact test here takes a 2x2 table, got shape {t.shape}")
    a, b, c, d = t.ravel()
    if a + b == 0 or c + d == 0:
        raise InsufficientDataError("a row of the 2x2 table is empty")
    res = stats.fisher_exact(t.astype(np.int64), alternative=alternative)
    with np.errstate(divide="ignore", invalid="ignore"):
        odds = float(np.float64(a * d) / np.float64(b * c))
    return HypothesisTestResult(
        test="fisher_exact",
        statistic=odds,
        p_value=float(res.pvalue),
        df=None,
        effect_size=odds,
        effect_size_name="odds_ratio",
        n=(int(t.sum()),),
        alternative=alternative,
        details={
            "odds_ratio_haldane": float((a + 0.5) * (d + 0.5) / ((b + 0.5) * (c + 0.5))),
            "p_row1": float(a / (a + b)),
            "p_row2": float(c / (c + d)),
        },
    )


@dataclass(frozen=True)
class HolmResult:
    """Holm-adjusted p values (in input order) and rejections at `alpha`."""

    p_adjusted: np.ndarray
    reject: np.ndarray
    alpha: float


def holm(p_values: ArrayLike, *, alpha: float = 0.05) -> HolmResult:
    """Holm's step-down correction.

    Sorted p values p_(1) <= ... <= p_(m) are adjusted to
    max_{j <= i} min(1, (m - j + 1) p_(j)), which is monotone in i; a
    hypothesis is rejected when its adjusted p is <= alpha. Results are
    returned in the input order; tied p values get equal adjusted values.
    Agrees with ``statsmodels.stats.multitest.multipletests(method='holm')``.
    """
    p = np.asarray(p_values, dtype=float).reshape(-1)
    if np.isnan(p).any() or (p < 0).any() or (p > 1).any():
        raise ValueError("p values must lie in [0, 1] with no NaN")
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must lie in (0, 1), got {alpha}")
    m = p.size
    order = np.argsort(p, kind="stable")
    scaled = (m - np.arange(m)) * p[order]
    adj_sorted = np.minimum(1.0, np.maximum.accumulate(scaled))
    adj = np.empty(m)
    adj[order] = adj_sorted
    return HolmResult(p_adjusted=adj, reject=adj <= alpha, alpha=float(alpha))

