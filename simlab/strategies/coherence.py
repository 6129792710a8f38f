"""Psychological coherence: affect dynamics in VAD space shaped by a Big Five profile.

Defines `BigFive`, `temperament` (Mehrabian 1996), the affect dynamics
`FirstOrderAffect` (exponential smoothing) and `SecondOrderAffect` (a damped
spring with momentum), `transition_plausibility` and the ``coherence`` strategy.

The agent's affective state x is a point in centred pleasure-arousal-dominance
space ([-1, 1]^3, Russell & Mehrabian 1977). Its resting point is the
temperament implied by its Big Five profile, from Mehrabian's (1996)
regressions ("Analysis of the Big-five personality factors in terms of the PAD
temperament model"), with traits centred to [-1, 1] and stability = -neuroticism:

    P = 0.21 E + 0.59 A + 0.19 S
    A = 0.15 O + 0.30 A - 0.57 S
    D = 0.25 O + 0.17 C + 0.60 E - 0.32 A

Each counterpart turn is appraised into a pull u: the resting point, moved
towards the counterpart's displayed emotion (emotional contagion, Hatfield,
Cacioppo & Rapson 1993) and by its concession (pleasure and dominance rise when
it concedes, fall when it retracts). Without new events u is the resting point,
so the state recovers. The state follows u by

- first order, exponential smoothing: x <- x + alpha (u - x): inertia, monotone
  recovery, no overshoot;
- second order, momentum: v <- (1 - damping) v + stiffness (u - x); x <- x + v:
  inertia plus overshoot and oscillating recovery when underdamped.

Neuroticism raises reactivity (alpha, stiffness; affect variability, Kuppens et
al. 2007), conscientiousness raises damping (self-regulation). The emotion shown
is the label most plausible given the state and the previous display,
P(e) proportional to exp(-|c(e) - x|^2 / 2 sigma^2) exp(-|c(e) - c(prev)|^2 / 2 tau^2),
c the label's centred VAD; tau grows with openness and neuroticism, so stable,
closed profiles avoid abrupt jumps (anger straight to joy) and labile ones do not.
This is the psychological-coherence agent of the emotion-aware multi-agent
negotiator (fused with game-theoretic and RL agents by a Bayesian orchestrator).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import AfterValidator, Field

from simlab.emotion import vad as vad_mod
from simlab.emotion.labels import DEFAULT_SPACE
from simlab.errors import ConfigError
from simlab.strategies.base import STRATEGIES, Decision, EmotionStrategy, Feedback, Observation, StrategyContext, finish_decision
from simlab.strategies.game_theory import CounterpartEvidence, ReciprocalConcession, softmax
from simlab.strategies.params import ConcessionParams

TRAITS = ("openness", "conscientiousness", "extraversion", "agreeableness", "neuroticism")


@dataclass(frozen=True)
class BigFive:
    """A Big Five profile, each trait in [0, 1] (0.5 = population average)."""

    openness: float = 0.5
    conscientiousness: float = 0.5
    extraversion: float = 0.5
    agreeableness: float = 0.5
    neuroticism: float = 0.5

    @classmethod
    def from_any(cls, spec: "BigFive | Mapping[str, float] | Sequence[float] | None") -> "BigFive":
        if spec is None:
            return cls()
        if isinstance(spec, BigFive):
            return spec
        if isinstance(spec, Mapping):
            short = {t[0]: t for t in TRAITS}
            values = {}
            for k, v in spec.items():
                key = short.get(str(k).lower(), str(k).lower())
                if key not in TRAITS:
                    raise ConfigError(f"unknown Big Five trait {k!r}; use {', '.join(TRAITS)} (or O, C, E, A, N).")
                values[key] = float(v)
            profile = cls(**values)
        else:
            profile = cls(*[float(v) for v in spec])
        for name, v in asdict(profile).items():
            if not 0.0 <= v <= 1.0:
                raise ConfigError(f"Big Five {name} must be in [0, 1], got {v}.")
        return profile

    def centred(self) -> dict[str, float]:
        return {k: 2.0 * v - 1.0 for k, v in asdict(self).items()}


def temperament(profile: BigFive) -> np.ndarray:
    """The resting PAD point in [-1, 1]^3 (Mehrabian 1996)."""
    t = profile.centred()
    o, c, e, a = t["openness"], t["conscientiousness"], t["extraversion"], t["agreeableness"]
    s = -t["neuroticism"]
    pad = np.array(
        [
            0.21 * e + 0.59 * a + 0.19 * s,
            0.15 * o + 0.30 * a - 0.57 * s,
            0.25 * o + 0.17 * c + 0.60 * e - 0.32 * a,
        ]
    )
    return np.clip(pad, -1.0, 1.0)


class FirstOrderAffect:
    """x <- x + alpha (u - x): exponential smoothing towards the input."""

    order = 1

    def __init__(self, alpha: float, x0: Sequence[float]) -> None:
        if not 0.0 < alpha <= 1.0:
            raise ConfigError(f"first-order reactivity alpha must be in (0, 1], got {alpha}.")
        self.alpha = float(alpha)
        self.x = np.array(x0, dtype=float)
        self.v = np.zeros_like(self.x)

    def step(self, u: Sequence[float]) -> np.ndarray:
        target = np.asarray(u, dtype=float)
        new = self.x + self.alpha * (target - self.x)
        self.v = new - self.x
        self.x = new
        return self.x.copy()

    def get_state(self) -> dict[str, Any]:
        return {"x": self.x.tolist(), "v": self.v.tolist()}

    def set_state(self, state: Mapping[str, Any]) -> None:
        self.x = np.array(state["x"], dtype=float)
        self.v = np.array(state["v"], dtype=float)


class SecondOrderAffect:
    """v <- (1 - damping) v + stiffness (u - x); x <- x + v: a damped spring with momentum."""

    order = 2

    def __init__(self, stiffness: float, damping: float, x0: Sequence[float]) -> None:
        if stiffness <= 0 or not 0.0 <= damping <= 1.0:
            raise ConfigError(
                f"second-order dynamics need stiffness > 0 and damping in [0, 1]; got {stiffness}, {damping}."
            )
        self.stiffness = float(stiffness)
        self.damping = float(damping)
        self.x = np.array(x0, dtype=float)
        self.v = np.zeros_like(self.x)

    def step(self, u: Sequence[float]) -> np.ndarray:
        target = np.asarray(u, dtype=float)
        self.v = (1.0 - self.damping) * self.v + self.stiffness * (target - self.x)
        self.x = self.x + self.v
        return self.x.copy()

    get_state = FirstOrderAffect.get_state
    set_state = FirstOrderAffect.set_state


def make_dynamics(
    profile: BigFive,
    order: int = 2,
    x0: Sequence[float] | None = None,
    alpha: float | None = None,
    stiffness: float | None = None,
    damping: float | None = None,
) -> FirstOrderAffect | SecondOrderAffect:
    """Dynamics of the given order with Big-Five-derived reactivity (overridable)."""
    start = temperament(profile) if x0 is None else np.asarray(x0, dtype=float)
    if int(order) == 1:
        a = 0.25 + 0.35 * profile.neuroticism if alpha is None else float(alpha)
        return FirstOrderAffect(a, start)
    if int(order) == 2:
        k = 0.2 + 0.3 * profile.neuroticism if stiffness is None else float(stiffness)
        c = 0.2 + 0.4 * profile.conscientiousness if damping is None else float(damping)
        return SecondOrderAffect(k, c, start)
    raise ConfigError(f"affect dynamics order must be 1 or 2, got {order}.")


def transition_plausibility(
    state: Sequence[float],
    labels: Sequence[str],
    previous: str | None = None,
    profile: BigFive | None = None,
    sigma: float = 0.5,
) -> np.ndarray:
    """P(show e | affective state, previous display) over `labels` (see module docstring)."""
    profile = profile or BigFive()
    coords = vad_mod.matrix(labels, centre=True)
    logp = -np.sum((coords - np.asarray(state, dtype=float)) ** 2, axis=1) / (2.0 * sigma**2)
    if previous is not None and previous in vad_mod.VAD:
        tau = 0.4 + 0.6 * profile.openness + 0.6 * profile.neuroticism
        logp = logp - np.sum((coords - vad_mod.centered(previous)) ** 2, axis=1) / (2.0 * tau**2)
    w = np.exp(logp - logp.max())
    return w / w.sum()


def _check_big_five(v: Any) -> Any:
    if v is not None:
        try:
            BigFive.from_any(v)
        except (ConfigError, TypeError) as exc:
            raise ValueError(str(exc)) from None
    return v


BigFiveSpec = Annotated[dict[str, float] | list[float] | None, AfterValidator(_check_big_five)]
"""A Big Five profile as {trait: value in [0, 1]} (names or O/C/E/A/N) or five values in trait order."""


class CoherenceParams(ConcessionParams):
    """Params of ``coherence`` (see `CoherenceStrategy`)."""

    big_five: BigFiveSpec = None
    order: Literal[1, 2] = 2
    alpha: float | None = Field(None, gt=0.0, le=1.0)
    stiffness: float | None = Field(None, gt=0.0, le=10.0)
    damping: float | None = Field(None, ge=0.0, le=1.0)
    contagion: float = Field(0.35, ge=0.0, le=1.0)
    concession_gain: float = Field(2.0, ge=0.0, le=100.0)
    sigma: float = Field(0.5, gt=0.0, le=100.0)
    temperature: float = Field(0.0, ge=0.0, le=100.0)
    offers: bool = True


@STRATEGIES.register("coherence")
class CoherenceStrategy(EmotionStrategy):
    """Psychologically coherent emotions: Big-Five temperament, affect dynamics, plausible transitions.

    The psychological-coherence agent of the emotion-aware multi-agent
    negotiator: emotions follow an internal affective state with inertia,
    (for second-order dynamics) momentum and recovery towards a temperament
    set by the Big Five (Mehrabian 1996); see the module docstring.

    Params:
        big_five: {trait: value in [0, 1]} (names or O/C/E/A/N), default all 0.5.
        order: 1 (exponential smoothing) or 2 (momentum, default).
        alpha / stiffness, damping: override the Big-Five-derived reactivity.
        contagion: pull towards the counterpart's displayed emotion (0..1, default 0.35).
        concession_gain: pleasure/dominance pull per unit of counterpart concession (default 2.0).
        sigma: width of the state kernel of the plausibility (default 0.5).
        temperature: 0 shows the most plausible emotion; > 0 samples from
            plausibility ** (1 / temperature) with ctx.rng.
        offers: make reciprocal offers (default True; False leaves offers to the LLM).
        concession_factor, window, start, floor, deadline_e: offer parameters as
            in ``hmm_game_theory``.

    Decision.info: "affect" (valence/arousal/dominance of the state), "plausibility".
    """

    name = "coherence"
    description = "Big-Five affect dynamics (inertia, momentum, recovery) pick coherent emotions"
    check_params = (
        {},
        {"order": 1},
        {"temperature": 0.5, "big_five": {"N": 0.9, "O": 0.8}},
        {"offers": False},
    )
    Params = CoherenceParams

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        p = self.params  # validated (CoherenceParams)
        self.profile = BigFive.from_any(p["big_five"])
        self.order = int(p["order"])
        self.contagion = float(p["contagion"])
        self.concession_gain = float(p["concession_gain"])
        self.sigma = float(p["sigma"])
        self.temperature = float(p["temperature"])
        self.offers = bool(p["offers"])
        self.baseline = temperament(self.profile)
        self.dynamics = self._new_dynamics()
        self.concession = ReciprocalConcession.from_params(p)
        self.evidence = CounterpartEvidence()
        self.emotions: tuple[str, ...] = DEFAULT_SPACE
        self.pull: list[float] | None = None
        self.previous: str | None = None

    def _new_dynamics(self) -> FirstOrderAffect | SecondOrderAffect:
        p = self.params
        return make_dynamics(
            self.profile, self.order, None, p.get("alpha"), p.get("stiffness"), p.get("damping")
        )

    def reset(self, ctx: StrategyContext) -> None:
        super().reset(ctx)
        self.emotions = tuple(ctx.emotions) if ctx.emotions else DEFAULT_SPACE
        self.dynamics = self._new_dynamics()
        self.concession.reset()
        self.evidence = CounterpartEvidence()
        self.pull = None
        self.previous = None

    def appraise(self, emotion: Any, concession: float | None) -> np.ndarray:
        """The pull u of one counterpart turn (before clipping to [-1, 1])."""
        u = self.baseline.copy()
        if isinstance(emotion, Mapping) and emotion:
            u = u + self.contagion * (vad_mod.expected(emotion, centre=True) - self.baseline)
        elif isinstance(emotion, str) and emotion in vad_mod.VAD:
            u = u + self.contagion * (vad_mod.centered(emotion) - self.baseline)
        if concession is not None:
            u = u + self.concession_gain * float(concession) * np.array([1.0, 0.0, 0.5])
        return np.clip(u, -1.0, 1.0)

    def _ingest(self, ev: dict[str, Any] | None) -> None:
        if ev is None:
            return
        concession = self.concession.ingest(ev)
        self.pull = self.appraise(ev["emotion"], concession).tolist()

    def update(self, feedback: Feedback) -> None:
        self._ingest(self.evidence.from_feedback(feedback))

    def plausibility(self) -> np.ndarray:
        return transition_plausibility(self.dynamics.x, self.emotions, self.previous, self.profile, self.sigma)

    def choose(self, obs: Observation) -> Decision:
        assert self.ctx is not None
        self._ingest(self.evidence.from_observation(obs))
        u = self.baseline if self.pull is None else np.array(self.pull)
        self.pull = None
        self.dynamics.step(u)
        p = self.plausibility()
        propensity = None
        if self.temperature > 0:
            probs = softmax(np.log(np.maximum(p, 1e-300)), self.temperature)
            pick = int(self.ctx.rng.choice(len(self.emotions), p=probs))
            emotion, propensity = self.emotions[pick], float(probs[pick])
        else:
            emotion = self.emotions[int(np.argmax(p))]
        self.previous = emotion
        x = self.dynamics.x
        info: dict[str, Any] = {
            "affect": {"valence": float(x[0]), "arousal": float(x[1]), "dominance": float(x[2])},
            "plausibility": {e: float(v) for e, v in zip(self.emotions, p)},
        }
        if propensity is not None:  # the probability of the sampled emotion (offline RL / OPE)
            info["propensity"] = propensity
        move = self.concession.move(self.ctx, obs) if self.offers else None
        return finish_decision(emotion, f"coherent with affect V={x[0]:+.2f} A={x[1]:+.2f} D={x[2]:+.2f}: {emotion}", info, move)

    def get_state(self) -> dict[str, Any]:
        return {
            "dynamics": self.dynamics.get_state(),
            "concession": self.concession.get_state(),
            "pull": self.pull,
            "previous": self.previous,
            "fresh": self.evidence.fresh,
        }

    def set_state(self, state: dict[str, Any]) -> None:
        self.dynamics.set_state(state["dynamics"])
        self.concession.set_state(state["concession"])
        self.pull = state.get("pull")
        self.previous = state.get("previous")
        self.evidence.fresh = bool(state.get("fresh", False))
