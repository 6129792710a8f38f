"""What the decision policies share: `DecisionContext` and `DecisionPolicy`.

A decision policy is an `EmotionStrategy` (so agent profiles name it under
``strategy:`` and it lives in the `STRATEGIES` registry) that also knows how to
act in the advisory and vignette protocols. In a negotiation it behaves like
the fixed-neutral baseline. Its decision-protocol lifecycle is
`begin(ctx)` once per run, then protocol-specific calls. All randomness comes
from ``ctx.rng``, a generator the session derives from the run's seed.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from simlab.strategies.base import Decision, EmotionStrategy, Observation


@dataclass
class DecisionContext:
    """What a decision policy knows before a run starts.

    Attributes:
        role: the policy's role ("advisor", "decider", "responder").
        rng: the policy's own generator (derived from the run seed).
        scenario: the resolved scenario model.
        facts: placeholder values.
    """

    role: str
    rng: np.random.Generator
    scenario: Any
    facts: dict[str, Any] = field(default_factory=dict)


class DecisionPolicy(EmotionStrategy):
    """Base of the decision-protocol policies; neutral and passive in a negotiation."""

    name = "decision_policy"
    description = "a decision-protocol policy"

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.dctx: DecisionContext | None = None

    def begin(self, ctx: DecisionContext) -> None:
        """Start a decision run."""
        self.dctx = ctx

    def choose(self, obs: Observation) -> Decision:
        return Decision(emotion="neutral", rationale=f"{self.name}: not a negotiation policy; neutral, move left to the LLM")
