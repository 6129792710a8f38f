"""`UtilityFunction.undiscounted` remembers offers without ever changing a value."""
from __future__ import annotations

import numpy as np

from simlab.strategies.utility import UtilityFunction


def make() -> UtilityFunction:
    return UtilityFunction(issues=("a", "b", "c"), lows=np.array([0.0, 1.0, 0.0]), highs=np.array([100.0, 36.0, 10.0]),
                           weights=np.array([0.6, 0.25, 0.15]), increasing=np.array([True, False, True]))


def test_remembered_values_are_the_computed_ones_bit_for_bit():
    rng = np.random.default_rng(0)
    offers = [dict(zip("abc", map(float, row))) for row in rng.uniform([0, 1, 0], [100, 36, 10], size=(300, 3))]
    offers += [{"a": 100, "b": 1, "c": 10}, {"a": 100.0, "b": 1.0, "c": 10.0}, {"a": True, "b": 1, "c": 0}]
    u = make()
    first = [u.undiscounted(o) for o in offers]
    again = [u.undiscounted(o) for o in offers]  # from memory
    fresh = [make().undiscounted(o) for o in offers]  # a new function: computed
    assert [x.hex() for x in first] == [x.hex() for x in again] == [x.hex() for x in fresh]
    assert len(u._memo) > 0


def test_zero_and_nan_results_are_not_remembered():
    u = make()
    worst = {"a": 0.0, "b": 36.0, "c": 0.0}
    assert u.undiscounted(worst) == 0.0
    assert u.undiscounted({"a": float("nan"), "b": 1.0, "c": 0.0}) != u.undiscounted({"a": float("nan"), "b": 1.0, "c": 0.0})
    assert not u._memo  # the sign of an all-zero sum can depend on the inputs' signed zeros


def test_a_bad_offer_still_fails_the_same_way():
    u = make()
    for bad, error in (({"a": 1.0, "b": 2.0}, KeyError), ({"a": [1], "b": 2.0, "c": 0.0}, TypeError)):
        try:
            u.undiscounted(bad)
        except error:
            continue
        raise AssertionError(f"{bad} was accepted")
