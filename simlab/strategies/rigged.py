"""``rigged_counterpart``: a simulated counterpart with a planted answer for learned selectors.

It concedes only when shown one emotion (`trigger`, sadness by default): each
time the other side's last turn showed it, its target utility falls by `step`
(never below its floor); otherwise the target stays. It offers at its target,
accepts an offer worth at least its target (AC_next, Baarslag et al. 2014) and
never walks away. Against it, the best emotion to show is known in advance
(always the trigger), so a learner that does not find it is wrong: the
known-answer tests of the PPO, DQN, IQL and bandit selectors use it, after the
planted-truth simulations the statistics tests use for effect sizes.
"""
from __future__ import annotations

from typing import Any

from pydantic import Field

from simlab.strategies.base import STRATEGIES, Decision, EmotionStrategy, Feedback, Observation, StrategyContext
from simlab.strategies.concession import ac_next, concession_floor
from simlab.strategies.params import EmotionLabel, StrategyParams


@STRATEGIES.register("rigged_counterpart")
class RiggedCounterpartStrategy(EmotionStrategy):
    """Concedes `step` of its utility each time it is shown `trigger`, else holds (see module docstring)."""

    name = "rigged_counterpart"
    description = "a counterpart that concedes only when shown one emotion (known-answer tests)"

    class Params(StrategyParams):
        trigger: EmotionLabel = Field("sadness", description="the emotion that makes it concede")
        step: float = Field(0.1, gt=0.0, le=1.0, description="utility it concedes each time it is shown the trigger")
        start: float = Field(1.0, gt=0.0, le=1.0, description="its first target utility")
        floor: float | None = Field(None, ge=0.0, le=1.0, description="lowest target (default: reservation value)")
        emotion: EmotionLabel = Field("neutral", description="the emotion it shows")

    check_params = ({}, {"trigger": "anger", "step": 0.3})

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.p: Any = self.config
        self.target = self.p.start
        self.shown_trigger = False

    def reset(self, ctx: StrategyContext) -> None:
        super().reset(ctx)
        self.target = self.p.start
        self.shown_trigger = False

    def update(self, feedback: Feedback) -> None:
        if feedback.kind == "turn":
            self.shown_trigger = feedback.their_emotion == self.p.trigger

    def choose(self, obs: Observation) -> Decision:
        assert self.ctx is not None
        # the deal floor and AC_next on the discounted worth at the round of agreement (simlab.strategies.concession)
        floor = min(concession_floor(self.ctx.utility, obs, self.p.floor), 1.0)
        conceded = False
        if self.shown_trigger:
            self.target = self.target - self.p.step
            conceded = True
        self.target = max(floor, self.target)  # the floor rises with the discount: never offer below it
        self.shown_trigger = False
        offer = self.ctx.utility.offer_with_utility(self.target)
        action = "offer"
        if ac_next(self.ctx.utility, obs, offer):
            action, offer = "accept", dict(obs.their_last_offer)  # type: ignore[arg-type]
        return Decision(
            emotion=self.p.emotion,
            offer=offer,
            action=action,  # type: ignore[arg-type]
            rationale=f"rigged: {'conceded' if conceded else 'held'} at target {self.target:.3f} (trigger {self.p.trigger})",
            info={"target_utility": self.target, "conceded": conceded},
        )

    def get_state(self) -> dict[str, Any]:
        return {"target": self.target, "shown_trigger": self.shown_trigger}

    def set_state(self, state: dict[str, Any]) -> None:
        self.target = float(state["target"])
        self.shown_trigger = bool(state["shown_trigger"])
