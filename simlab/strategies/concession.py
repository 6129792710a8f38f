"""Time-dependent concession (Faratin, Sierra & Jennings 1998).

The target utility at time t in [0, 1] is ``Pmin + (Pmax - Pmin) * (1 - F(t))``
with ``F(t) = k + (1 - k) * t ** (1 / e)``. ``e < 1`` is Boulware (holds firm
until the deadline), ``e = 1`` linear, ``e > 1`` conceder. ``Pmin`` is the
reservation value. Acceptance follows AC_next (Baarslag et al. 2014): accept
when the counterpart's offer is worth at least what we would offer next.
"""
from __future__ import annotations

from typing import Any

from simlab.strategies.base import STRATEGIES, Decision, EmotionStrategy, Observation
from simlab.types import Offer


def time_dependent_target(t: float, e: float, p_min: float, p_max: float = 1.0, k: float = 0.0) -> float:
    """Faratin et al.'s target utility at normalised time `t`."""
    t = min(max(t, 0.0), 1.0)
    f = k + (1.0 - k) * t ** (1.0 / e)
    return p_min + (p_max - p_min) * (1.0 - f)


class ConcessionMixin:
    """Offer and acceptance logic shared by every policy that concedes over time."""

    ctx: Any

    def target_utility(self, obs: Observation, e: float) -> float:
        floor = max(self.ctx.utility.reservation, float(self.params.get("floor", 0.0)))  # type: ignore[attr-defined]
        return time_dependent_target(obs.time, e, floor, float(self.params.get("start", 1.0)))  # type: ignore[attr-defined]

    def concession_move(self, obs: Observation, e: float) -> tuple[str, Offer, float]:
        """(action, offer, target): AC_next acceptance, else the offer at the target."""
        target = self.target_utility(obs, e)
        offer = self.ctx.utility.offer_with_utility(target)
        their_u = obs.their_offer_utility
        if obs.their_last_offer is not None and their_u is not None:
            own_next = self.ctx.utility.undiscounted(offer)
            if their_u >= own_next - 1e-9:
                return "accept", dict(obs.their_last_offer), target
        return "offer", offer, target


@STRATEGIES.register("time_dependent")
class TimeDependentStrategy(ConcessionMixin, EmotionStrategy):
    """Faratin et al. (1998) time-dependent concession; the LLM only words it.

    Params:
        e: concession exponent (0.2 Boulware, 1 linear, 5 conceder).
        emotion: a fixed emotion to show, or None to let the LLM choose.
        floor: a utility below which it never goes (default: reservation value).
    """

    name = "time_dependent"
    description = "Faratin time-dependent concession (Boulware / linear / conceder)"

    def choose(self, obs: Observation) -> Decision:
        e = float(self.params.get("e", 1.0))
        action, offer, target = self.concession_move(obs, e)
        return Decision(
            emotion=self.params.get("emotion"),
            offer=offer,
            action=action,  # type: ignore[arg-type]
            rationale=f"time-dependent e={e}: target utility {target:.3f} at t={obs.time:.2f}",
            info={"target_utility": target},
        )
