"""Off-policy evaluation on simulations whose true policy value is known exactly."""
from __future__ import annotations

import numpy as np
import pytest

from simlab.errors import StoreError
from simlab.learn.dataset import dataset_from_arrays
from simlab.learn.ope import evaluate_offline

S, A, H = 3, 2, 4
P = np.array([[[0.7, 0.2, 0.1], [0.1, 0.6, 0.3]],
              [[0.3, 0.4, 0.3], [0.5, 0.1, 0.4]],
              [[0.2, 0.2, 0.6], [0.6, 0.3, 0.1]]])  # (S, A, S)
R = np.array([[0.2, 1.0], [0.8, 0.1], [0.5, 0.9]])
MU = np.array([[0.5, 0.5], [0.6, 0.4], [0.4, 0.6]])  # behaviour
PI = np.array([[0.2, 0.8], [0.9, 0.1], [0.3, 0.7]])  # target
NOISE = 0.5


def true_value(pi: np.ndarray) -> float:
    v = np.zeros(S)
    for _ in range(H):
        q = R + P @ v
        v = (pi * q).sum(axis=1)
    return float(v.mean())  # start state uniform


def obs_of(s: int, t: int) -> np.ndarray:
    x = np.zeros(S * H, dtype=np.float32)
    x[t * S + s] = 1.0
    return x


def simulate(n_episodes: int, rng: np.random.Generator, logged: bool = True):
    rows = {k: [] for k in ("obs", "a", "r", "next", "done", "p")}
    for _ in range(n_episodes):
        s = int(rng.integers(S))
        for t in range(H):
            a = int(rng.choice(A, p=MU[s]))
            s2 = int(rng.choice(S, p=P[s, a]))
            rows["obs"].append(obs_of(s, t))
            rows["a"].append(a)
            rows["r"].append(R[s, a] + NOISE * rng.normal())
            rows["next"].append(obs_of(s2, t + 1) if t + 1 < H else np.zeros(S * H, np.float32))
            rows["done"].append(t == H - 1)
            rows["p"].append(MU[s, a])
            s = s2
    return dataset_from_arrays(np.array(rows["obs"]), np.array(rows["a"]), np.array(rows["r"]), np.array(rows["next"]),
                               np.array(rows["done"]), ("x", "y"), np.array(rows["p"]) if logged else None)


def target(obs: np.ndarray) -> np.ndarray:
    s = obs.reshape(len(obs), H, S).sum(axis=1).argmax(axis=1)
    out = PI[s].copy()
    out[obs.sum(axis=1) == 0] = 0.5  # terminal padding: any distribution
    return out


def test_point_estimates_are_close_to_the_true_value_on_a_large_sample():
    data = simulate(3000, np.random.default_rng(0))
    res = evaluate_offline(data, target, n_boot=20)
    truth = true_value(PI)
    assert abs(true_value(MU) - truth) > 0.3  # the target policy really differs from the behaviour one
    for k in ("pdwis", "dr", "fqe"):
        assert res[k]["estimate"] == pytest.approx(truth, abs=0.08), k
    assert 0 < res["ess"] < res["n_episodes"]


@pytest.mark.slow
def test_bootstrap_cis_cover_the_true_value_at_about_the_nominal_rate():
    truth = true_value(PI)
    reps, hits = 40, {"pdwis": 0, "dr": 0, "fqe": 0}
    for r in range(reps):
        data = simulate(150, np.random.default_rng(100 + r))
        res = evaluate_offline(data, target, n_boot=100, seed=r)
        for k in hits:
            hits[k] += res[k]["ci_low"] <= truth <= res[k]["ci_high"]
    for k, h in hits.items():
        assert h / reps >= 0.85, (k, h / reps)


def test_a_dataset_without_propensities_gets_fqe_only_and_says_why():
    data = simulate(100, np.random.default_rng(1), logged=False)
    res = evaluate_offline(data, target, n_boot=10)
    assert "pdwis" not in res and "dr" not in res and "fqe" in res
    assert "propensit" in res["why_no_is"]
    with pytest.raises(StoreError, match="propensities"):
        data.require_propensities("per-decision WIS")


def test_value_bounds_are_the_longest_episode_times_the_logged_reward_range():
    from simlab.learn.ope import value_bounds

    data = simulate(20, np.random.default_rng(3))  # every episode has H = 4 decisions
    lo, hi = value_bounds(data, gamma=0.5)
    horizon = 1 + 0.5 + 0.25 + 0.125
    assert lo == pytest.approx(min(0.0, horizon * data.rewards.min()))
    assert hi == pytest.approx(max(0.0, horizon * data.rewards.max()))
    res = evaluate_offline(simulate(3000, np.random.default_rng(0)), target, n_boot=5)
    assert all(res[k]["why_unreliable"] is None for k in ("pdwis", "dr", "fqe"))  # a sound fit is not flagged


def test_a_diverging_fitted_q_is_flagged_with_why_not_reported_as_a_value():
    # one feature x: the first decision (x = 1) leads to x = 4, never logged as a state, the second (x = 2)
    # ends with reward 1. A linear Q(x) = a x + b then iterates (a, b) -> (1 - 4a - b, 8a + 2b - 1), whose
    # matrix has eigenvalue -2: FQE diverges, although every return here is exactly 1.
    n = 10
    obs = np.tile([[1.0], [2.0]], (n, 1)).astype(np.float32)
    nxt = np.tile([[4.0], [0.0]], (n, 1)).astype(np.float32)
    done = np.tile([False, True], n)
    rewards = np.tile([0.0, 1.0], n)
    data = dataset_from_arrays(obs, np.zeros(2 * n, dtype=int), rewards, nxt, done, ("x", "y"), np.full(2 * n, 0.5))
    always_x = lambda o: np.tile([1.0, 0.0], (len(o), 1))  # noqa: E731
    res = evaluate_offline(data, always_x, n_boot=5)
    assert res["bounds"] == (0.0, 2.0)
    assert res["pdwis"]["estimate"] == pytest.approx(1.0) and res["pdwis"]["why_unreliable"] is None
    assert abs(res["fqe"]["estimate"]) > 1e6
    assert "diverged" in res["fqe"]["why_unreliable"] and "outside [0, 2]" in res["fqe"]["why_unreliable"]
    assert "fitted-Q" in res["dr"]["why_unreliable"]
