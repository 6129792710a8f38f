"""A cached poisonous reply cannot block a study: errors are not cached, damaged entries are misses, failed runs are forgotten."""
from __future__ import annotations

import sqlite3

from simlab.llm.base import ChatResponse
from simlab.llm.cache import CachedBackend, ResponseCache, cache_key
from simlab.llm.check import check_requests

from llm_fakes import EchoJSONBackend


class ErrorOnce(EchoJSONBackend):
    """The first batch answers with error responses (as RetryingBackend would), later ones normally."""

    def generate(self, requests):
        if not self.calls:
            self.calls.append(list(requests))
            return [ChatResponse(text="", model=self.model_id, extra={"error": "ConnectionResetError"}) for _ in requests]
        return super().generate(requests)


def test_error_responses_are_never_cached(tmp_path):
    inner = ErrorOnce()
    backend = CachedBackend(inner, ResponseCache(tmp_path / "c.sqlite"))
    reqs = check_requests(2)
    assert all(r.extra.get("error") for r in backend.generate(reqs))
    assert len(backend.cache) == 0
    again = backend.generate(reqs)
    assert not any(r.extra.get("error") for r in again) and not any(r.cache_hit for r in again)


def test_a_damaged_entry_is_a_miss_and_is_overwritten(tmp_path):
    path = tmp_path / "c.sqlite"
    inner = EchoJSONBackend()
    backend = CachedBackend(inner, ResponseCache(path))
    reqs = check_requests(1)
    first = backend.generate(reqs)[0]
    key = cache_key(reqs[0], backend.model_id)
    backend.cache.close()
    con = sqlite3.connect(path)
    con.execute("UPDATE responses SET response = '{truncated' WHERE key = ?", [key])
    con.commit()
    con.close()
    again = backend.generate(reqs)[0]
    assert not again.cache_hit and again.text == first.text and len(inner.calls) == 2
    third = backend.generate(reqs)[0]
    assert third.cache_hit, "the fresh reply replaced the damaged entry"


def test_responses_name_their_key_and_forget_drops_them(tmp_path):
    inner = EchoJSONBackend()
    backend = CachedBackend(inner, ResponseCache(tmp_path / "c.sqlite"))
    reqs = check_requests(3)
    out = backend.generate(reqs)
    keys = [r.extra["cache_key"] for r in out]
    assert keys == [cache_key(r, backend.model_id) for r in reqs]
    assert backend.forget(keys[:2]) == 2
    again = backend.generate(reqs)
    assert [r.cache_hit for r in again] == [False, False, True]
    stored = backend.cache.get(keys[2])
    assert "cache_key" not in stored["extra"], "the key is not stored inside its own entry"
