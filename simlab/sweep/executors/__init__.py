"""Executors: where a study's runs execute, each finished run streamed to the one writer.

Every executor splits the runs into one part per worker; a worker builds its
backend once and advances its part as one population of sessions
(`simlab.sweep.executors.worker.run_part`, the same code in every executor),
handing each run's record to the driver the moment the run finishes. The driver
(`simlab.sweep.runner`) is the only process that writes the store, in batches.
So progress moves run by run, and a crash of the driver or of a worker loses
only the runs that were in flight; the next ``simlab run`` of the study resumes.

Executors:

- ``local``: this process (one worker) or N spawned processes on this machine
  (`simlab.sweep.executors.local`).
- ``ray``: N Ray generator tasks on a Ray cluster, local or remote
  (`simlab.sweep.executors.ray_cluster`).

Which worker runs a spec does not change its result: a session's draws come
from its own seed, so every executor writes the same runs, outcomes and turns.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator

from simlab.engine.spec import RunSpec
from simlab.errors import ConfigError
from simlab.store.store import RunRecord
from simlab.sweep.executors.base import EXECUTORS, WorkerLost, lost_message, partition

__all__ = ["EXECUTORS", "WorkerLost", "iter_records", "lost_message", "partition", "prepare", "stream_records"]


def prepare(executor: str, workers: int | None, address: str | None = None) -> Callable[[], None]:
    """Start what the executor's workers need before the driver's preflight, so the two overlap.

    ``local`` with several workers starts the fork server that imports the worker's
    modules once (`simlab.sweep.executors.local.start_workers_early`); ``ray`` joins
    the cluster and starts one import task per worker (`ray_cluster.warm_up`). Both
    return at once. Returns what to call if the study stops before its runs start
    (it shuts down a Ray cluster that `prepare` started).
    """
    if executor == "local" and workers is not None and workers > 1:
        from simlab.sweep.executors.local import start_workers_early

        start_workers_early(workers)
    if executor == "ray":
        from simlab.sweep.executors.ray_cluster import release, warm_up

        warm_up(workers, address)
        return release
    return lambda: None


def stream_records(
    specs: list[RunSpec],
    workers: int,
    cache_path: Path | None,
    population: int,
    executor: str = "local",
    address: str | None = None,
) -> Iterator[tuple[int, RunRecord]]:
    """(worker index, record) for every run of `specs`, each as soon as its run finishes.

    Raises:
        ConfigError: an unknown executor, or a bad argument for it.
        WorkerLost: a worker died (raised after the other workers have finished and been drained).
        BackendUnavailable: a worker could not build its backend or reach its model.
    """
    if executor == "local":
        from simlab.sweep.executors.local import stream_local

        return stream_local(specs, workers, cache_path, population)
    if executor == "ray":
        from simlab.sweep.executors.ray_cluster import stream_ray

        return stream_ray(specs, workers, cache_path, population, address)
    raise ConfigError(f"--executor: unknown executor '{executor}'; use one of {', '.join(EXECUTORS)}")


def iter_records(
    specs: list[RunSpec],
    workers: int,
    cache_path: Path | None,
    population: int,
    executor: str = "local",
    address: str | None = None,
) -> Iterator[RunRecord]:
    """Finished records of `specs`, one by one as their runs finish (see `stream_records`)."""
    for _, record in stream_records(specs, workers, cache_path, population, executor, address):
        yield record
