"""Input checks shared by the stats modules.

Defines `InsufficientDataError` (a `SimlabError` and a `ValueError`, so the CLI
prints it as one line and library callers can catch it as a plain ValueError)
and small helpers that turn array-likes into clean float vectors.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from simlab.errors import SimlabError


class InsufficientDataError(SimlabError, ValueError):
    """Too few observations, or no variation, to compute a statistic."""


def as_vector(x: ArrayLike, name: str, *, min_n: int = 1) -> np.ndarray:
    """`x` as a 1-D float array without NaN, with at least `min_n` values."""
    arr = np.asarray(x, dtype=float)
    if arr.ndim != 1:
        arr = arr.reshape(-1) if arr.size == 1 else arr
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if np.isnan(arr).any():
        raise ValueError(f"{name} contains NaN; drop missing values before computing statistics")
    if arr.size < min_n:
        raise InsufficientDataError(
            f"{name} has {arr.size} observation(s); at least {min_n} are needed"
        )
    return arr


def check_confidence(confidence: float) -> float:
    """A confidence level strictly between 0 and 1."""
    c = float(confidence)
    if not 0.0 < c < 1.0:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence!r}")
    return c


def check_rng(rng: Any) -> np.random.Generator:
    """The caller's numpy Generator; bootstrap code never falls back to global state."""
    if rng is None:
        raise ValueError(
            "a bootstrap CI needs rng=np.random.Generator (e.g. np.random.default_rng(seed)); "
            "simlab never draws from global random state"
        )
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    return rng


def check_summary_groups(what: str, n1: int, sd1: float, n2: int, sd2: float) -> None:
    """Two groups given as summary statistics: at least 2 observations and a finite SD each.

    Raises:
        InsufficientDataError: naming `what` (e.g. "Cohen's d") and the offending values.
    """
    if n1 < 2 or n2 < 2:
        raise InsufficientDataError(f"{what} needs at least 2 observations per group, got n1={n1}, n2={n2}")
    if not (math.isfinite(sd1) and math.isfinite(sd2)):
        raise InsufficientDataError(f"{what} needs finite SDs, got sd1={sd1}, sd2={sd2}")
