import itertools

import numpy as np
import pytest

from simlab.engine.outcome import ParetoFrontier, evaluate_metric
from simlab.strategies.utility import UtilityFunction
from simlab.errors import ConfigError


def uf(weights, inc):
    k = len(weights)
    return UtilityFunction(tuple(f"i{j}" for j in range(k)), np.zeros(k), np.ones(k), np.array(weights), np.array(inc))


def brute_force(ua, ub, levels=21):
    grid = np.array(list(itertools.product(np.linspace(0, 1, levels), repeat=len(ua.issues))))
    pts = np.column_stack([ua.evaluate(grid), ub.evaluate(grid)])
    pareto = [p for p in pts if not np.any((pts[:, 0] >= p[0]) & (pts[:, 1] >= p[1]) & ((pts[:, 0] > p[0]) | (pts[:, 1] > p[1])))]
    return pts, np.array(pareto)


def test_single_opposed_issue_frontier_is_the_line_and_nash_is_the_midpoint():
    f = ParetoFrontier.from_utilities(uf([1.0], [True]), uf([1.0], [False]))
    assert f.distance((0.5, 0.5)) == pytest.approx(0.0, abs=1e-12)
    assert f.distance((0.0, 0.0)) == pytest.approx(np.sqrt(0.5), abs=1e-12)
    assert f.nash_point(0.0, 0.0) == pytest.approx((0.5, 0.5))
    # With reservations (0.2, 0.4) the Nash point splits the surplus 0.4 equally.
    assert f.nash_point(0.2, 0.4) == pytest.approx((0.4, 0.6))


def test_frontier_matches_brute_force_on_an_integrative_three_issue_domain():
    ua = uf([0.6, 0.25, 0.15], [True, False, True])
    ub = uf([0.2, 0.5, 0.3], [False, True, True])  # issue 2 is aligned (both want more)
    f = ParetoFrontier.from_utilities(ua, ub)
    pts, pareto = brute_force(ua, ub)
    # every brute-force Pareto point lies on the exact frontier, and no attainable point beats it
    assert max(f.distance(tuple(p)) for p in pareto) < 1e-9
    for v in f.vertices:
        assert not np.any((pts[:, 0] > v[0] + 1e-9) & (pts[:, 1] > v[1] + 1e-9))
    # the Nash point equals the best Nash product over the grid (the grid contains the frontier's vertices)
    ra, rb = 0.3, 0.25
    nash = f.nash_point(ra, rb)
    prod = (pts[:, 0] - ra) * (pts[:, 1] - rb)
    prod[(pts[:, 0] < ra) | (pts[:, 1] < rb)] = -1
    assert (nash[0] - ra) * (nash[1] - rb) >= prod.max() - 1e-12


def test_metric_expressions():
    env = {"amount": 80.0, "balance": 5000.0, "agreement": 1.0}
    assert evaluate_metric("amount / 100 * balance * agreement", env) == pytest.approx(4000.0)
    assert evaluate_metric("1 if amount > 50 else 0", env) == 1.0
    assert evaluate_metric("max(amount, 90) - 90", env) == 0.0
    with pytest.raises(ConfigError, match="unknown name 'nope'"):
        evaluate_metric("nope + 1", env)
    with pytest.raises(ConfigError, match="unsupported"):
        evaluate_metric("__import__('os')", env)
