"""The local executor: this process, or N worker processes that stream each finished run back.

Worker processes are forked from a multiprocessing fork server that has
imported the worker, every strategy and pgmpy once (`preload`); `start_workers_early`
starts that server before the driver's preflight, so the imports run on the other
core while the preflight runs, instead of once more in every worker after it.
A worker takes the driver's environment variables and working directory at the
moment it starts, as a spawned process would (the server's are those of the
moment it started).

Each worker process gets one part of the specs (`partition`), builds its
backend once and sends every finished run's record down its own pipe the moment the
run finishes; the driver reads the pipes and yields the records to the one
writer. A worker that dies (killed, out of memory, a crash in native code)
costs only its unfinished runs: the others go on, everything finished is
yielded, and then `WorkerLost` names the worker and how to resume.
"""
from __future__ import annotations

import multiprocessing as mp
import multiprocessing.forkserver
import os
import signal
from multiprocessing.connection import wait as wait_for
from pathlib import Path
from typing import Any, Iterator

from simlab.engine.spec import RunSpec
from simlab.errors import SimlabError
from simlab.store.store import RunRecord
from simlab.sweep.executors.base import WorkerLost, lost_message, partition
from simlab.sweep.executors.worker import run_part

def _portable(exc: BaseException) -> tuple[str, Any]:
    """`exc` in a form that survives the queue: a SimlabError as (class, message), anything else as text."""
    if isinstance(exc, SimlabError):
        return ("simlab", (type(exc), str(exc)))
    return ("other", f"{type(exc).__name__}: {exc}")


PRELOAD = "simlab.sweep.executors.preload"


def _context() -> Any:
    """The fork-server context whose server imports `PRELOAD` before it forks any worker."""
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload([PRELOAD])
    return ctx


def start_workers_early(workers: int) -> None:
    """Start the fork server (and its imports) now, if `workers` processes will be needed; returns at once."""
    if workers > 1:
        _context()
        multiprocessing.forkserver.ensure_running()


def _worker(index: int, specs: list[RunSpec], backend_data: dict[str, Any], cache: str | None, population: int, out: Any,
            environ: dict[str, str] | None = None, cwd: str | None = None) -> None:
    """Process body: run the part, one message on its own pipe per finished run, then 'done' (or 'error' and why)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the driver's to handle; it stops the workers
    try:
        if environ is not None:  # the driver's, now (the fork server's are from when it started)
            os.environ.clear()
            os.environ.update(environ)
        if cwd is not None:
            os.chdir(cwd)
        for record in run_part(specs, backend_data, cache, population):
            out.send(("run", index, record))
    except Exception as exc:  # noqa: BLE001 - not hidden: sent to the driver, which raises it after the others finish
        out.send(("error", index, _portable(exc)))
        return
    out.send(("done", index, None))


def _describe_exit(code: int | None) -> str:
    if code is None:
        return "still running"
    if code < 0:
        try:
            return f"killed by signal {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


def stream_local(
    specs: list[RunSpec], workers: int, cache_path: Path | None, population: int
) -> Iterator[tuple[int, RunRecord]]:
    """(worker index, record) of every run, each as soon as it finishes; `workers` processes (1: this process)."""
    if not specs:
        return
    backend_data = specs[0].backend
    cache = str(cache_path) if cache_path else None
    if workers <= 1:
        for record in run_part(specs, backend_data, cache, population):
            yield 0, record
        return
    parts = partition(specs, workers)
    ctx = _context()
    environ, cwd = dict(os.environ), os.getcwd()
    procs, readers = [], {}
    unfinished = {i: {s.run_id for s in part} for i, part in enumerate(parts)}
    finished = {i: 0 for i in range(len(parts))}
    live = set(range(len(parts)))
    failures: list[tuple[str, Any]] = []
    lost: list[str] = []
    try:
        for i, part in enumerate(parts):
            # one pipe per worker, not one shared queue: a worker killed while writing to a shared
            # queue would die holding its write lock and block every other worker for good
            read, write = ctx.Pipe(duplex=False)
            proc = ctx.Process(target=_worker, args=(i, part, backend_data, cache, population, write, environ, cwd),
                               daemon=True, name=f"simlab-worker-{i}")
            proc.start()
            write.close()  # the worker holds the only write end, so its exit is an end-of-file here
            procs.append(proc)
            readers[read] = i
        while readers:
            for conn in wait_for(list(readers)):
                i = readers[conn]
                try:
                    kind, _, payload = conn.recv()
                except (EOFError, OSError):  # the worker exited; what it sent before was read already
                    del readers[conn]
                    conn.close()
                    if i in live:
                        live.discard(i)
                        procs[i].join(timeout=10)
                        lost.append(lost_message(
                            f"worker process {i + 1} of {len(parts)} (pid {procs[i].pid})", finished[i],
                            len(unfinished[i]), _describe_exit(procs[i].exitcode)))
                    continue
                if kind == "run":
                    unfinished[i].discard(payload.run["run_id"])
                    finished[i] += 1
                    yield i, payload
                    continue
                live.discard(i)
                if kind == "error":
                    failures.append(payload)
    finally:
        for proc in procs:
            if proc.is_alive():
                proc.terminate()
        for proc in procs:
            proc.join(timeout=10)
        for conn in readers:
            conn.close()
    for kind, payload in failures:
        if kind == "simlab":
            cls, message = payload
            raise cls(message)
        raise RuntimeError(f"a worker process failed: {payload}")
    if lost:
        raise WorkerLost("; ".join(lost))
