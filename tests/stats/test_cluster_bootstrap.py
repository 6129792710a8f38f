"""Cluster bootstrap: wider than the row bootstrap on clustered data, and near nominal coverage."""
import numpy as np
import pandas as pd
import pytest

from simlab.stats.cluster import cluster_bootstrap_ci


def clustered(rng, n_clusters=30, per=8, icc_sd=1.0):
    effects = rng.normal(0, icc_sd, n_clusters)
    return pd.DataFrame({
        "pid": np.repeat(np.arange(n_clusters), per),
        "y": np.repeat(effects, per) + rng.normal(0, 0.5, n_clusters * per),
    })


def mean_y(d) -> float:
    return float(d["y"].mean())


def test_cluster_interval_is_wider_than_the_naive_one_and_covers_the_truth():
    rng = np.random.default_rng(0)
    df = clustered(rng)
    est, lo, hi = cluster_bootstrap_ci(df, mean_y, "pid", rng=np.random.default_rng(1), n_boot=300)
    assert est == pytest.approx(df["y"].mean())
    boot = [df["y"].sample(len(df), replace=True, random_state=i).mean() for i in range(500)]
    naive = np.quantile(boot, 0.975) - np.quantile(boot, 0.025)
    assert (hi - lo) > 2.0 * naive  # 8 correlated rows per participant are far from 8 participants


def test_coverage_is_near_nominal_where_the_row_bootstrap_undercovers():
    hits = 0
    for i in range(40):
        df = clustered(np.random.default_rng(10 + i), n_clusters=25, per=6)
        _, lo, hi = cluster_bootstrap_ci(df, mean_y, "pid", rng=np.random.default_rng(i), n_boot=300)
        hits += lo <= 0.0 <= hi
    assert hits >= 32  # >= 80% of 40 at nominal 95% (the row bootstrap covers about 40% here)


def test_strata_keep_group_sizes_and_reject_a_varying_stratum():
    rng = np.random.default_rng(3)
    df = clustered(rng, n_clusters=20, per=3)
    df["arm"] = np.where(df["pid"] < 5, "a", "b")
    sizes = []

    def stat(d):
        sizes.append(np.unique(d["pid"][d["arm"] == "a"]).size)
        return float(d["y"].mean())

    cluster_bootstrap_ci(df, stat, "pid", rng=np.random.default_rng(0), strata="arm", n_boot=50)
    assert set(sizes) == {5}  # every resample keeps arm a's five participants (a re-drawn one counts twice)
    df.loc[0, "arm"] = "b"
    with pytest.raises(ValueError, match="varies within"):
        cluster_bootstrap_ci(df, mean_y, "pid", rng=np.random.default_rng(0), strata="arm", n_boot=10)
