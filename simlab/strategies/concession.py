"""Time-dependent concession (Faratin, Sierra & Jennings 1998) and the one definition of a deal's worth.

The target utility at time t in [0, 1] is ``Pmin + (Pmax - Pmin) * (1 - F(t))``
with ``F(t) = k + (1 - k) * t ** (1 / e)``. ``e < 1`` is Boulware (holds firm
until the deadline), ``e = 1`` linear, ``e > 1`` conceder. Acceptance follows
AC_next (Baarslag et al. 2014): accept when the counterpart's offer is worth at
least what we would offer next.

**What a deal is worth.** The utility a strategy compares with its reservation
value is the *discounted utility at the round of agreement*,
``u(offer) * discount ** (round - 1)``, the same number the run reports
(`AlternatingOffers.final_utilities`). So every comparison goes through the
functions here:

- `worth(utility, u, round_)`: the discounted value of undiscounted utility `u`
  agreed in `round_`;
- `acceptable(utility, u, round_)`: worth at least the reservation value (no
  deal is better otherwise);
- `deal_floor(utility, round_)`: the lowest undiscounted utility an agreement in
  `round_` may have (the reservation value divided by the discount), the floor
  of every counter-offer;
- `offer_round(obs)`: the round in which the offer made now would be accepted
  (this round when we move first in it, the next one when we move second);
- `ac_next(utility, obs, offer)`: AC_next in these terms.

``Pmin`` is therefore ``max(deal_floor, floor)``; when the discount makes even
the best offer worth less than the reservation value, the floor exceeds 1 and
the strategy holds at its best offer and accepts nothing.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pydantic import Field

from simlab.strategies.base import STRATEGIES, Decision, EmotionStrategy, Observation, finish_decision
from simlab.strategies.params import EmotionLabel, StrategyParams, Unit
from simlab.types import Offer

if TYPE_CHECKING:
    from simlab.strategies.utility import UtilityFunction

EPS = 1e-9


def time_dependent_target(t: float, e: float, p_min: float, p_max: float = 1.0, k: float = 0.0) -> float:
    """Faratin et al.'s target utility at normalised time `t`."""
    t = min(max(t, 0.0), 1.0)
    f = k + (1.0 - k) * t ** (1.0 / e)
    return p_min + (p_max - p_min) * (1.0 - f)


def worth(utility: "UtilityFunction", u: float, round_: int) -> float:
    """The discounted value of undiscounted utility `u` when agreed in `round_` (rounds count from 1)."""
    return float(u) * utility.discount ** (max(int(round_), 1) - 1)


def acceptable(utility: "UtilityFunction", u: float, round_: int) -> bool:
    """True when agreeing on utility `u` in `round_` is worth at least no deal (the reservation value)."""
    return worth(utility, u, round_) >= utility.reservation - EPS


def deal_floor(utility: "UtilityFunction", round_: int) -> float:
    """The lowest undiscounted utility an agreement in `round_` may have (may exceed 1: no deal is better)."""
    d = utility.discount ** (max(int(round_), 1) - 1)
    return float(utility.reservation / d) if d > 0 else float("inf")


def offer_round(obs: Observation) -> int:
    """The round in which an offer made now would be accepted.

    The counterpart answers in this round when we move first in it, else in the
    next one. The history's last turn tells which: when the counterpart has
    already moved in this round we are second. A history without rounds gives
    the later (safer) round.
    """
    if not obs.history:
        return obs.round
    last = obs.history[-1]
    r = last.get("round") if isinstance(last, Mapping) else None
    if r is None:
        return obs.round + 1
    return obs.round + 1 if int(r) >= obs.round else obs.round


def ac_next(utility: "UtilityFunction", obs: Observation, own_next: Offer) -> bool:
    """AC_next on deal worth: accept their offer now when it beats no deal and our next offer.

    Their offer is worth ``worth(u_theirs, obs.round)``; our next offer, if
    accepted, ``worth(u_ours, offer_round(obs))``.
    """
    if obs.their_last_offer is None or obs.their_offer_utility is None:
        return False
    now = worth(utility, obs.their_offer_utility, obs.round)
    if now < utility.reservation - EPS:
        return False
    later = worth(utility, utility.undiscounted(own_next), offer_round(obs))
    return now >= later - EPS


def concession_floor(utility: "UtilityFunction", obs: Observation, floor: float | None = None) -> float:
    """The lowest target of an offer made now: the deal floor of its round, or `floor` when higher."""
    return max(deal_floor(utility, offer_round(obs)), float(floor) if floor is not None else 0.0)


class TimeDependentParams(StrategyParams):
    """Params of ``time_dependent`` (Faratin et al. 1998)."""

    e: float = Field(1.0, gt=0.0, le=100.0, description="concession exponent (0.2 Boulware, 1 linear, 5 conceder)")
    emotion: EmotionLabel | None = Field(None, description="a fixed emotion to show; None lets the LLM choose")
    floor: Unit = Field(0.0, description="a utility below which it never goes (never below the deal floor)")
    start: float = Field(1.0, gt=0.0, le=1.0, description="the target utility at t = 0")


class ConcessionMixin:
    """Offer and acceptance logic shared by every policy that concedes over time."""

    ctx: Any

    def target_utility(self, obs: Observation, e: float) -> float:
        floor = concession_floor(self.ctx.utility, obs, self.params.get("floor"))  # type: ignore[attr-defined]
        start = float(self.params.get("start", 1.0))  # type: ignore[attr-defined]
        return time_dependent_target(obs.time, e, floor, max(start, floor))

    def concession_move(self, obs: Observation, e: float) -> tuple[str, Offer, float]:
        """(action, offer, target): AC_next acceptance on deal worth, else the offer at the target."""
        target = self.target_utility(obs, e)
        offer = self.ctx.utility.offer_with_utility(target)
        if ac_next(self.ctx.utility, obs, offer):
            return "accept", dict(obs.their_last_offer), target  # type: ignore[arg-type]
        return "offer", offer, target


@STRATEGIES.register("time_dependent")
class TimeDependentStrategy(ConcessionMixin, EmotionStrategy):
    """Faratin et al. (1998) time-dependent concession; the LLM only words it.

    Params (`TimeDependentParams`):
        e: concession exponent (0.2 Boulware, 1 linear, 5 conceder).
        emotion: a fixed emotion to show, or None to let the LLM choose.
        floor: a utility below which it never goes (default: the deal floor).
        start: the first target utility (default 1).
    """

    name = "time_dependent"
    description = "Faratin time-dependent concession (Boulware / linear / conceder)"
    Params = TimeDependentParams

    def choose(self, obs: Observation) -> Decision:
        e = float(self.params["e"])
        move = self.concession_move(obs, e)
        return finish_decision(
            self.params.get("emotion"), f"time-dependent e={e}: target utility {move[2]:.3f} at t={obs.time:.2f}", None, move
        )
