"""Effect sizes against independent computations (scipy, statsmodels, textbook values)."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.meta_analysis import effectsize_smd
from statsmodels.stats.proportion import proportion_effectsize

from simlab.stats import (
    EffectSize,
    InsufficientDataError,
    cohens_d,
    cohens_h,
    d_from_stats,
    d_variance,
    h_from_proportions,
    hedges_g,
    hedges_j,
    paired_d,
)

Z975 = 1.959963984540054  # standard normal 0.975 quantile


@pytest.fixture
def groups():
    rng = np.random.default_rng(20240501)
    return rng.normal(0.4, 1.3, 37), rng.normal(0.0, 0.9, 52)


def test_cohens_d_equals_pooled_t_times_root_n(groups):
    x, y = groups
    t = stats.ttest_ind(x, y, equal_var=True).statistic
    expected = t * math.sqrt(1 / x.size + 1 / y.size)
    assert cohens_d(x, y).estimate == pytest.approx(expected, abs=1e-9)


def test_cohens_d_hand_formula_and_analytic_ci(groups):
    x, y = groups
    n1, n2 = x.size, y.size
    sp = math.sqrt(((n1 - 1) * x.var(ddof=1) + (n2 - 1) * y.var(ddof=1)) / (n1 + n2 - 2))
    d = (x.mean() - y.mean()) / sp
    se = math.sqrt((n1 + n2) / (n1 * n2) + d**2 / (2 * (n1 + n2)))
    es = cohens_d(x, y)
    assert es.estimate == pytest.approx(d, abs=1e-12)
    assert es.se == pytest.approx(se, abs=1e-12)
    assert es.ci_low == pytest.approx(d - Z975 * se, abs=1e-9)
    assert es.ci_high == pytest.approx(d + Z975 * se, abs=1e-9)
    assert (es.measure, es.ci_method, es.n, es.n_boot) == ("cohen_d", "analytic", (n1, n2), None)


def test_borenstein_textbook_example():
    # Borenstein, Hedges, Higgins & Rothstein (2009), Introduction to Meta-Analysis, ch. 4:
    # means 103 / 100, SDs 5.5 / 4.5, n 50 / 50 -> d = 0.5970, V_d = 0.0418, J = 0.9923,
    # g = 0.5924, V_g = 0.0411 (values printed to 4 decimals).
    d = d_from_stats(103, 5.5, 50, 100, 4.5, 50)
    assert d == pytest.approx(0.5970, abs=5e-5)
    assert d_variance(d, 50, 50) == pytest.approx(0.0418, abs=5e-5)
    j = hedges_j(98, exact=False)
    assert j == pytest.approx(0.9923, abs=5e-5)
    assert j * d == pytest.approx(0.5924, abs=5e-5)
    assert j**2 * d_variance(d, 50, 50) == pytest.approx(0.0411, abs=5e-5)


def test_hedges_g_matches_statsmodels_effectsize_smd(groups):
    x, y = groups
    expected, _ = effectsize_smd(x.mean(), x.std(ddof=1), x.size, y.mean(), y.std(ddof=1), y.size)
    assert hedges_g(x, y, exact=False).estimate == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize("df", [2, 3, 7, 10, 38, 250])
def test_hedges_j_exact_is_the_gamma_ratio(df):
    expected = math.exp(math.lgamma(df / 2) - 0.5 * math.log(df / 2) - math.lgamma((df - 1) / 2))
    assert hedges_j(df) == pytest.approx(expected, abs=1e-12)
    # the textbook approximation is close for moderate df
    if df >= 10:
        assert abs(hedges_j(df) - hedges_j(df, exact=False)) < 1e-3


def test_hedges_g_is_j_times_d_including_ci(groups):
    x, y = groups
    d, g = cohens_d(x, y), hedges_g(x, y)
    j = hedges_j(x.size + y.size - 2)
    assert g.estimate == pytest.approx(j * d.estimate, abs=1e-12)
    assert g.se == pytest.approx(j * d.se, abs=1e-12)
    assert (g.ci_low, g.ci_high) == pytest.approx((j * d.ci_low, j * d.ci_high), abs=1e-12)
    rng_a, rng_b = np.random.default_rng(5), np.random.default_rng(5)
    gb = hedges_g(x, y, ci="bca", n_boot=500, rng=rng_a)
    db = cohens_d(x, y, ci="bca", n_boot=500, rng=rng_b)
    assert (gb.ci_low, gb.ci_high) == pytest.approx((j * db.ci_low, j * db.ci_high), abs=1e-12)


def test_paired_dz_equals_paired_t_over_root_n():
    rng = np.random.default_rng(7)
    pre = rng.normal(10, 2, 30)
    post = pre + rng.normal(0.8, 1.5, 30)
    t = stats.ttest_rel(post, pre).statistic
    es = paired_d(post, pre)
    assert es.estimate == pytest.approx(t / math.sqrt(30), abs=1e-9)
    assert paired_d(post - pre).estimate == pytest.approx(es.estimate, abs=1e-12)
    se = math.sqrt(1 / 30 + es.estimate**2 / 60)
    assert (es.ci_low, es.ci_high) == pytest.approx((es.estimate - Z975 * se, es.estimate + Z975 * se), abs=1e-9)
    assert es.measure == "cohen_dz" and es.n == (30,)


@pytest.mark.parametrize("k1,n1,k2,n2", [(62, 100, 36, 100), (5, 40, 17, 60), (0, 25, 3, 30), (50, 50, 1, 80)])
def test_cohens_h_matches_statsmodels_and_arcsine_ci(k1, n1, k2, n2):
    expected = proportion_effectsize(k1 / n1, k2 / n2)
    es = cohens_h(k1, n1, k2, n2)
    assert es.estimate == pytest.approx(expected, abs=1e-12)
    half = Z975 * math.sqrt(1 / n1 + 1 / n2)
    assert es.ci_low == pytest.approx(expected - half, abs=1e-9)
    assert es.ci_high == pytest.approx(expected + half, abs=1e-9)
    assert h_from_proportions(k1 / n1, k2 / n2) == pytest.approx(expected, abs=1e-12)


def test_cohens_h_known_value():
    # Cohen (1988), Table 6.2.2 tabulates phi = 2 asin sqrt(p) to 4 decimals:
    # phi(.65) = 1.8755, phi(.45) = 1.4706, so h = 0.4049.
    assert h_from_proportions(0.65, 0.45) == pytest.approx(1.8755 - 1.4706, abs=1e-4)
    assert h_from_proportions(0.5, 0.5) == 0.0
    assert h_from_proportions(1.0, 0.0) == pytest.approx(math.pi, abs=1e-12)


def test_sign_convention_first_minus_second(groups):
    x, y = groups
    a, b = cohens_d(x, y), cohens_d(y, x)
    assert a.estimate == pytest.approx(-b.estimate, abs=1e-12)
    assert (a.ci_low, a.ci_high) == pytest.approx((-b.ci_high, -b.ci_low), abs=1e-12)
    assert cohens_h(30, 50, 20, 50).estimate > 0


def test_confidence_level_changes_width(groups):
    x, y = groups
    narrow, wide = cohens_d(x, y, confidence=0.8), cohens_d(x, y, confidence=0.99)
    z80, z99 = stats.norm.ppf(0.9), stats.norm.ppf(0.995)
    assert (narrow.ci_high - narrow.ci_low) / (wide.ci_high - wide.ci_low) == pytest.approx(z80 / z99, rel=1e-9)


def test_bootstrap_is_reproducible_from_the_seed(groups):
    x, y = groups
    a = cohens_d(x, y, ci="percentile", n_boot=300, rng=np.random.default_rng(11))
    b = cohens_d(x, y, ci="percentile", n_boot=300, rng=np.random.default_rng(11))
    c = cohens_d(x, y, ci="percentile", n_boot=300, rng=np.random.default_rng(12))
    assert a == b
    assert a != c
    assert a.n_boot == 300 and a.ci_method == "percentile"


def test_bootstrap_needs_a_generator(groups):
    x, y = groups
    with pytest.raises(ValueError, match="Generator"):
        cohens_d(x, y, ci="bca")
    with pytest.raises(TypeError):
        cohens_h(3, 10, 4, 10, ci="percentile", rng=42)  # type: ignore[arg-type]


def test_no_ci_gives_nan_bounds(groups):
    es = cohens_d(*groups, ci=None)
    assert math.isnan(es.ci_low) and math.isnan(es.ci_high) and es.ci_method is None


def test_insufficient_and_invalid_input():
    with pytest.raises(InsufficientDataError):
        cohens_d([1.0], [1.0, 2.0])
    with pytest.raises(InsufficientDataError):
        cohens_d([1.0, 1.0], [2.0, 2.0])
    with pytest.raises(InsufficientDataError):
        paired_d([1.0, 2.0], [0.0, 1.0])  # constant differences
    with pytest.raises(ValueError, match="NaN"):
        cohens_d([1.0, np.nan, 2.0], [1.0, 2.0])
    with pytest.raises(ValueError):
        cohens_h(11, 10, 1, 10)
    with pytest.raises(ValueError):
        cohens_d([1.0, 2.0], [1.0, 3.0], ci="jackknife")  # type: ignore[arg-type]
    with pytest.raises(InsufficientDataError):
        hedges_j(1)
    # InsufficientDataError is a ValueError and a SimlabError
    from simlab.errors import SimlabError

    assert issubclass(InsufficientDataError, ValueError) and issubclass(InsufficientDataError, SimlabError)


def test_effect_size_record_serialises(groups):
    es = cohens_d(*groups)
    d = es.to_dict()
    assert json.loads(json.dumps(d))["measure"] == "cohen_d"
    assert isinstance(es, EffectSize) and es.covers(es.estimate)
    assert str(es).startswith("cohen_d = ")
