"""Baselines: the vanilla LLM negotiator, a fixed emotion, a random emotion.

`vanilla` leaves offer, acceptance and emotion to the LLM (the baseline the
emotion-strategy literature compares against). `fixed_emotion` and
`random_emotion` set only the emotion and let the LLM choose the offer; they
are the "fixed neutral" and "random emotion" controls of the tournament.
"""
from __future__ import annotations

from pydantic import Field

from simlab.emotion.labels import DEFAULT_SPACE
from simlab.strategies.base import STRATEGIES, Decision, EmotionStrategy, Observation
from simlab.strategies.params import EmotionLabel, StrategyParams


class NoParams(StrategyParams):
    """A strategy without parameters: any key is an error."""


class FixedEmotionParams(StrategyParams):
    """Params of ``fixed_emotion``."""

    emotion: EmotionLabel = Field("neutral", description="the emotion shown every turn")


@STRATEGIES.register("vanilla")
class VanillaStrategy(EmotionStrategy):
    """The LLM decides everything: offer, acceptance and emotion."""

    name = "vanilla"
    description = "no strategy: the LLM chooses offer, acceptance and emotion"
    Params = NoParams

    def choose(self, obs: Observation) -> Decision:
        return Decision(rationale="vanilla: left to the LLM")


@STRATEGIES.register("fixed_emotion")
class FixedEmotionStrategy(EmotionStrategy):
    """Always shows `emotion` (default neutral); the LLM chooses the offer."""

    name = "fixed_emotion"
    description = "a fixed emotion every turn"
    Params = FixedEmotionParams

    def choose(self, obs: Observation) -> Decision:
        emotion = str(self.params["emotion"])
        return Decision(emotion=emotion, rationale=f"fixed emotion {emotion}")


@STRATEGIES.register("random_emotion")
class RandomEmotionStrategy(EmotionStrategy):
    """Shows an emotion drawn uniformly from the label space each turn (from ctx.rng)."""

    name = "random_emotion"
    description = "a uniformly random emotion every turn"
    Params = NoParams

    def choose(self, obs: Observation) -> Decision:
        assert self.ctx is not None
        space = self.ctx.emotions or DEFAULT_SPACE
        emotion = str(space[int(self.ctx.rng.integers(len(space)))])
        # the behaviour propensity of the emotion shown (offline RL / off-policy evaluation read it)
        return Decision(emotion=emotion, rationale="random emotion", info={"propensity": 1.0 / len(space)})
