"""Online Thompson sampling over emotions: `BetaThompson`, `GaussianThompson`, ``thompson_bandit``.

The RL agent of the emotion-aware multi-agent negotiator learns online which
emotion to show. Each emotion is an arm; its reward is the counterpart's
response. Thompson sampling (Thompson 1933; Chapelle & Li 2011; Russo et al.
2018, "A Tutorial on Thompson Sampling") draws one value from every arm's
posterior and plays the largest, so exploration fades as the posteriors
sharpen. Every draw uses the generator it is given (the strategy passes
ctx.rng), never global randomness.

- `BetaThompson`: Beta-Bernoulli posteriors for rewards in [0, 1]; a fractional
  reward r adds r to alpha and 1 - r to beta (weighted by `weight`).
- `GaussianThompson`: Normal posteriors (known observation noise) for
  real-valued rewards.

Rewards (`turn_reward`, `end_reward`): after a counterpart turn,
0.5 + scale x (its concession in our utility), clipped to [0, 1]; at the end,
the final utility rescaled between the reservation value and 1 (0 without
agreement), credited to every emotion shown in the negotiation.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
from pydantic import Field

from simlab.emotion.labels import DEFAULT_SPACE
from simlab.errors import ConfigError
from simlab.strategies.base import STRATEGIES, Decision, EmotionStrategy, Feedback, Observation, StrategyContext, finish_decision
from simlab.strategies.game_theory import CounterpartEvidence, ReciprocalConcession
from simlab.strategies.params import ConcessionParams


class BetaThompson:
    """Beta-Bernoulli Thompson sampling over named arms."""

    kind = "beta"

    def __init__(self, arms: Sequence[str], alpha: float = 1.0, beta: float = 1.0) -> None:
        self.arms = tuple(arms)
        self.alpha = np.full(len(self.arms), float(alpha))
        self.beta = np.full(len(self.arms), float(beta))

    def draw(self, rng: np.random.Generator) -> np.ndarray:
        """One posterior sample per arm."""
        return rng.beta(self.alpha, self.beta)

    def sample(self, rng: np.random.Generator) -> str:
        """The arm with the largest posterior draw."""
        return self.arms[int(np.argmax(self.draw(rng)))]

    def prob_best(self, rng: np.random.Generator, n: int = 64) -> np.ndarray:
        """Monte Carlo P(arm is best) from `n` joint posterior draws."""
        draws = rng.beta(self.alpha, self.beta, size=(int(n), len(self.arms)))
        counts = np.bincount(np.argmax(draws, axis=1), minlength=len(self.arms))
        return counts / counts.sum()

    def update(self, arm: str, reward: float, weight: float = 1.0) -> None:
        r = min(max(float(reward), 0.0), 1.0)
        i = self.arms.index(arm)
        self.alpha[i] += weight * r
        self.beta[i] += weight * (1.0 - r)

    def means(self) -> np.ndarray:
        return self.alpha / (self.alpha + self.beta)

    def get_state(self) -> dict[str, Any]:
        return {"kind": self.kind, "arms": list(self.arms), "alpha": self.alpha.tolist(), "beta": self.beta.tolist()}

    def set_state(self, state: Mapping[str, Any]) -> None:
        self.arms = tuple(state["arms"])
        self.alpha = np.array(state["alpha"], dtype=float)
        self.beta = np.array(state["beta"], dtype=float)


class GaussianThompson:
    """Normal-Normal Thompson sampling (known observation noise `noise_sd`)."""

    kind = "gaussian"

    def __init__(self, arms: Sequence[str], mean: float = 0.5, sd: float = 0.5, noise_sd: float = 0.25) -> None:
        self.arms = tuple(arms)
        self.mu = np.full(len(self.arms), float(mean))
        self.precision = np.full(len(self.arms), 1.0 / float(sd) ** 2)
        self.noise_precision = 1.0 / float(noise_sd) ** 2

    def draw(self, rng: np.random.Generator) -> np.ndarray:
        return rng.normal(self.mu, 1.0 / np.sqrt(self.precision))

    def sample(self, rng: np.random.Generator) -> str:
        return self.arms[int(np.argmax(self.draw(rng)))]

    def prob_best(self, rng: np.random.Generator, n: int = 64) -> np.ndarray:
        draws = rng.normal(self.mu, 1.0 / np.sqrt(self.precision), size=(int(n), len(self.arms)))
        counts = np.bincount(np.argmax(draws, axis=1), minlength=len(self.arms))
        return counts / counts.sum()

    def update(self, arm: str, reward: float, weight: float = 1.0) -> None:
        i = self.arms.index(arm)
        tau = weight * self.noise_precision
        new_precision = self.precision[i] + tau
        self.mu[i] = (self.precision[i] * self.mu[i] + tau * float(reward)) / new_precision
        self.precision[i] = new_precision

    def means(self) -> np.ndarray:
        return self.mu.copy()

    def get_state(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "arms": list(self.arms),
            "mu": self.mu.tolist(),
            "precision": self.precision.tolist(),
            "noise_precision": self.noise_precision,
        }

    def set_state(self, state: Mapping[str, Any]) -> None:
        self.arms = tuple(state["arms"])
        self.mu = np.array(state["mu"], dtype=float)
        self.precision = np.array(state["precision"], dtype=float)
        self.noise_precision = float(state["noise_precision"])


def thompson_propensities(bandit: BetaThompson | GaussianThompson, grid: int = 4001) -> np.ndarray:
    """P(each arm has the largest posterior draw): the probability Thompson sampling plays it.

    Computed, not sampled (no random draw), as the integral over x of arm i's
    posterior density times every other arm's posterior CDF, by the midpoint
    rule on `grid` points. Logged as the behaviour propensity of the emotion shown.
    """
    from scipy import stats

    if isinstance(bandit, BetaThompson):
        x = (np.arange(grid) + 0.5) / grid
        dist = stats.beta(bandit.alpha[:, None], bandit.beta[:, None])
        dx = 1.0 / grid
    else:
        sd = 1.0 / np.sqrt(bandit.precision)
        lo, hi = float(np.min(bandit.mu - 9 * sd)), float(np.max(bandit.mu + 9 * sd))
        dx = (hi - lo) / grid
        x = lo + (np.arange(grid) + 0.5) * dx
        dist = stats.norm(bandit.mu[:, None], sd[:, None])
    pdf, logcdf = dist.pdf(x), dist.logcdf(x)
    total = logcdf.sum(axis=0)
    p = np.array([np.sum(pdf[i] * np.exp(total - logcdf[i])) * dx for i in range(len(bandit.arms))])
    return p / p.sum()


def make_bandit(arms: Sequence[str], kind: str = "beta", **prior: float) -> BetaThompson | GaussianThompson:
    if kind == "beta":
        return BetaThompson(arms, prior.get("alpha", 1.0), prior.get("beta", 1.0))
    if kind == "gaussian":
        return GaussianThompson(arms, prior.get("mean", 0.5), prior.get("sd", 0.5), prior.get("noise_sd", 0.25))
    raise ConfigError(f"bandit kind must be 'beta' or 'gaussian', not {kind!r}.")


def turn_reward(concession: float | None, scale: float = 5.0) -> float | None:
    """0.5 + scale x concession, clipped to [0, 1] (None without a concession to measure)."""
    if concession is None:
        return None
    return float(min(max(0.5 + scale * float(concession), 0.0), 1.0))


def end_reward(feedback: Feedback, reservation: float) -> float:
    """The final utility rescaled to [0, 1] between the reservation value and 1; 0 without agreement."""
    if not feedback.agreement or feedback.final_utility is None:
        return 0.0
    span = max(1.0 - reservation, 1e-9)
    return float(min(max((feedback.final_utility - reservation) / span, 0.0), 1.0))


class ThompsonBanditParams(ConcessionParams):
    """Params of ``thompson_bandit`` (see `ThompsonBanditStrategy`); priors left out take their defaults."""

    kind: Literal["beta", "gaussian"] = "beta"
    alpha: float | None = Field(None, gt=0.0, le=1e6)
    beta: float | None = Field(None, gt=0.0, le=1e6)
    mean: float | None = Field(None, ge=-1e6, le=1e6)
    sd: float | None = Field(None, gt=0.0, le=1e6)
    noise_sd: float | None = Field(None, gt=0.0, le=1e6)
    concession_scale: float = Field(5.0, ge=0.0, le=1e3)
    end_weight: float = Field(1.0, ge=0.0, le=1e3)
    offers: bool = True


@STRATEGIES.register("thompson_bandit")
class ThompsonBanditStrategy(EmotionStrategy):
    """The RL agent alone: Thompson sampling over emotions with online rewards + reciprocal offers.

    The RL component of the emotion-aware multi-agent negotiator (Thompson
    sampling as the online learner; Chapelle & Li 2011). Posteriors persist
    across `reset`, so one instance keeps learning over negotiations (and
    through get_state / set_state across runs).

    Params:
        kind: "beta" (default) or "gaussian".
        alpha, beta (beta) / mean, sd, noise_sd (gaussian): priors.
        concession_scale: reward slope per unit of counterpart concession (default 5).
        end_weight: weight of the end-of-negotiation reward, split over the turns (default 1).
        offers, concession_factor, window, start, floor, deadline_e: as for ``coherence``.

    Decision.info: "posterior_means".
    """

    name = "thompson_bandit"
    description = "Thompson-sampling bandit over emotions, rewarded by counterpart concessions"
    check_params = ({}, {"kind": "gaussian"})
    Params = ThompsonBanditParams

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        p = self.params  # validated (ThompsonBanditParams)
        self.kind = str(p["kind"])
        self.prior = {k: float(p[k]) for k in ("alpha", "beta", "mean", "sd", "noise_sd") if p[k] is not None}
        self.concession_scale = float(p["concession_scale"])
        self.end_weight = float(p["end_weight"])
        self.offers = bool(p["offers"])
        self.bandit = make_bandit(DEFAULT_SPACE, self.kind, **self.prior)
        self.concession = ReciprocalConcession.from_params(p)
        self.evidence = CounterpartEvidence()
        self.last: str | None = None
        self.shown: list[str] = []

    def reset(self, ctx: StrategyContext) -> None:
        super().reset(ctx)
        space = tuple(ctx.emotions) if ctx.emotions else DEFAULT_SPACE
        if self.bandit.arms != space:
            self.bandit = make_bandit(space, self.kind, **self.prior)
        self.concession.reset()
        self.evidence = CounterpartEvidence()
        self.last = None
        self.shown = []

    def _ingest(self, ev: dict[str, Any] | None) -> None:
        if ev is None:
            return
        concession = self.concession.ingest(ev)
        reward = turn_reward(concession, self.concession_scale)
        if reward is not None and self.last is not None:
            self.bandit.update(self.last, reward)

    def update(self, feedback: Feedback) -> None:
        if feedback.kind == "end":
            if self.shown and self.ctx is not None:
                r = end_reward(feedback, self.ctx.utility.reservation)
                for arm in self.shown:
                    self.bandit.update(arm, r, self.end_weight / len(self.shown))
            return
        self._ingest(self.evidence.from_feedback(feedback))

    def choose(self, obs: Observation) -> Decision:
        assert self.ctx is not None
        self._ingest(self.evidence.from_observation(obs))
        emotion = self.bandit.sample(self.ctx.rng)
        propensity = float(thompson_propensities(self.bandit)[self.bandit.arms.index(emotion)])
        self.last = emotion
        self.shown.append(emotion)
        info: dict[str, Any] = {"posterior_means": {a: float(m) for a, m in zip(self.bandit.arms, self.bandit.means())},
                                "propensity": propensity}  # P(Thompson plays it), computed: offline RL / OPE
        move = self.concession.move(self.ctx, obs) if self.offers else None
        return finish_decision(emotion, f"Thompson sample: {emotion}", info, move)

    def get_state(self) -> dict[str, Any]:
        return {
            "bandit": self.bandit.get_state(),
            "concession": self.concession.get_state(),
            "last": self.last,
            "shown": list(self.shown),
            "fresh": self.evidence.fresh,
        }

    def set_state(self, state: dict[str, Any]) -> None:
        self.bandit = make_bandit(state["bandit"]["arms"], state["bandit"]["kind"], **self.prior)
        self.bandit.set_state(state["bandit"])
        self.concession.set_state(state["concession"])
        self.last = state.get("last")
        self.shown = list(state.get("shown", []))
        self.evidence.fresh = bool(state.get("fresh", False))
