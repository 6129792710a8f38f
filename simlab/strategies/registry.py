"""`STRATEGIES`: the strategy registry (YAML strategy name -> `EmotionStrategy` class).

Its own module so that `strategies.params` can look strategies up and
`strategies.base` can validate params without the two importing each other.
Strategy modules register with ``@STRATEGIES.register(name)`` (re-exported by
`simlab.strategies.base` and `simlab.strategies`).
"""
from __future__ import annotations

from simlab.registry import Registry

STRATEGIES: Registry[type] = Registry("strategy", entry_point_group="simlab.strategies")
