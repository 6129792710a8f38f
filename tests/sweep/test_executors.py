"""Executors: each finished run reaches the one writer as it finishes; a dead worker costs only its unfinished runs."""
from __future__ import annotations

import multiprocessing as mp
import os
import signal
import sys
from datetime import datetime, timezone

import pytest

from simlab.config.loader import load_study
from simlab.errors import ConfigError
from simlab.store.store import RunStore
from simlab.sweep.executors import WorkerLost, partition, stream_records
from simlab.sweep.expand import expand_study
from simlab.sweep.runner import run_study

STUDY = """
study: stream
scenarios: [debt_collection]
agents:
  creditor: [boulware_creditor, conceder_creditor]
  debtor: [cooperative_debtor, threatening_debtor]
seeds: {{start: 1, count: {seeds}}}
population: 1
backend: {{kind: scripted}}
"""


def _study(tmp_path, seeds):
    path = tmp_path / "experiments" / "stream.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(STUDY.format(seeds=seeds))
    return path


def test_partition_deals_every_spec_once_in_grid_order():
    parts = partition(list(range(10)), 3)
    assert parts == [[0, 3, 6, 9], [1, 4, 7], [2, 5, 8]]
    assert partition(list(range(2)), 8) == [[0], [1]]  # never an empty part


def test_each_run_reaches_the_driver_before_its_workers_other_runs_finish(tmp_path):
    """Per-run streaming: a worker's first record is in the driver's hands while that worker still runs.

    With one session in flight per worker (population 1) a worker finishes its 8 runs one after
    another; a worker that handed back its part at the end (a chunk) would deliver its first record
    only after its last run had finished.
    """
    path = _study(tmp_path, seeds=4)  # 16 runs, 8 per worker
    specs = expand_study(load_study(path), path)
    first_seen: dict[int, datetime] = {}
    last_finished: dict[int, datetime] = {}
    got = []
    for worker, record in stream_records(specs, workers=2, cache_path=None, population=1):
        first_seen.setdefault(worker, datetime.now(timezone.utc).replace(tzinfo=None))
        last_finished[worker] = max(last_finished.get(worker, datetime.min), record.run["finished_at"])
        got.append(record.run["run_id"])
    assert sorted(got) == sorted(s.run_id for s in specs)
    assert set(first_seen) == {0, 1}
    for worker in (0, 1):
        assert first_seen[worker] < last_finished[worker]


def test_a_killed_worker_loses_only_its_unfinished_runs_and_a_rerun_completes(tmp_path):
    path = _study(tmp_path, seeds=10)  # 40 runs, 20 per worker
    store_path = tmp_path / "s.duckdb"
    killed = []

    def kill_second_worker(done, total):
        if not killed:
            victim = next(p for p in mp.active_children() if p.name == "simlab-worker-1")
            os.kill(victim.pid, signal.SIGKILL)
            killed.append(victim.pid)

    with pytest.raises(WorkerLost, match=r"worker process 2 of 2 \(pid \d+\) died \(killed by signal SIGKILL\)"):
        run_study(path, workers=2, store_path=store_path, cache_path=None, on_progress=kill_second_worker)
    store = RunStore(store_path, read_only=True)
    stored = store.query("SELECT count(*) AS n, count(*) FILTER (WHERE status = 'done') AS d FROM runs").iloc[0]
    assert stored["n"] == stored["d"]  # what is stored is finished runs only
    assert 20 <= stored["d"] < 40  # the first worker's 20 and whatever the second finished before it died
    rest = run_study(path, workers=2, store_path=store_path, cache_path=None)
    assert (rest.ran, rest.skipped, rest.failed) == (40 - stored["d"], stored["d"], 0)


def test_unknown_executor_and_address_without_ray_are_config_errors(small_study, tmp_path):
    with pytest.raises(ConfigError, match="unknown executor 'slurm'"):
        run_study(small_study, store_path=tmp_path / "x.duckdb", executor="slurm")
    with pytest.raises(ConfigError, match="--address is for --executor ray"):
        run_study(small_study, store_path=tmp_path / "x.duckdb", address="auto")


def test_ray_not_installed_is_one_line_naming_the_extra(small_study, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now raises ImportError
    with pytest.raises(ConfigError, match=r"needs Ray, which is not installed here: pip install 'simlab\[ray\]'"):
        run_study(small_study, store_path=tmp_path / "x.duckdb", cache_path=None, executor="ray")
    assert RunStore(tmp_path / "x.duckdb", read_only=True).done_run_ids() == set()


def test_an_unreachable_or_malformed_ray_address_is_one_line_at_once():
    from simlab.errors import BackendUnavailable
    from simlab.sweep.executors.ray_cluster import probe

    with pytest.raises(BackendUnavailable, match=r"no Ray cluster answers at --address 127\.0\.0\.1:9 \(Connection refused\)"):
        probe("127.0.0.1:9")
    with pytest.raises(ConfigError, match="give auto, HOST:PORT or ray://HOST:PORT"):
        probe("my-cluster")
