"""Welch t, chi-square, Fisher and Holm against scipy, statsmodels and hand computations."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests

from simlab.stats import (
    InsufficientDataError,
    chi2_independence,
    cohens_d,
    fisher_exact_2x2,
    holm,
    welch_t,
)


@pytest.fixture
def groups():
    rng = np.random.default_rng(31)
    return rng.normal(1.0, 2.5, 23), rng.normal(0.2, 0.8, 41)


@pytest.mark.parametrize("alternative", ["two-sided", "less", "greater"])
def test_welch_equals_scipy(groups, alternative):
    x, y = groups
    ref = stats.ttest_ind(x, y, equal_var=False, alternative=alternative)
    res = welch_t(x, y, alternative=alternative)
    assert res.statistic == pytest.approx(ref.statistic, abs=1e-9)
    assert res.p_value == pytest.approx(ref.pvalue, abs=1e-9)
    assert res.df == pytest.approx(ref.df, abs=1e-9)
    assert res.alternative == alternative and res.test == "welch_t"


def test_welch_ci_and_effect_size(groups):
    x, y = groups
    ref = stats.ttest_ind(x, y, equal_var=False).confidence_interval(0.95)
    res = welch_t(x, y)
    assert res.details["diff_ci_low"] == pytest.approx(ref.low, abs=1e-9)
    assert res.details["diff_ci_high"] == pytest.approx(ref.high, abs=1e-9)
    assert res.effect_size == pytest.approx(cohens_d(x, y).estimate, abs=1e-12)
    assert res.effect_size_name == "cohen_d" and res.n == (23, 41)
    json.dumps(res.to_dict())


def test_welch_zero_variance_is_insufficient():
    with pytest.raises(InsufficientDataError):
        welch_t([1.0, 1.0, 1.0], [2.0, 2.0])


def _pearson_by_hand(t):
    t = np.asarray(t, dtype=float)
    n = t.sum()
    chi2 = 0.0
    for i in range(t.shape[0]):
        for j in range(t.shape[1]):
            e = t[i].sum() * t[:, j].sum() / n
            chi2 += (t[i, j] - e) ** 2 / e
    return chi2


def test_chi2_r_by_c_by_hand():
    table = [[20, 15, 25], [30, 10, 40]]
    res = chi2_independence(table)
    chi2 = _pearson_by_hand(table)
    assert res.statistic == pytest.approx(chi2, abs=1e-9)
    assert res.df == 2
    assert res.p_value == pytest.approx(stats.chi2.sf(chi2, 2), abs=1e-12)
    assert res.effect_size == pytest.approx(math.sqrt(chi2 / (140 * 1)), abs=1e-12)
    assert res.effect_size_name == "cramers_v" and res.n == (140,)


def test_chi2_2x2_textbook_and_yates():
    # 2x2 [[10, 20], [30, 40]]: expected [[12, 18], [28, 42]], chi2 = 0.7937 (hand)
    res = chi2_independence([[10, 20], [30, 40]])
    assert res.statistic == pytest.approx(4 / 12 + 4 / 18 + 4 / 28 + 4 / 42, abs=1e-12)
    yates = chi2_independence([[10, 20], [30, 40]], correction=True)
    ref = stats.chi2_contingency([[10, 20], [30, 40]], correction=True)
    assert yates.statistic == pytest.approx(ref.statistic, abs=1e-12)
    assert yates.p_value == pytest.approx(ref.pvalue, abs=1e-12)
    # Cramer's V stays the uncorrected phi
    assert yates.effect_size == pytest.approx(res.effect_size, abs=1e-12)


def test_chi2_rejects_bad_tables():
    with pytest.raises(InsufficientDataError):
        chi2_independence([[0, 0], [3, 4]])
    with pytest.raises(ValueError):
        chi2_independence([[1.5, 2], [3, 4]])
    with pytest.raises(ValueError):
        chi2_independence([1, 2, 3])


def test_fisher_lady_tasting_tea():
    # Fisher (1935): [[3, 1], [1, 3]]; P(X >= 3) = 17/70, two-sided 34/70, odds ratio 9.
    res = fisher_exact_2x2([[3, 1], [1, 3]])
    assert res.p_value == pytest.approx(34 / 70, abs=1e-12)
    assert res.statistic == pytest.approx(9.0) and res.effect_size_name == "odds_ratio"
    assert res.df is None
    greater = fisher_exact_2x2([[3, 1], [1, 3]], alternative="greater")
    assert greater.p_value == pytest.approx(17 / 70, abs=1e-12)
    assert res.details["odds_ratio_haldane"] == pytest.approx(3.5 * 3.5 / (1.5 * 1.5))


@pytest.mark.parametrize("table", [[[12, 5], [3, 14]], [[0, 9], [7, 2]], [[40, 60], [55, 45]]])
def test_fisher_matches_scipy(table):
    ref = stats.fisher_exact(table)
    res = fisher_exact_2x2(table)
    assert res.p_value == pytest.approx(ref.pvalue, abs=1e-12)
    assert res.statistic == pytest.approx(ref.statistic)


def test_holm_hand_example():
    # sorted: .005*4 = .02, .01*3 = .03, .03*2 = .06, .04*1 = .04 -> running max .02 .03 .06 .06
    res = holm([0.01, 0.04, 0.03, 0.005])
    np.testing.assert_allclose(res.p_adjusted, [0.03, 0.06, 0.06, 0.02], atol=1e-15)
    np.testing.assert_array_equal(res.reject, [True, False, False, True])


@pytest.mark.parametrize("seed", range(5))
def test_holm_matches_statsmodels(seed):
    rng = np.random.default_rng(seed)
    p = np.r_[rng.uniform(0, 0.05, 6), rng.uniform(0, 1, 10), [0.01, 0.01, 0.2]]
    rng.shuffle(p)
    reject, adj, _, _ = multipletests(p, alpha=0.05, method="holm")
    res = holm(p, alpha=0.05)
    np.testing.assert_allclose(res.p_adjusted, adj, atol=1e-12)
    np.testing.assert_array_equal(res.reject, reject)
    # monotone in the order of the raw p values, never below the raw p, capped at 1
    order = np.argsort(p)
    assert np.all(np.diff(res.p_adjusted[order]) >= 0)
    assert np.all(res.p_adjusted >= p) and np.all(res.p_adjusted <= 1)


def test_holm_validates_input():
    with pytest.raises(ValueError):
        holm([0.1, np.nan])
    with pytest.raises(ValueError):
        holm([1.2])
