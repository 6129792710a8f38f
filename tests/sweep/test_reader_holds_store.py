"""A reader holding the store for 30 s while a study writes: the writer waits (saying for whom) and the study completes."""
from __future__ import annotations

import subprocess
import sys
import time

import pytest

from simlab.store.store import RunStore
from simlab.sweep.runner import run_study

READER = """
import sys, time, duckdb
while True:  # take the file between two of the writer's batches
    try:
        con = duckdb.connect(sys.argv[1], read_only=True)
        break
    except duckdb.IOException:
        time.sleep(0.01)
print("holding", flush=True)
con.execute("SELECT count(*) FROM runs").fetchall()
time.sleep(float(sys.argv[2]))
con.close()
"""


@pytest.mark.slow
def test_a_study_outlasts_a_reader_holding_the_store_for_30_s(small_study, tmp_path, capfd):
    store_path = tmp_path / "s.duckdb"
    reader: list[subprocess.Popen] = []

    def on_progress(done, total):
        if done == 2 and not reader:  # mid-study: two runs finished, the first batch written
            proc = subprocess.Popen([sys.executable, "-c", READER, str(store_path), "30"], stdout=subprocess.PIPE, text=True)
            assert proc.stdout.readline().strip() == "holding"
            reader.append(proc)

    t0 = time.perf_counter()
    try:
        result = run_study(small_study, store_path=store_path, cache_path=None, on_progress=on_progress, batch_every_s=0.0)
    finally:
        for proc in reader:
            proc.kill()
    waited = time.perf_counter() - t0
    assert reader, "the reader never started"
    assert (result.ran, result.failed) == (8, 0)
    assert waited > 25, "the writer did wait for the reader"
    assert f"held by" in capfd.readouterr().err
    assert len(RunStore(store_path, read_only=True).done_run_ids("small")) == 8
