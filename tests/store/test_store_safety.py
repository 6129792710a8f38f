"""The store as a shared, possibly damaged file: only simlab stores are opened, nothing foreign is written,
readers and writers wait for each other with a bounded patience, and a second writer refuses at once."""
from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from simlab.errors import ConfigError, StoreError
from simlab.store.schema import SCHEMA_VERSION
from simlab.store.store import RunRecord, RunStore, lock_path, store_patience, writer_lock

from damaged_stores import DAMAGE, damage_kinds, digest, make_damaged


@pytest.mark.parametrize("kind", damage_kinds())
@pytest.mark.parametrize("read_only", [True, False])
def test_each_damage_is_named_and_the_file_is_never_written(kind, read_only, tmp_path):
    path = make_damaged(kind, tmp_path)
    before = digest(path) if path.is_file() else None
    listing = sorted(p.name for p in tmp_path.iterdir())
    t0 = time.perf_counter()
    with pytest.raises(StoreError) as err:
        RunStore(path, read_only=read_only)
    assert time.perf_counter() - t0 < 10, "no hang (extension autoloading is off)"
    message = str(err.value)
    assert DAMAGE[kind] in message and "\n" not in message and str(path) in message
    if before is not None:
        assert digest(path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == listing, "no WAL or lock file left beside it"


def test_an_older_store_is_upgraded_by_a_writer_and_refused_by_a_reader(tmp_path, capfd):
    path = tmp_path / "old.duckdb"
    RunStore(path).write_runs([RunRecord(run={"run_id": "r1", "study_id": "s", "status": "done"},
                                         llm_calls=[{"run_id": "r1", "turn_index": 0, "attempt": 0}])])
    con = duckdb.connect(str(path))
    con.execute("ALTER TABLE llm_calls DROP COLUMN sanitized")
    con.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    con.close()
    before = digest(path)
    with pytest.raises(StoreError, match="schema version 1, older than this simlab.s .* upgrades it in place"):
        RunStore(path, read_only=True)
    assert digest(path) == before
    RunStore(path)
    assert "upgraded store" in capfd.readouterr().err
    store = RunStore(path, read_only=True)
    assert store.query("SELECT value FROM meta WHERE key = 'schema_version'")["value"][0] == str(SCHEMA_VERSION)
    assert store.query("SELECT count(*) AS n FROM llm_calls WHERE sanitized IS NULL")["n"][0] == 1
    assert store.query("SELECT run_id FROM runs")["run_id"].tolist() == ["r1"], "nothing lost"


def test_a_second_writer_refuses_at_once_naming_the_first(tmp_path):
    path = tmp_path / "s.duckdb"
    with writer_lock(path, "simlab run first"):
        t0 = time.perf_counter()
        with pytest.raises(StoreError, match=r"is being written by simlab run first \(PID %d" % os.getpid()):
            with writer_lock(path, "simlab run second"):
                pass
        assert time.perf_counter() - t0 < 1
    with writer_lock(path, "simlab run third"):  # released: free again
        pass
    assert not lock_path(path).exists()


def test_a_lock_left_by_a_killed_writer_is_stale_and_taken_over(tmp_path):
    path = tmp_path / "s.duckdb"
    code = ("import sys, os, time; from simlab.store.store import writer_lock\n"
            "with writer_lock(sys.argv[1], 'simlab run doomed'):\n"
            "    print('locked', flush=True); time.sleep(60)\n")
    proc = subprocess.Popen([sys.executable, "-c", code, str(path)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "locked"
        with pytest.raises(StoreError, match=f"simlab run doomed \\(PID {proc.pid}"):
            with writer_lock(path):
                pass
        proc.kill()
        proc.wait()
        assert lock_path(path).exists(), "kill -9 leaves the lock file behind"
        assert json.loads(lock_path(path).read_text())["pid"] == proc.pid
        with writer_lock(path, "simlab run next"):
            assert json.loads(lock_path(path).read_text())["pid"] == os.getpid()
    finally:
        proc.kill()


HOLD = ("import sys, time, duckdb\n"
        "con = duckdb.connect(sys.argv[1], read_only=sys.argv[3] == 'r')\n"
        "print('holding', flush=True); time.sleep(float(sys.argv[2])); con.close()\n")


def _hold(path: Path, seconds: float, mode: str = "r") -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(path), str(seconds), mode], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "holding"
    return proc


def test_a_writer_waits_for_a_reader_and_says_for_whom(tmp_path, capfd):
    path = tmp_path / "s.duckdb"
    store = RunStore(path, patience_s=30)
    proc = _hold(path, 2.0)
    try:
        t0 = time.perf_counter()
        store.write_runs([RunRecord(run={"run_id": "r1", "study_id": "s", "status": "done"})])
        waited = time.perf_counter() - t0
    finally:
        proc.kill()
    assert waited > 1.0, "it waited for the reader"
    err = capfd.readouterr().err
    assert f"is held by" in err and f"(PID {proc.pid})" in err and "waiting up to 30 s" in err
    assert RunStore(path, read_only=True).done_run_ids() == {"r1"}


def test_patience_runs_out_with_one_line(tmp_path):
    path = tmp_path / "s.duckdb"
    store = RunStore(path, patience_s=0.5)
    proc = _hold(path, 20.0, "w")
    try:
        with pytest.raises(StoreError, match=r"is still held by .*\(PID %d\) after 0.5 s.*SIMLAB_STORE_PATIENCE" % proc.pid):
            store.done_run_ids()
    finally:
        proc.kill()


def test_patience_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("SIMLAB_STORE_PATIENCE", "42")
    assert store_patience() == 42
    monkeypatch.setenv("SIMLAB_STORE_PATIENCE", "soon")
    with pytest.raises(ConfigError, match="SIMLAB_STORE_PATIENCE='soon'"):
        store_patience()


def test_unstorable_text_is_sanitised_and_an_unstorable_run_fails_alone(tmp_path):
    store = RunStore(tmp_path / "s.duckdb")
    good = RunRecord(run={"run_id": "a", "study_id": "s", "status": "done"},
                     turns=[{"run_id": "a", "turn_index": 0, "message": "lone \ud800 surrogate and NUL\x00"}])
    huge = RunRecord(run={"run_id": "b", "study_id": "s", "status": "done", "seed": 2**70},
                     turns=[{"run_id": "b", "turn_index": 0, "message": "fine"}])
    rejected = store.write_runs([good, huge])
    assert rejected == ["b"]
    runs = store.query("SELECT run_id, status, error FROM runs ORDER BY run_id")
    assert runs["status"].tolist() == ["done", "failed"]
    assert "the store rejected the run" in runs["error"][1]
    turns = store.query("SELECT run_id, message FROM turns ORDER BY run_id")
    assert turns["run_id"].tolist() == ["a"], "the rejected run left no partial rows"
    assert turns["message"][0] == "lone \ufffd surrogate and NUL"


def test_a_current_store_missing_a_column_is_named_by_readers_and_completed_by_writers(tmp_path, capfd):
    path = tmp_path / "s.duckdb"
    RunStore(path)
    con = duckdb.connect(str(path))
    con.execute("ALTER TABLE llm_calls DROP COLUMN sanitized")
    con.close()
    with pytest.raises(StoreError, match="is damaged: column llm_calls.sanitized is missing"):
        RunStore(path, read_only=True)
    RunStore(path)
    assert "added llm_calls.sanitized" in capfd.readouterr().err
    RunStore(path, read_only=True)


def test_a_file_that_cannot_be_written_is_named_before_any_write(tmp_path, monkeypatch):
    path = tmp_path / "s.duckdb"
    RunStore(path).write_runs([RunRecord(run={"run_id": "r1", "study_id": "s", "status": "done"})])
    before = digest(path)
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if mode == os.W_OK else real_access(p, mode))
    with pytest.raises(StoreError, match="cannot be written \\(a read-only or immutable file\\)"):
        RunStore(path).write_runs([RunRecord(run={"run_id": "r2", "study_id": "s", "status": "done"})])
    assert digest(path) == before
    assert RunStore(path, read_only=True).done_run_ids() == {"r1"}
