"""Thompson sampling over emotions."""
from __future__ import annotations

import numpy as np
import pytest

from simlab.emotion.labels import EKMAN7
from simlab.strategies.bandit import (
    BetaThompson,
    GaussianThompson,
    ThompsonBanditStrategy,
    end_reward,
    turn_reward,
)
from simlab.strategies.base import Feedback, Observation
from simlab.strategies.check import synthetic_context


@pytest.mark.parametrize("cls", [BetaThompson, GaussianThompson])
def test_thompson_sampling_finds_the_best_arm(cls):
    rng = np.random.default_rng(0)
    env = np.random.default_rng(1)
    means = dict(zip(EKMAN7, [0.3, 0.4, 0.8, 0.2, 0.3, 0.35, 0.1]))  # sadness pays best
    bandit = cls(EKMAN7)
    pulls = []
    for _ in range(400):
        arm = bandit.sample(rng)
        pulls.append(arm)
        bandit.update(arm, float(env.random() < means[arm]))
    assert EKMAN7[int(np.argmax(bandit.means()))] == "sadness"
    assert pulls[-100:].count("sadness") > 70  # exploitation once the posterior is sharp
    assert bandit.prob_best(rng, 256)[EKMAN7.index("sadness")] > 0.8


def test_same_generator_state_same_draws():
    a, b = BetaThompson(EKMAN7), BetaThompson(EKMAN7)
    ra, rb = np.random.default_rng(5), np.random.default_rng(5)
    assert [a.sample(ra) for _ in range(20)] == [b.sample(rb) for _ in range(20)]


def test_rewards():
    assert turn_reward(None) is None
    assert turn_reward(0.0) == 0.5 and turn_reward(0.2) == 1.0 and turn_reward(-0.05) == pytest.approx(0.25)
    assert end_reward(Feedback(kind="end", round=5, agreement=False, final_utility=0.9), 0.2) == 0.0
    assert end_reward(Feedback(kind="end", round=5, agreement=True, final_utility=0.6), 0.2) == pytest.approx(0.5)


def test_strategy_learns_from_counterpart_concessions():
    ctx = synthetic_context(deadline=60)
    s = ThompsonBanditStrategy(offers=False)
    s.reset(ctx)
    u = 0.1
    for r in range(1, 61):
        d = s.choose(Observation(r, r / 60, None, None, None, None, None, []))
        conceded = 0.06 if d.emotion == "sadness" else -0.02  # only sadness moves this counterpart
        s.update(Feedback(kind="turn", round=r, their_offer_utility=u + conceded, concession=conceded))
    means = d.info["posterior_means"]
    assert max(means, key=means.get) == "sadness"
