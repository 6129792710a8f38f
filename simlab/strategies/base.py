"""The `EmotionStrategy` contract and the values it exchanges with a protocol.

A strategy decides *which* emotion an agent shows on its turn, and may also set
the move (an offer, accept or walk away); the LLM then *expresses* the decision
in words. A strategy that leaves a field as None lets the LLM decide it (the
vanilla baseline leaves everything to the LLM).

Lifecycle (Concordia components): `reset(ctx)` once per negotiation, then for
each own turn `choose(obs)`, and `update(feedback)` after every counterpart turn
and once at the end. `get_state` / `set_state` are JSON-serialisable so a run can
be checkpointed and replayed. Every random draw uses `ctx.rng`.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import numpy as np
from pydantic import BaseModel

from simlab.strategies.registry import STRATEGIES  # noqa: F401 - re-exported: strategies register with @STRATEGIES.register
from simlab.types import Offer

if TYPE_CHECKING:
    from simlab.strategies.utility import UtilityFunction

Action = Literal["offer", "accept", "walk_away"]


@dataclass
class StrategyContext:
    """What a strategy knows about the negotiation before it starts."""

    role: str
    counterpart_role: str
    utility: "UtilityFunction"
    deadline: int
    rng: np.random.Generator
    issues: dict[str, tuple[float, float]]
    facts: dict[str, Any] = field(default_factory=dict)
    emotions: tuple[str, ...] = ()


@dataclass
class Observation:
    """What a strategy sees when it is its turn.

    `round` counts from 1; `time` is round / deadline in (0, 1].
    """

    round: int
    time: float
    own_last_offer: Offer | None
    their_last_offer: Offer | None
    their_last_emotion: str | None
    their_last_message: str | None
    their_offer_utility: float | None
    history: list[dict[str, Any]]
    their_last_detected: dict[str, float] | None = None


@dataclass
class Decision:
    """A strategy's choice for one turn. None fields are left to the LLM.

    `info` is logged with the turn: ``info["belief"]`` (a distribution over
    counterpart states) goes to ``turns.belief_json`` and ``info["experts"]``
    (proposals and reliabilities) to ``turns.experts_json``; the rest to
    ``turns.decision_json``.
    """

    emotion: str | None = None
    offer: Offer | None = None
    action: Action | None = None
    rationale: str = ""
    info: dict[str, Any] = field(default_factory=dict)


Move = tuple[str, Offer, float]
"""(action, offer, target utility): what a concession tactic proposes for a turn."""


def finish_decision(
    emotion: str | None,
    rationale: str,
    info: dict[str, Any] | None = None,
    move: Move | None = None,
    *,
    belief: dict[str, float] | None = None,
    experts: dict[str, Any] | None = None,
) -> Decision:
    """The shared tail of every strategy's `choose`: one place that attaches the move and the logs.

    `move` (from a concession tactic: `ReciprocalConcession.move`,
    `ConcessionMixin.concession_move`) sets the decision's action and offer and
    logs its target utility as ``info["target_utility"]``; without one, both are
    left to the LLM. `belief` (counterpart-state distribution) and `experts`
    (proposals and reliabilities) go to the keys the engine stores in
    ``turns.belief_json`` and ``turns.experts_json``.
    """
    out = dict(info or {})
    if belief is not None:
        out["belief"] = belief
    if experts is not None:
        out["experts"] = experts
    action = offer = None
    if move is not None:
        action, offer, target = move
        out["target_utility"] = target
    return Decision(emotion=emotion, offer=offer, action=action, rationale=rationale, info=out)  # type: ignore[arg-type]


@dataclass
class Feedback:
    """What happened after a counterpart turn (`kind="turn"`) or at the end (`"end"`)."""

    kind: Literal["turn", "end"]
    round: int
    their_offer: Offer | None = None
    their_emotion: str | None = None
    their_message: str | None = None
    their_offer_utility: float | None = None
    concession: float | None = None
    their_detected: dict[str, float] | None = None
    agreement: bool | None = None
    final_utility: float | None = None


class EmotionStrategy(ABC):
    """Base class of every emotion strategy. Subclasses document the paper they implement."""

    name: str = "base"
    description: str = ""
    Params: ClassVar[type[BaseModel] | None] = None
    """The pydantic model of the strategy's params (`simlab.strategies.params.StrategyParams`);
    every registered strategy declares one (`check_strategy` enforces it)."""

    def __init__(self, **params: Any) -> None:
        model = type(self).Params
        if model is not None:
            from simlab.strategies.params import parse_params

            # built from the validated model: unknown keys, NaN and out-of-range values are ConfigErrors
            self.config: BaseModel | None = parse_params(self.name, model, params)
            self.params: dict[str, Any] = self.config.model_dump()
        else:
            self.config = None
            self.params = dict(params)
        self.ctx: StrategyContext | None = None

    def reset(self, ctx: StrategyContext) -> None:
        """Start a new negotiation."""
        self.ctx = ctx

    @abstractmethod
    def choose(self, obs: Observation) -> Decision:
        """The decision for this turn."""

    def update(self, feedback: Feedback) -> None:
        """Learn from what the counterpart did (default: nothing)."""

    def get_state(self) -> dict[str, Any]:
        """JSON-serialisable internal state (default: none)."""
        return {}

    def set_state(self, state: dict[str, Any]) -> None:
        """Restore what `get_state` returned."""
