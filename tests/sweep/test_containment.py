"""Containment per run: a failure while preparing, generating, applying or recording one run fails that run
(stored with status 'failed' and the error) and the rest of the batch and study go on."""
from __future__ import annotations

import pytest

from simlab.config.loader import load_study
from simlab.llm.base import ChatResponse
from simlab.llm.retry import RetryingBackend
from simlab.llm.scripted import ScriptedBackend
from simlab.store.store import RunStore
from simlab.sweep import execute
from simlab.sweep.execute import execute_specs
from simlab.sweep.expand import expand_study
from simlab.sweep.runner import run_study


@pytest.fixture
def specs(small_study):
    return expand_study(load_study(small_study), small_study)


class Sabotaged(ScriptedBackend):
    """The scripted backend, except for requests of the run ids in `targets`, per `mode`."""

    def __init__(self, targets, mode):
        super().__init__()
        self.targets, self.mode = set(targets), mode

    def generate(self, requests):
        hit = [(r.session or "").rsplit(":", 1)[0] in self.targets for r in requests]
        if self.mode == "raise" and any(hit):
            raise RuntimeError("connection reset by peer (simulated)")
        out = super().generate(requests)
        if self.mode == "error_reply":
            out = [ChatResponse(text="", extra={"error": "ValueError: simulated"}) if h else r for r, h in zip(out, hit)]
        if self.mode == "garbage_object":
            out = [ChatResponse(text="x", parsed=["not", "a", "dict"]) if h else r for r, h in zip(out, hit)]
        return out


def _by_id(records):
    return {r.run["run_id"]: r.run for r in records}


def test_a_backend_error_fails_only_its_run_behind_the_retry_wrapper(specs):
    target = specs[1].run_id
    backend = RetryingBackend(Sabotaged({target}, "raise"), sleep=lambda s: None)
    runs = _by_id(execute_specs(specs, backend, population=3))
    assert runs[target]["status"] == "failed" and "connection reset" in runs[target]["error"]
    assert all(r["status"] == "done" for rid, r in runs.items() if rid != target)
    assert len(runs) == len(specs)


def test_an_unwrapped_backend_error_fails_its_batch_not_the_study(specs):
    target = specs[0].run_id
    runs = _by_id(execute_specs(specs, Sabotaged({target}, "raise"), population=3))
    failed = {rid for rid, r in runs.items() if r["status"] == "failed"}
    assert target in failed and len(failed) < len(specs), "later batches still ran"
    assert all("RuntimeError: connection reset" in runs[rid]["error"] for rid in failed)


@pytest.mark.parametrize("mode", ["error_reply", "garbage_object"])
def test_a_bad_reply_object_or_error_reply_fails_only_its_run(specs, mode):
    target = specs[2].run_id
    runs = _by_id(execute_specs(specs, Sabotaged({target}, mode), population=4))
    assert runs[target]["status"] == "failed", runs[target]
    assert all(r["status"] == "done" for rid, r in runs.items() if rid != target)


def test_preparing_and_recording_failures_are_the_runs_own(specs, monkeypatch):
    bad_prepare, bad_record = specs[0].run_id, specs[3].run_id
    real_make, real_record = execute.make_session, execute.record_of

    def make(spec):
        if spec.run_id == bad_prepare:
            raise KeyError("persona template missing")
        return real_make(spec)

    def record(spec, session, wall_s, backend):
        if spec.run_id == bad_record:
            raise OverflowError("int too large to convert")
        return real_record(spec, session, wall_s, backend)

    monkeypatch.setattr(execute, "make_session", make)
    monkeypatch.setattr(execute, "record_of", record)
    runs = _by_id(execute_specs(specs, ScriptedBackend(), population=3))
    assert "preparing the run failed: KeyError" in runs[bad_prepare]["error"]
    assert "recording the run failed: OverflowError" in runs[bad_record]["error"]
    assert sum(r["status"] == "done" for r in runs.values()) == len(specs) - 2


def test_failed_runs_are_stored_and_retried_on_resume(small_study, tmp_path, monkeypatch):
    store_path = tmp_path / "s.duckdb"
    real_make = execute.make_session
    victims = set()

    def flaky(spec):
        if not victims or spec.run_id in victims:
            victims.add(spec.run_id)
            raise RuntimeError("simulated")
        return real_make(spec)

    monkeypatch.setattr(execute, "make_session", flaky)
    monkeypatch.setattr("simlab.sweep.runner.preflight", lambda specs: None)
    first = run_study(small_study, store_path=store_path, cache_path=None)
    assert (first.ran, first.failed) == (8, 1)
    store = RunStore(store_path, read_only=True)
    assert store.query("SELECT count(*) AS n FROM runs WHERE status = 'failed'")["n"][0] == 1
    monkeypatch.setattr(execute, "make_session", real_make)
    second = run_study(small_study, store_path=store_path, cache_path=None)
    assert (second.ran, second.skipped, second.failed) == (1, 7, 0)
    assert RunStore(store_path, read_only=True).query("SELECT count(*) AS n FROM runs WHERE status = 'done'")["n"][0] == 8


def test_a_failed_runs_cached_replies_are_forgotten(specs, tmp_path, monkeypatch):
    """The replies a failed run got are dropped from the response cache, so its retry asks the model again."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "llm"))
    from llm_fakes import EchoJSONBackend

    from simlab.engine.protocols.alternating import AlternatingOffers
    from simlab.llm.cache import CachedBackend, ResponseCache
    from simlab.llm.repair import RepairingBackend

    target = specs[0].run_id
    real_apply = AlternatingOffers.apply

    def apply(self, response):
        if self.run_id == target and self.turn_index == 3:
            raise RuntimeError("poisoned by its reply")
        return real_apply(self, response)

    monkeypatch.setattr(AlternatingOffers, "apply", apply)
    cache = ResponseCache(tmp_path / "cache.sqlite")
    inner = EchoJSONBackend()
    backend = RetryingBackend(RepairingBackend(CachedBackend(inner, cache)), sleep=lambda s: None)
    runs = _by_id(execute_specs(specs, backend, population=4))
    assert runs[target]["status"] == "failed" and "poisoned by its reply" in runs[target]["error"]
    assert sum(r["status"] == "done" for r in runs.values()) == len(specs) - 1
    # the retry of the failed run asks the model again from its first turn (nothing served from the cache) ...
    monkeypatch.setattr(AlternatingOffers, "apply", real_apply)
    calls_before = len(inner.calls)
    again = list(execute_specs([specs[0]], backend, population=1))
    assert again[0].run["status"] == "done"
    assert not any(c["cache_hit"] for c in again[0].llm_calls)
    assert len(inner.calls) > calls_before
    # ... while a finished run's replies stay cached
    other = list(execute_specs([specs[1]], backend, population=1))
    assert all(c["cache_hit"] for c in other[0].llm_calls)
