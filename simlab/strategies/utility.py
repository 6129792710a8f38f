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
`undiscounted` also remembers the utility of each offer it has scored (a
strategy holding its offer for many rounds, both roles scoring every offer of
the transcript), with the rule that keeps a remembered value the recomputed one.

`utility_of(scenario, role)` builds a role's function from the scenario's
configuration (config is pydantic only; the numeric object lives here, below the
strategies that reason over it and the engine that scores outcomes with it).
"""
from __future__ import annotations

import dataclasses
import math
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
        levels: per issue, the labels of a discrete (categorical) issue, or None
            for a numeric one (empty: every issue numeric). A discrete issue's
            value in an array is the label's position (its low/high are 0 and
            n - 1); in an `Offer` it is the label.
        tables: per issue, this role's utility in [0, 1] of each label of a
            discrete issue (None for a numeric one).
        integer: per issue, True for an integer issue (only whole values can be agreed).
    """

    issues: tuple[str, ...]
    lows: np.ndarray
    highs: np.ndarray
    weights: np.ndarray
    increasing: np.ndarray
    reservation: float = 0.0
    discount: float = 1.0
    levels: tuple[tuple[str, ...] | None, ...] = ()
    tables: tuple[tuple[float, ...] | None, ...] = ()
    integer: tuple[bool, ...] = ()

    @cached_property
    def _discrete(self) -> dict[int, tuple[tuple[str, ...], np.ndarray, dict[str, int]]]:
        """Issue position -> (labels, utility of each label, label -> position) of each discrete issue."""
        return {
            k: (tuple(lab), np.asarray(self.tables[k], dtype=float), {x: i for i, x in enumerate(lab)})
            for k, lab in enumerate(self.levels)
            if lab
        }

    def _position(self, k: int, value: Any) -> float:
        labels, _, pos = self._discrete[k]
        if isinstance(value, str):
            if value not in pos:
                raise ValueError(f"issue '{self.issues[k]}': '{value}' is not one of its values {list(labels)}")
            return float(pos[value])
        return float(value)

    def _extremes(self) -> tuple[np.ndarray, np.ndarray]:
        """(best, worst) value per issue as arrays (label positions for discrete issues)."""
        best = np.where(self.increasing, self.highs, self.lows).astype(float)
        worst = np.where(self.increasing, self.lows, self.highs).astype(float)
        for k, (_, table, _) in self._discrete.items():
            best[k], worst[k] = float(np.argmax(table)), float(np.argmin(table))
        return best, worst

    @cached_property
    def _enumerated(self) -> tuple[np.ndarray, np.ndarray] | None:
        """Every outcome (rows of label positions) and its utility, sorted by utility; None unless all issues are discrete and few."""
        if len(self._discrete) != len(self.issues) or not self.issues:
            return None
        sizes = [len(self._discrete[k][0]) for k in range(len(self.issues))]
        if int(np.prod(sizes)) > 200_000:
            return None
        grid = np.array(np.meshgrid(*[np.arange(n) for n in sizes], indexing="ij")).reshape(len(sizes), -1).T.astype(float)
        u = self.normalised(grid) @ self.weights
        order = np.argsort(u, kind="stable")
        return grid[order], u[order]

    @cached_property
    def _scalar(self) -> tuple[Any, ...]:
        """Plain-Python copies of the arrays for the scalar fast paths (the arrays are treated as frozen)."""
        span = np.where(self.highs > self.lows, self.highs - self.lows, 1.0)
        best, worst = self._extremes()
        per_issue = tuple(
            zip(self.issues, np.asarray(self.lows, dtype=float).tolist(), span.tolist(), [bool(x) for x in self.increasing])
        )
        order = [(int(i), float(self.weights[i])) for i in np.argsort(self.weights, kind="stable")]
        return per_issue, best.tolist(), worst.tolist(), order

    def to_array(self, offer: Offer) -> np.ndarray:
        if not self._discrete:
            return np.array([float(offer[i]) for i in self.issues], dtype=float)
        return np.array(
            [self._position(k, offer[n]) if k in self._discrete else float(offer[n]) for k, n in enumerate(self.issues)],
            dtype=float,
        )

    def to_offer(self, values: np.ndarray) -> Offer:
        if not self._discrete:
            return {name: float(v) for name, v in zip(self.issues, values)}
        out: Offer = {}
        for k, (name, v) in enumerate(zip(self.issues, values)):
            if k in self._discrete:
                labels = self._discrete[k][0]
                out[name] = labels[int(min(max(round(float(v)), 0), len(labels) - 1))]  # type: ignore[assignment]
            else:
                out[name] = float(v)
        return out

    def normalised(self, values: np.ndarray) -> np.ndarray:
        """Per-issue value in [0, 1] (1 = best for this role); shape preserved.

        A discrete issue's column holds label positions; its value is the role's table entry.
        """
        span = np.where(self.highs > self.lows, self.highs - self.lows, 1.0)
        raw = np.asarray(values, dtype=float)
        x = np.clip((raw - self.lows) / span, 0.0, 1.0)
        out = np.where(self.increasing, x, 1.0 - x)
        for k, (labels, table, _) in self._discrete.items():
            idx = np.clip(np.rint(raw[..., k]), 0, len(labels) - 1).astype(int)
            out[..., k] = table[idx]
        return out

    def issue_value(self, k: int, value: Any) -> float:
        """This role's normalised value of `value` on issue `k` (a label for a discrete issue)."""
        row = self.to_array(self.best_offer())
        row[k] = self._position(k, value) if k in self._discrete else float(value)
        return float(self.normalised(row[None, :])[0, k])

    def evaluate(self, values: np.ndarray, round_: int | np.ndarray = 1) -> np.ndarray:
        """Discounted utility of each row of `values` (n, k) reached in `round_`."""
        u = self.normalised(values) @ self.weights
        return u * self.discount ** (np.asarray(round_) - 1)

    def __call__(self, offer: Offer, round_: int = 1) -> float:
        return float(self.evaluate(self.to_array(offer)[None, :], round_)[0])

    @cached_property
    def _memo(self) -> dict[tuple[Any, ...], float]:
        """Issue values (in `issues` order) -> `undiscounted`, for offers seen before (a strategy holding an offer,
        both roles scoring each turn's offer)."""
        return {}

    def undiscounted(self, offer: Offer) -> float:
        """Utility of `offer` without discount (same value as ``evaluate(to_array(offer)[None, :], 1)[0]``).

        Remembered per offer: values equal as Python numbers give the same float, so a remembered
        result is the one computing it again would give. Only non-zero finite results are kept,
        because the one difference equal values can make is the sign of an all-zero sum
        (``-0.0 == 0.0``).
        """
        if self._discrete:
            return float(self.evaluate(self.to_array(offer)[None, :], 1)[0])
        try:
            key = tuple(map(offer.__getitem__, self.issues))
            hit = self._memo.get(key)
        except (TypeError, AttributeError):  # an unhashable value or not a mapping: computed (and refused) below
            key = hit = None
        if hit is not None:
            return hit
        u = self._undiscounted(offer)
        if key is not None and u != 0.0 and math.isfinite(u):
            memo = self._memo
            if len(memo) >= 4096:
                memo.clear()
            memo[key] = u
        return u

    def _undiscounted(self, offer: Offer) -> float:
        norm = []
        for name, lo, span, inc in self._scalar[0]:
            x = (float(offer[name]) - lo) / span
            x = 0.0 if x < 0.0 else (1.0 if x > 1.0 else x)  # np.clip; NaN passes through
            norm.append(x if inc else 1.0 - x)
        # the same (1, k) @ (k,) product as the array path, so the sum is rounded the same way
        return float((np.array([norm]) @ self.weights)[0])

    def best_offer(self) -> Offer:
        return self.to_offer(self._extremes()[0])

    def worst_offer(self) -> Offer:
        return self.to_offer(self._extremes()[1])

    def offer_with_utility(self, target: float) -> Offer:
        """An offer whose undiscounted utility is `target`.

        Concedes on the issues this role weights least first (a trade-off that
        keeps the most important issues as long as possible), so every offer on
        the path is the cheapest concession for its utility level.
        """
        target = float(target)
        target = 0.0 if target < 0.0 else (1.0 if target > 1.0 else target)  # np.clip, NaN passes through
        if self._discrete:
            return self._discrete_offer_with_utility(target)
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

    def _discrete_offer_with_utility(self, target: float) -> Offer:
        """With discrete issues: the cheapest outcome worth at least `target` (all discrete and few: exactly, by
        enumeration; else conceding least-weighted issues first, a discrete issue to its cheapest label that keeps
        the remaining concession within budget)."""
        enum = self._enumerated
        if enum is not None:
            grid, u = enum
            i = int(np.searchsorted(u, target - 1e-12, side="left"))
            return self.to_offer(grid[min(i, len(u) - 1)])
        best, worst = self._extremes()
        values = best.copy()
        to_give = 1.0 - target
        for idx, w in self._scalar[3]:
            if to_give <= 1e-12 or w <= 0:
                continue
            if idx in self._discrete:
                table = self._discrete[idx][1]
                top = float(table.max())
                ok = [j for j in range(len(table)) if w * (top - table[j]) <= to_give + 1e-12]
                j = min(ok, key=lambda j: (table[j], j))
                values[idx] = float(j)
                to_give -= w * (top - float(table[j]))
            else:
                frac = min(1.0, to_give / w)
                values[idx] = best[idx] + frac * (worst[idx] - best[idx])
                to_give -= frac * w
        return self.to_offer(values)


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
        increasing=np.array([u.prefer.get(n, "high") == "high" for n in names]),
        reservation=u.reservation,
        discount=u.discount,
        levels=tuple(tuple(i.values) if i.type == "discrete" else None for i in scenario.issues),
        tables=tuple(tuple(float(u.tables[i.name][v]) for v in i.values) if i.type == "discrete" else None for i in scenario.issues),
        integer=tuple(i.type == "integer" for i in scenario.issues),
    )
    if u.reservation_at:
        # the no-deal value given as an offer in the issues' units: its utility (unnamed issues at the worst)
        at = {**fn.worst_offer(), **{n: float(v) for n, v in u.reservation_at.items()}}
        fn = dataclasses.replace(fn, reservation=fn.undiscounted(at))
    return fn
