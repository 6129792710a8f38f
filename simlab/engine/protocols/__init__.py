"""Protocols: one `Session` class per kind of run, and the `PROTOCOLS` registry.

- `base`: the `Session` contract, `SessionBase` (the machinery every protocol shares:
  construction from a `RunSpec`, request building, call logging, failure, store rows)
  and helpers for decision protocols (`build_policy`, `child_rngs`).
- `alternating`: `AlternatingOffers`, bilateral multi-issue negotiation.
- `advisory`: `Advisory`, an advisor talks with a decider, who rates and chooses.
- `vignette`: `Vignette`, one judgement per trial under its arm.

The scenario model each protocol's files follow is registered at the bottom layer
(`simlab.registry.SCENARIO_MODELS`) so the config loader never imports the engine.
"""
from __future__ import annotations

from simlab.engine.protocols.base import Session
from simlab.registry import Registry

PROTOCOLS: Registry[type] = Registry("protocol", entry_point_group="simlab.protocols")
PROTOCOLS.register_lazy("alternating_offers", "simlab.engine.protocols.alternating:AlternatingOffers")
PROTOCOLS.register_lazy("advisory", "simlab.engine.protocols.advisory:Advisory")
PROTOCOLS.register_lazy("vignette", "simlab.engine.protocols.vignette:Vignette")

__all__ = ["PROTOCOLS", "Session"]
