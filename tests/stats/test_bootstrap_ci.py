"""Bootstrap machinery: jackknife shortcuts, agreement with scipy, and CI coverage."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from simlab.stats import bootstrap_ci, cohens_d, cohens_h, h_from_proportions, hedges_g, paired_d
from simlab.stats import bootstrap as bs
from simlab.stats import effect_sizes as es


def _d_stat(a, b):
    ssa = ((a - a.mean(-1, keepdims=True)) ** 2).sum(-1)
    ssb = ((b - b.mean(-1, keepdims=True)) ** 2).sum(-1)
    return (a.mean(-1) - b.mean(-1)) / np.sqrt((ssa + ssb) / (a.shape[-1] + b.shape[-1] - 2))


def _d_stat_scipy(a, b, axis=-1):
    return _d_stat(np.moveaxis(a, axis, -1), np.moveaxis(b, axis, -1))


@pytest.fixture
def sample():
    rng = np.random.default_rng(99)
    return rng.normal(0.6, 1.0, 35), rng.gamma(2.0, 0.5, 28)


def test_closed_form_jackknife_of_d_equals_brute_force(sample):
    x, y = sample
    fast = es._jack_d(x, y)
    slow_x = [_d_stat(np.delete(x, i), y) for i in range(x.size)]
    slow_y = [_d_stat(x, np.delete(y, i)) for i in range(y.size)]
    np.testing.assert_allclose(fast[0], slow_x, rtol=0, atol=1e-10)
    np.testing.assert_allclose(fast[1], slow_y, rtol=0, atol=1e-10)
    # and the generic chunked jackknife agrees too
    gen = bs._jackknife(_d_stat, [x, y])
    np.testing.assert_allclose(gen[0], slow_x, atol=1e-10)
    np.testing.assert_allclose(gen[1], slow_y, atol=1e-10)


def test_weighted_jackknife_of_h_equals_full_jackknife_of_outcomes():
    k1, n1, k2, n2 = 13, 40, 25, 45
    x = np.r_[np.ones(k1), np.zeros(n1 - k1)]
    y = np.r_[np.ones(k2), np.zeros(n2 - k2)]

    def h(a, b):
        return 2 * np.arcsin(np.sqrt(a.mean(-1))) - 2 * np.arcsin(np.sqrt(b.mean(-1)))

    full = bs.jackknife_acceleration(bs._jackknife(h, [x, y]))
    phi1, phi2 = 2 * np.arcsin(np.sqrt(k1 / n1)), 2 * np.arcsin(np.sqrt(k2 / n2))
    v1 = 2 * np.arcsin(np.sqrt(np.array([k1 - 1, k1]) / (n1 - 1))) - phi2
    v2 = phi1 - 2 * np.arcsin(np.sqrt(np.array([k2 - 1, k2]) / (n2 - 1)))
    weighted = bs.jackknife_acceleration([v1, v2], [np.array([k1, n1 - k1]), np.array([k2, n2 - k2])])
    assert weighted == pytest.approx(full, abs=1e-12)
    assert full != 0.0


def test_generic_bootstrap_matches_specialised_d(sample):
    x, y = sample
    for method in ("percentile", "bca"):
        fast = cohens_d(x, y, ci=method, n_boot=2000, rng=np.random.default_rng(4))
        gen = bootstrap_ci(_d_stat, [x, y], rng=np.random.default_rng(4), n_boot=2000, method=method)
        assert (fast.ci_low, fast.ci_high) == pytest.approx(gen, abs=1e-9)


@pytest.mark.parametrize("method,scipy_method", [("percentile", "percentile"), ("bca", "BCa")])
def test_d_interval_agrees_with_scipy_bootstrap(sample, method, scipy_method):
    x, y = sample
    ref = stats.bootstrap(
        (x, y), _d_stat_scipy, n_resamples=20000, method=scipy_method, random_state=np.random.default_rng(8)
    ).confidence_interval
    ours = cohens_d(x, y, ci=method, n_boot=20000, rng=np.random.default_rng(9))
    # different resamples: agreement up to Monte Carlo error
    assert ours.ci_low == pytest.approx(ref.low, abs=0.03)
    assert ours.ci_high == pytest.approx(ref.high, abs=0.03)


def test_h_bca_agrees_with_scipy_bootstrap_of_outcomes():
    k1, n1, k2, n2 = 31, 60, 18, 55
    x = np.r_[np.ones(k1), np.zeros(n1 - k1)]
    y = np.r_[np.ones(k2), np.zeros(n2 - k2)]

    def h(a, b, axis=-1):
        return 2 * np.arcsin(np.sqrt(a.mean(axis))) - 2 * np.arcsin(np.sqrt(b.mean(axis)))

    ref = stats.bootstrap(
        (x, y), h, n_resamples=20000, method="BCa", random_state=np.random.default_rng(1)
    ).confidence_interval
    ours = cohens_h(k1, n1, k2, n2, ci="bca", n_boot=20000, rng=np.random.default_rng(2))
    assert ours.ci_low == pytest.approx(ref.low, abs=0.03)
    assert ours.ci_high == pytest.approx(ref.high, abs=0.03)


def test_paired_bca_agrees_with_scipy_bootstrap():
    rng = np.random.default_rng(3)
    diff = rng.normal(0.4, 1.0, 40) ** 3  # skewed, so BCa differs from percentile

    def dz(a, axis=-1):
        return a.mean(axis) / a.std(axis, ddof=1)

    ref = stats.bootstrap(
        (diff,), dz, n_resamples=20000, method="BCa", random_state=np.random.default_rng(5)
    ).confidence_interval
    ours = paired_d(diff, ci="bca", n_boot=20000, rng=np.random.default_rng(6))
    assert ours.ci_low == pytest.approx(ref.low, abs=0.03)
    assert ours.ci_high == pytest.approx(ref.high, abs=0.03)


def test_bca_without_skew_or_bias_is_the_percentile_interval():
    boot = np.linspace(-1.0, 1.0, 2001)
    assert bs.bca_interval(0.0, boot, 0.0, 0.9) == pytest.approx(bs.percentile_interval(boot, 0.9), abs=1e-12)


def test_degenerate_bootstrap_returns_nan_with_warning():
    with pytest.warns(RuntimeWarning):
        lo, hi = bs.bca_interval(5.0, np.zeros(100), 0.0)
    assert np.isnan(lo) and np.isnan(hi)


def test_ci_coverage_is_nominal():
    """Seeded simulation: analytic and bootstrap 95% CIs of d, g and h cover the truth ~95%.

    400 replications; each coverage must lie in [0.92, 0.98] (about +-2.7 binomial SDs
    around 0.95). Over 4000 replications the same design gave coverages 0.941-0.955.
    """
    reps, n, n_boot = 400, 60, 1000
    delta = 0.5
    p1, p2 = 0.6, 0.4
    h_true = h_from_proportions(p1, p2)
    rng = np.random.default_rng(2025)
    hits = dict.fromkeys(
        ["d_analytic", "d_percentile", "d_bca", "g_analytic", "h_analytic", "h_percentile", "h_bca"], 0
    )
    for _ in range(reps):
        x = rng.normal(delta, 1.0, n)
        y = rng.normal(0.0, 1.0, n)
        hits["d_analytic"] += cohens_d(x, y).covers(delta)
        hits["g_analytic"] += hedges_g(x, y).covers(delta)
        hits["d_percentile"] += cohens_d(x, y, ci="percentile", n_boot=n_boot, rng=rng).covers(delta)
        hits["d_bca"] += cohens_d(x, y, ci="bca", n_boot=n_boot, rng=rng).covers(delta)
        k1, k2 = rng.binomial(n, p1), rng.binomial(n, p2)
        hits["h_analytic"] += cohens_h(k1, n, k2, n).covers(h_true)
        hits["h_percentile"] += cohens_h(k1, n, k2, n, ci="percentile", n_boot=n_boot, rng=rng).covers(h_true)
        hits["h_bca"] += cohens_h(k1, n, k2, n, ci="bca", n_boot=n_boot, rng=rng).covers(h_true)
    coverage = {k: v / reps for k, v in hits.items()}
    for name, c in coverage.items():
        assert 0.92 <= c <= 0.98, f"{name} coverage {c:.3f} outside [0.92, 0.98]: {coverage}"
