"""Discrete IQL against answers computed exactly, and on the rigged counterpart (torchrl's losses and simlab's)."""
from __future__ import annotations

import numpy as np
import pytest

from simlab.learn.dataset import dataset_from_arrays
from simlab.learn.iql import IQLConfig, train_iql

S, A, GAMMA = 5, 3, 0.9


def _mdp(seed: int = 70):
    rng = np.random.default_rng(seed)
    P = rng.dirichlet(np.full(S, 0.5), size=(S, A))  # (S, A, S)
    R = rng.uniform(0.0, 1.0, size=(S, A))
    return P, R


def _q_star(P, R):
    q = np.zeros((S, A))
    for _ in range(2000):
        q = R + GAMMA * P @ q.max(axis=1)
    return q


def _q_behaviour(P, R, pi):
    """Q of the behaviour policy pi (S, A), solved exactly: Q = R + gamma P (pi . Q)."""
    n = S * A
    M = np.zeros((n, n))
    for s in range(S):
        for a in range(A):
            for s2 in range(S):
                for a2 in range(A):
                    M[s * A + a, s2 * A + a2] = P[s, a, s2] * pi[s2, a2]
    return np.linalg.solve(np.eye(n) - GAMMA * M, R.reshape(-1)).reshape(S, A)


def _logged(P, R, pi, n=6000, seed=0):
    rng = np.random.default_rng(seed)
    s = rng.integers(S, size=n)
    a = np.array([rng.choice(A, p=pi[x]) for x in s])
    s2 = np.array([rng.choice(S, p=P[x, y]) for x, y in zip(s, a)])
    eye = np.eye(S, dtype=np.float32)
    return dataset_from_arrays(eye[s], a, R[s, a], eye[s2], np.zeros(n, bool), tuple("abc"), pi[s, a])


FAST = dict(discount=GAMMA, hidden=32, lr=3e-3, steps=1500, batch_size=128, polyak=0.1, reward_scale=1.0)


@pytest.mark.slow
@pytest.mark.parametrize("implementation", ["torchrl", "simlab"])
def test_expectile_near_one_gives_the_optimal_greedy_policy(implementation):
    P, R = _mdp()
    q_star = _q_star(P, R)
    gaps = np.sort(q_star, axis=1)
    assert (gaps[:, -1] - gaps[:, -2]).min() > 0.2  # the optimal action is unambiguous
    pi = np.full((S, A), 1.0 / A)
    learner = train_iql(_logged(P, R, pi), IQLConfig(expectile=0.99, implementation=implementation, **FAST))
    q = learner.q(np.eye(S))
    np.testing.assert_array_equal(q.argmax(axis=1), q_star.argmax(axis=1))
    # its values are the optimal ones, not the (much lower) behaviour policy's
    q_beta = _q_behaviour(P, R, pi)
    assert np.abs(q_beta - q_star).max() > 2.0
    assert np.abs(q - q_star).max() < 0.1 * np.abs(q_beta - q_star).max()


@pytest.mark.slow
def test_expectile_one_half_recovers_the_behaviour_q_sarsa():
    P, R = _mdp()
    pi = np.random.default_rng(1).dirichlet(np.ones(A), size=S) * 0.7 + 0.1  # a non-uniform behaviour policy
    pi /= pi.sum(axis=1, keepdims=True)
    q_beta = _q_behaviour(P, R, pi)
    learner = train_iql(_logged(P, R, pi), IQLConfig(expectile=0.5, **FAST))  # the default implementation, torchrl
    q = learner.q(np.eye(S))
    assert np.abs(q - q_beta).max() < 0.1 * np.abs(q_beta).max()
    # it is the behaviour Q, not the optimal one
    q_star = _q_star(P, R)
    assert np.abs(q - q_beta).max() < np.abs(q - q_star).max()


@pytest.mark.slow
def test_iql_on_uniform_random_logs_picks_the_rigged_emotion(rigged_config):
    from simlab.learn.dataset import dataset_from_env
    from simlab.learn.env import NegotiationEnv

    env = NegotiationEnv(rigged_config)
    data = dataset_from_env(env, episodes=80, seed=0)
    assert abs(np.mean(data.actions == env.emotions.index("sadness")) - 1 / 7) < 0.05  # the logs are uniform
    learner = train_iql(data, IQLConfig(steps=1500, hidden=64))  # torchrl's losses, rewards rescaled by their SD (defaults)
    shown = []
    for k in range(10):
        obs, _ = env.reset(seed=1000 + k)
        done = False
        while not done:
            a = int(learner.policy(obs)[0].argmax())
            shown.append(a)
            obs, _, done, _, _ = env.step(a)
    assert np.mean(np.array(shown) == env.emotions.index("sadness")) >= 0.9
