"""`simlab dataset`: the offline rows are the environment's transitions, propensities marked where missing."""
from __future__ import annotations

import json

import numpy as np
import pytest
import yaml

from simlab.config.models import BackendSpec
from simlab.errors import ConfigError, StoreError
from simlab.learn.env import NegotiationEnv
from simlab.learn.dataset import build_dataset, load_dataset, write_dataset
from simlab.store.store import RunStore
from simlab.sweep.execute import build_backend, execute_specs
from simlab.sweep.runner import run_study


def test_dataset_rows_are_the_env_transitions_of_the_same_run(tmp_path, mixed_config):
    env = NegotiationEnv(mixed_config)
    obs, _ = env.reset(seed=4)
    rng = np.random.default_rng(2)
    observations, rewards, done = [obs], [], False
    while not done:
        obs, r, done, _, _ = env.step(int(rng.integers(7)))
        observations.append(obs)
        rewards.append(r)
    spec = env.episode_spec(env.counterpart_index, env.run_spec.seed, sequence=env.actions, study_id="replay")
    store = RunStore(tmp_path / "runs.duckdb")
    store.write_runs(list(execute_specs([spec], build_backend(BackendSpec(kind="scripted"), None), population=1)))
    rows, meta = build_dataset(tmp_path / "runs.duckdb", "replay", role="creditor")
    assert [r["emotion"] for r in rows] == env.actions
    np.testing.assert_allclose(np.array([r["obs"] for r in rows]), np.array(observations[:-1]), atol=1e-7)
    np.testing.assert_allclose(np.array([r["next_obs"] for r in rows]), np.array(observations[1:]), atol=1e-7)
    np.testing.assert_allclose([r["reward"] for r in rows], rewards, atol=1e-12)
    assert [r["done"] for r in rows] == [False] * (len(rows) - 1) + [True]
    assert all(r["propensity"] == 1.0 for r in rows)  # emotion_script: a fixed sequence
    assert meta["n_features"] == obs.shape[0]


def _study(tmp_path, lead: str, name: str) -> str:
    study = {
        "study": name, "scenarios": ["debt_collection"], "scenario_overrides": {"deadline": 6},
        "agents": {"lead": [lead], "counterpart": ["rigged_sadness_counterpart", "counterpart_victim"]},
        "seeds": [1, 2, 3], "backend": {"kind": "scripted"},
    }
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(study))
    run_study(path, store_path=tmp_path / "runs.duckdb", cache_path=None)
    return name


def test_dataset_from_a_study_carries_the_exploring_policys_propensities(tmp_path):
    sid = _study(tmp_path, "lead_exploring_selector", "explore")
    rows, meta = build_dataset(tmp_path / "runs.duckdb", sid)
    store = RunStore(tmp_path / "runs.duckdb", read_only=True)
    n_creditor = store.query("SELECT count(*) AS n FROM turns WHERE role = 'creditor'")["n"][0]
    assert len(rows) == n_creditor
    assert all(r["has_propensity"] and r["propensity"] == pytest.approx(1 / 7) for r in rows)
    assert meta["propensity_coverage"] == 1.0
    out = write_dataset(rows, meta, tmp_path / "d.parquet")
    data = load_dataset(out)
    assert len(data) == len(rows) and list(data.emotions) == meta["emotions"]
    assert data.obs.shape == (len(rows), meta["n_features"])
    assert len(data.episodes()) == 6
    # per run: the rewards add up to the counterpart's total concession plus the rescaled final utility
    runs = store.query("SELECT run_id, agreement, utilities_json FROM runs").to_dict("records")
    turns = store.query("SELECT run_id, role, action, utility_other FROM turns ORDER BY run_id, turn_index")
    for run in runs:
        t = turns[(turns.run_id == run["run_id"]) & (turns.role == "debtor") & (turns.action == "offer")]
        final = json.loads(run["utilities_json"])["final"]["creditor"]
        rescaled = max(0.0, (final - 0.35) / 0.65) if run["agreement"] else 0.0
        expected = (t.utility_other.iloc[-1] - t.utility_other.iloc[0]) + rescaled
        got = sum(r["reward"] for r in rows if r["run_id"] == run["run_id"])
        assert got == pytest.approx(expected, abs=1e-9)


def test_runs_without_propensities_are_marked_not_guessed(tmp_path):
    sid = _study(tmp_path, "lead_neutral", "fixed")
    rows, meta = build_dataset(tmp_path / "runs.duckdb", sid)
    assert rows and not any(r["has_propensity"] for r in rows)
    assert all(r["propensity"] is None for r in rows)
    data = load_dataset(write_dataset(rows, meta, tmp_path / "f.parquet"))
    with pytest.raises(StoreError, match="propensities"):
        data.require_propensities("doubly robust")


def test_bad_inputs_are_one_clear_error(tmp_path):
    with pytest.raises(StoreError, match="no finished negotiation runs"):
        _study(tmp_path, "lead_neutral", "fixed2")
        build_dataset(tmp_path / "runs.duckdb", "nope")
    with pytest.raises(ConfigError, match="not found"):
        load_dataset(tmp_path / "missing.parquet")
    (tmp_path / "junk.parquet").write_text("not parquet")
    with pytest.raises(ConfigError, match="not a Parquet file"):
        load_dataset(tmp_path / "junk.parquet")
