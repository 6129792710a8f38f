"""Emotion-strategy modules and their registry (`STRATEGIES`)."""
from __future__ import annotations

from simlab.strategies.base import (
    STRATEGIES,
    Decision,
    EmotionStrategy,
    Feedback,
    Observation,
    StrategyContext,
)

# Importing the modules fills the registry through their decorators.
from simlab.strategies import concession as _concession  # noqa: E402,F401
from simlab.strategies import debtor as _debtor  # noqa: E402,F401
from simlab.strategies import baselines as _baselines  # noqa: E402,F401
from simlab.strategies import game_theory as _game_theory  # noqa: E402,F401
from simlab.strategies import coherence as _coherence  # noqa: E402,F401
from simlab.strategies import bandit as _bandit  # noqa: E402,F401
from simlab.strategies import orchestrator as _orchestrator  # noqa: E402,F401
from simlab.strategies import eq_negotiator as _eq_negotiator  # noqa: E402,F401
from simlab.strategies import learned as _learned  # noqa: E402,F401
from simlab.strategies import rigged as _rigged  # noqa: E402,F401

# Decision-study policies live with their protocols; registered lazily (no import cost for negotiations).
STRATEGIES.register_lazy("advisor", "simlab.decision.advisor:AdvisorPolicy")
STRATEGIES.register_lazy("simulated_person", "simlab.decision.simulated_person:SimulatedPerson")
STRATEGIES.register_lazy("simulated_responder", "simlab.decision.simulated_responder:SimulatedResponder")
# NegMAS SAO negotiators as strategies (the bench extra); lazy so negmas is imported only when used
STRATEGIES.register_lazy("negmas", "simlab.strategies.negmas_adapter:NegmasStrategy", extra="bench")

from simlab.strategies.params import validate_strategy_params  # noqa: E402 - the one params check (validate == run)

__all__ = [
    "STRATEGIES", "Decision", "EmotionStrategy", "Feedback", "Observation", "StrategyContext", "validate_strategy_params",
]
