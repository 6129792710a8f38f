"""Conditions as columns: the writer fills each role's agent, strategy and slot; older stores are upgraded."""
from __future__ import annotations

import json

import duckdb
import pytest

from simlab.errors import StoreError
from simlab.store.conditions import CONDITION_COLUMNS, condition_columns
from simlab.store.schema import SCHEMA_VERSION, TABLES
from simlab.store.store import RunRecord, RunStore
from simlab.sweep.runner import run_study

SPEC = {
    "scenario": {"id": "debt-collection-v1", "roles": ["creditor", "debtor"]},
    "profiles": {"creditor": {"id": "lead_hmm", "strategy": {"name": "hmm_game_theory"}},
                 "debtor": {"id": "counterpart_victim", "strategy": {"name": "victim"}}},
    "condition_values": {"scenario": "debt-collection-v1", "lead": "lead_hmm", "counterpart": "counterpart_victim",
                         "condition": "high_pressure"},
}


def test_condition_columns_of_a_spec():
    got = condition_columns(SPEC)
    assert got == {"role_a": "creditor", "slot_a": "lead", "agent_a": "lead_hmm", "strategy_a": "hmm_game_theory",
                   "role_b": "debtor", "slot_b": "counterpart", "agent_b": "counterpart_victim", "strategy_b": "victim",
                   "condition_name": "high_pressure"}
    assert condition_columns(None) == dict.fromkeys(CONDITION_COLUMNS)
    one_role = condition_columns({"scenario": {"roles": ["participant"]},
                                  "profiles": {"participant": {"id": "p1", "strategy": {"name": "vanilla"}}},
                                  "condition_values": {"participant": "p1"}})
    assert one_role["slot_a"] == "participant" and one_role["agent_b"] is None and one_role["condition_name"] is None


def test_a_study_run_writes_one_column_per_role(small_study, tmp_path):
    store_path = tmp_path / "s.duckdb"
    run_study(small_study, store_path=store_path, cache_path=None)
    runs = RunStore(store_path, read_only=True).query("SELECT * FROM runs")
    assert len(runs) == 8
    assert set(runs["agent_a"]) == {"boulware_creditor", "conceder_creditor"}
    assert set(runs["agent_b"]) == {"cooperative_debtor", "threatening_debtor"}
    assert set(runs["slot_a"]) == {"creditor"} and set(runs["role_b"]) == {"debtor"}
    assert (runs["condition"] == runs["agent_a"] + " vs " + runs["agent_b"]).all()
    assert runs["strategy_a"].notna().all() and runs["condition_name"].isna().all()  # the study has no conditions:
    for row in runs.itertuples():
        assert row.strategy_a == json.loads(row.spec_json)["profiles"]["creditor"]["strategy"]["name"]


def _v1_store(path):
    """A store as simlab with schema version 1 wrote it (no condition columns)."""
    runs_v1 = "\n".join(line for line in TABLES["runs"].splitlines()
                        if line.strip().rstrip(",").split(" ")[0] not in CONDITION_COLUMNS)
    runs_v1 = runs_v1.replace("finished_at TIMESTAMP,", "finished_at TIMESTAMP")
    con = duckdb.connect(str(path))
    for name, ddl in TABLES.items():
        con.execute(runs_v1 if name == "runs" else ddl)
    con.execute("INSERT INTO meta VALUES ('schema_version', '1')")
    con.execute("INSERT INTO runs (run_id, study_id, condition, status, spec_json) VALUES "
                "('r1', 's', 'lead_hmm vs counterpart_victim | high_pressure', 'done', ?), ('r2', 's', 'x', 'failed', NULL)",
                [json.dumps(SPEC)])
    con.close()


def test_a_version_1_store_is_upgraded_by_the_writer(tmp_path):
    path = tmp_path / "old.duckdb"
    _v1_store(path)
    with pytest.raises(StoreError, match="schema version 1"):
        RunStore(path, read_only=True)  # readers never migrate
    RunStore(path)  # a writer upgrades in place
    store = RunStore(path, read_only=True)
    assert store.query("SELECT value FROM meta WHERE key = 'schema_version'")["value"][0] == str(SCHEMA_VERSION)
    runs = store.query("SELECT * FROM runs ORDER BY run_id").set_index("run_id")
    assert runs.loc["r1", "agent_a"] == "lead_hmm" and runs.loc["r1", "slot_b"] == "counterpart"
    assert runs.loc["r1", "condition_name"] == "high_pressure"
    assert runs.loc["r2", list(CONDITION_COLUMNS)].isna().all()  # no spec: unknown, not guessed
    new = RunRecord(run={"run_id": "r3", "study_id": "s", "status": "done", "spec_json": json.dumps(SPEC)})
    RunStore(path).write_runs([new])
    assert RunStore(path, read_only=True).query("SELECT agent_b FROM runs WHERE run_id = 'r3'")["agent_b"][0] == "counterpart_victim"
