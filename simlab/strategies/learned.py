"""Strategies that play a chosen or learned emotion sequence: ``emotion_script``, ``rl_policy``, ``iql_selector``.

Emotion *selection* is decoupled from the move (the EmoDistill decomposition:
a selector chooses the emotion, the offer comes from a fixed concession
policy, the LLM words it). All three strategies share `SelectorStrategy`:
each turn they featurise the history with `simlab.strategies.features.featurise`
(the same vector the environment and the offline dataset use), ask their
selector for a distribution over the label space, show its argmax or a draw
from ``ctx.rng``, and log the probability of the emotion shown as
``info["propensity"]`` (so logged data can be used for importance sampling).

- ``emotion_script`` plays a given list of emotions (then `default`): the
  strategy `simlab.learn.env.NegotiationEnv` gives its learner, whose actions are
  appended with `push` before each turn, and the replay of any logged sequence.
- ``rl_policy`` plays a stable-baselines3 PPO or DQN model saved by
  ``simlab train rl`` (Schulman et al. 2017; Mnih et al. 2015).
- ``iql_selector`` plays the Implicit Q-Learning selector saved by
  ``simlab train iql`` (Kostrikov, Nair & Levine 2022, "Offline Reinforcement
  Learning with Implicit Q-Learning"), the selection half of the EmoDistill
  emotion-skill distillation pipeline.

Models are loaded here (training lives in `simlab.learn`, a higher layer): a
model is a folder with ``meta.json`` (kind, label space, feature count) and
``model.zip`` (SB3) or ``iql.pt`` (torch state dicts); the `model` param names
the folder or a file inside it. Loaded models are cached per path and
modification time.
"""
from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import Field

from simlab.emotion.labels import DEFAULT_SPACE
from simlab.errors import ConfigError
from simlab.strategies.base import STRATEGIES, Decision, EmotionStrategy, Feedback, Observation, StrategyContext
from simlab.strategies.concession import ac_next, concession_floor, time_dependent_target
from simlab.strategies.features import featurise, n_features
from simlab.strategies.game_theory import CounterpartEvidence, ReciprocalConcession
from simlab.strategies.params import ConcessionParams, EmotionLabel


class OfferParams(ConcessionParams):
    """How a selector strategy makes its move (the emotion is the selector's)."""

    offers: Literal["reciprocal", "time_dependent"] = Field(
        "reciprocal",
        description="reciprocal: the orchestrator's default tit-for-tat with a Boulware safety net; "
        "time_dependent: Faratin's curve with exponent e",
    )
    e: float = Field(1.0, gt=0.0, le=100.0, description="Faratin exponent (offers: time_dependent)")


class SelectorStrategy(EmotionStrategy):
    """Base: featurise, select an emotion, move by the concession policy, log the propensity."""

    Params = OfferParams

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.p: Any = self.config  # the validated Params (EmotionStrategy.__init__)
        self.concession = ReciprocalConcession(
            start=self.p.start, floor=self.p.floor, factor=self.p.concession_factor,
            window=self.p.window, deadline_e=self.p.deadline_e,
        )
        self.evidence = CounterpartEvidence()
        self.emotions: tuple[str, ...] = DEFAULT_SPACE

    def reset(self, ctx: StrategyContext) -> None:
        super().reset(ctx)
        self.emotions = tuple(ctx.emotions) if ctx.emotions else DEFAULT_SPACE
        self.concession.reset()
        self.evidence = CounterpartEvidence()

    def update(self, feedback: Feedback) -> None:
        ev = self.evidence.from_feedback(feedback)
        if ev is not None:
            self.concession.observe(ev["utility"])

    def features(self, obs: Observation) -> np.ndarray:
        assert self.ctx is not None
        return featurise(obs.history, self.ctx.role, self.ctx.utility, obs.round, self.ctx.deadline, self.emotions)

    def select(self, x: np.ndarray, obs: Observation) -> tuple[int, float | None, str]:
        """(index of the emotion, its probability under this policy or None, rationale)."""
        raise NotImplementedError

    def move(self, obs: Observation) -> tuple[str, dict[str, float], float]:
        assert self.ctx is not None
        if self.p.offers == "reciprocal":
            return self.concession.move(self.ctx, obs)
        # the deal floor and AC_next on the discounted worth at the round of agreement (simlab.strategies.concession)
        floor = concession_floor(self.ctx.utility, obs, self.p.floor)
        target = min(time_dependent_target(obs.time, self.p.e, floor, max(self.p.start, floor)), 1.0)
        offer = self.ctx.utility.offer_with_utility(target)
        if ac_next(self.ctx.utility, obs, offer):
            return "accept", dict(obs.their_last_offer), target  # type: ignore[arg-type]
        return "offer", offer, target

    def choose(self, obs: Observation) -> Decision:
        assert self.ctx is not None
        ev = self.evidence.from_observation(obs)
        if ev is not None:
            self.concession.observe(ev["utility"])
        x = self.features(obs)
        idx, propensity, why = self.select(x, obs)
        emotion = self.emotions[idx]
        action, offer, target = self.move(obs)
        info: dict[str, Any] = {"target_utility": target, "selector": self.name}
        if propensity is not None:
            info["propensity"] = float(propensity)
        return Decision(emotion=emotion, offer=offer, action=action, rationale=why, info=info)  # type: ignore[arg-type]

    def get_state(self) -> dict[str, Any]:
        return {"concession": self.concession.get_state(), "fresh": self.evidence.fresh}

    def set_state(self, state: dict[str, Any]) -> None:
        self.concession.set_state(state["concession"])
        self.evidence.fresh = bool(state.get("fresh", False))


def _pick(probs: np.ndarray, deterministic: bool, rng: np.random.Generator) -> tuple[int, float]:
    """argmax (propensity 1: the policy is deterministic) or a draw from `rng` (propensity = its probability)."""
    if deterministic:
        return int(np.argmax(probs)), 1.0
    i = int(rng.choice(len(probs), p=probs))
    return i, float(probs[i])


# --------------------------------------------------------------------------------------
# emotion_script
# --------------------------------------------------------------------------------------


@STRATEGIES.register("emotion_script")
class EmotionScriptStrategy(SelectorStrategy):
    """Plays `sequence` (one emotion per own turn), then `default`; offers by the concession policy.

    The learner of `NegotiationEnv`: the environment appends each action with
    `push` before the turn, so an episode is exactly the negotiation the engine
    runs with ``strategy: {name: emotion_script, params: {sequence: [...]}}``.
    The propensity logged is 1 (the sequence is fixed in advance).
    """

    name = "emotion_script"
    description = "a given sequence of emotions, offers by a concession policy"

    class Params(OfferParams):
        sequence: list[EmotionLabel] = Field(default_factory=list, description="emotions of the own turns, in order")
        default: EmotionLabel = Field("neutral", description="the emotion after the sequence runs out")

    check_params = ({}, {"sequence": ["sadness", "anger", "joy"], "offers": "time_dependent", "e": 0.5})

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.queue: list[str] = list(self.p.sequence)
        self.played = 0

    def reset(self, ctx: StrategyContext) -> None:
        super().reset(ctx)
        for e in [*self.queue, self.p.default]:
            if e not in self.emotions:
                raise ConfigError(f"strategy emotion_script: {e!r} is not in the label space {self.emotions}")
        self.played = 0

    def push(self, emotion: str) -> None:
        """Append the emotion of the next own turn (used by `NegotiationEnv`)."""
        self.queue.append(emotion)

    def select(self, x: np.ndarray, obs: Observation) -> tuple[int, float | None, str]:
        emotion = self.queue[self.played] if self.played < len(self.queue) else self.p.default
        self.played += 1
        return self.emotions.index(emotion), 1.0, f"scripted emotion {emotion} (turn {self.played})"

    def get_state(self) -> dict[str, Any]:
        return {**super().get_state(), "queue": list(self.queue), "played": self.played}

    def set_state(self, state: dict[str, Any]) -> None:
        super().set_state(state)
        self.queue = list(state["queue"])
        self.played = int(state["played"])


# --------------------------------------------------------------------------------------
# model loading
# --------------------------------------------------------------------------------------


BUILTIN = "builtin:"
"""Prefix of the tiny reference models shipped in ``simlab/strategies/reference_models`` (for `check_strategy`)."""


def model_folder(path: str | Path) -> Path:
    """The model folder named by `path` (the folder, or a file inside it); ConfigError when missing.

    ``builtin:NAME`` names a reference model shipped with simlab (``check_ppo``, ``check_iql``).
    """
    if str(path).startswith(BUILTIN):
        path = Path(__file__).resolve().parent / "reference_models" / str(path)[len(BUILTIN):]
    p = Path(path)
    if not p.exists():
        raise ConfigError(f"model {p} not found; train one with `simlab train rl|iql CONFIG.yaml` or fix params.model")
    folder = p if p.is_dir() else p.parent
    if not (folder / "meta.json").is_file():
        raise ConfigError(f"model {p}: no meta.json beside it; it is not a model saved by `simlab train`")
    return folder


def read_meta(path: str | Path) -> dict[str, Any]:
    folder = model_folder(path)
    try:
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ConfigError(f"model {folder}: meta.json is not JSON ({exc.msg})") from None
    for key in ("kind", "emotions", "n_features"):
        if key not in meta:
            raise ConfigError(f"model {folder}: meta.json lacks '{key}'; retrain it with `simlab train`")
    return meta


class LoadedPolicy:
    """A trained selector: `probs(x)` is its distribution over `emotions` for one feature vector."""

    def __init__(self, folder: Path, meta: dict[str, Any]) -> None:
        self.folder = folder
        self.meta = meta
        self.kind = str(meta["kind"])
        self.emotions = tuple(meta["emotions"])
        self.n_features = int(meta["n_features"])
        self._sb3: Any = None
        self._nets: dict[str, Any] = {}
        if self.kind in ("ppo", "dqn"):
            self._load_sb3()
        elif self.kind == "iql":
            self._load_iql()
        else:
            raise ConfigError(f"model {folder}: unknown kind {self.kind!r} (expected ppo, dqn or iql)")

    def _load_sb3(self) -> None:
        import stable_baselines3 as sb3

        file = self.folder / "model.zip"
        if not file.is_file():
            raise ConfigError(f"model {self.folder}: model.zip is missing; retrain it with `simlab train rl`")
        cls = {"ppo": sb3.PPO, "dqn": sb3.DQN}[self.kind]
        self._sb3 = cls.load(str(file), device="cpu")

    def _load_iql(self) -> None:
        import torch

        file = self.folder / "iql.pt"
        if not file.is_file():
            raise ConfigError(f"model {self.folder}: iql.pt is missing; retrain it with `simlab train iql`")
        state = torch.load(str(file), map_location="cpu", weights_only=True)
        hidden = int(self.meta.get("hidden", 256))
        n = len(self.emotions)
        for name in ("actor", "q1", "q2", "v"):
            net = mlp(self.n_features, hidden, 1 if name == "v" else n)
            net.load_state_dict(state[name])
            net.eval()
            self._nets[name] = net

    def probs(self, x: np.ndarray, source: str = "actor") -> np.ndarray:
        """The policy's distribution over emotions at `x` (IQL: `source` "actor" or "q" for greedy Q)."""
        import torch

        if x.shape != (self.n_features,):
            raise ConfigError(
                f"model {self.folder} expects {self.n_features} features, got {x.shape[0]}: "
                "the label space or featuriser differs from the one it was trained with"
            )
        with torch.no_grad():
            t = torch.as_tensor(x, dtype=torch.float32).unsqueeze(0)
            if self.kind == "ppo":
                dist = self._sb3.policy.get_distribution(t)
                p = dist.distribution.probs[0].numpy()
            elif self.kind == "dqn":
                q = self._sb3.q_net(t)[0].numpy()
                p = np.eye(len(self.emotions))[int(np.argmax(q))]
            elif source == "q":
                q = torch.minimum(self._nets["q1"](t), self._nets["q2"](t))[0].numpy()
                p = np.eye(len(self.emotions))[int(np.argmax(q))]
            else:
                p = torch.softmax(self._nets["actor"](t), dim=-1)[0].numpy()
        p = np.asarray(p, dtype=float)
        return p / p.sum()

    def q_values(self, x: np.ndarray) -> np.ndarray:
        """IQL: min(Q1, Q2) at `x`."""
        import torch

        with torch.no_grad():
            t = torch.as_tensor(x, dtype=torch.float32).unsqueeze(0)
            return torch.minimum(self._nets["q1"](t), self._nets["q2"](t))[0].numpy().astype(float)


def mlp(n_in: int, hidden: int, n_out: int) -> Any:
    """Two hidden ReLU layers (the IQL networks; shared by training in `simlab.learn.iql`)."""
    from torch import nn

    return nn.Sequential(nn.Linear(n_in, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, n_out))


@functools.lru_cache(maxsize=16)
def _load_cached(folder: str, mtime: float) -> LoadedPolicy:
    return LoadedPolicy(Path(folder), read_meta(folder))


def load_policy(path: str | Path, kinds: tuple[str, ...] | None = None) -> LoadedPolicy:
    """The trained selector at `path` (cached); `kinds` restricts what is accepted."""
    folder = model_folder(path)
    meta = read_meta(folder)
    if kinds and meta["kind"] not in kinds:
        raise ConfigError(f"model {path} is a {meta['kind']} model; this needs one of {', '.join(kinds)}")
    return _load_cached(str(folder.resolve()), (folder / "meta.json").stat().st_mtime)


class _ModelStrategy(SelectorStrategy):
    kinds: tuple[str, ...] = ()

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.policy = load_policy(self.p.model, self.kinds)

    def reset(self, ctx: StrategyContext) -> None:
        super().reset(ctx)
        if self.emotions != self.policy.emotions:
            raise ConfigError(
                f"strategy {self.name}: model {self.p.model} was trained on emotions {self.policy.emotions}, "
                f"the negotiation uses {self.emotions}"
            )


@STRATEGIES.register("rl_policy")
class RLPolicyStrategy(_ModelStrategy):
    """Plays a PPO or DQN policy trained online in `NegotiationEnv` (stable-baselines3).

    PPO (Schulman et al. 2017) gives a distribution over emotions: shown as its
    argmax (`deterministic`, default) or drawn from ctx.rng; DQN (Mnih et al.
    2015) is greedy in its Q-values.
    """

    name = "rl_policy"
    description = "a stable-baselines3 PPO/DQN emotion policy trained in NegotiationEnv"
    kinds = ("ppo", "dqn")
    check_params = ({"model": "builtin:check_ppo"}, {"model": "builtin:check_ppo", "deterministic": False})

    class Params(OfferParams):
        model: str = Field(..., description="the model folder or its model.zip (from `simlab train rl`)")
        deterministic: bool = True

    def select(self, x: np.ndarray, obs: Observation) -> tuple[int, float | None, str]:
        assert self.ctx is not None
        probs = self.policy.probs(x)
        i, p = _pick(probs, self.p.deterministic, self.ctx.rng)
        return i, p, f"{self.policy.kind} policy: {self.emotions[i]} (p={probs[i]:.2f})"


@STRATEGIES.register("iql_selector")
class IQLSelectorStrategy(_ModelStrategy):
    """Plays the offline IQL emotion selector (Kostrikov et al. 2022; EmoDistill's selection policy).

    `selection`: "argmax" of the advantage-weighted actor (default), "sample"
    from it with ctx.rng, or "q" (greedy in min(Q1, Q2)).
    """

    name = "iql_selector"
    description = "the offline Implicit Q-Learning emotion selector"
    kinds = ("iql",)
    check_params = tuple({"model": "builtin:check_iql", "selection": s} for s in ("argmax", "sample", "q"))

    class Params(OfferParams):
        model: str = Field(..., description="the model folder or its iql.pt (from `simlab train iql`)")
        selection: Literal["argmax", "sample", "q"] = "argmax"

    def select(self, x: np.ndarray, obs: Observation) -> tuple[int, float | None, str]:
        assert self.ctx is not None
        if self.p.selection == "q":
            probs = self.policy.probs(x, source="q")
        else:
            probs = self.policy.probs(x)
        i, p = _pick(probs, self.p.selection != "sample", self.ctx.rng)
        return i, p, f"IQL selector ({self.p.selection}): {self.emotions[i]} (p={probs[i]:.2f})"


# --------------------------------------------------------------------------------------
# exploring_selector
# --------------------------------------------------------------------------------------


@STRATEGIES.register("exploring_selector")
class ExploringSelectorStrategy(SelectorStrategy):
    """The exploring behaviour policy that logs data for offline RL (EmoDistill's data collection).

    Each turn it shows an emotion drawn from ctx.rng: uniformly over the label
    space with probability `epsilon`, else `base` (uniform when `base` is None);
    offers by the concession policy. The exact probability of the emotion shown
    is logged as ``info["propensity"]``, so every row of the dataset carries its
    behaviour-policy propensity.
    """

    name = "exploring_selector"
    description = "uniform / epsilon-greedy random emotions with logged propensities (offline-RL data)"

    class Params(OfferParams):
        epsilon: float = Field(1.0, ge=0.0, le=1.0, description="probability of a uniform draw")
        base: EmotionLabel | None = Field(None, description="the emotion shown otherwise (None: uniform always)")

    check_params = ({}, {"epsilon": 0.3, "base": "sadness"})

    def select(self, x: np.ndarray, obs: Observation) -> tuple[int, float | None, str]:
        assert self.ctx is not None
        n = len(self.emotions)
        probs = np.full(n, 1.0 / n)
        if self.p.base is not None:
            if self.p.base not in self.emotions:
                raise ConfigError(f"strategy exploring_selector: base {self.p.base!r} is not in {self.emotions}")
            probs = self.p.epsilon * probs
            probs[self.emotions.index(self.p.base)] += 1.0 - self.p.epsilon
        i = int(self.ctx.rng.choice(n, p=probs))
        return i, float(probs[i]), f"exploring: {self.emotions[i]} (p={probs[i]:.3f})"


# --------------------------------------------------------------------------------------
# a trained selector as the orchestrator's RL expert
# --------------------------------------------------------------------------------------

RL_EXPERT_KINDS: dict[str, tuple[str, ...]] = {"rl_policy": ("ppo", "dqn"), "iql": ("iql",)}


def parse_rl_expert(spec: str) -> tuple[str, str | None]:
    """("bandit", None) or (kind, path) of an orchestrator ``rl_expert`` value; ValueError when malformed."""
    if spec == "bandit":
        return "bandit", None
    kind, sep, path = spec.partition(":")
    if not sep or kind not in RL_EXPERT_KINDS or not path:
        raise ValueError(f"rl_expert must be 'bandit', 'rl_policy:PATH' or 'iql:PATH', not {spec!r}")
    return kind, path


class LearnedExpert:
    """A trained selector (``rl_policy:PATH`` or ``iql:PATH``) as the Bayesian orchestrator's RL expert.

    It proposes the policy's distribution over emotions at the featurised
    history (a greedy DQN / argmax policy proposes a one-hot); it does not learn
    online (the orchestrator still learns its reliability).
    """

    name = "rl"

    def __init__(self, spec: str) -> None:
        kind, path = parse_rl_expert(spec)
        if path is None:
            raise ConfigError("LearnedExpert needs 'rl_policy:PATH' or 'iql:PATH'")
        self.spec = spec
        self.policy = load_policy(path, RL_EXPERT_KINDS[kind])
        self.ctx: StrategyContext | None = None
        self.emotions: tuple[str, ...] = self.policy.emotions

    def reset(self, ctx: StrategyContext, emotions: tuple[str, ...]) -> None:
        if tuple(emotions) != self.policy.emotions:
            raise ConfigError(f"rl_expert {self.spec}: trained on emotions {self.policy.emotions}, the negotiation uses {emotions}")
        self.ctx, self.emotions = ctx, tuple(emotions)

    def observe(self, evidence: Any) -> None:
        """The policy reads the history itself."""

    def propose(self, obs: Observation, rng: np.random.Generator) -> np.ndarray:
        assert self.ctx is not None
        x = featurise(obs.history, self.ctx.role, self.ctx.utility, obs.round, self.ctx.deadline, self.emotions)
        return self.policy.probs(x)

    def learn(self, chosen: str, reward: float, weight: float) -> None:
        """A trained policy is fixed during a negotiation."""

    def get_state(self) -> dict[str, Any]:
        return {}

    def set_state(self, state: Any) -> None:
        """Stateless."""
