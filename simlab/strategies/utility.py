"""Linear-additive utility functions with reservation value and time discount.

`UtilityFunction` scores offers for one role: each issue value is normalised to
[0, 1] on its range (rising or falling with `prefer`), the normalised values are
weighted and summed, and the result is discounted by ``discount ** (round - 1)``.
Everything is vectorised: `evaluate` takes an (n, k) array of offers. The two
per-turn calls (`undiscounted` of one offer and `offer_with_utility`) take a
scalar fast path over plain-Python copies of the arrays, made once per
instance; it performs the same floating-point operations in the same order as
the array code (the weighted sum is still numpy's ``(1, k) @ (k,)`` product), so
results are bit-identical, only without most of the per-call array overhead.

`utility_of(scenario, role)` builds a role's function from the scenario's
configuration (config is pydantic only; the numeric object lives here, below the
strategies that reason over it and the engine that scores outcomes with it).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from simlab.config.models import Scenario
from simlab.types import Offer


@dataclass(frozen=True)
class UtilityFunction:
    """Linear-additive utility of one role over the scenario's issues.

    Attributes:
        issues: issue names in a fixed order.
        lows, highs: each issue's range.
        weights: non-negative, summing to 1.
        increasing: True where more of an issue is better for this role.
        reservation: utility of no agreement (in [0, 1]).
        discount: per-round multiplicative discount in (0, 1].
    """

    issues: tuple[str, ...]
    lows: np.ndarray
    highs: np.ndarray
    weights: np.ndarray
    increasing: np.ndarray
    reservation: float = 0.0
    discount: float = 1.0

    @cached_property
    def _scalar(self) -> tuple[Any, ...]:
        """Plain-Python copies of the arrays for the scalar fast paths (the arrays are treated as frozen)."""
        span = np.where(self.highs > self.lows, self.highs - self.lows, 1.0)
        best = np.where(self.increasing, self.highs, self.lows).astype(float)
        worst = np.where(self.increasing, self.lows, self.highs).astype(float)
        per_issue = tuple(
            zip(self.issues, np.asarray(self.lows, dtype=float).tolist(), span.tolist(), [bool(x) for x in self.increasing])
        )
        order = [(int(i), float(self.weights[i])) for i in np.argsort(self.weights, kind="stable")]
        return per_issue, best.tolist(), worst.tolist(), order

    def to_array(self, offer: Offer) -> np.ndarray:
        return np.array([float(offer[i]) for i in self.issues], dtype=float)

    def to_offer(self, values: np.ndarray) -> Offer:
        return {name: float(v) for name, v in zip(self.issues, values)}

    def normalised(self, values: np.ndarray) -> np.ndarray:
        """Per-issue value in [0, 1] (1 = best for this role); shape preserved."""
        span = np.where(self.highs > self.lows, self.highs - self.lows, 1.0)
        x = np.clip((np.asarray(values, dtype=float) - self.lows) / span, 0.0, 1.0)
        return np.where(self.increasing, x, 1.0 - x)

    def evaluate(self, values: np.ndarray, round_: int | np.ndarray = 1) -> np.ndarray:
        """Discounted utility of each row of `values` (n, k) reached in `round_`."""
        u = self.normalised(values) @ self.weights
        return u * self.discount ** (np.asarray(round_) - 1)

    def __call__(self, offer: Offer, round_: int = 1) -> float:
        return float(self.evaluate(self.to_array(offer)[None, :], round_)[0])

    def undiscounted(self, offer: Offer) -> float:
        """Utility of `offer` without discount (same value as ``evaluate(to_array(offer)[None, :], 1)[0]``)."""
        norm = []
        for name, lo, span, inc in self._scalar[0]:
            x = (float(offer[name]) - lo) / span
            x = 0.0 if x < 0.0 else (1.0 if x > 1.0 else x)  # np.clip; NaN passes through
            norm.append(x if inc else 1.0 - x)
        # the same (1, k) @ (k,) product as the array path, so the sum is rounded the same way
        return float((np.array([norm]) @ self.weights)[0])

    def best_offer(self) -> Offer:
        return self.to_offer(np.where(self.increasing, self.highs, self.lows))

    def worst_offer(self) -> Offer:
        return self.to_offer(np.where(self.increasing, self.lows, self.highs))

    def offer_with_utility(self, target: float) -> Offer:
        """An offer whose undiscounted utility is `target`.

        Concedes on the issues this role weights least first (a trade-off that
        keeps the most important issues as long as possible), so every offer on
        the path is the cheapest concession for its utility level.
        """
        target = float(target)
        target = 0.0 if target < 0.0 else (1.0 if target > 1.0 else target)  # np.clip, NaN passes through
        _, best, worst, order = self._scalar
        values = list(best)
        to_give = 1.0 - target
        for idx, w in order:  # least-weighted issue first (stable argsort)
            if to_give <= 1e-12 or w <= 0:
                continue
            frac = min(1.0, to_give / w)
            values[idx] = best[idx] + frac * (worst[idx] - best[idx])
            to_give -= frac * w
        return dict(zip(self.issues, values))


def utility_of(scenario: Scenario, role: str) -> UtilityFunction:
    """The vectorised utility function of `role` in `scenario` (weights normalised to sum 1)."""
    u = scenario.utilities[role]
    names = tuple(i.name for i in scenario.issues)
    w = np.array([u.weights[n] for n in names], dtype=float)
    # the role's own range where it has one (utilities.ROLE.ranges), else the issue's range
    ranges = scenario.role_ranges(role)
    fn = UtilityFunction(
        issues=names,
        lows=np.array([ranges[n][0] for n in names], dtype=float),
        highs=np.array([ranges[n][1] for n in names], dtype=float),
        weights=w / w.sum(),
        increasing=np.array([u.prefer[n] == "high" for n in names]),
        reservation=u.reservation,
        discount=u.discount,
    )
    if u.reservation_at:
        # the no-deal value given as an offer in the issues' units: its utility (unnamed issues at the worst)
        at = {**fn.worst_offer(), **{n: float(v) for n, v in u.reservation_at.items()}}
        fn = dataclasses.replace(fn, reservation=fn.undiscounted(at))
    return fn
