"""One-group intervals and the summary-statistics forms of d and Welch's t, against scipy / statsmodels."""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.proportion import proportion_confint, proportions_ztest

from simlab.stats import (
    InsufficientDataError,
    cohens_d,
    cohens_d_from_stats,
    mean_ci,
    t_interval,
    two_proportion_z,
    welch_t,
    welch_t_from_stats,
    wilson_interval,
)


@pytest.mark.parametrize("k, n", [(0, 5), (1, 10), (8, 10), (37, 50), (100, 100)])
@pytest.mark.parametrize("confidence", [0.9, 0.95])
def test_wilson_matches_statsmodels(k, n, confidence):
    want = proportion_confint(k, n, alpha=1 - confidence, method="wilson")
    np.testing.assert_allclose(wilson_interval(k, n, confidence=confidence), want, atol=1e-12)


def test_wilson_textbook_value_and_edges():
    lo, hi = wilson_interval(8, 10)  # Newcombe 1998, Table I: 0.4902 to 0.9433
    assert math.isclose(lo, 0.4902, abs_tol=1e-4) and math.isclose(hi, 0.9433, abs_tol=1e-4)
    assert all(math.isnan(v) for v in wilson_interval(0, 0))
    with pytest.raises(ValueError, match="must lie in"):
        wilson_interval(11, 10)


def test_t_interval_and_mean_ci_match_scipy():
    x = np.array([0.2, 0.5, 0.4, 0.9, 0.7, 0.3, np.nan])
    clean = x[~np.isnan(x)]
    want = stats.t.interval(0.95, clean.size - 1, loc=clean.mean(), scale=stats.sem(clean))
    m, lo, hi = mean_ci(x)
    assert m == pytest.approx(clean.mean()) and (lo, hi) == pytest.approx(want)
    assert t_interval(clean.mean(), clean.std(ddof=1), clean.size) == pytest.approx(want)
    assert all(math.isnan(v) for v in t_interval(1.0, 0.5, 1))
    assert mean_ci([3.0])[0] == 3.0 and math.isnan(mean_ci([3.0])[1])
    assert all(math.isnan(v) for v in mean_ci([]))


def test_d_from_stats_equals_d_from_data():
    rng = np.random.default_rng(11)
    x, y = rng.normal(0.5, 1.0, 23), rng.normal(0.0, 1.4, 31)
    raw = cohens_d(x, y)
    agg = cohens_d_from_stats(x.mean(), x.std(ddof=1), x.size, y.mean(), y.std(ddof=1), y.size)
    assert (agg.estimate, agg.ci_low, agg.ci_high, agg.se) == pytest.approx((raw.estimate, raw.ci_low, raw.ci_high, raw.se))
    with pytest.raises(InsufficientDataError, match="at least 2"):
        cohens_d_from_stats(1.0, 1.0, 1, 0.0, 1.0, 5)
    with pytest.raises(InsufficientDataError, match="zero variance"):
        cohens_d_from_stats(1.0, 0.0, 4, 0.0, 0.0, 5)


def test_welch_from_stats_equals_welch_and_scipy():
    rng = np.random.default_rng(12)
    x, y = rng.normal(0.3, 1.0, 17), rng.normal(0.0, 2.0, 40)
    raw = welch_t(x, y)
    agg = welch_t_from_stats(x.mean(), x.std(ddof=1), x.size, y.mean(), y.std(ddof=1), y.size)
    want = stats.ttest_ind_from_stats(x.mean(), x.std(ddof=1), x.size, y.mean(), y.std(ddof=1), y.size, equal_var=False)
    assert agg.p_value == pytest.approx(want.pvalue) and agg.statistic == pytest.approx(want.statistic)
    assert (agg.p_value, agg.df, agg.effect_size) == pytest.approx((raw.p_value, raw.df, raw.effect_size))


def test_two_proportion_z_matches_statsmodels():
    z, p = proportions_ztest([18, 9], [30, 32])
    res = two_proportion_z(18, 30, 9, 32)
    assert res.statistic == pytest.approx(z) and res.p_value == pytest.approx(p)
    assert res.effect_size == pytest.approx(2 * math.asin(math.sqrt(18 / 30)) - 2 * math.asin(math.sqrt(9 / 32)))
    _, p_greater = proportions_ztest([18, 9], [30, 32], alternative="larger")
    assert two_proportion_z(18, 30, 9, 32, alternative="greater").p_value == pytest.approx(p_greater)
    with pytest.raises(InsufficientDataError, match="every outcome"):
        two_proportion_z(5, 5, 7, 7)
