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

from simlab.errors import ConfigError
from simlab.strategies.base import STRATEGIES, Decision, EmotionStrategy, Observation
from simlab.strategies.concession import ConcessionMixin


@dataclass(frozen=True)
class DebtorType:
    """Parameters of one behaviour type."""

    e: float
    emotion: str
    walk_probability: float = 0.0
    misreport_factor: float = 1.0


DEBTOR_TYPES: dict[str, DebtorType] = {
    "cooperative": DebtorType(e=2.0, emotion="neutral"),
    "cheating": DebtorType(e=0.3, emotion="neutral", misreport_factor=0.5),
    "threatening": DebtorType(e=0.25, emotion="anger", walk_probability=0.08),
    "victim": DebtorType(e=0.6, emotion="sadness"),
}


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
    """

    name = "debtor_behaviour"
    description = "adversarial / cooperative debtor behaviour types"

    def __init__(self, **params):
        super().__init__(**params)
        behaviour = params.get("behaviour")
        if behaviour not in DEBTOR_TYPES:
            raise ConfigError(
                f"strategy debtor_behaviour: params.behaviour must be one of {sorted(DEBTOR_TYPES)}, got {behaviour!r}"
            )
        self.behaviour = str(behaviour)
        base = DEBTOR_TYPES[self.behaviour]
        self.kind = DebtorType(
            e=float(params.get("e", base.e)),
            emotion=base.emotion,
            walk_probability=float(params.get("walk_probability", base.walk_probability)),
            misreport_factor=base.misreport_factor,
        )
        self._last_their_utility: float | None = None

    def choose(self, obs: Observation) -> Decision:
        assert self.ctx is not None
        action, offer, target = self.concession_move(obs, self.kind.e)
        emotion = self.kind.emotion
        info: dict = {"behaviour": self.behaviour, "target_utility": target}
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
            and self.ctx.rng.random() < self.kind.walk_probability
        ):
            action = "walk_away"
        self._last_their_utility = obs.their_offer_utility
        return Decision(
            emotion=emotion,
            offer=offer,
            action=action,  # type: ignore[arg-type]
            rationale=f"{self.behaviour} debtor: target utility {target:.3f}",
            info=info,
        )

    def get_state(self) -> dict:
        return {"last_their_utility": self._last_their_utility}

    def set_state(self, state: dict) -> None:
        self._last_their_utility = state.get("last_their_utility")
