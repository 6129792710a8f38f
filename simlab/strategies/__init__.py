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

__all__ = ["STRATEGIES", "Decision", "EmotionStrategy", "Feedback", "Observation", "StrategyContext"]
