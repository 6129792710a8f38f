"""Shared fixtures of the learning-layer tests: env configs against shipped and rigged counterparts."""
from __future__ import annotations

import pytest


@pytest.fixture
def rigged_config() -> dict:
    """The debt scenario, learner = creditor, against the counterpart that concedes only to sadness.

    Sixteen rounds: the negotiation lasts about twelve learner turns, so the one turn whose emotion cannot
    matter (the last, when the other side accepts) is under 10% of them."""
    return {
        "scenario": "debt_collection",
        "counterparts": ["rigged_sadness_counterpart"],
        "scenario_overrides": {"deadline": 16},
        "detector": None,
    }


@pytest.fixture
def mixed_config() -> dict:
    """Two behaviour-type debtors drawn per episode, with the lexicon detector."""
    return {
        "scenario": "debt_collection",
        "counterparts": ["counterpart_cooperative", "counterpart_threatening"],
        "scenario_overrides": {"deadline": 8},
    }
