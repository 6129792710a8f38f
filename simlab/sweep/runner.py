"""`run_study`: expand a study, skip what is stored, run the rest, write the store.

One writer: worker processes (``--workers N``) run chunks of specs, each with
its own backend, and send finished records back; this process writes them in
batches, opening the store file only for each batch so readers get in between.
Everything written is whole runs, so a crash loses at most the runs in flight
and running the study again resumes.
"""
from __future__ import annotations

import multiprocessing as mp
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from simlab.config.loader import load_study, study_file
from simlab.config.models import BackendSpec, Study
from simlab.engine.spec import RunSpec
from simlab.errors import ConfigError
from simlab.store.store import DEFAULT_STORE, RunRecord, RunStore
from simlab.sweep.execute import DEFAULT_CACHE, build_backend, execute_specs, make_session
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


def _chunks(specs: list[RunSpec], size: int) -> list[list[RunSpec]]:
    return [specs[i : i + size] for i in range(0, len(specs), size)]


def _worker_chunk(args: tuple[list[RunSpec], dict[str, Any], str | None, int]) -> list[RunRecord]:
    specs, backend_data, cache, population = args
    backend = build_backend(BackendSpec.model_validate(backend_data), Path(cache) if cache else None)
    try:
        return list(execute_specs(specs, backend, population=population))
    finally:
        backend.close()


def iter_records(
    specs: list[RunSpec], workers: int, cache_path: Path | None, population: int
) -> Iterator[RunRecord]:
    """Finished records, from this process (workers=1) or a pool of processes."""
    if not specs:
        return
    backend_data = specs[0].backend
    if workers <= 1:
        backend = build_backend(BackendSpec.model_validate(backend_data), cache_path)
        try:
            yield from execute_specs(specs, backend, population=population)
        finally:
            backend.close()
        return
    # small chunks: progress and crash-loss granularity (a worker returns its chunk when it is done)
    size = max(1, min(population, -(-len(specs) // (workers * 8))))
    ctx = mp.get_context("spawn")
    with ctx.Pool(workers) as pool:
        tasks = [(c, backend_data, str(cache_path) if cache_path else None, population) for c in _chunks(specs, size)]
        for records in pool.imap_unordered(_worker_chunk, tasks):
            yield from records


def run_study(
    path: str | Path,
    workers: int = 1,
    backend: str | None = None,
    store_path: str | Path = DEFAULT_STORE,
    cache_path: Path | None = DEFAULT_CACHE,
    on_progress: Callable[[int, int], None] | None = None,
    batch_every_s: float = 2.0,
    study_path: str | Path | None = None,
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
    if workers < 1:
        raise ConfigError("--workers must be at least 1")
    specs = expand_study(study, p, backend_kind=backend)
    if len({s.backend["kind"] for s in specs}) > 1:
        raise ConfigError(f"study {study.study}: conditions use several backend kinds; run them as separate studies")
    store = RunStore(store_path)
    store.upsert_study(study.study, study.description, study.model_dump(), str(p), len(specs))
    done = store.done_run_ids(study.study)
    todo = [s for s in specs if s.run_id not in done]
    t0 = time.perf_counter()
    result = StudyResult(study.study, len(specs), len(specs) - len(todo), 0, 0, 0.0)
    if not todo:
        return result
    preflight(todo)
    buffer: list[RunRecord] = []
    last_write = time.perf_counter()
    finished = 0
    try:
        for rec in iter_records(todo, workers, cache_path, study.population):
            buffer.append(rec)
            finished += 1
            if rec.run.get("status") != "done":
                result.failed += 1
                result.errors.append(f"{rec.run['run_id']}: {rec.run.get('error')}")
            if time.perf_counter() - last_write >= batch_every_s:
                store.write_runs(buffer)
                buffer, last_write = [], time.perf_counter()
            if on_progress:
                on_progress(finished, len(todo))
    finally:
        store.write_runs(buffer)
    result.ran = finished
    result.wall_s = time.perf_counter() - t0
    return result
