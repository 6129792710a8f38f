"""The Ray executor: N Ray generator tasks, each a worker that streams every finished run to the driver.

Each task gets one part of the specs (`partition`), builds its own backend once
and advances its part as one population of sessions, exactly as a local worker
process does (`run_part`); it yields each run's record as the run finishes
(a Ray streaming generator), and the driver, the only writer of the store,
takes the records from whichever task has one ready (`ray.wait` on the
generators). Tasks are not retried (a retry would redo runs already stored):
a worker that dies costs its unfinished runs, which the next run of the study
resumes; `WorkerLost` says so once the other tasks are done.

Where Ray runs:

- ``address=None``: a private local cluster on this machine, bound to
  127.0.0.1, shut down afterwards (or the cluster this process already
  started with ``ray.init``, which is left running).
- ``address="auto"``: the cluster started on this machine with ``ray start --head``.
- ``address="ray://HOST:10001"``: a remote cluster through Ray Client.

Every node needs simlab (and the backend's extra) installed; the response
cache file is per node (a path on each worker's own disk), and an embedded
model file must exist at the same path on every node. For a served model
(``backend: {kind: openai, base_url: ...}``) the URL must be reachable from the
workers, not just from the driver.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

from simlab.engine.spec import RunSpec
from simlab.errors import BackendUnavailable, ConfigError, SimlabError
from simlab.store.store import RunRecord
from simlab.sweep.executors.base import WorkerLost, lost_message, partition
from simlab.sweep.executors.worker import run_part


def import_ray() -> Any:
    """The `ray` module, or a ConfigError saying how to install it."""
    try:
        import ray
    except ImportError:
        raise ConfigError(
            "--executor ray needs Ray, which is not installed here: pip install 'simlab[ray]' "
            "(or `make run`), or use --executor local"
        ) from None
    return ray


PROBE_S = 5.0
"""How long to wait for a cluster's port to accept a connection (Ray itself would retry for minutes)."""


def probe(address: str) -> None:
    """Refuse at once an `address` (``ray://HOST:PORT`` or ``HOST:PORT``) where nothing accepts a connection.

    Raises:
        ConfigError: `address` is not HOST:PORT, or Ray Client is not installed for a ray:// address.
        BackendUnavailable: nothing listens at HOST:PORT.
    """
    import importlib.util
    import socket

    if address == "auto":
        return  # Ray reads the address of the cluster started on this machine, and says at once if there is none
    client = address.startswith("ray://")
    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ConfigError(f"--address {address}: give auto, HOST:PORT or ray://HOST:PORT (Ray Client, port 10001 by default)")
    if client and importlib.util.find_spec("grpc") is None:
        raise ConfigError(f"--address {address}: Ray Client is not installed: pip install 'ray[client]', "
                          "or run the study on the head node with --address auto")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=PROBE_S).close()
    except OSError as exc:
        raise BackendUnavailable(
            f"no Ray cluster answers at --address {address} ({exc.strerror or exc}); start one there with "
            "`ray start --head` or check the host and port"
        ) from None


def connect(ray: Any, address: str | None) -> bool:
    """Join (or start) the cluster at `address`; True when this call started it (so the caller shuts it down).

    When this process is already connected (``ray.init`` was called, e.g. by a
    notebook or a test), that cluster is used and `address` is not consulted.

    Raises:
        BackendUnavailable: no cluster answers at `address`.
    """
    if ray.is_initialized():
        return False
    if address is not None:
        probe(address)
    try:
        if address is None:
            ray.init(include_dashboard=False, _node_ip_address="127.0.0.1", logging_level="WARNING", log_to_driver=False)
        else:
            ray.init(address=address, logging_level="WARNING", log_to_driver=False)
    except (ConnectionError, RuntimeError, ValueError, TimeoutError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        where = "a local Ray cluster" if address is None else f"the Ray cluster at --address {address}"
        raise BackendUnavailable(
            f"could not connect to {where}: {first}; start one with `ray start --head` (then --address auto) "
            "or give the head's ray://HOST:10001 address"
        ) from None
    return True


_owned = False
"""This process started (through `warm_up`) the cluster it is connected to, so `stream_ray` shuts it down."""


def _import_worker_modules() -> None:
    """A warm-up task: import what a worker needs, so the study's tasks start in a worker that has it."""
    import simlab.sweep.executors.preload  # noqa: F401


def warm_up(workers: int | None, address: str | None) -> None:
    """Join (or start) the cluster now and start one import task per worker, without waiting for them.

    Called before the driver's preflight, so the workers' processes start and import
    simlab while the preflight runs; Ray hands the study's tasks to those processes.
    """
    global _owned
    ray = import_ray()
    _owned = connect(ray, address) or _owned
    n = workers if workers is not None else max(1, int(ray.cluster_resources().get("CPU", 1)))
    remote = ray.remote(num_cpus=1, max_retries=0)(_import_worker_modules)
    for _ in range(n):
        remote.remote()


def release() -> None:
    """Shut down the cluster `warm_up` started, if the study stops before `stream_ray` took it over."""
    global _owned
    if _owned:
        import ray

        ray.shutdown()
        _owned = False


def _task(specs: list[RunSpec], backend_data: dict[str, Any], cache: str | None, population: int) -> Iterator[RunRecord]:
    """One Ray worker: its part's records, yielded as the runs finish."""
    yield from run_part(specs, backend_data, cache, population)


def _cause(ray: Any, exc: BaseException) -> BaseException | None:
    """The SimlabError a task raised, if `exc` is Ray's wrapper of one (a config or backend error in the worker)."""
    cause = getattr(exc, "cause", None)
    return cause if isinstance(cause, SimlabError) else None


def stream_ray(
    specs: list[RunSpec], workers: int | None, cache_path: Path | None, population: int, address: str | None
) -> Iterator[tuple[int, RunRecord]]:
    """(task index, record) of every run, each as soon as its run finishes, from `workers` Ray tasks.

    `workers` None: one task per CPU of the cluster.
    """
    ray = import_ray()
    if not specs:
        return
    global _owned
    started, _owned = connect(ray, address) or _owned, False
    try:
        if workers is None:
            workers = max(1, int(ray.cluster_resources().get("CPU", 1)))
        parts = partition(specs, workers)
        remote = ray.remote(num_cpus=1, max_retries=0)(_task)
        cache = str(cache_path.resolve()) if cache_path else None
        gens = {remote.remote(part, specs[0].backend, cache, population): i for i, part in enumerate(parts)}
        unfinished = {i: {s.run_id for s in part} for i, part in enumerate(parts)}
        finished = {i: 0 for i in range(len(parts))}
        failures: list[BaseException] = []
        lost: list[str] = []
        while gens:
            ready, _ = ray.wait(list(gens), num_returns=1)
            for gen in ready:
                i = gens[gen]
                try:
                    ref = next(gen)
                except StopIteration:
                    del gens[gen]
                    continue
                try:
                    record = ray.get(ref)
                except ray.exceptions.RayTaskError as exc:  # the task raised: a config or backend error, or a bug
                    del gens[gen]
                    cause = _cause(ray, exc)
                    failures.append(cause if cause is not None else exc)
                    continue
                except ray.exceptions.RayError as exc:  # the worker process or its node died
                    del gens[gen]
                    why = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                    lost.append(lost_message(f"Ray worker {i + 1} of {len(parts)}", finished[i], len(unfinished[i]),
                                             f"{type(exc).__name__}: {why}"))
                    continue
                unfinished[i].discard(record.run["run_id"])
                finished[i] += 1
                yield i, record
    finally:
        if started:
            ray.shutdown()  # stops its tasks with it
        else:
            for gen in list(locals().get("gens", {})):  # the driver stopped early: stop the tasks still running
                ray.cancel(gen, force=True)
    for exc in failures:
        raise exc
    if lost:
        raise WorkerLost("; ".join(lost))
