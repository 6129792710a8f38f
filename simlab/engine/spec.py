"""`RunSpec`: one fully resolved run, the unit every protocol session is built from.

A study expands (`simlab.sweep.expand.expand_study`) into RunSpecs; a protocol's
`from_spec` builds its session from one. The spec holds plain JSON-able data
(scenario, profiles and backend as dicts) so it pickles to worker processes and
hashes to its `run_id`; the typed models are rebuilt on demand. Its random
stream is ``SeedSequence(seed, spawn_key=(replicate,))``: the same seed and
replicate draw the same stream in every condition (common random numbers).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from simlab.config.loader import scenario_model_for
from simlab.config.models import AgentProfile, BackendSpec


@dataclass(frozen=True)
class RunSpec:
    """One fully resolved run of a study."""

    run_id: str
    study_id: str
    scenario: dict[str, Any]
    profiles: dict[str, dict[str, Any]]
    backend: dict[str, Any]
    condition: str
    condition_values: dict[str, Any]
    seed: int
    replicate: int
    population: int = 16
    detector: str | None = "lexicon"

    def scenario_model(self) -> Any:
        from simlab.engine.cases import CaseError, case_error

        error = case_error(self.scenario)
        if error:  # a case of the bank that cannot be applied fails its own run, with the bank's message
            raise CaseError(error)
        return scenario_model_for(self.scenario).model_validate(self.scenario)

    def profile_models(self) -> dict[str, AgentProfile]:
        return {r: AgentProfile.model_validate(p) for r, p in self.profiles.items()}

    def backend_spec(self) -> BackendSpec:
        return BackendSpec.model_validate(self.backend)

    def rng(self) -> np.random.Generator:
        return np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=(self.replicate,)))

    def to_json(self) -> dict[str, Any]:
        return {
            "study_id": self.study_id,
            "scenario": self.scenario,
            "profiles": self.profiles,
            "backend": self.backend,
            "condition": self.condition,
            "condition_values": self.condition_values,
            "seed": self.seed,
            "replicate": self.replicate,
            "detector": self.detector,
        }
