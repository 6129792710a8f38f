"""Typed configuration read from YAML: `Scenario`, `AgentProfile`, `Study`."""
from __future__ import annotations

from simlab.config.loader import load_agent, load_scenario, load_study, resolve_path, validate_file
from simlab.config.models import AgentProfile, BackendSpec, Scenario, StrategySpec, Study

__all__ = [
    "AgentProfile",
    "BackendSpec",
    "Scenario",
    "StrategySpec",
    "Study",
    "load_agent",
    "load_scenario",
    "load_study",
    "resolve_path",
    "validate_file",
]
