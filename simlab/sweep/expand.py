"""Expand a `Study` into `RunSpec`s, each with a deterministic `run_id`.

The grid is scenarios x agent pairings (one profile per role) x conditions x
seeds x replicates. Each spec is fully resolved (scenario, profiles, backend
after condition overrides), and its run_id is the hash of that resolution, so
re-running a study skips runs already stored and a changed config makes new
ones. Seeds give common random numbers across conditions: the same seed and
replicate draw the same random stream in every condition.
"""
from __future__ import annotations

import copy
import hashlib
import itertools
import json
from pathlib import Path
from typing import Any

from simlab.config.loader import load_agent, load_scenario, parse
from simlab.config.models import BackendSpec, Study
from simlab.engine.cases import CaseError, apply_case
from simlab.engine.seed_varies import vary_by_seed
from simlab.engine.spec import RunSpec
from simlab.errors import ConfigError

_CONDITION_KEYS = {"scenario", "backend", "facts", "strategy_params"}


def check_profile(where: str, scenario: dict[str, Any], profile: dict[str, Any]) -> None:
    """Refuse what a run would refuse, or silently drop, about one profile in one scenario.

    The profile's `behaviour` must be one the scenario defines (its text goes into
    the prompt; an undefined one would silently drop it), and its strategy params
    (after condition overrides) must pass the strategy's ``Params`` model with the
    label space runs use. `expand_study` calls it for every pairing, so ``simlab
    validate`` of a study refuses exactly what ``simlab run`` would.

    Raises:
        ConfigError: one line starting with `where`, naming the problem and the fix.
    """
    from simlab.emotion.labels import DEFAULT_SPACE
    from simlab.strategies.params import validate_strategy_params

    behaviour = profile.get("behaviour")
    defined = scenario.get("behaviours") or {}
    if behaviour and behaviour not in defined:
        known = ", ".join(sorted(defined)) if defined else "none"
        raise ConfigError(
            f"{where}: behaviour '{behaviour}' is not defined by the scenario (it defines: {known}); "
            "add it under the scenario's `behaviours:` or change the agent's `behaviour`"
        )
    strategy = profile.get("strategy") or {}
    try:
        validate_strategy_params(str(strategy.get("name", "vanilla")), strategy.get("params") or {}, DEFAULT_SPACE)
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def _deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def run_id_of(payload: dict[str, Any]) -> str:
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def expand_study(study: Study, study_path: Path | None = None, backend_kind: str | None = None) -> list[RunSpec]:
    """All runs of `study` in a stable order; `backend_kind` overrides the study's backend."""
    scenarios = [load_scenario(name, near=study_path) for name in study.scenarios]
    keys = list(study.agents)
    profiles = {key: [load_agent(a, near=study_path) for a in ids] for key, ids in study.agents.items()}
    for key, plist in profiles.items():
        for p in plist:
            if p.role != key:
                raise ConfigError(f"study {study.study}: agents.{key} lists '{p.id}', whose role is '{p.role}'")
    role_maps = {}
    for sc in scenarios:
        try:
            role_maps[sc.id] = study.role_map(sc.roles)
        except ValueError as exc:
            raise ConfigError(f"study {study.study}: scenario '{sc.id}': {exc}") from None
    conditions = study.conditions or {"default": {}}
    for name, over in conditions.items():
        bad = set(over) - _CONDITION_KEYS
        if bad:
            raise ConfigError(
                f"study {study.study}: conditions.{name}: unknown keys {sorted(bad)} (use {sorted(_CONDITION_KEYS)})"
            )
    base_backend = study.backend.model_dump()
    if backend_kind:
        base_backend = {**base_backend, "kind": backend_kind}
        if backend_kind != study.backend.kind:
            base_backend["model"] = None
    specs: list[RunSpec] = []
    for sc in scenarios:
        role_of = role_maps[sc.id]
        for combo in itertools.product(*[profiles[k] for k in keys]):
            if study.excluded({key: p.id for key, p in zip(keys, combo)}):
                continue
            for cname, over in conditions.items():
                sc_data = sc.model_dump()
                if study.scenario_overrides:
                    sc_data = _deep_merge(sc_data, study.scenario_overrides)
                if "scenario" in over:
                    sc_data = _deep_merge(sc_data, over["scenario"])
                if "facts" in over:
                    sc_data["facts"] = _deep_merge(sc_data["facts"], over["facts"])
                resolved_sc = parse("scenario", sc_data, f"{study.study}: conditions.{cname}.scenario").model_dump()  # type: ignore[union-attr]
                backend = _deep_merge(base_backend, over.get("backend", {}))
                BackendSpec.model_validate(backend)
                prof = {}
                for key, p in zip(keys, combo):
                    role = role_of[key]
                    pd = p.model_dump()
                    pd["role"] = role
                    extra = over.get("strategy_params", {}).get(key) or over.get("strategy_params", {}).get(role)
                    if extra:
                        pd["strategy"]["params"] = {**pd["strategy"]["params"], **extra}
                    check_profile(f"study {study.study}: agent '{p.id}' in scenario '{sc.id}'", resolved_sc, pd)
                    if p.backend is not None and not backend_kind:
                        pd["backend"] = p.backend.model_dump()
                    prof[role] = pd
                label = " vs ".join(p.id for p in combo)
                if study.conditions:
                    label = f"{label} | {cname}"
                values = {"scenario": sc.id, **{key: p.id for key, p in zip(keys, combo)}}
                if study.conditions:
                    values["condition"] = cname
                for seed in study.seeds:
                    for rep in range(study.replicates):
                        try:
                            run_sc = apply_case(resolved_sc, seed, rep)
                        except CaseError as exc:  # this case's run fails with the message; the study goes on
                            run_sc = {**resolved_sc, "case_bank": {**resolved_sc["case_bank"], "error": str(exc)}}
                        else:
                            # what else the seed varies (reservation, weights, deadline), as the scenario declares
                            run_sc = vary_by_seed(run_sc, seed, rep)
                            if run_sc is not resolved_sc:
                                run_sc = parse("scenario", run_sc, f"{study.study}: case of seed {seed}").model_dump()  # type: ignore[union-attr]
                        payload = {
                            "study_id": study.study,
                            "scenario": run_sc,
                            "profiles": prof,
                            "backend": backend,
                            "condition": label,
                            "seed": seed,
                            "replicate": rep,
                            "detector": study.detector,
                        }
                        specs.append(
                            RunSpec(
                                run_id=run_id_of(payload),
                                study_id=study.study,
                                scenario=run_sc,
                                profiles=prof,
                                backend=backend,
                                condition=label,
                                condition_values=values,
                                seed=seed,
                                replicate=rep,
                                population=study.population,
                                detector=study.detector,
                            )
                        )
    return specs
