"""One registry per pluggable kind: strategies, backends, detectors, protocols.

This module defines the `Registry` class and `SCENARIO_MODELS` (protocol name -> the
scenario model its files follow); the other registries live beside their kind.

A `Registry` maps the names used in YAML to classes. Entries are either classes
registered with the `register` decorator, or lazy ``"module:Attr"`` strings
(Concordia's lazy registry), so optional backends import only when used. An
ImportError of a lazy entry becomes `BackendUnavailable` naming the extra to
install. `tests/test_registry.py` imports every entry.
"""
from __future__ import annotations

import difflib
import importlib
from importlib.metadata import entry_points
from typing import Any, Callable, Generic, TypeVar

from simlab.errors import BackendUnavailable, ConfigError

T = TypeVar("T")


class Registry(Generic[T]):
    """Name -> class for one kind of plug-in.

    Args:
        kind: what the entries are ("strategy", "backend", ...), used in errors.
        entry_point_group: the importlib entry-point group third parties extend.
    """

    def __init__(self, kind: str, entry_point_group: str | None = None) -> None:
        self.kind = kind
        self.entry_point_group = entry_point_group
        self._entries: dict[str, Any] = {}
        self._extras: dict[str, str] = {}
        self._loaded_entry_points = False

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator: register the class under `name`."""

        def decorator(cls: T) -> T:
            self._entries[name] = cls
            return cls

        return decorator

    def register_lazy(self, name: str, target: str, extra: str | None = None) -> None:
        """Register ``"module:Attr"`` to import on first use; `extra` names the pip extra."""
        self._entries[name] = target
        if extra:
            self._extras[name] = extra

    def _load_entry_points(self) -> None:
        if self._loaded_entry_points or not self.entry_point_group:
            return
        self._loaded_entry_points = True
        for ep in entry_points(group=self.entry_point_group):
            self._entries.setdefault(ep.name, ep.value)

    def names(self) -> list[str]:
        self._load_entry_points()
        return sorted(self._entries)

    def __contains__(self, name: str) -> bool:
        self._load_entry_points()
        return name in self._entries

    def get(self, name: str) -> T:
        """The class registered as `name`; imports lazy entries."""
        self._load_entry_points()
        if name not in self._entries:
            close = difflib.get_close_matches(name, self._entries, n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            raise ConfigError(
                f"unknown {self.kind} '{name}'.{hint} Known: {', '.join(self.names())}."
            )
        entry = self._entries[name]
        if isinstance(entry, str):
            module_name, _, attr = entry.partition(":")
            try:
                module = importlib.import_module(module_name)
            except ImportError as exc:
                extra = self._extras.get(name)
                fix = f"pip install 'simlab[{extra}]'" if extra else "install its dependencies"
                raise BackendUnavailable(
                    f"{self.kind} '{name}' needs a package that is not installed ({exc.name}): {fix}."
                ) from exc
            entry = getattr(module, attr)
            self._entries[name] = entry
        return entry


# Which pydantic model a scenario file of each protocol follows, by lazy name, so the config
# loader can validate any scenario without importing the engine (which holds the protocols
# themselves, in `simlab.engine.protocols.PROTOCOLS`). A protocol plug-in registers both:
# its session class under the "simlab.protocols" entry-point group and its scenario model
# under "simlab.scenario_models". `tests/engine/test_protocols.py` checks the two agree.
SCENARIO_MODELS: Registry[type] = Registry("protocol", entry_point_group="simlab.scenario_models")
SCENARIO_MODELS.register_lazy("alternating_offers", "simlab.config.models:Scenario")
SCENARIO_MODELS.register_lazy("advisory", "simlab.decision.decision_models:AdvisoryScenario")
SCENARIO_MODELS.register_lazy("vignette", "simlab.decision.decision_models:VignetteScenario")
