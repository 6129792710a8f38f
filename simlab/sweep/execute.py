"""Turn `RunSpec`s into finished `RunRecord`s inside one process.

`build_backend` stacks the wrappers around the chosen backend (response cache,
then repair-and-fallback, then retry-or-fail). Every failure of one run (while
preparing its session, generating, parsing, applying a reply or building its
rows) yields that run's record with ``status = 'failed'`` and the error; the
other runs go on. `execute_specs` runs specs through one
`NegotiationModel`, keeping up to `population` sessions in flight so each step
sends a full batch, and yields each run's record as soon as it finishes.
"""
from __future__ import annotations

import json
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Iterator

from simlab.config.models import BackendSpec
from simlab.engine.model import NegotiationModel
from simlab.engine.protocols import PROTOCOLS, Session
from simlab.engine.spec import RunSpec
from simlab.llm.base import BACKENDS, LLMBackend
from simlab.store.store import RunRecord

DEFAULT_CACHE = Path("runs/llm_cache.sqlite")


def build_backend(spec: BackendSpec, cache_path: Path | None = DEFAULT_CACHE) -> LLMBackend:
    """The backend of `spec`, wrapped: retry(repair(cache(backend))). The scripted backend is not cached or repaired.

    `RetryingBackend` is outermost, so an error anywhere in the stack (the model
    server, the cache file, a reply count) is retried or costs only the runs
    whose requests failed.
    """
    from simlab.llm.retry import RetryingBackend

    inner: LLMBackend = BACKENDS.get(spec.kind)(spec)
    if inner.is_llm and cache_path is not None:
        from simlab.llm.cache import CachedBackend, ResponseCache

        inner = CachedBackend(inner, ResponseCache(cache_path))
    if inner.is_llm:
        from simlab.llm.repair import RepairingBackend

        inner = RepairingBackend(inner)
    return RetryingBackend(inner)


def forget_replies(backend: LLMBackend, keys: list[str]) -> None:
    """Drop `keys` from every response cache in the wrapper stack of `backend` (a failed run's replies)."""
    layer: object | None = backend
    while layer is not None:
        forget = getattr(layer, "forget", None)
        if callable(forget):
            forget(keys)
        layer = getattr(layer, "inner", None)


def make_session(spec: RunSpec) -> Session:
    """The session of `spec` under its scenario's protocol."""
    return PROTOCOLS.get(spec.scenario.get("protocol", "alternating_offers")).from_spec(spec)


def _j(value: Any) -> str | None:
    return None if value is None else json.dumps(value, sort_keys=True)


def failed_record(spec: RunSpec, error: str, wall_s: float | None = None) -> RunRecord:
    """The `runs` row of a run that failed before it had a result (stored so resume retries it)."""
    try:
        spec_json = _j(spec.to_json())
    except (TypeError, ValueError) as exc:
        spec_json = None
        error = f"{error}; its spec is not serialisable ({type(exc).__name__}: {exc})"
    return RunRecord(run={
        "run_id": spec.run_id, "study_id": spec.study_id, "condition": spec.condition, "seed": spec.seed,
        "replicate": spec.replicate, "status": "failed", "error": error, "outcome": "error",
        "scenario": (spec.scenario or {}).get("id"), "backend": (spec.backend or {}).get("kind"),
        "spec_json": spec_json, "wall_s": wall_s, "finished_at": datetime.now(timezone.utc).replace(tzinfo=None),
    })


def safe_record(spec: RunSpec, session: Session, wall_s: float, backend: LLMBackend) -> RunRecord:
    """`record_of`, or a failed record naming the error if the session's rows cannot be computed."""
    try:
        return record_of(spec, session, wall_s, backend)
    except Exception as exc:  # noqa: BLE001 - a run's rows that cannot be built are that run's failure
        return failed_record(spec, f"recording the run failed: {type(exc).__name__}: {exc}", wall_s)


def record_of(spec: RunSpec, session: Session, wall_s: float, backend: LLMBackend) -> RunRecord:
    """The store rows of a finished session."""
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    base = {
        "run_id": spec.run_id,
        "study_id": spec.study_id,
        "scenario": spec.scenario["id"],
        "domain": spec.scenario.get("domain"),
        "protocol": spec.scenario.get("protocol", "alternating_offers"),
        "condition": spec.condition,
        "condition_json": _j(spec.condition_values),
        "seed": spec.seed,
        "replicate": spec.replicate,
        "backend": spec.backend["kind"],
        "model": backend.model_id,
        "is_llm": backend.is_llm,
        "agents_json": _j({r: p["id"] for r, p in spec.profiles.items()}),
        "spec_json": _j(spec.to_json()),
        "wall_s": wall_s,
        "finished_at": now,
    }
    if session.error is not None:
        return RunRecord(run={**base, "status": "failed", "error": session.error, "outcome": "error"})
    calls = session.calls
    run = {
        **base,
        "status": "done",
        **session.run_fields(),
        "prompt_tokens": sum(c["prompt_tokens"] or 0 for c in calls),
        "completion_tokens": sum(c["completion_tokens"] or 0 for c in calls),
        "llm_s": sum(c["latency_s"] or 0.0 for c in calls),
    }
    turns = [{"run_id": spec.run_id, **row} for row in session.turn_rows()]
    llm_calls = [{**c, "backend": spec.backend["kind"]} for c in calls]
    return RunRecord(run=run, turns=turns, llm_calls=llm_calls)


def execute_specs(specs: Iterable[RunSpec], backend: LLMBackend, population: int = 16, seed: int = 0) -> Iterator[RunRecord]:
    """Run `specs` through one NegotiationModel, `population` sessions at a time."""
    queue = list(specs)
    model = NegotiationModel(backend, seed=seed)
    started: dict[str, tuple[RunSpec, float]] = {}

    def refill() -> None:
        while queue and len(model.sessions) < population:
            spec = queue.pop(0)
            try:
                session = make_session(spec)
                model.add_session(session)
            except Exception as exc:  # noqa: BLE001 - stored as a failed run
                yield_failed.append((spec, exc))
                continue
            started[spec.run_id] = (spec, time.perf_counter())

    yield_failed: list[tuple[RunSpec, BaseException]] = []
    refill()
    while model.sessions or yield_failed:
        for spec, exc in yield_failed:
            yield failed_record(spec, f"preparing the run failed: {type(exc).__name__}: {exc}")
        yield_failed.clear()
        if not model.sessions:
            break
        model.step()
        for session in model.just_finished:
            spec, t0 = started.pop(session.run_id)
            keys = model.cache_keys.pop(session.run_id, [])
            record = safe_record(spec, session, time.perf_counter() - t0, backend)
            if record.run.get("status") != "done" and keys:
                forget_replies(backend, keys)  # the next attempt asks the model again
            yield record
        refill()
