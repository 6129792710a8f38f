"""Psychological coherence: affect dynamics, temperament, transition plausibility."""
from __future__ import annotations

import numpy as np
import pytest

from simlab.emotion.labels import EKMAN7
from simlab.errors import ConfigError
from simlab.strategies.base import Feedback, Observation
from simlab.strategies.check import synthetic_context
from simlab.strategies.coherence import (
    BigFive,
    CoherenceStrategy,
    FirstOrderAffect,
    SecondOrderAffect,
    make_dynamics,
    temperament,
    transition_plausibility,
)


def step_response(dyn, steps: int = 30) -> np.ndarray:
    return np.array([dyn.step([1.0, 1.0, 1.0])[0] for _ in range(steps)])


def test_second_order_overshoots_a_step_where_first_order_does_not():
    first = step_response(FirstOrderAffect(alpha=0.3, x0=[0.0, 0.0, 0.0]))
    second = step_response(SecondOrderAffect(stiffness=0.35, damping=0.4, x0=[0.0, 0.0, 0.0]))
    # first order: monotone approach from below, never past the input (inertia, no overshoot)
    assert np.all(np.diff(first) > 0) and first.max() < 1.0
    # second order: momentum carries it past the input, then it recovers towards it
    assert second.max() > 1.05
    assert abs(second[-1] - 1.0) < 0.02
    # both show inertia: the first step covers only part of the way
    assert first[0] < 0.5 and second[0] < 0.5


def test_big_five_profiles_shape_the_dynamics():
    calm = make_dynamics(BigFive(neuroticism=0.1, conscientiousness=0.9), order=2)
    labile = make_dynamics(BigFive(neuroticism=0.9, conscientiousness=0.1), order=2)
    assert labile.stiffness > calm.stiffness and labile.damping < calm.damping
    calm.x[:] = 0.0
    labile.x[:] = 0.0
    assert step_response(labile).max() > step_response(calm).max()  # more overshoot
    with pytest.raises(ConfigError):
        make_dynamics(BigFive(), order=3)


def test_temperament_follows_mehrabian():
    neutral = temperament(BigFive())
    np.testing.assert_allclose(neutral, 0.0, atol=1e-12)
    agreeable = temperament(BigFive(agreeableness=1.0))
    assert agreeable[0] == pytest.approx(0.59) and agreeable[2] == pytest.approx(-0.32)
    neurotic = temperament(BigFive(neuroticism=1.0))
    assert neurotic[0] == pytest.approx(-0.19) and neurotic[1] == pytest.approx(0.57)
    assert BigFive.from_any({"E": 0.8, "agreeableness": 0.3}) == BigFive(extraversion=0.8, agreeableness=0.3)
    with pytest.raises(ConfigError):
        BigFive.from_any({"charisma": 0.5})


def test_transition_plausibility_penalises_abrupt_jumps_for_stable_profiles():
    state = np.zeros(3)
    stable = BigFive(openness=0.1, neuroticism=0.1)
    labile = BigFive(openness=0.9, neuroticism=0.9)
    p_stable = dict(zip(EKMAN7, transition_plausibility(state, EKMAN7, "anger", stable)))
    p_labile = dict(zip(EKMAN7, transition_plausibility(state, EKMAN7, "anger", labile)))
    assert abs(sum(p_stable.values()) - 1) < 1e-12
    # anger -> joy is a long jump in VAD space: much less plausible for a stable, closed profile
    assert p_stable["joy"] < p_labile["joy"]
    assert p_stable["disgust"] > p_stable["joy"]


def test_coherence_strategy_catches_the_counterparts_mood_and_recovers():
    ctx = synthetic_context()
    s = CoherenceStrategy(big_five={"N": 0.8}, contagion=0.8, order=1, offers=False)
    s.reset(ctx)
    base = s.dynamics.x.copy()
    for r in range(1, 4):
        s.update(Feedback(kind="turn", round=r, their_emotion="anger", their_detected={"anger": 1.0}))
        d = s.choose(Observation(r, r / 8, None, None, "anger", "", None, []))
    assert d.offer is None and d.action is None
    assert d.info["affect"]["arousal"] > base[1]  # contagion raised arousal
    assert d.emotion in ("anger", "disgust", "fear")
    angry = s.dynamics.x.copy()
    for r in range(4, 12):  # no more events: recovery towards the temperament
        s.choose(Observation(r, r / 12, None, None, None, None, None, []))
    assert np.linalg.norm(s.dynamics.x - base) < np.linalg.norm(angry - base)
