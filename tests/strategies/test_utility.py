import numpy as np
import pytest

from simlab.strategies.utility import UtilityFunction


def make(weights=(0.6, 0.25, 0.15), inc=(True, False, True), reservation=0.3, discount=0.9):
    return UtilityFunction(
        issues=("a", "b", "c"),
        lows=np.array([0.0, 1.0, 0.0]),
        highs=np.array([100.0, 36.0, 10.0]),
        weights=np.array(weights),
        increasing=np.array(inc),
        reservation=reservation,
        discount=discount,
    )


def test_best_and_worst_offers_score_one_and_zero():
    u = make()
    assert u(u.best_offer()) == pytest.approx(1.0)
    assert u(u.worst_offer()) == pytest.approx(0.0)


def test_hand_computed_value_and_discount():
    u = make()
    offer = {"a": 50.0, "b": 1.0 + 35 * 0.2, "c": 10.0}
    expected = 0.6 * 0.5 + 0.25 * 0.8 + 0.15 * 1.0
    assert u(offer) == pytest.approx(expected, abs=1e-12)
    assert u(offer, round_=3) == pytest.approx(expected * 0.9**2, abs=1e-12)


def test_vectorised_evaluate_matches_scalar_calls():
    u = make()
    rng = np.random.default_rng(0)
    values = np.column_stack([rng.uniform(0, 100, 50), rng.uniform(1, 36, 50), rng.uniform(0, 10, 50)])
    vec = u.evaluate(values, 2)
    scalar = [u(u.to_offer(row), 2) for row in values]
    np.testing.assert_allclose(vec, scalar, rtol=0, atol=1e-12)


@pytest.mark.parametrize("target", [0.0, 0.1, 0.37, 0.8, 1.0])
def test_offer_with_utility_hits_the_target_and_concedes_cheapest_issue_first(target):
    u = make()
    offer = u.offer_with_utility(target)
    assert u.undiscounted(offer) == pytest.approx(target, abs=1e-12)
    if target >= 0.85:  # the least-weighted issue (c, 0.15) absorbs a concession up to 0.15 alone
        assert offer["a"] == 100.0 and offer["b"] == 1.0
