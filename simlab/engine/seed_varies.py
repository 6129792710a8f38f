"""`vary_by_seed`: apply a scenario's ``seed_varies`` to one run's resolved scenario.

A seed should vary what a replication varies. Under the scripted backend a
deterministic pairing plays the same negotiation for every seed unless the
scenario says what differs between runs: the case drawn from a case bank
(`simlab.engine.cases`), and, declared here, the parties' reservation values,
issue weights and the deadline. The draws use a generator seeded by the run's
seed and replicate only (not its condition), so every condition of a study meets
the same draws (common random numbers) and a contrast between conditions is not
blurred by them. The varied values are written into the run's spec, so the
store records what each run actually played.
"""
from __future__ import annotations

import copy
from typing import Any

import numpy as np

from simlab.errors import ConfigError

_STREAM = 0x5EED  # keeps these draws apart from the run's own generator (same seed, other stream)


def seed_rng(seed: int, replicate: int) -> np.random.Generator:
    """The generator of a run's seed variation (depends on seed and replicate only)."""
    return np.random.default_rng(np.random.SeedSequence(int(seed) % (1 << 63), spawn_key=(int(replicate), _STREAM)))


def vary_by_seed(scenario: dict[str, Any], seed: int, replicate: int) -> dict[str, Any]:
    """`scenario` (a mapping) with its ``seed_varies`` applied for this seed; unchanged without one.

    Raises:
        ConfigError: ``seed_varies.roles`` names a role the scenario lacks.
    """
    spec = scenario.get("seed_varies")
    if not spec:
        return scenario
    utilities = scenario.get("utilities") or {}
    roles = list(spec.get("roles") or scenario.get("roles") or utilities)
    unknown = [r for r in roles if r not in utilities]
    if unknown:
        raise ConfigError(
            f"scenario {scenario.get('id')}: seed_varies.roles names {unknown}, not roles of the scenario "
            f"({', '.join(utilities)})"
        )
    rng = seed_rng(seed, replicate)
    out = copy.deepcopy(scenario)
    res_j = float(spec.get("reservation_jitter") or 0.0)
    w_j = float(spec.get("weight_jitter") or 0.0)
    d_j = int(spec.get("deadline_jitter") or 0)
    # draw every number in a fixed order whatever is enabled, so turning one knob on
    # does not change the draws of another
    for role in sorted(utilities):
        u = out["utilities"][role]
        r_draw = float(rng.uniform(-1.0, 1.0))
        names = sorted(u.get("weights") or {})
        w_draws = rng.uniform(-1.0, 1.0, size=len(names))
        if role not in roles:
            continue
        if res_j:
            u["reservation"] = float(min(max(float(u.get("reservation", 0.0)) + res_j * r_draw, 0.0), 0.95))
        if w_j and names:
            w = np.array([float(u["weights"][n]) for n in names]) * (1.0 + w_j * w_draws)
            if w.sum() > 0:
                u["weights"] = {n: float(x) for n, x in zip(names, w / w.sum())}
    d_draw = int(rng.integers(-d_j, d_j + 1)) if d_j else 0
    if d_draw:
        out["deadline"] = max(1, int(out.get("deadline", 1)) + d_draw)
    return out
