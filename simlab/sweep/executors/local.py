"""The local executor: this process, or N spawned worker processes that stream each finished run back.

Each worker process gets one part of the specs (`partition`), builds its
backend once and puts every finished run's record on one queue the moment the
run finishes; the driver reads that queue and yields the records to the one
writer. A worker that dies (killed, out of memory, a crash in native code)
costs only its unfinished runs: the others go on, everything finished is
yielded, and then `WorkerLost` names the worker and how to resume.
"""
from __future__ import annotations

import multiprocessing as mp
import queue as queue_mod
import signal
from pathlib import Path
from typing import Any, Iterator

from simlab.engine.spec import RunSpec
from simlab.errors import SimlabError
from simlab.store.store import RunRecord
from simlab.sweep.executors.base import WorkerLost, lost_message, partition
from simlab.sweep.executors.worker import run_part

POLL_S = 0.5
"""How long the driver waits on the queue before it checks that the workers are alive."""


def _portable(exc: BaseException) -> tuple[str, Any]:
    """`exc` in a form that survives the queue: a SimlabError as (class, message), anything else as text."""
    if isinstance(exc, SimlabError):
        return ("simlab", (type(exc), str(exc)))
    return ("other", f"{type(exc).__name__}: {exc}")


def _worker(index: int, specs: list[RunSpec], backend_data: dict[str, Any], cache: str | None, population: int, out: Any) -> None:
    """Process body: run the part, one queue message per finished run, then 'done' (or 'error' and why)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the driver's to handle; it stops the workers
    try:
        for record in run_part(specs, backend_data, cache, population):
            out.put(("run", index, record))
    except Exception as exc:  # noqa: BLE001 - not hidden: sent to the driver, which raises it after the others finish
        out.put(("error", index, _portable(exc)))
        return
    out.put(("done", index, None))


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
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    procs = [
        ctx.Process(target=_worker, args=(i, part, backend_data, cache, population, out), daemon=True, name=f"simlab-worker-{i}")
        for i, part in enumerate(parts)
    ]
    unfinished = {i: {s.run_id for s in part} for i, part in enumerate(parts)}
    finished = {i: 0 for i in range(len(parts))}
    live = set(range(len(parts)))
    failures: list[tuple[str, Any]] = []
    lost: list[str] = []

    def handle(msg: tuple[str, int, Any]) -> RunRecord | None:
        kind, i, payload = msg
        if kind == "run":
            unfinished[i].discard(payload.run["run_id"])
            finished[i] += 1
            return payload
        live.discard(i)
        if kind == "error":
            failures.append(payload)
        return None

    for p in procs:
        p.start()
    try:
        while live:
            try:
                msg = out.get(timeout=POLL_S)
            except queue_mod.Empty:
                dead = [i for i in live if not procs[i].is_alive()]
                if not dead:
                    continue
                # what a worker sent before it exited may still be in the pipe: drain it first
                while True:
                    try:
                        msg = out.get(timeout=POLL_S)
                    except queue_mod.Empty:
                        break
                    record = handle(msg)
                    if record is not None:
                        yield msg[1], record
                for i in dead:
                    if i in live:
                        live.discard(i)
                        lost.append(lost_message(
                            f"worker process {i + 1} of {len(procs)} (pid {procs[i].pid})", finished[i],
                            len(unfinished[i]), _describe_exit(procs[i].exitcode)))
                continue
            record = handle(msg)
            if record is not None:
                yield msg[1], record
    finally:
        for p in procs:
            if p.is_alive():
                p.terminate()
        for p in procs:
            p.join(timeout=10)
        out.close()
    for kind, payload in failures:
        if kind == "simlab":
            cls, message = payload
            raise cls(message)
        raise RuntimeError(f"a worker process failed: {payload}")
    if lost:
        raise WorkerLost("; ".join(lost))
