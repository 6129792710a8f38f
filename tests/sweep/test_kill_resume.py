"""kill -9 at several points of a study, then resume: no duplicates, no finished run lost, and the final
store is identical to an uninterrupted run's (every column but timings)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

ROOT = Path(__file__).resolve().parents[2]

STUDY = """
study: killed
scenarios: [debt_collection]
agents:
  creditor: [boulware_creditor, conceder_creditor, linear_creditor]
  debtor: [cooperative_debtor, threatening_debtor]
seeds: [{seeds}]
population: 4
backend: {{kind: scripted}}
"""

TIMINGS = {"runs": ("wall_s", "llm_s", "finished_at"), "llm_calls": ("latency_s",)}
N_SEEDS = 150  # long enough that kills land between the writer's 2-second batches on a fast machine too (30 was not, once the engine got faster)
N_RUNS = 3 * 2 * N_SEEDS
KEYS = {"runs": "run_id", "turns": "run_id, turn_index", "llm_calls": "run_id, turn_index, attempt"}


def _start(study: Path, store: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "simlab.cli", "run", str(study), "--store", str(store)],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )


def _dump(store: Path) -> dict[str, list[tuple]]:
    con = duckdb.connect(str(store), read_only=True)
    try:
        out = {}
        for table, key in KEYS.items():
            cols = [r[0] for r in con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = ? ORDER BY ordinal_position",
                [table]).fetchall() if r[0] not in TIMINGS.get(table, ())]
            out[table] = con.execute(f"SELECT {', '.join(cols)} FROM {table} ORDER BY {key}").fetchall()
        return out
    finally:
        con.close()


def _done(store: Path) -> dict[str, tuple]:
    if not store.exists():
        return {}
    return {r[0]: r for r in _dump(store)["runs"]}


def _wait_for_more_runs(store: Path, n: int, proc: subprocess.Popen, deadline: float) -> None:
    """Poll the store until it holds more than `n` runs (or the process ends, or the deadline passes)."""
    while time.perf_counter() < deadline and proc.poll() is None:
        try:
            if len(_done(store)) > n:
                return
        except duckdb.Error:  # the writer holds the file for a batch right now, or it is not created yet
            pass
        time.sleep(0.05)


@pytest.mark.slow
def test_kill_minus_nine_then_resume_gives_the_uninterrupted_store(tmp_path):
    study = tmp_path / "experiments" / "killed.yaml"
    study.parent.mkdir()
    study.write_text(STUDY.format(seeds=", ".join(str(s) for s in range(1, N_SEEDS + 1))))
    reference = tmp_path / "reference.duckdb"
    t0 = time.perf_counter()
    assert _start(study, reference).wait(timeout=300) == 0
    full_s = time.perf_counter() - t0

    store = tmp_path / "killed.duckdb"
    kills, partial = 0, []
    # first kill right after a new batch is visible (so it falls between two stored batches whatever the
    # machine's speed), then at fractions of an uninterrupted run's wall time, startup included
    for fraction in (None, 0.6, 0.85):
        before = _done(store)
        proc = _start(study, store)
        if fraction is None:
            _wait_for_more_runs(store, len(before), proc, deadline=time.perf_counter() + 2 * full_s)
        else:
            time.sleep(full_s * fraction)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)  # the whole process group, like kill -9 of the job
            kills += 1
        proc.wait(timeout=60)
        after = _done(store)
        partial.append(len(after))
        assert set(before) <= set(after), "a finished run was lost"
        assert all(after[k] == v for k, v in before.items()), "a stored run changed"
    assert kills >= 2, "the study finished before it could be killed: make it longer"
    assert any(0 < n < N_RUNS for n in partial), f"no kill fell between two stored batches: {partial}"
    resumed = _start(study, store)
    _, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err
    final, ref = _dump(store), _dump(reference)
    for table in KEYS:
        assert final[table] == ref[table], f"{table} differs from the uninterrupted run"
    assert len(ref["runs"]) == N_RUNS
