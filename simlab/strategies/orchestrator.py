"""The Bayesian orchestrator: fusing game-theoretic, RL and coherence experts into one emotion.

Defines the experts (`GameTheoryExpert`, `BanditExpert`, `CoherenceExpert`),
`BayesianFusion` (a pgmpy discrete Bayesian network), `ReliabilityTracker`
(Beta-Bernoulli reliabilities) and the ``bayesian_orchestrator`` strategy.

This implements the emotion-aware multi-agent negotiator in which a Bayesian
orchestrator combines a game-theoretic agent, a reinforcement-learning agent
and a psychological-coherence agent, weighting each by a reliability learned
from how the negotiation responds.

Model. Let B be the (unknown) best emotion to show now, uniform a priori. Each
expert k has a binary correctness C_k with P(C_k = 1) = r_k, its current
reliability, and proposes P_k: a correct expert proposes B, an incorrect one a
label uniformly at random:

    B -> P_k <- C_k,     P(P_k = e | B = b, C_k = 1) = [e = b],   P(P_k = e | C_k = 0) = 1/n.

An expert's proposal is a distribution q_k over emotions, entered as virtual
evidence on P_k (Pearl 1988), so P(B = b | proposals) is proportional to
prod_k (r_k q_k(b) + (1 - r_k) / n): a reliability-weighted product of
experts. The agent shows the posterior mode (or samples it).

Learning. After a counterpart turn the reward rho in [0, 1] (its concession,
as in `simlab.strategies.bandit.turn_reward`) is evidence about B: the
likelihood of the outcome is rho if the shown emotion was best and 1 - rho
otherwise, entered as virtual evidence on B. The network then gives each
expert's posterior correctness P(C_k = 1 | proposals, outcome) (it explains
away: an expert that agreed with a well-received choice gains, one that
proposed something else loses, and vice versa after a rebuff), and the Beta
posterior of r_k absorbs it as a fractional Bernoulli observation:
a_k += w P(C_k = 1 | .), b_k += w (1 - P(C_k = 1 | .)), with w = |2 rho - 1|, so an
uninformative outcome (rho = 0.5) teaches nothing. At the end of the
negotiation the final utility updates every decision of the negotiation
(weight `end_weight`, split over them).

Why pgmpy and this structure: reliabilities must stay interpretable
(a probability per expert, logged every turn) and be learned from the
negotiation's response alone; the network states the assumptions (independent
expert errors, uniform confusion) explicitly, inference is exact (variable
elimination over n x 2^K states is cheap for three experts), and the same
network answers both the fusion query (B) and the credit-assignment query
(C_k), so fusion and learning cannot drift apart. The Beta-Bernoulli layer
keeps the learning conjugate and the state JSON-serialisable.
"""
from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any, Literal, Protocol

import numpy as np
from pydantic import Field, field_validator

from simlab.emotion import vad as vad_mod
from simlab.emotion.labels import DEFAULT_SPACE
from simlab.strategies.bandit import end_reward, make_bandit, turn_reward
from simlab.strategies.base import STRATEGIES, Decision, EmotionStrategy, Feedback, Observation, StrategyContext, finish_decision
from simlab.strategies.coherence import (
    BigFive,
    BigFiveSpec,
    make_dynamics,
    temperament,
    transition_plausibility,
)
from simlab.strategies.game_theory import (
    DEFAULT_PAYOFFS,
    DEFAULT_STATE_FACTORS,
    CounterpartEvidence,
    GameTheoryParams,
    ReciprocalConcession,
    expected_payoffs,
    payoff_matrix,
    softmax,
)
from simlab.strategies.learned import LearnedExpert, parse_rl_expert
from simlab.strategies.hmm_tracker import ForwardFilter, resolve_params


def _pgmpy() -> tuple[Any, Any, Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        from pgmpy.factors.discrete import TabularCPD
        from pgmpy.inference import VariableElimination
        from pgmpy.models import DiscreteBayesianNetwork
    return DiscreteBayesianNetwork, TabularCPD, VariableElimination


# --------------------------------------------------------------------------------------
# Fusion network and reliabilities
# --------------------------------------------------------------------------------------


class BayesianFusion:
    """The network B -> P_k <- C_k over `labels` for the named experts (see module docstring)."""

    def __init__(self, experts: Sequence[str], labels: Sequence[str]) -> None:
        network_cls, cpd_cls, self._ve_cls = _pgmpy()
        self._cpd = cpd_cls
        self.experts = tuple(experts)
        self.labels = tuple(labels)
        n = len(self.labels)
        edges = []
        for k in self.experts:
            edges += [("Best", f"P_{k}"), (f"C_{k}", f"P_{k}")]
        self.model = network_cls(edges)
        cpds = [cpd_cls("Best", n, [[1.0 / n]] * n, state_names={"Best": list(self.labels)})]
        for k in self.experts:
            # columns: (Best = b, C = c) in row-major order over (b, c)
            values = np.zeros((n, 2 * n))
            for b in range(n):
                values[:, 2 * b] = 1.0 / n
                values[b, 2 * b + 1] = 1.0
            cpds.append(
                cpd_cls(
                    f"P_{k}", n, values, evidence=["Best", f"C_{k}"], evidence_card=[n, 2],
                    state_names={f"P_{k}": list(self.labels), "Best": list(self.labels), f"C_{k}": [0, 1]},
                )
            )
            cpds.append(self._reliability_cpd(k, 0.5))
        self.model.add_cpds(*cpds)
        self.model.check_model()

    def _reliability_cpd(self, expert: str, r: float) -> Any:
        r = float(min(max(r, 1e-6), 1.0 - 1e-6))
        return self._cpd(f"C_{expert}", 2, [[1.0 - r], [r]], state_names={f"C_{expert}": [0, 1]})

    def _engine(self, reliabilities: Mapping[str, float]) -> Any:
        for k in self.experts:
            self.model.remove_cpds(self.model.get_cpds(f"C_{k}"))
            self.model.add_cpds(self._reliability_cpd(k, reliabilities[k]))
        return self._ve_cls(self.model)

    def _virtual(self, proposals: Mapping[str, np.ndarray]) -> list[Any]:
        out = []
        for k in self.experts:
            q = np.clip(np.asarray(proposals[k], dtype=float), 0.0, None)
            q = q / q.sum() if q.sum() > 0 else np.full(len(self.labels), 1.0 / len(self.labels))
            out.append(self._cpd(f"P_{k}", len(self.labels), [[float(x)] for x in q],
                                 state_names={f"P_{k}": list(self.labels)}))
        return out

    def posterior(self, proposals: Mapping[str, np.ndarray], reliabilities: Mapping[str, float]) -> np.ndarray:
        """P(Best | every expert's proposal) over `labels`."""
        ve = self._engine(reliabilities)
        factor = ve.query(["Best"], virtual_evidence=self._virtual(proposals), show_progress=False)
        names = factor.state_names["Best"]
        values = np.asarray(factor.values, dtype=float)
        out = np.array([values[names.index(x)] for x in self.labels])
        return out / out.sum()

    def correctness(
        self,
        proposals: Mapping[str, np.ndarray],
        reliabilities: Mapping[str, float],
        chosen: str,
        reward: float,
    ) -> dict[str, float]:
        """P(C_k = 1 | proposals, outcome) for each expert, the outcome being `reward` for `chosen`."""
        rho = float(min(max(reward, 0.0), 1.0))
        lam = np.array([rho if x == chosen else 1.0 - rho for x in self.labels])
        if lam.sum() <= 0:
            lam = np.ones(len(self.labels))
        lam = lam / lam.sum()
        evidence = self._virtual(proposals) + [
            self._cpd("Best", len(self.labels), [[float(x)] for x in lam], state_names={"Best": list(self.labels)})
        ]
        ve = self._engine(reliabilities)
        result = ve.query([f"C_{k}" for k in self.experts], virtual_evidence=evidence, joint=False,
                          show_progress=False)
        out = {}
        for k in self.experts:
            f = result[f"C_{k}"]
            names = f.state_names[f"C_{k}"]
            out[k] = float(np.asarray(f.values)[names.index(1)] / np.asarray(f.values).sum())
        return out


class ReliabilityTracker:
    """Beta posteriors over each expert's reliability, updated through a `BayesianFusion` network."""

    def __init__(
        self,
        experts: Sequence[str],
        labels: Sequence[str],
        prior: tuple[float, float] = (2.0, 2.0),
        forgetting: float = 1.0,
    ) -> None:
        self.experts = tuple(experts)
        self.prior = (float(prior[0]), float(prior[1]))
        self.forgetting = float(forgetting)
        self.a = {k: self.prior[0] for k in self.experts}
        self.b = {k: self.prior[1] for k in self.experts}
        self.fusion = BayesianFusion(self.experts, labels)

    def means(self) -> dict[str, float]:
        return {k: self.a[k] / (self.a[k] + self.b[k]) for k in self.experts}

    def fuse(self, proposals: Mapping[str, np.ndarray]) -> np.ndarray:
        return self.fusion.posterior(proposals, self.means())

    def update(
        self, proposals: Mapping[str, np.ndarray], chosen: str, reward: float, weight: float = 1.0
    ) -> dict[str, float]:
        """Absorb the outcome `reward` of showing `chosen` after these proposals; returns P(C_k = 1 | .)."""
        w = float(weight) * abs(2.0 * min(max(float(reward), 0.0), 1.0) - 1.0)
        if w <= 0:
            return {}
        post = self.fusion.correctness(proposals, self.means(), chosen, reward)
        lam = self.forgetting
        for k in self.experts:
            self.a[k] = self.prior[0] + lam * (self.a[k] - self.prior[0]) + w * post[k]
            self.b[k] = self.prior[1] + lam * (self.b[k] - self.prior[1]) + w * (1.0 - post[k])
        return post

    def get_state(self) -> dict[str, Any]:
        return {"a": dict(self.a), "b": dict(self.b)}

    def set_state(self, state: Mapping[str, Any]) -> None:
        self.a = {k: float(state["a"][k]) for k in self.experts}
        self.b = {k: float(state["b"][k]) for k in self.experts}


# --------------------------------------------------------------------------------------
# Experts
# --------------------------------------------------------------------------------------


class Expert(Protocol):
    """What the orchestrator asks of an expert."""

    name: str

    def reset(self, ctx: StrategyContext, emotions: tuple[str, ...]) -> None: ...

    def observe(self, evidence: Mapping[str, Any]) -> None: ...

    def propose(self, obs: Observation, rng: np.random.Generator) -> np.ndarray: ...

    def learn(self, chosen: str, reward: float, weight: float) -> None: ...

    def get_state(self) -> dict[str, Any]: ...

    def set_state(self, state: Mapping[str, Any]) -> None: ...


class GameTheoryExpert:
    """HMM belief + payoffs: softmax(expected payoff / temperature) over emotions."""

    name = "game_theoretic"

    def __init__(self, hmm: Any = None, payoffs: Mapping[str, Mapping[str, float]] | None = None,
                 temperature: float = 0.1) -> None:
        self.hmm = resolve_params(hmm)
        self.payoffs = payoffs or DEFAULT_PAYOFFS
        self.temperature = float(temperature)
        self.filter = ForwardFilter(self.hmm)
        self.emotions: tuple[str, ...] = DEFAULT_SPACE
        self.matrix = payoff_matrix(self.emotions, self.hmm.states, self.payoffs)

    def reset(self, ctx: StrategyContext, emotions: tuple[str, ...]) -> None:
        self.emotions = emotions
        self.matrix = payoff_matrix(emotions, self.hmm.states, self.payoffs)
        self.filter.reset()

    def observe(self, evidence: Mapping[str, Any]) -> None:
        self.filter.update(evidence.get("emotion"))

    def propose(self, obs: Observation, rng: np.random.Generator) -> np.ndarray:
        return softmax(expected_payoffs(self.filter.predict(), self.matrix), self.temperature)

    def learn(self, chosen: str, reward: float, weight: float) -> None:
        """The payoff model is fixed; the HMM learns from observations only."""

    def get_state(self) -> dict[str, Any]:
        return {"filter": self.filter.get_state()}

    def set_state(self, state: Mapping[str, Any]) -> None:
        self.filter.set_state(state["filter"])


class BanditExpert:
    """Thompson-sampling RL agent: proposes P(emotion is best) under its posteriors (Monte Carlo, ctx.rng)."""

    name = "rl"

    def __init__(self, kind: str = "beta", draws: int = 64, **prior: float) -> None:
        self.kind = kind
        self.prior = prior
        self.draws = int(draws)
        self.bandit = make_bandit(DEFAULT_SPACE, kind, **prior)

    def reset(self, ctx: StrategyContext, emotions: tuple[str, ...]) -> None:
        if self.bandit.arms != emotions:
            self.bandit = make_bandit(emotions, self.kind, **self.prior)

    def observe(self, evidence: Mapping[str, Any]) -> None:
        """Rewards arrive through `learn`."""

    def propose(self, obs: Observation, rng: np.random.Generator) -> np.ndarray:
        return self.bandit.prob_best(rng, self.draws)

    def learn(self, chosen: str, reward: float, weight: float) -> None:
        if chosen in self.bandit.arms:
            self.bandit.update(chosen, reward, weight)

    def get_state(self) -> dict[str, Any]:
        return {"bandit": self.bandit.get_state()}

    def set_state(self, state: Mapping[str, Any]) -> None:
        self.bandit = make_bandit(state["bandit"]["arms"], state["bandit"]["kind"], **self.prior)
        self.bandit.set_state(state["bandit"])


class CoherenceExpert:
    """Big-Five affect dynamics: proposes the transition plausibility of each emotion."""

    name = "coherence"

    def __init__(self, big_five: Any = None, order: int = 2, contagion: float = 0.35,
                 concession_gain: float = 2.0, sigma: float = 0.5) -> None:
        self.profile = BigFive.from_any(big_five)
        self.order = int(order)
        self.contagion = float(contagion)
        self.concession_gain = float(concession_gain)
        self.sigma = float(sigma)
        self.baseline = temperament(self.profile)
        self.dynamics = make_dynamics(self.profile, self.order)
        self.emotions: tuple[str, ...] = DEFAULT_SPACE
        self.pull: list[float] | None = None
        self.previous: str | None = None

    def reset(self, ctx: StrategyContext, emotions: tuple[str, ...]) -> None:
        self.emotions = emotions
        self.dynamics = make_dynamics(self.profile, self.order)
        self.pull = None
        self.previous = None

    def observe(self, evidence: Mapping[str, Any]) -> None:
        u = self.baseline.copy()
        emotion = evidence.get("emotion")
        if isinstance(emotion, Mapping) and emotion:
            u = u + self.contagion * (vad_mod.expected(emotion, centre=True) - self.baseline)
        elif isinstance(emotion, str) and emotion in vad_mod.VAD:
            u = u + self.contagion * (vad_mod.centered(emotion) - self.baseline)
        if evidence.get("concession") is not None:
            u = u + self.concession_gain * float(evidence["concession"]) * np.array([1.0, 0.0, 0.5])
        self.pull = np.clip(u, -1.0, 1.0).tolist()

    def propose(self, obs: Observation, rng: np.random.Generator) -> np.ndarray:
        self.dynamics.step(self.baseline if self.pull is None else np.array(self.pull))
        self.pull = None
        return transition_plausibility(self.dynamics.x, self.emotions, self.previous, self.profile, self.sigma)

    def commit(self, shown: str) -> None:
        self.previous = shown

    def learn(self, chosen: str, reward: float, weight: float) -> None:
        """Coherence does not learn from rewards."""

    def get_state(self) -> dict[str, Any]:
        return {"dynamics": self.dynamics.get_state(), "pull": self.pull, "previous": self.previous}

    def set_state(self, state: Mapping[str, Any]) -> None:
        self.dynamics.set_state(state["dynamics"])
        self.pull = state.get("pull")
        self.previous = state.get("previous")


EXPERTS = ("game_theoretic", "rl", "coherence")


# --------------------------------------------------------------------------------------
# Strategy
# --------------------------------------------------------------------------------------


class OrchestratorParams(GameTheoryParams):
    """Params of ``bayesian_orchestrator`` (see `BayesianOrchestratorStrategy`).

    hmm, payoffs, state_factors and the offer parameters are `GameTheoryParams`'.
    """

    experts: list[Literal["game_theoretic", "rl", "coherence"]] | None = None
    selection: Literal["argmax", "sample"] = "argmax"
    reliability_prior: tuple[float, float] = (2.0, 2.0)
    forgetting: float = Field(1.0, gt=0.0, le=1.0)
    concession_scale: float = Field(5.0, ge=0.0, le=1e3)
    end_weight: float = Field(1.0, ge=0.0, le=1e3)
    gt_temperature: float = Field(0.1, gt=0.0, le=100.0)
    bandit_kind: Literal["beta", "gaussian"] = "beta"
    bandit_draws: int = Field(64, ge=1, le=100_000)
    rl_expert: str = Field("bandit", description="the RL expert: bandit (Thompson), rl_policy:PATH or iql:PATH")
    big_five: BigFiveSpec = None
    order: Literal[1, 2] = 2
    contagion: float = Field(0.35, ge=0.0, le=1.0)
    concession_gain: float = Field(2.0, ge=0.0, le=100.0)
    sigma: float = Field(0.5, gt=0.0, le=100.0)

    @field_validator("experts")
    @classmethod
    def _experts(cls, v: list[str] | None) -> list[str] | None:
        if v is not None and (not v or len(set(v)) != len(v)):
            raise ValueError(f"experts: name each of {', '.join(EXPERTS)} at most once, and at least one")
        return v

    @field_validator("rl_expert")
    @classmethod
    def _rl_expert(cls, v: str) -> str:
        parse_rl_expert(v)
        return v

    @field_validator("reliability_prior")
    @classmethod
    def _prior(cls, v: tuple[float, float]) -> tuple[float, float]:
        if not (v[0] > 0 and v[1] > 0):
            raise ValueError("reliability_prior: both Beta parameters must be > 0")
        return v


@STRATEGIES.register("bayesian_orchestrator")
class BayesianOrchestratorStrategy(EmotionStrategy):
    """Bayesian fusion of game-theoretic, RL and psychological-coherence experts.

    The emotion-aware multi-agent negotiator with a Bayesian orchestrator: each
    turn the game-theoretic expert (HMM belief + payoffs), the RL expert
    (Thompson sampling) and the coherence expert (Big-Five affect dynamics)
    propose distributions over emotions; a pgmpy Bayesian network fuses them by
    their reliabilities, which are updated after every counterpart turn and at
    the end of every negotiation (module docstring). Offers are the
    belief-scaled tit-for-tat of ``hmm_game_theory`` (Faratin et al. 1998;
    Baarslag et al. 2013). Reliabilities and the RL posteriors persist across
    `reset` (and through get_state / set_state).

    Params:
        experts: which experts to fuse (default all of "game_theoretic", "rl", "coherence").
        selection: "argmax" (default) or "sample" (from the fused posterior with ctx.rng).
        reliability_prior: (a, b) of every expert's Beta prior (default (2, 2)).
        forgetting: factor in (0, 1] shrinking past evidence before each update (default 1).
        concession_scale: turn reward slope per unit of counterpart concession (default 5).
        end_weight: weight of the end-of-negotiation reward, split over the turns (default 1).
        hmm, payoffs, gt_temperature: game-theoretic expert.
        bandit_kind, bandit_draws: RL expert (Beta or Gaussian Thompson sampling).
        rl_expert: "bandit" (default: the Thompson-sampling expert), "rl_policy:PATH" (a PPO/DQN
            model from ``simlab train rl``) or "iql:PATH" (the IQL selector from ``simlab train iql``);
            a learned expert proposes its policy's distribution and does not learn online.
        big_five, order, contagion, sigma: coherence expert.
        state_factors, concession_factor, window, start, floor, deadline_e: offers.

    Decision.info: "experts" = {"proposals": {expert: {emotion: p}},
    "reliabilities": {expert: mean}}, "belief" (HMM counterpart state),
    "fused" (posterior over emotions), "target_utility".
    """

    name = "bayesian_orchestrator"
    description = "pgmpy fusion of game-theoretic, Thompson-sampling and coherence experts by learned reliability"
    check_params = ({}, {"selection": "sample", "experts": ["rl", "coherence"], "forgetting": 0.9})
    Params = OrchestratorParams

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        params = self.params  # validated (OrchestratorParams); defaults filled in
        names = tuple(params["experts"] or EXPERTS)
        self.selection = str(params["selection"])
        self.concession_scale = float(params["concession_scale"])
        self.end_weight = float(params["end_weight"])
        prior = params["reliability_prior"]
        self.reliability_prior = (float(prior[0]), float(prior[1]))
        self.forgetting = float(params["forgetting"])
        self.hmm = resolve_params(params.get("hmm"))
        self.state_factors = {**DEFAULT_STATE_FACTORS, **dict(params.get("state_factors") or {})}
        self.gt = GameTheoryExpert(params.get("hmm"), params.get("payoffs"), float(params.get("gt_temperature", 0.1)))
        factories = {
            "game_theoretic": lambda: self.gt,
            "rl": lambda: (
                BanditExpert(str(params.get("bandit_kind", "beta")), int(params.get("bandit_draws", 64)))
                if params.get("rl_expert", "bandit") == "bandit" else LearnedExpert(str(params["rl_expert"]))
            ),
            "coherence": lambda: CoherenceExpert(
                params.get("big_five"), int(params.get("order", 2)), float(params.get("contagion", 0.35)),
                float(params.get("concession_gain", 2.0)), float(params.get("sigma", 0.5)),
            ),
        }
        self.experts: dict[str, Any] = {k: factories[k]() for k in names}
        # the HMM belief drives the offers and is logged even when its expert is not fused
        self.observers: list[Any] = list(self.experts.values())
        if "game_theoretic" not in self.experts:
            self.observers.append(self.gt)
        self.emotions: tuple[str, ...] = DEFAULT_SPACE
        self.tracker = ReliabilityTracker(names, self.emotions, self.reliability_prior, self.forgetting)
        self.concession = ReciprocalConcession.from_params(params)
        self.evidence = CounterpartEvidence()
        self.records: list[dict[str, Any]] = []

    # -- lifecycle ------------------------------------------------------------------
    def reset(self, ctx: StrategyContext) -> None:
        super().reset(ctx)
        emotions = tuple(ctx.emotions) if ctx.emotions else DEFAULT_SPACE
        if emotions != self.emotions:
            self.emotions = emotions
            saved = self.tracker.get_state()
            self.tracker = ReliabilityTracker(tuple(self.experts), emotions, self.reliability_prior, self.forgetting)
            self.tracker.set_state(saved)
        for expert in self.observers:
            expert.reset(ctx, self.emotions)
        self.concession.reset()
        self.evidence = CounterpartEvidence()
        self.records = []

    def _learn(self, record: Mapping[str, Any], reward: float, weight: float) -> None:
        proposals = {k: np.array(v, dtype=float) for k, v in record["proposals"].items()}
        self.tracker.update(proposals, record["chosen"], reward, weight)
        for expert in self.experts.values():
            expert.learn(record["chosen"], reward, weight)

    def _ingest(self, ev: dict[str, Any] | None) -> None:
        if ev is None:
            return
        concession = self.concession.ingest(ev)
        for expert in self.observers:
            expert.observe({"emotion": ev["emotion"], "concession": concession})
        reward = turn_reward(concession, self.concession_scale)
        if reward is not None and self.records and not self.records[-1].get("rewarded"):
            self.records[-1]["rewarded"] = True
            self._learn(self.records[-1], reward, 1.0)

    def update(self, feedback: Feedback) -> None:
        if feedback.kind == "end":
            if self.records and self.ctx is not None:
                r = end_reward(feedback, self.ctx.utility.reservation)
                for rec in self.records:
                    self._learn(rec, r, self.end_weight / len(self.records))
            return
        self._ingest(self.evidence.from_feedback(feedback))

    def choose(self, obs: Observation) -> Decision:
        assert self.ctx is not None
        self._ingest(self.evidence.from_observation(obs))
        proposals = {k: e.propose(obs, self.ctx.rng) for k, e in self.experts.items()}
        fused = self.tracker.fuse(proposals)
        propensity = None
        if self.selection == "sample":
            pick = int(self.ctx.rng.choice(len(self.emotions), p=fused))
            emotion, propensity = self.emotions[pick], float(fused[pick])
        else:
            emotion = self.emotions[int(np.argmax(fused))]
        coherence = self.experts.get("coherence")
        if coherence is not None:
            coherence.commit(emotion)
        self.records.append({"proposals": {k: v.tolist() for k, v in proposals.items()}, "chosen": emotion})
        predicted = self.gt.filter.predict()
        multiplier = float(sum(p * self.state_factors.get(s, 1.0) for s, p in zip(self.hmm.states, predicted)))
        move = self.concession.move(self.ctx, obs, multiplier)
        reliabilities = self.tracker.means()
        top = max(reliabilities, key=reliabilities.get)  # type: ignore[arg-type]
        return finish_decision(
            emotion,
            (
                f"Bayesian fusion of {', '.join(self.experts)}: {emotion} "
                f"(p={fused[self.emotions.index(emotion)]:.2f}; most reliable {top} {reliabilities[top]:.2f})"
            ),
            {
                "fused": {e: float(p) for e, p in zip(self.emotions, fused)},
                **({"propensity": propensity} if propensity is not None else {}),  # sampled: its probability
            },
            move,
            belief=self.gt.filter.belief_dict(),
            experts={
                "proposals": {k: {e: float(p) for e, p in zip(self.emotions, v)} for k, v in proposals.items()},
                "reliabilities": {k: float(v) for k, v in reliabilities.items()},
            },
        )

    def get_state(self) -> dict[str, Any]:
        return {
            "experts": {k: e.get_state() for k, e in self.experts.items()},
            "belief_filter": self.gt.get_state(),
            "reliability": self.tracker.get_state(),
            "concession": self.concession.get_state(),
            "records": [dict(r) for r in self.records],
            "fresh": self.evidence.fresh,
        }

    def set_state(self, state: dict[str, Any]) -> None:
        for k, e in self.experts.items():
            e.set_state(state["experts"][k])
        self.gt.set_state(state["belief_filter"])
        self.tracker.set_state(state["reliability"])
        self.concession.set_state(state["concession"])
        self.records = [dict(r) for r in state.get("records", [])]
        self.evidence.fresh = bool(state.get("fresh", False))
