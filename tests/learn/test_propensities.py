"""Every stochastic strategy logs the probability of the emotion it showed, and it is the right one."""
from __future__ import annotations

import numpy as np
import pytest

from simlab.strategies.bandit import BetaThompson, GaussianThompson, thompson_propensities
from simlab.strategies.base import STRATEGIES, Feedback
from simlab.strategies.check import synthetic_context, synthetic_observations
from simlab.strategies.base import Observation


@pytest.mark.parametrize("bandit", [
    BetaThompson(("a", "b", "c"), 1.0, 1.0),
    GaussianThompson(("a", "b", "c"), 0.5, 0.5, 0.25),
])
def test_thompson_propensities_match_the_sampling_frequencies(bandit):
    for i, arm in enumerate(bandit.arms):
        for _ in range(i * 3):
            bandit.update(arm, 0.8)
        bandit.update(arm, 0.3)
    rng = np.random.default_rng(0)
    draws = np.array([bandit.arms.index(bandit.sample(rng)) for _ in range(40_000)])
    freq = np.bincount(draws, minlength=3) / len(draws)
    np.testing.assert_allclose(thompson_propensities(bandit), freq, atol=0.01)


def _first_decision(name, params):
    cls = STRATEGIES.get(name)
    ctx = synthetic_context(seed=0)
    s = cls(**params)
    s.reset(ctx)
    turn = synthetic_observations(ctx)[0]
    obs = Observation(round=2, time=0.25, own_last_offer=None, their_last_offer=turn["offer"],
                      their_last_emotion=turn["emotion"], their_last_message=turn["message"],
                      their_offer_utility=ctx.utility.undiscounted(turn["offer"]), history=[],
                      their_last_detected=turn["detected"])
    return s.choose(obs)


@pytest.mark.parametrize("name,params,expected", [
    ("random_emotion", {}, 1 / 7),
    ("exploring_selector", {}, 1 / 7),
    ("thompson_bandit", {}, 1 / 7),  # a flat prior: every arm equally likely to be best
    ("coherence", {"temperature": 1.0}, None),
    ("bayesian_orchestrator", {"selection": "sample"}, None),
])
def test_stochastic_strategies_log_the_propensity_of_the_emotion_shown(name, params, expected):
    d = _first_decision(name, params)
    p = d.info["propensity"]
    assert 0 < p <= 1
    if expected is not None:
        assert p == pytest.approx(expected, abs=1e-3)
    if name == "bayesian_orchestrator":
        assert p == pytest.approx(d.info["fused"][d.emotion])


@pytest.mark.parametrize("name,params", [("fixed_emotion", {}), ("bayesian_orchestrator", {})])
def test_deterministic_choices_log_no_propensity_so_datasets_mark_them(name, params):
    assert "propensity" not in _first_decision(name, params).info
