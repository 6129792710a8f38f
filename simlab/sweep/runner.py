"""`run_study`: expand a study, skip what is stored, run the rest, write the store.

One writer: workers (``--workers N`` local processes, or Ray tasks with
``--executor ray``, `simlab.sweep.executors`) each run a part of the specs with
their own backend and send each run's record back as soon as the run finishes;
this process writes them in batches, opening the store file only for each batch
so readers get in between.
Everything written is whole runs, so a crash loses at most the runs in flight
and running the study again resumes. A study holds the store's writer lock
(`simlab.store.store.writer_lock`) while it runs, so a second `simlab run` on
the same store refuses at once instead of running the grid twice.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from simlab.config.loader import load_study, study_file
from simlab.config.models import Study
from simlab.engine.spec import RunSpec
from simlab.errors import ConfigError
from simlab.store.store import DEFAULT_STORE, RunRecord, RunStore, writer_lock
from simlab.sweep.execute import DEFAULT_CACHE, make_session
from simlab.sweep.executors import EXECUTORS, iter_records, prepare
from simlab.engine.cases import case_error
from simlab.sweep.expand import expand_study
from simlab.sweep.gate import require_valid


@dataclass
class StudyResult:
    study_id: str
    planned: int
    skipped: int
    ran: int
    failed: int
    wall_s: float
    errors: list[str] = field(default_factory=list)


def preflight(specs: list[RunSpec], gate: bool = True) -> None:
    """Check the study before it starts: the gate (strict params and every template of every role,
    `simlab.sweep.gate`; skipped with ``gate=False`` when the caller ran it), then one session per
    distinct (scenario, profiles) and its first request, so config errors stop the study before it starts."""
    if gate:
        require_valid(specs)
    seen = set()
    for spec in specs:
        key = (spec.scenario["id"], tuple(sorted((r, p["id"]) for r, p in spec.profiles.items())), spec.condition)
        if key in seen or case_error(spec.scenario):  # a bad case fails its own run, not the study
            continue
        seen.add(key)
        session = make_session(spec)
        session.next_request()
        for role, p in spec.profiles.items():
            if p.get("backend") and p["backend"]["kind"] != spec.backend["kind"]:
                raise ConfigError(
                    f"agent '{p['id']}' asks for backend '{p['backend']['kind']}' but the study runs "
                    f"'{spec.backend['kind']}'; one backend per study is supported: remove the agent's backend or use --backend"
                )


def run_study(
    path: str | Path,
    workers: int | None = 1,
    backend: str | None = None,
    store_path: str | Path = DEFAULT_STORE,
    cache_path: Path | None = DEFAULT_CACHE,
    on_progress: Callable[[int, int], None] | None = None,
    batch_every_s: float = 2.0,
    study_path: str | Path | None = None,
    executor: str = "local",
    address: str | None = None,
) -> StudyResult:
    """Run every run of the study at `path` not already in the store.

    `path` may also be a `Study` built in Python (`simlab.run_study`); its names
    then resolve as for a study file at `study_path` (default: in the current directory).
    """
    if isinstance(path, Study):
        study, p = path, Path(study_path) if study_path else Path.cwd() / f"{path.study}.yaml"
    else:
        p = study_file(path)
        study = load_study(p)
    if executor not in EXECUTORS:
        raise ConfigError(f"--executor: unknown executor '{executor}'; use one of {', '.join(EXECUTORS)}")
    if address is not None and executor != "ray":
        raise ConfigError("--address is for --executor ray; drop it or add --executor ray")
    if workers is None and executor != "ray":
        workers = 1
    if workers is not None and workers < 1:
        raise ConfigError("--workers must be at least 1")
    specs = expand_study(study, p, backend_kind=backend)
    if len({s.backend["kind"] for s in specs}) > 1:
        raise ConfigError(f"study {study.study}: conditions use several backend kinds; run them as separate studies")
    # one writer per store: a second `simlab run` on this store refuses at once (see RunStore)
    with writer_lock(store_path, f"simlab run {study.study}"):
        return _run_locked(study, p, specs, workers, store_path, cache_path, on_progress, batch_every_s, executor, address)


def _run_locked(
    study: Any,
    p: Path,
    specs: list[RunSpec],
    workers: int,
    store_path: str | Path,
    cache_path: Path | None,
    on_progress: Callable[[int, int], None] | None,
    batch_every_s: float,
    executor: str = "local",
    address: str | None = None,
) -> StudyResult:
    store = RunStore(store_path)
    store.upsert_study(study.study, study.description, study.model_dump(), str(p), len(specs))
    done = store.done_run_ids(study.study)
    todo = [s for s in specs if s.run_id not in done]
    t0 = time.perf_counter()
    result = StudyResult(study.study, len(specs), len(specs) - len(todo), 0, 0, 0.0)
    if not todo:
        return result
    release = prepare(executor, min(workers, len(todo)) if workers else workers, address)  # overlaps the preflight
    try:
        preflight(todo)
    except BaseException:
        release()
        raise
    buffer: list[RunRecord] = []
    last_write = time.perf_counter()
    finished = 0

    def flush() -> None:
        for run_id in store.write_runs(buffer):  # runs the database rejected, stored as failed
            result.failed += 1
            result.errors.append(f"{run_id}: the store rejected the run")

    try:
        for rec in iter_records(todo, workers, cache_path, study.population, executor, address):
            buffer.append(rec)
            finished += 1
            if rec.run.get("status") != "done":
                result.failed += 1
                result.errors.append(f"{rec.run['run_id']}: {rec.run.get('error')}")
            if time.perf_counter() - last_write >= batch_every_s:
                flush()
                buffer, last_write = [], time.perf_counter()
            if on_progress:
                on_progress(finished, len(todo))
    finally:
        flush()
    result.ran = finished
    result.wall_s = time.perf_counter() - t0
    return result
