"""`NegotiationEnv`: one role of a scenario as a Gymnasium environment (``simlab/Negotiation-v0``).

The learner is one role of any scenario (with its case bank). Its action is an
emotion of the label space (Ekman-7 by default); its offer comes from the
concession policy of the ``emotion_script`` strategy (the orchestrator's
reciprocal concession by default, set by `EnvConfig.learner_params`). The
counterpart is an agent profile drawn per episode from `EnvConfig.counterparts`
(behaviour types, any strategy, an LLM profile with any backend).

An episode *is* an engine run: `episode_spec` builds the `RunSpec` the engine
would run (the learner's strategy is ``emotion_script``, the env appends each
action to it before the turn), the session is the engine's own
`AlternatingOffers` built with ``from_spec``, and each turn goes through the
backend exactly as `NegotiationModel.step` sends it. Running that spec through
the engine with ``params.sequence`` set to the episode's actions reproduces the
episode turn for turn (tested).

Observation: `simlab.strategies.features.featurise` for the learner (the vector
the offline dataset and the learned strategies use). Reward (`simlab.learn.reward`):
``concession_weight`` x the counterpart's concession in the learner's utility
on each step (the change of its offer's utility since its previous offer; 0 for
its first offer, an accept or a walk-away), plus ``final_weight`` x the final
utility rescaled between the reservation value and 1 at the end (0 without
agreement).

Randomness: ``reset(seed=s)`` seeds the env's generator; each episode draws its
counterpart and run seed from it, and the run's own generator (from its spec)
drives everything inside the negotiation, as in the engine.
"""
from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from simlab.config.loader import load_agent, load_scenario, parse
from simlab.config.models import BackendSpec, Scenario
from simlab.emotion.labels import DEFAULT_SPACE, get_space
from simlab.engine.cases import apply_case
from simlab.engine.protocols.alternating import AlternatingOffers, shared_detector
from simlab.engine.protocols.base import session_kwargs
from simlab.engine.spec import RunSpec
from simlab.errors import ConfigError, SimlabError
from simlab.llm.base import BACKENDS, LLMBackend
from simlab.learn.reward import concession_reward, rescaled_final, their_offer_utilities
from simlab.strategies.features import featurise, n_features
from simlab.strategies.learned import EmotionScriptStrategy

ENV_ID = "simlab/Negotiation-v0"
LEARNER_ID = "learner"


class RewardConfig(BaseModel):
    """Weights of the two reward terms."""

    model_config = ConfigDict(extra="forbid")

    concession_weight: float = Field(1.0, description="x counterpart's concession in the learner's utility, per step")
    final_weight: float = Field(1.0, description="x final utility rescaled between reservation and 1, at the end")


class EnvConfig(BaseModel):
    """What `NegotiationEnv` simulates (YAML ``env:`` of a train config; unknown keys rejected)."""

    model_config = ConfigDict(extra="forbid")

    scenario: str = Field("debt_collection", description="scenario name or path")
    learner_role: str | None = Field(None, description="the learner's role (default: the scenario's first role)")
    counterparts: list[str] = Field(..., min_length=1, description="agent profiles (names or paths), one drawn per episode")
    emotions: str = Field("ekman7", description="label space of the actions: ekman7, plutchik8 or goemotions28")
    learner_params: dict[str, Any] = Field(
        default_factory=dict, description="offer policy params of the learner's emotion_script strategy (offers, e, start, ...)"
    )
    scenario_overrides: dict[str, Any] = Field(default_factory=dict, description="fields merged into the scenario")
    seeds: list[int] | None = Field(
        None, description="run seeds an episode draws from (a case bank takes the case of its seed); default any seed"
    )
    backend: BackendSpec = Field(default_factory=lambda: BackendSpec(kind="scripted"))
    detector: str | None = Field("lexicon", description="emotion detector on every message (None to skip)")
    reward: RewardConfig = Field(default_factory=RewardConfig)

    @field_validator("emotions")
    @classmethod
    def _space(cls, v: str) -> str:
        get_space(v)
        return v

    @property
    def label_space(self) -> tuple[str, ...]:
        return get_space(self.emotions)


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else copy.deepcopy(v)
    return out


def _hash(payload: dict[str, Any]) -> str:
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def build_backend(spec: BackendSpec) -> LLMBackend:
    """The backend of `spec`; an LLM backend gets the repair wrapper the engine uses (no response cache)."""
    backend: LLMBackend = BACKENDS.get(spec.kind)(spec)
    if backend.is_llm:
        from simlab.llm.repair import RepairingBackend

        backend = RepairingBackend(backend)
    return backend


def final_reward(session: AlternatingOffers, role: str) -> float:
    """`rescaled_final` of `role` at the end of `session`."""
    u = session.final_utilities()[role] if session.agreement is not None else None
    return rescaled_final(session.agreement is not None, u, session.parties[role].utility.reservation)


class NegotiationEnv(gym.Env):
    """The learner's side of a negotiation, one emotion per turn (see module docstring).

    Args:
        config: an `EnvConfig` or its mapping.
        near: where relative scenario / agent names resolve (a config file's path).
    """

    metadata = {"render_modes": []}

    def __init__(self, config: EnvConfig | dict[str, Any], near: Path | None = None) -> None:
        super().__init__()
        self.config = config if isinstance(config, EnvConfig) else EnvConfig.model_validate(config)
        self.emotions = self.config.label_space
        base = load_scenario(self.config.scenario, near=near).model_dump()
        if self.config.scenario_overrides:
            base = _merge(base, self.config.scenario_overrides)
        self.scenario_data: dict[str, Any] = parse("scenario", base, f"env scenario {self.config.scenario}").model_dump()  # type: ignore[union-attr]
        roles = self.scenario_data["roles"]
        self.role = self.config.learner_role or roles[0]
        if self.role not in roles:
            raise ConfigError(f"env: learner_role '{self.role}' is not a role of {self.scenario_data['id']} ({roles})")
        self.other = roles[1] if self.role == roles[0] else roles[0]
        self.counterparts = [self._counterpart(name, near) for name in self.config.counterparts]
        EmotionScriptStrategy(**self.config.learner_params)  # unknown / bad offer params fail here, once
        self.backend = build_backend(self.config.backend)
        self.action_space = gym.spaces.Discrete(len(self.emotions))
        self.observation_space = gym.spaces.Box(-1.0, 1.0, shape=(n_features(len(self.emotions)),), dtype=np.float32)
        self.session: AlternatingOffers | None = None
        self.run_spec: RunSpec | None = None
        self.actions: list[str] = []
        self.counterpart_index = 0

    def _counterpart(self, name: str, near: Path | None) -> dict[str, Any]:
        profile = load_agent(name, near=near).model_dump()
        if profile["role"] not in (self.other, "counterpart"):
            raise ConfigError(
                f"env: counterpart '{name}' has role '{profile['role']}'; the learner plays '{self.role}', "
                f"so counterparts must play '{self.other}'"
            )
        profile["role"] = self.other
        return profile

    # ---- specs ------------------------------------------------------------------
    def learner_profile(self, sequence: list[str] | None = None) -> dict[str, Any]:
        params = dict(self.config.learner_params)
        if sequence is not None:
            params["sequence"] = list(sequence)
        return {
            "id": LEARNER_ID,
            "role": self.role,
            "persona": "",
            "behaviour": None,
            "strategy": {"name": "emotion_script", "params": params},
            "backend": None,
        }

    def episode_spec(self, counterpart: int, seed: int, sequence: list[str] | None = None,
                     learner: dict[str, Any] | None = None, study_id: str = "env") -> RunSpec:
        """The `RunSpec` of one episode (or, with `learner`, of another learner profile against the same draw)."""
        scenario = apply_case(self.scenario_data, seed, 0)
        if scenario is not self.scenario_data:
            scenario = parse("scenario", scenario, f"case of seed {seed}").model_dump()  # type: ignore[union-attr]
        profiles = {self.role: learner or self.learner_profile(sequence), self.other: self.counterparts[counterpart]}
        backend = self.config.backend.model_dump()
        payload = {"study_id": study_id, "scenario": scenario, "profiles": profiles, "backend": backend,
                   "seed": seed, "replicate": 0, "detector": self.config.detector}
        return RunSpec(
            run_id=_hash(payload), study_id=study_id, scenario=scenario, profiles=profiles, backend=backend,
            condition=f"{profiles[self.role]['id']} vs {profiles[self.other]['id']}",
            condition_values={"scenario": scenario["id"], "counterpart": profiles[self.other]["id"]},
            seed=seed, replicate=0, population=1, detector=self.config.detector,
        )

    def make_session(self, spec: RunSpec) -> AlternatingOffers:
        """The engine's session of `spec` (``from_spec``; a non-default label space is passed through)."""
        if self.emotions == DEFAULT_SPACE:
            return AlternatingOffers.from_spec(spec)
        return AlternatingOffers(**session_kwargs(spec), detector=shared_detector(spec.detector), emotions=self.emotions)

    def draw(self) -> tuple[int, int]:
        """(counterpart index, run seed) of the next episode, from the env's generator."""
        k = int(self.np_random.integers(len(self.counterparts)))
        if self.config.seeds:
            seed = int(self.config.seeds[int(self.np_random.integers(len(self.config.seeds)))])
        else:
            seed = int(self.np_random.integers(0, 2**31 - 1))
        return k, seed

    # ---- turn mechanics -----------------------------------------------------------
    def _turn(self) -> None:
        s = self.session
        assert s is not None and not s.done
        request = s.next_request()
        s.apply(self.backend.generate([request])[0])
        if s.error is not None:
            raise SimlabError(f"env: the negotiation failed: {s.error}")

    def _until_learner(self) -> None:
        s = self.session
        assert s is not None
        while not s.done and s.speaker() != self.role:
            self._turn()

    def _obs(self) -> np.ndarray:
        s = self.session
        assert s is not None
        party = s.parties[self.role]
        return featurise(s.turns, self.role, party.utility, s.round, s.scenario.deadline, self.emotions)

    def _info(self) -> dict[str, Any]:
        s = self.session
        assert s is not None and self.run_spec is not None
        info: dict[str, Any] = {"counterpart": self.run_spec.profiles[self.other]["id"], "seed": self.run_spec.seed,
                                "round": s.round}
        if s.done:
            info.update(outcome=s.outcome, utility=s.final_utilities()[self.role], rounds=s.rounds,
                        agreement=s.agreement is not None, actions=list(self.actions))
        return info

    # ---- gymnasium API --------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        k, run_seed = self.draw()
        if options and "counterpart" in options:
            k = int(options["counterpart"])
        if options and "run_seed" in options:
            run_seed = int(options["run_seed"])
        self.counterpart_index = k
        self.run_spec = self.episode_spec(k, run_seed)
        session = self.make_session(self.run_spec)
        if not getattr(self.backend, "needs_messages", True):
            session.prompt_messages = False
        self.session = session
        self.actions = []
        self._until_learner()
        if session.done:
            raise SimlabError(f"env: the negotiation of seed {run_seed} ended before the learner's first turn")
        return self._obs(), self._info()

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        s = self.session
        if s is None or s.done:
            raise SimlabError("env: call reset() before step() (the episode is over)")
        a = int(action)
        if not 0 <= a < len(self.emotions):
            raise ConfigError(f"env: action {action!r} is not an emotion index in [0, {len(self.emotions)})")
        emotion = self.emotions[a]
        strategy = s.parties[self.role].strategy
        assert isinstance(strategy, EmotionScriptStrategy)
        strategy.push(emotion)
        self.actions.append(emotion)
        utility = s.parties[self.role].utility
        before = their_offer_utilities(s.turns, self.role, utility)
        self._turn()
        self._until_learner()
        after = their_offer_utilities(s.turns, self.role, utility)
        w = self.config.reward
        reward = w.concession_weight * concession_reward(before, after)
        if s.done:
            reward += w.final_weight * final_reward(s, self.role)
        return self._obs(), float(reward), bool(s.done), False, self._info()

    def close(self) -> None:
        self.backend.close()


def register() -> None:
    """Register ``simlab/Negotiation-v0`` with gymnasium (idempotent)."""
    if ENV_ID not in gym.registry:
        gym.register(id=ENV_ID, entry_point="simlab.learn.env:NegotiationEnv")


register()
