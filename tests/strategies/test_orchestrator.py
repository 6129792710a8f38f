"""The Bayesian orchestrator: pgmpy fusion, reliability learning, logged experts."""
from __future__ import annotations

import json

import numpy as np
import pytest

from simlab.emotion.labels import EKMAN7
from simlab.errors import ConfigError
from simlab.strategies.base import Feedback, Observation
from simlab.strategies.check import synthetic_context
from simlab.strategies.orchestrator import BayesianOrchestratorStrategy, ReliabilityTracker

N = len(EKMAN7)


def onehot(label: str) -> np.ndarray:
    return np.eye(N)[EKMAN7.index(label)]


def test_fusion_is_the_reliability_weighted_product_of_experts():
    tracker = ReliabilityTracker(["a", "b", "c"], EKMAN7)
    tracker.a = {"a": 8.0, "b": 2.0, "c": 3.0}
    tracker.b = {"a": 2.0, "b": 2.0, "c": 7.0}
    rng = np.random.default_rng(0)
    proposals = {k: rng.dirichlet(np.ones(N)) for k in "abc"}
    r = tracker.means()
    expected = np.ones(N)
    for k in "abc":
        expected *= r[k] * proposals[k] + (1 - r[k]) / N
    np.testing.assert_allclose(tracker.fuse(proposals), expected / expected.sum(), atol=1e-12)


def test_reliability_moves_towards_a_rigged_expert():
    """Three experts propose; only the rigged one knows the emotion this counterpart rewards."""
    best = "sadness"
    tracker = ReliabilityTracker(["rigged", "noisy", "stubborn"], EKMAN7)
    rng = np.random.default_rng(42)
    start = tracker.means()
    history = []
    for _ in range(60):
        proposals = {
            "rigged": 0.8 * onehot(best) + 0.2 / N,
            "noisy": rng.dirichlet(np.ones(N)),
            "stubborn": 0.8 * onehot("joy") + 0.2 / N,
        }
        fused = tracker.fuse(proposals)
        # explore a little so every expert's advice gets tried
        chosen = EKMAN7[int(rng.choice(N, p=0.7 * fused + 0.3 / N))]
        reward = float(np.clip((0.9 if chosen == best else 0.2) + rng.normal(0, 0.05), 0, 1))
        tracker.update(proposals, chosen, reward)
        history.append(tracker.means()["rigged"])
    end = tracker.means()
    assert end["rigged"] > start["rigged"] + 0.1
    assert end["rigged"] > end["noisy"] and end["rigged"] > end["stubborn"]
    assert end["stubborn"] < start["stubborn"]
    assert history[-1] > history[len(history) // 2] > history[0]  # it keeps rising
    # the fused choice now follows the rigged expert even against the stubborn one
    assert EKMAN7[int(np.argmax(tracker.fuse({"rigged": onehot(best), "noisy": np.ones(N) / N,
                                              "stubborn": onehot("joy")})))] == best


def test_uninformative_outcome_teaches_nothing():
    tracker = ReliabilityTracker(["a", "b"], EKMAN7)
    before = tracker.get_state()
    assert tracker.update({"a": onehot("joy"), "b": onehot("anger")}, "joy", 0.5) == {}
    assert tracker.get_state() == before


def test_strategy_logs_experts_and_belief_and_learns_over_turns():
    ctx = synthetic_context(deadline=12)
    s = BayesianOrchestratorStrategy()
    s.reset(ctx)
    prev = None
    for r in range(1, 6):
        d = s.choose(Observation(r, r / 12, None, None, None, None, None, []))
        experts = d.info["experts"]
        assert set(experts) == {"proposals", "reliabilities"}
        assert set(experts["proposals"]) == {"game_theoretic", "rl", "coherence"}
        for dist in list(experts["proposals"].values()) + [d.info["fused"], d.info["belief"]]:
            assert abs(sum(dist.values()) - 1) < 1e-9
        assert d.emotion in EKMAN7 and d.emotion == max(d.info["fused"], key=d.info["fused"].get)
        json.dumps(d.info)
        u = 0.1 + 0.05 * r
        s.update(Feedback(kind="turn", round=r, their_emotion="sadness", their_offer_utility=u,
                          concession=None if prev is None else u - prev,
                          their_detected={x: float(x == "sadness") for x in EKMAN7}))
        prev = u
    before = dict(d.info["experts"]["reliabilities"])
    s.update(Feedback(kind="end", round=5, agreement=True, final_utility=0.9))
    after = s.tracker.means()
    assert after != before  # the end of the negotiation updated the reliabilities
    assert max(d.info["belief"], key=d.info["belief"].get) == "distressed"


def test_invalid_params_are_config_errors():
    with pytest.raises(ConfigError):
        BayesianOrchestratorStrategy(experts=["oracle"])
    with pytest.raises(ConfigError):
        BayesianOrchestratorStrategy(selection="vote")
