"""Power analysis: solved n reproduces the target power; known table values; independent formulas."""
from __future__ import annotations

import math

import pytest
from scipy import stats

from simlab.stats import (
    h_from_proportions,
    n_two_proportions,
    n_two_sample_t,
    power_two_proportions,
    power_two_sample_t,
)


def _t_power_by_hand(d, n1, n2, alpha):
    """Two-sided two-sample t power from the noncentral t (Cohen 1988, ch. 2)."""
    df = n1 + n2 - 2
    nc = d * math.sqrt(n1 * n2 / (n1 + n2))
    crit = stats.t.ppf(1 - alpha / 2, df)
    return stats.nct.sf(crit, df, nc) + stats.nct.cdf(-crit, df, nc)


def _h_power_by_hand(h, n1, n2, alpha):
    z = stats.norm.ppf(1 - alpha / 2)
    shift = abs(h) / math.sqrt(1 / n1 + 1 / n2)
    return stats.norm.sf(z - shift) + stats.norm.cdf(-z - shift)


@pytest.mark.parametrize("d,expected_n", [(0.5, 64), (0.8, 26), (0.2, 394)])
def test_t_plan_known_values(d, expected_n):
    # Cohen (1988) Table 2.4.1: 64 per group for d = .5, 26 for d = .8 (alpha .05, power .80);
    # for d = .2 the exact noncentral-t answer is 393.4 -> 394 (Cohen's approximation prints 393).
    plan = n_two_sample_t(d)
    assert plan.n1 == plan.n2 == expected_n
    assert plan.power >= 0.8
    assert power_two_sample_t(d, expected_n - 1) < 0.8


@pytest.mark.parametrize("d,alpha,power,ratio", [(0.5, 0.05, 0.8, 1.0), (0.3, 0.01, 0.9, 2.0), (-0.7, 0.05, 0.95, 0.5)])
def test_t_solved_n_recomputes_target_power(d, alpha, power, ratio):
    plan = n_two_sample_t(d, alpha=alpha, power=power, ratio=ratio)
    assert power_two_sample_t(d, plan.n1_exact, alpha=alpha, ratio=ratio) == pytest.approx(power, abs=1e-6)
    assert _t_power_by_hand(d, plan.n1_exact, ratio * plan.n1_exact, alpha) == pytest.approx(power, abs=1e-6)
    assert plan.power == pytest.approx(_t_power_by_hand(d, plan.n1, plan.n2, alpha), abs=1e-9)
    assert plan.power >= power and plan.n2 >= ratio * plan.n1_exact
    assert plan.total == plan.n1 + plan.n2


@pytest.mark.parametrize("p1,p2,ratio", [(0.623, 0.358, 1.0), (0.5, 0.4, 1.0), (0.128, 0.423, 1.5)])
def test_proportion_solved_n_recomputes_target_power(p1, p2, ratio):
    plan = n_two_proportions(p1, p2, ratio=ratio)
    h = h_from_proportions(p1, p2)
    assert plan.effect_size == pytest.approx(h)
    assert power_two_proportions(p1, p2, plan.n1_exact, ratio=ratio) == pytest.approx(0.8, abs=1e-6)
    assert _h_power_by_hand(h, plan.n1_exact, ratio * plan.n1_exact, 0.05) == pytest.approx(0.8, abs=1e-6)
    assert plan.power >= 0.8
    if ratio == 1.0:
        assert power_two_proportions(p1, p2, plan.n1 - 1) < 0.8


def test_proportion_closed_form():
    # var(h) = 2 / n for equal groups, so ignoring the far tail n = 2 ((z_.975 + z_.8) / h)^2
    h = h_from_proportions(0.5, 0.4)
    approx = 2 * ((stats.norm.ppf(0.975) + stats.norm.ppf(0.8)) / h) ** 2
    plan = n_two_proportions(0.5, 0.4)
    assert plan.n1_exact == pytest.approx(approx, rel=1e-3)


def test_one_sided_needs_fewer_runs():
    assert n_two_sample_t(0.5, alternative="greater").n1 < n_two_sample_t(0.5).n1


def test_power_input_errors():
    with pytest.raises(ValueError):
        n_two_sample_t(0.0)
    with pytest.raises(ValueError):
        n_two_sample_t(0.5, power=0.01)
    with pytest.raises(ValueError):
        n_two_sample_t(-0.5, alternative="greater")
    with pytest.raises(ValueError):
        n_two_proportions(0.5, 0.5)
    with pytest.raises(ValueError):
        power_two_sample_t(0.5, 1)
