"""Shared type aliases.

`Offer` maps an issue name to its value; `SeedLike` is what every seeded object
accepts; `JSONDict` is a JSON-serialisable mapping.
"""
from __future__ import annotations

from typing import Any, Union

import numpy as np

Offer = dict[str, float]
JSONDict = dict[str, Any]
SeedLike = Union[int, np.random.SeedSequence, None]


def make_rng(seed: SeedLike) -> np.random.Generator:
    """A numpy Generator from an int or SeedSequence (None only for interactive use)."""
    return np.random.default_rng(seed)


def derive_seed(rng: np.random.Generator) -> int:
    """Draw a 31-bit seed from `rng` for a component that needs an int (an LLM backend)."""
    return int(rng.integers(0, 2**31 - 1))
