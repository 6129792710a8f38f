import duckdb
import pyarrow.parquet as pq
import pytest

from simlab.errors import StoreError
from simlab.store.export import export_study
from simlab.store.store import RunRecord, RunStore
from simlab.sweep.runner import run_study


def test_a_run_the_database_rejects_is_stored_failed_and_its_batch_mates_are_kept(tmp_path):
    store = RunStore(tmp_path / "s.duckdb")
    good = RunRecord(run={"run_id": "a", "study_id": "s", "status": "done"}, turns=[{"run_id": "a", "turn_index": 0}])
    dup = RunRecord(run={"run_id": "b", "study_id": "s", "status": "done"},
                    turns=[{"run_id": "b", "turn_index": 0}, {"run_id": "b", "turn_index": 0}])  # violates the turns key
    assert store.write_runs([good, dup]) == ["b"]
    runs = store.query("SELECT run_id, status, error FROM runs ORDER BY run_id")
    assert runs["status"].tolist() == ["done", "failed"]
    assert "the store rejected the run" in runs["error"][1]
    assert store.query("SELECT run_id FROM turns")["run_id"].tolist() == ["a"], "no partial run"


def test_missing_foreign_and_old_stores_are_clear_errors(tmp_path):
    with pytest.raises(StoreError, match="does not exist"):
        RunStore(tmp_path / "none.duckdb", read_only=True)
    other = tmp_path / "other.duckdb"
    duckdb.connect(str(other)).execute("CREATE TABLE x (a INT)").close()
    with pytest.raises(StoreError, match="not a simlab run store"):
        RunStore(other, read_only=True)
    old = tmp_path / "old.duckdb"
    RunStore(old)
    con = duckdb.connect(str(old))
    con.execute("UPDATE meta SET value = '0' WHERE key = 'schema_version'")
    con.close()
    with pytest.raises(StoreError, match="schema version 0, which no simlab wrote"):
        RunStore(old, read_only=True)
    text = tmp_path / "text.duckdb"
    text.write_text("hello")
    with pytest.raises(StoreError, match="is not a DuckDB file"):
        RunStore(text, read_only=True)


def test_export_parquet_round_trips(small_study, tmp_path):
    store_path = tmp_path / "s.duckdb"
    run_study(small_study, store_path=store_path, cache_path=None)
    paths = export_study(store_path, "small", "parquet", tmp_path / "out")
    runs = pq.read_table(paths[0]).to_pandas()
    turns = pq.read_table(paths[1]).to_pandas()
    assert len(runs) == 8
    assert len(turns) == runs["n_turns"].sum()
    with pytest.raises(StoreError, match="no runs"):
        export_study(store_path, "nope", "parquet", tmp_path / "o2")
