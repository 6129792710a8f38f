"""Debtor behaviour types from the credit-negotiation literature.

Adversarial-debtor studies of LLM credit negotiation (e.g. EQ-Negotiator,
2025; and the HMM + game-theory credit negotiator it builds on) test collectors
against four debtor types: **cooperative** (honest, concedes readily),
**cheating** (misreports ability to pay and holds firm), **threatening**
(anger, threatens to default or complain, may walk away) and **victim**
(plays the victim, leans on hardship and sadness). Each type here is a
Faratin time-dependent concession policy with the type's exponent, emotion
display and walk-away rule; the scenario's behaviour text tells the LLM how the
type talks.
"""
from __future__ import annotations

from dataclasses import dataclass

from pydantic import Field, field_validator

from simlab.strategies.base import STRATEGIES, Decision, EmotionStrategy, Feedback, Observation, finish_decision
from simlab.strategies.concession import ConcessionMixin
from simlab.strategies.params import StrategyParams, Unit, map_names


@dataclass(frozen=True)
class DebtorType:
    """Parameters of one behaviour type."""

    e: float
    emotion: str
    walk_probability: float = 0.0
    misreport_factor: float = 1.0


# How each type's concession speed responds to the emotion the other side shows:
# a multiplier on the Faratin exponent e (>1 concedes faster). Directions follow
# the social-functions view of emotion in negotiation: anger elicits concessions
# from cooperative / low-power counterparts but retaliation from hostile ones
# (van Kleef, De Dreu & Manstead 2004; Sinaceur & Tiedens 2006), sadness and
# disappointment elicit concessions through guilt (van Kleef, De Dreu & Manstead
# 2006), happiness signals a low limit and slows concessions (van Kleef 2004),
# fear signals weakness that hostile types exploit. The magnitudes are this
# simulation's parameters (set, not estimated), so a study with simulated
# counterparts has a known ground truth.
EMOTION_RESPONSE: dict[str, dict[str, float]] = {
    "cooperative": {"anger": 1.3, "sadness": 1.5, "joy": 0.9, "fear": 1.1, "disgust": 0.8, "surprise": 1.0, "neutral": 1.0},
    "cheating": {"anger": 1.4, "sadness": 1.0, "joy": 0.8, "fear": 0.7, "disgust": 1.0, "surprise": 1.0, "neutral": 1.0},
    "threatening": {"anger": 0.6, "sadness": 1.1, "joy": 1.0, "fear": 0.6, "disgust": 0.7, "surprise": 1.0, "neutral": 1.0},
    "victim": {"anger": 0.8, "sadness": 1.6, "joy": 1.0, "fear": 1.2, "disgust": 0.8, "surprise": 1.0, "neutral": 1.0},
}

DEBTOR_TYPES: dict[str, DebtorType] = {
    "cooperative": DebtorType(e=2.0, emotion="neutral"),
    "cheating": DebtorType(e=0.3, emotion="neutral", misreport_factor=0.5),
    "threatening": DebtorType(e=0.25, emotion="anger", walk_probability=0.08),
    "victim": DebtorType(e=0.6, emotion="sadness"),
}


class DebtorBehaviourParams(StrategyParams):
    """Params of ``debtor_behaviour`` / ``counterpart_behaviour``."""

    behaviour: str = Field(description="the type: cooperative, cheating, threatening or victim")
    e: float | None = Field(None, gt=0.0, le=100.0, description="override the type's concession exponent")
    walk_probability: Unit | None = Field(None, description="override the type's per-turn walk-away probability")
    responsive: bool = Field(True, description="react to the emotions the other side shows")
    smoothing: Unit = Field(0.5, description="exponential smoothing of the emotion response")
    floor: Unit | None = Field(None, description="a utility below which it never goes (never below the deal floor)")
    start: float = Field(1.0, gt=0.0, le=1.0, description="the first target utility")

    @field_validator("behaviour")
    @classmethod
    def _known(cls, v: str) -> str:
        return map_names([v], tuple(DEBTOR_TYPES), "behaviour")[v]


@STRATEGIES.register("counterpart_behaviour")
@STRATEGIES.register("debtor_behaviour")
class DebtorBehaviourStrategy(ConcessionMixin, EmotionStrategy):
    """A debtor of one behaviour type (cooperative, cheating, threatening, victim).

    Params:
        behaviour: the type (required).
        e, walk_probability: override the type's defaults.

    The cheating type reports `misreport_factor` times its true ability to pay
    (logged as ``info["claimed_income"]``); the threatening type walks away with
    `walk_probability` per turn once past half the deadline while the creditor's
    offer is worth less to it than its own target minus 0.2 (a draw from ctx.rng).
    A cooperative debtor whose creditor just conceded shows joy.

    With ``responsive: true`` (default) the type reacts to the emotions the other
    side shows: its exponent is multiplied by an exponentially smoothed
    (``smoothing``, default 0.5) `EMOTION_RESPONSE` factor of those emotions, and
    a threatening type's walk-away probability doubles against anger. This is
    what lets emotion strategies matter against simulated counterparts.
    """

    name = "debtor_behaviour"
    description = "adversarial / cooperative debtor behaviour types"
    check_params = tuple({"behaviour": b} for b in ("cooperative", "cheating", "threatening", "victim"))
    Params = DebtorBehaviourParams

    def __init__(self, **params):
        super().__init__(**params)
        p = self.params  # validated (DebtorBehaviourParams)
        self.behaviour = str(p["behaviour"])
        base = DEBTOR_TYPES[self.behaviour]
        self.kind = DebtorType(
            e=float(base.e if p["e"] is None else p["e"]),
            emotion=base.emotion,
            walk_probability=float(base.walk_probability if p["walk_probability"] is None else p["walk_probability"]),
            misreport_factor=base.misreport_factor,
        )
        self._last_their_utility: float | None = None
        self.responsive = bool(p["responsive"])
        self.smoothing = float(p["smoothing"])
        self._multiplier = 1.0
        self._their_anger = False

    def update(self, feedback: Feedback) -> None:
        if feedback.kind != "turn" or not self.responsive or not feedback.their_emotion:
            return
        m = EMOTION_RESPONSE[self.behaviour].get(feedback.their_emotion, 1.0)
        self._multiplier = self.smoothing * self._multiplier + (1.0 - self.smoothing) * m
        self._their_anger = feedback.their_emotion == "anger"

    def choose(self, obs: Observation) -> Decision:
        assert self.ctx is not None
        e = self.kind.e * self._multiplier
        action, offer, target = self.concession_move(obs, e)
        emotion = self.kind.emotion
        info: dict = {"behaviour": self.behaviour, "target_utility": target, "effective_e": e}
        if self.behaviour == "cooperative" and obs.their_offer_utility is not None:
            if self._last_their_utility is not None and obs.their_offer_utility > self._last_their_utility + 1e-9:
                emotion = "joy"
        if self.behaviour == "cheating":
            income = self.ctx.facts.get("monthly_income")
            if isinstance(income, (int, float)):
                info["claimed_income"] = float(income) * self.kind.misreport_factor
        if (
            action == "offer"
            and self.kind.walk_probability > 0
            and obs.time > 0.5
            and obs.their_offer_utility is not None
            and obs.their_offer_utility < target - 0.2
            and self.ctx.rng.random() < self.kind.walk_probability * (2.0 if self._their_anger else 1.0)
        ):
            action = "walk_away"
        self._last_their_utility = obs.their_offer_utility
        return finish_decision(emotion, f"{self.behaviour} debtor: target utility {target:.3f}", info, (action, offer, target))

    def get_state(self) -> dict:
        return {"last_their_utility": self._last_their_utility, "multiplier": self._multiplier, "their_anger": self._their_anger}

    def set_state(self, state: dict) -> None:
        self._last_their_utility = state.get("last_their_utility")
        self._multiplier = float(state.get("multiplier", 1.0))
        self._their_anger = bool(state.get("their_anger", False))
