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

__all__ = ["STRATEGIES", "Decision", "EmotionStrategy", "Feedback", "Observation", "StrategyContext"]
