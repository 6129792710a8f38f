"""The Ray executor against a real local Ray cluster (2 CPUs, 127.0.0.1): same store as local, resume, a dead worker."""
from __future__ import annotations

import os
import signal

import pytest

from simlab.store.store import RunStore
from simlab.sweep.executors import WorkerLost
from simlab.sweep.runner import run_study

ray = pytest.importorskip("ray")
psutil = pytest.importorskip("psutil")

pytestmark = pytest.mark.slow

TIMING = ("wall_s", "finished_at", "llm_s", "latency_s")


@pytest.fixture(scope="module")
def cluster():
    ray.init(num_cpus=2, include_dashboard=False, _node_ip_address="127.0.0.1", logging_level="WARNING", log_to_driver=False)
    yield
    ray.shutdown()


def _table(store_path, table):
    frame = RunStore(store_path, read_only=True).query(f"SELECT * FROM {table}")
    frame = frame.drop(columns=[c for c in frame.columns if c in TIMING or c.endswith("_at")])
    keys = [c for c in ("run_id", "turn_index") if c in frame.columns]
    return frame.sort_values(keys).reset_index(drop=True)


def test_ray_writes_the_same_store_as_local_processes_and_resumes(cluster, small_study, tmp_path):
    local, on_ray = tmp_path / "local.duckdb", tmp_path / "ray.duckdb"
    run_study(small_study, store_path=local, cache_path=None)
    result = run_study(small_study, workers=2, store_path=on_ray, cache_path=None, executor="ray")
    assert (result.ran, result.failed) == (8, 0)
    for table in ("runs", "turns"):
        a, b = _table(local, table), _table(on_ray, table)
        assert len(a) > 0 and list(a.columns) == list(b.columns)
        assert a.equals(b), table
    again = run_study(small_study, workers=2, store_path=on_ray, cache_path=None, executor="ray")
    assert (again.ran, again.skipped) == (0, 8)


def test_a_ray_worker_that_dies_loses_only_its_unfinished_runs(cluster, tmp_path):
    path = tmp_path / "experiments" / "many.yaml"
    path.parent.mkdir()
    path.write_text(
        "study: many\nscenarios: [debt_collection]\n"
        "agents: {creditor: [boulware_creditor, conceder_creditor], debtor: [cooperative_debtor, threatening_debtor]}\n"
        "seeds: {start: 1, count: 10}\npopulation: 1\nbackend: {kind: scripted}\n"
    )
    store_path = tmp_path / "s.duckdb"
    killed = []

    def kill_a_worker(done, total):
        if killed:
            return
        busy = [p for p in psutil.process_iter(["cmdline"]) if (p.info["cmdline"] or [""])[0].startswith("ray::_task")]
        if busy:
            os.kill(busy[-1].pid, signal.SIGKILL)
            killed.append(busy[-1].pid)

    with pytest.raises(WorkerLost, match=r"Ray worker \d of 2 died .* the \d+ it finished are stored"):
        run_study(path, workers=2, store_path=store_path, cache_path=None, executor="ray", on_progress=kill_a_worker)
    assert killed
    done = RunStore(store_path, read_only=True).done_run_ids()
    assert 0 < len(done) < 40
    rest = run_study(path, workers=2, store_path=store_path, cache_path=None, executor="ray")
    assert (rest.ran, rest.skipped, rest.failed) == (40 - len(done), len(done), 0)

