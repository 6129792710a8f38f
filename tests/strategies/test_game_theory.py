"""Game theory: best response on a hand-made payoff table, tit-for-tat, the two strategies."""
from __future__ import annotations

import numpy as np
import pytest

from simlab.emotion.labels import EKMAN7
from simlab.strategies.base import Feedback, Observation
from simlab.strategies.check import synthetic_context
from simlab.strategies.game_theory import (
    DEFAULT_PAYOFFS,
    GameTheoreticStrategy,
    HMMGameTheoryStrategy,
    ReciprocalConcession,
    best_response,
    expected_payoffs,
    payoff_matrix,
    tit_for_tat_target,
)
from simlab.strategies.hmm_tracker import STATES

# A hand-made 3 x 2 game: rows are our emotions, columns the counterpart's states.
#             calm   angry
#   joy        4      -2
#   neutral    1       1
#   anger     -1       3
TABLE = {"joy": {"calm": 4, "angry": -2}, "neutral": {"calm": 1, "angry": 1}, "anger": {"calm": -1, "angry": 3}}


@pytest.mark.parametrize(
    "p_calm,expected",
    # E[joy] = 6p - 2, E[neutral] = 1, E[anger] = 3 - 4p with p = P(calm): joy is the
    # best response for p > 1/2, anger for p < 1/2
    [(1.0, "joy"), (0.8, "joy"), (0.55, "joy"), (0.45, "anger"), (0.2, "anger"), (0.0, "anger")],
)
def test_best_response_on_a_hand_made_table(p_calm, expected):
    assert best_response({"calm": p_calm, "angry": 1 - p_calm}, TABLE) == expected
    values = expected_payoffs(np.array([p_calm, 1 - p_calm]), payoff_matrix(list(TABLE), ["calm", "angry"], TABLE))
    np.testing.assert_allclose(values, [6 * p_calm - 2, 1, 3 - 4 * p_calm])


def test_best_response_ties_go_to_the_first_emotion():
    # at p = 1/2 all three emotions are worth exactly 1
    belief = {"calm": 0.5, "angry": 0.5}
    assert best_response(belief, TABLE, emotions=["neutral", "joy", "anger"]) == "neutral"
    assert best_response(belief, TABLE, emotions=["anger", "neutral", "joy"]) == "anger"


def test_default_payoffs_best_responses_per_pure_state():
    expected = {"cooperative": "joy", "distressed": "sadness", "hostile": "neutral", "deceptive": "anger"}
    for state, emotion in expected.items():
        belief = {s: float(s == state) for s in STATES}
        assert best_response(belief, DEFAULT_PAYOFFS, emotions=EKMAN7) == emotion


def test_tit_for_tat_reciprocates_concessions_only():
    assert tit_for_tat_target(0.9, [0.2, 0.3]) == pytest.approx(0.8)
    assert tit_for_tat_target(0.9, [0.2, 0.3], factor=0.5) == pytest.approx(0.85)
    assert tit_for_tat_target(0.9, [0.3, 0.2]) == 0.9  # a retraction earns nothing
    assert tit_for_tat_target(0.9, [0.1, 0.2, 0.4], window=2) == pytest.approx(0.75)  # averaged
    assert tit_for_tat_target(0.9, [0.3]) == 0.9


def test_reciprocal_concession_respects_floor_deadline_and_ac_next():
    ctx = synthetic_context()
    rc = ReciprocalConcession(start=1.0, deadline_e=0.2)
    targets = []
    for r in range(1, ctx.deadline + 1):
        obs = Observation(r, r / ctx.deadline, None, None, None, None, None, [])
        _, _, t = rc.move(ctx, obs)
        targets.append(t)
    assert all(a >= b for a, b in zip(targets, targets[1:]))  # never retracts
    assert targets[-1] == pytest.approx(ctx.utility.reservation)  # the safety net reaches the floor
    # AC_next: accept an offer worth at least the next target
    rc = ReciprocalConcession(start=0.5)
    good = ctx.utility.offer_with_utility(0.7)
    obs = Observation(2, 0.25, None, good, "joy", "ok", ctx.utility.undiscounted(good), [])
    action, offer, _ = rc.move(ctx, obs)
    assert action == "accept" and offer == good


def feedback(emotion: str, utility: float, prev: float | None) -> Feedback:
    return Feedback(
        kind="turn", round=1, their_emotion=emotion, their_offer_utility=utility,
        concession=None if prev is None else utility - prev,
        their_detected={x: 0.94 if x == emotion else 0.01 for x in EKMAN7},
    )


@pytest.mark.parametrize(
    "emotions,state,response",
    [(["anger", "disgust", "anger"], "hostile", "neutral"), (["sadness", "fear", "sadness"], "distressed", "sadness")],
)
def test_hmm_game_theory_tracks_the_state_and_best_responds(emotions, state, response):
    ctx = synthetic_context()
    s = HMMGameTheoryStrategy()
    s.reset(ctx)
    prev = None
    for i, emo in enumerate(emotions, start=1):
        s.choose(Observation(i, i / ctx.deadline, None, None, None, None, None, []))
        u = 0.1 * i
        s.update(feedback(emo, u, prev))
        prev = u
    d = s.choose(Observation(4, 0.5, None, ctx.utility.offer_with_utility(0.3), emotions[-1], "", 0.3, []))
    assert max(d.info["belief"], key=d.info["belief"].get) == state
    assert d.emotion == response
    assert abs(sum(d.info["belief"].values()) - 1) < 1e-12
    assert set(d.info) >= {"belief", "predicted", "expected_payoffs", "target_utility"}
    assert d.action == "offer" and set(d.offer) == set(ctx.issues)


def test_game_theoretic_uses_the_last_emotion_or_the_prior():
    ctx = synthetic_context()
    s = GameTheoreticStrategy()
    s.reset(ctx)
    first = s.choose(Observation(1, 0.1, None, None, None, None, None, []))
    assert first.emotion == best_response(dict(zip(STATES, s.prior)), DEFAULT_PAYOFFS, emotions=EKMAN7)
    s.update(feedback("anger", 0.2, None))
    assert s.choose(Observation(2, 0.2, None, None, None, None, None, [])).emotion == "neutral"
    prior = GameTheoreticStrategy(mode="prior", prior={"deceptive": 1.0})
    prior.reset(ctx)
    prior.update(feedback("joy", 0.2, None))
    assert prior.choose(Observation(2, 0.2, None, None, None, None, None, [])).emotion == "anger"
