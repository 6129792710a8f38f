"""Off-policy evaluation from logged decisions: `pdwis`, `weighted_dr`, `fqe`, `evaluate_offline`.

Estimates the value (expected episode return) of a target policy pi from data
logged by another policy mu, without running pi:

- per-decision weighted importance sampling (Precup, Sutton & Singh 2000):
  sum_t gamma^t sum_i w_it r_it with w_it the cumulative ratio prod_{k<=t}
  pi/mu of episode i normalised over episodes at each t (an episode that has
  ended keeps its last ratio and adds no reward);
- doubly robust, weighted (Jiang & Li 2016; Thomas & Brunskill 2016's WDR):
  the same weights applied to the model's residuals around a fitted Q-hat, so
  it is unbiased when either the propensities or the model are right;
- fitted-Q evaluation (Le, Voloshin & Yue 2019): Q-hat of pi by iterated ridge
  regressions of r + gamma (1 - done) sum_a pi(a|s') Q-hat(s', a) on features
  one-hot(action) x [observation, 1]; the value is the mean of V-hat(s_0).

An estimate outside the values any policy can have on the logged data
(`value_bounds`: at most the longest episode's number of decisions, each reward
within the logged range) is kept but marked with ``why_unreliable`` (a linear
FQE that diverged on too few decisions for its features; the DR estimate
built on such an FQE is marked too, in or out of bounds, since it then cancels
huge terms), so a report shows why instead of the number.

Each comes with a percentile bootstrap CI over episodes (`n_boot` resamples,
numpy generator of `seed`) and the effective sample size of the full-episode
importance weights, (sum w)^2 / sum w^2 (Kong 1992). IS and DR need every
decision's behaviour propensity: a dataset without them is refused (FQE still
runs).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from simlab.learn.dataset import Dataset
from simlab.stats.bootstrap import percentile_interval

PolicyFn = Callable[[np.ndarray], np.ndarray]
"""Observations (N, d) -> action probabilities (N, A)."""


@dataclass
class Episodes:
    """The dataset padded into (episodes, T) arrays for vectorised estimators."""

    rewards: np.ndarray  # (E, T), 0 after the end
    ratios: np.ndarray  # (E, T) pi/mu per decision, 1 after the end
    alive: np.ndarray  # (E, T) bool
    q_taken: np.ndarray  # (E, T) Q-hat(s_t, a_t), 0 after the end
    v_state: np.ndarray  # (E, T) V-hat(s_t), 0 after the end


def _pad(data: Dataset, index: list[np.ndarray], values: np.ndarray, fill: float) -> np.ndarray:
    T = max(len(ix) for ix in index)
    out = np.full((len(index), T), fill, dtype=float)
    for e, ix in enumerate(index):
        out[e, : len(ix)] = values[ix]
    return out


def episodes(data: Dataset, pi: np.ndarray, q_hat: np.ndarray | None = None, v_hat: np.ndarray | None = None) -> Episodes:
    """Pad `data` by episode; `pi` is (N, A) target probabilities at each row's observation."""
    index = data.episodes()
    taken = pi[np.arange(len(data)), data.actions]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(data.has_propensity, taken / data.propensities, np.nan)
    zeros = np.zeros(len(data))
    return Episodes(
        rewards=_pad(data, index, data.rewards, 0.0),
        ratios=_pad(data, index, ratio, 1.0),
        alive=_pad(data, index, np.ones(len(data)), 0.0).astype(bool),
        q_taken=_pad(data, index, zeros if q_hat is None else q_hat, 0.0),
        v_state=_pad(data, index, zeros if v_hat is None else v_hat, 0.0),
    )


def _cum_weights(ep: Episodes) -> np.ndarray:
    return np.cumprod(ep.ratios, axis=1)


def pdwis_value(ep: Episodes, gamma: float = 1.0) -> float:
    w = _cum_weights(ep)
    norm = w.sum(axis=0)
    norm[norm == 0] = 1.0
    disc = gamma ** np.arange(ep.rewards.shape[1])
    return float(np.sum(disc * (w * ep.rewards).sum(axis=0) / norm))


def wdr_value(ep: Episodes, gamma: float = 1.0) -> float:
    w = _cum_weights(ep)
    norm = w.sum(axis=0)
    norm[norm == 0] = 1.0
    wn = w / norm
    prev = np.concatenate([np.full((w.shape[0], 1), 1.0 / w.shape[0]), wn[:, :-1]], axis=1)
    disc = gamma ** np.arange(ep.rewards.shape[1])
    terms = wn * (ep.rewards - ep.q_taken) + prev * ep.v_state * ep.alive
    return float(np.sum(disc * terms.sum(axis=0)))


def ess(ep: Episodes) -> float:
    """Effective sample size of the full-episode weights."""
    w = np.prod(ep.ratios, axis=1)
    s2 = float(np.sum(w**2))
    return float(np.sum(w) ** 2 / s2) if s2 > 0 else 0.0


def _design(obs: np.ndarray, actions: np.ndarray, n_actions: int) -> np.ndarray:
    x = np.hstack([obs.astype(float), np.ones((len(obs), 1))])
    out = np.zeros((len(obs), n_actions * x.shape[1]))
    d = x.shape[1]
    for a in range(n_actions):
        rows = actions == a
        out[rows, a * d : (a + 1) * d] = x[rows]
    return out


def _all_actions(obs: np.ndarray, n_actions: int) -> np.ndarray:
    """(N, A, A*d) design rows of every action at each observation."""
    x = np.hstack([obs.astype(float), np.ones((len(obs), 1))])
    d = x.shape[1]
    out = np.zeros((len(obs), n_actions, n_actions * d))
    for a in range(n_actions):
        out[:, a, a * d : (a + 1) * d] = x
    return out


def fqe(data: Dataset, pi_next: np.ndarray, n_actions: int, gamma: float = 1.0, iterations: int = 60,
        ridge: float = 1e-3) -> tuple[np.ndarray, Callable[[np.ndarray], np.ndarray]]:
    """Fitted-Q evaluation: (weights, q(obs) -> (N, A)); `pi_next` is (N, A) target probabilities at next_obs."""
    X = _design(data.obs, data.actions, n_actions)
    Xn = _all_actions(data.next_obs, n_actions)
    gram = X.T @ X + ridge * np.eye(X.shape[1])
    chol = np.linalg.cholesky(gram)
    theta = np.zeros(X.shape[1])
    cont = (~data.dones).astype(float)
    for _ in range(iterations):
        v_next = np.einsum("na,na->n", Xn @ theta, pi_next)
        y = data.rewards + gamma * cont * v_next
        new = np.linalg.solve(chol.T, np.linalg.solve(chol, X.T @ y))
        if np.max(np.abs(new - theta)) < 1e-9:
            theta = new
            break
        theta = new

    def q(obs: np.ndarray) -> np.ndarray:
        return _all_actions(obs, n_actions) @ theta

    return theta, q


def _estimates(data: Dataset, pi: np.ndarray, pi_next: np.ndarray, gamma: float, with_is: bool,
               iterations: int) -> dict[str, float]:
    n_actions = pi.shape[1]
    _, q = fqe(data, pi_next, n_actions, gamma, iterations)
    q_all = q(data.obs)
    q_taken = q_all[np.arange(len(data)), data.actions]
    v_hat = np.einsum("na,na->n", q_all, pi)
    starts = np.array([ix[0] for ix in data.episodes()])
    out = {"fqe": float(np.mean(v_hat[starts]))}
    if with_is:
        ep = episodes(data, pi, q_taken, v_hat)
        out["pdwis"] = pdwis_value(ep, gamma)
        out["dr"] = wdr_value(ep, gamma)
        out["ess"] = ess(ep)
    return out


def _subset(data: Dataset, rows: np.ndarray) -> Dataset:
    return Dataset(
        obs=data.obs[rows], actions=data.actions[rows], rewards=data.rewards[rows], next_obs=data.next_obs[rows],
        dones=data.dones[rows], propensities=data.propensities[rows], has_propensity=data.has_propensity[rows],
        run_ids=data.run_ids[rows], meta=data.meta, digest="",
    )


def value_bounds(data: Dataset, gamma: float = 1.0) -> tuple[float, float]:
    """The range every policy's value lies in, given the logged rewards and episode lengths.

    An episode has at most T decisions (the longest logged one) and each reward lies in the logged
    [r_min, r_max], so a return lies in [min(0, H r_min), max(0, H r_max)], H = sum_{t<T} gamma^t
    (0 for the steps of an episode that has already ended).
    """
    T = max(len(ix) for ix in data.episodes())
    horizon = float(np.sum(gamma ** np.arange(T)))
    r_min, r_max = float(np.min(data.rewards)), float(np.max(data.rewards))
    return min(0.0, horizon * r_min), max(0.0, horizon * r_max)


def _unreliable(key: str, estimate: float, bounds: tuple[float, float], data: Dataset, n_actions: int) -> str | None:
    lo, hi = bounds
    tol = 1e-9 * max(1.0, abs(lo), abs(hi))
    if np.isfinite(estimate) and lo - tol <= estimate <= hi + tol:
        return None
    n_features = n_actions * (data.obs.shape[1] + 1)
    why = {"fqe": f"the linear fitted-Q regression diverged ({len(data)} logged decisions for {n_features} features)",
           "dr": "its model term is the fitted-Q estimate, which diverged",
           "pdwis": "the importance weights are degenerate"}[key]
    return (f"{estimate:.4g} lies outside [{lo:.3g}, {hi:.3g}], the values any policy can have on these data; "
            f"{why}: log more episodes")


def evaluate_offline(data: Dataset, policy: PolicyFn, gamma: float = 1.0, n_boot: int = 200, seed: int = 0,
                     level: float = 0.95, fqe_iterations: int = 60) -> dict[str, Any]:
    """Point estimates, bootstrap CIs and ESS of `policy`'s value from `data`.

    Returns {"pdwis"|"dr"|"fqe": {"estimate", "ci_low", "ci_high", "why_unreliable"}, "ess", "n_episodes",
    "is": bool, "why_no_is": reason or None, "bounds": (low, high)}; ``why_unreliable`` is None unless
    the estimate lies outside `value_bounds`.
    """
    with_is = bool(data.has_propensity.all())
    why = None if with_is else (
        f"{int((~data.has_propensity).sum())} of {len(data)} decisions carry no behaviour propensity: "
        "importance sampling and doubly robust estimates cannot be computed"
    )
    pi = np.asarray(policy(data.obs), dtype=float)
    pi_next = np.asarray(policy(data.next_obs), dtype=float)
    point = _estimates(data, pi, pi_next, gamma, with_is, fqe_iterations)
    index = data.episodes()
    rng = np.random.default_rng(seed)
    boots: dict[str, list[float]] = {k: [] for k in point if k != "ess"}
    for _ in range(n_boot):
        pick = rng.integers(0, len(index), size=len(index))
        rows = np.concatenate([index[i] for i in pick])
        sub = _subset(data, rows)
        # resampled episodes may repeat: keep them apart by giving each copy its own id
        sub.run_ids = np.concatenate([np.full(len(index[i]), f"b{j}") for j, i in enumerate(pick)])
        est = _estimates(sub, pi[rows], pi_next[rows], gamma, with_is, fqe_iterations)
        for k in boots:
            boots[k].append(est[k])
    out: dict[str, Any] = {"n_episodes": len(index), "n_decisions": len(data), "is": with_is, "why_no_is": why,
                           "ess": point.get("ess"), "level": level, "n_boot": n_boot}
    bounds = value_bounds(data, gamma)
    out["bounds"] = bounds
    for k, values in boots.items():
        lo, hi = percentile_interval(values, level)
        out[k] = {"estimate": point[k], "ci_low": lo, "ci_high": hi,
                  "why_unreliable": _unreliable(k, point[k], bounds, data, pi.shape[1])}
    if "dr" in out and out["fqe"]["why_unreliable"] and not out["dr"]["why_unreliable"]:
        # DR adds weighted residuals around FQE's Q-hat: with Q-hat diverged, its sum cancels huge terms
        out["dr"]["why_unreliable"] = (f"its model term is the fitted-Q estimate, which diverged (DR gave "
                                       f"{out['dr']['estimate']:.4g} by cancelling terms of {abs(out['fqe']['estimate']):.2g}): "
                                       "log more episodes")
    return out
