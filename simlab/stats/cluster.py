"""Intervals for data with several rows per participant: the cluster bootstrap.

Defines `cluster_bootstrap_ci`. When each participant contributes several
trials, rows are not independent and an ordinary bootstrap (or t interval)
over rows is too narrow. The cluster bootstrap resamples whole participants
with replacement and recomputes the statistic on all their rows (Field &
Welsh 2007, "Bootstrapping clustered data", JRSS B 69(3); Cameron, Gelbach &
Miller 2008). Clusters can be stratified by a between-subjects condition so
each resample keeps every group's size.

Randomness only from the caller's `numpy.random.Generator`.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import pandas as pd

from simlab.stats._validation import InsufficientDataError, check_confidence, check_rng
from simlab.stats.bootstrap import percentile_interval

__all__ = ["cluster_bootstrap_ci"]


def cluster_bootstrap_ci(
    data: pd.DataFrame,
    statistic: Callable[[dict[str, np.ndarray]], float],
    cluster: str,
    *,
    rng: np.random.Generator,
    strata: str | None = None,
    n_boot: int = 2000,
    confidence: float = 0.95,
) -> tuple[float, float, float]:
    """Percentile cluster-bootstrap CI of `statistic(data)`.

    Args:
        data: one row per trial.
        statistic: function of the columns (a dict of name -> numpy array, one
            entry per row; fast to build for each resample) returning a float,
            e.g. the difference of two conditions' choice rates.
        cluster: the participant id column; whole participants are resampled.
        rng: the caller's seeded Generator.
        strata: optional subject-level column (a between condition); clusters
            are resampled within each stratum, keeping its size.
        n_boot: resamples.
        confidence: coverage.

    Returns:
        (estimate, low, high). Resamples where the statistic is not finite (a
        resample without one of the conditions) are dropped with a warning by
        the percentile code.
    """
    rng = check_rng(rng)
    confidence = check_confidence(confidence)
    if cluster not in data.columns:
        raise ValueError(f"cluster column {cluster!r} is not in the data")
    if n_boot < 2:
        raise ValueError("n_boot must be at least 2")
    codes, uniques = pd.factorize(data[cluster])
    if len(uniques) < 2:
        raise InsufficientDataError(f"a cluster bootstrap needs at least 2 clusters of {cluster!r}, got {len(uniques)}")
    rows_of = [np.flatnonzero(codes == c) for c in range(len(uniques))]
    if strata is None:
        pools = [np.arange(len(uniques))]
    else:
        if strata not in data.columns:
            raise ValueError(f"strata column {strata!r} is not in the data")
        per = data.groupby(codes)[strata].nunique()
        if (per > 1).any():
            raise ValueError(f"strata column {strata!r} varies within a {cluster!r}; it must be a participant-level factor")
        s_of = data.groupby(codes)[strata].first().to_numpy()
        pools = [np.flatnonzero(s_of == s) for s in pd.unique(s_of)]
    columns = {c: data[c].to_numpy() for c in data.columns}  # resamples are built from arrays (fast)
    estimate = float(statistic(columns))
    sizes = np.array([r.size for r in rows_of])
    boot = np.empty(n_boot)
    for b in range(n_boot):
        picked = np.concatenate([pool[rng.integers(0, pool.size, pool.size)] for pool in pools])
        idx = np.concatenate([rows_of[c] for c in picked])
        sample = {c: v[idx] for c, v in columns.items()}
        # a participant drawn twice counts as two participants
        sample[cluster] = np.repeat(np.arange(picked.size), sizes[picked])
        boot[b] = float(statistic(sample))
    lo, hi = percentile_interval(boot, confidence)
    return estimate, lo, hi
