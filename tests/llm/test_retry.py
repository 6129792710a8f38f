"""RetryingBackend: transient errors retried with backoff, then only the affected requests fail."""
from __future__ import annotations

import pytest

from simlab.errors import BackendUnavailable
from simlab.llm.base import ChatRequest, ChatResponse
from simlab.llm.retry import RetryingBackend, is_transient


def _reqs(n):
    return [ChatRequest(messages=({"role": "user", "content": f"q{i}"},), seed=i) for i in range(n)]


class Flaky:
    """Raises `errors` in turn (one per call), then answers; a request whose seed is in `poison` always raises."""

    is_llm = True
    model_id = "flaky"

    def __init__(self, errors=(), poison=(), short=False):
        self.errors, self.poison, self.short, self.calls = list(errors), set(poison), short, 0

    def generate(self, requests):
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        if any(r.seed in self.poison for r in requests):
            raise ValueError("server sent a 200 with a non-JSON body")
        out = [ChatResponse(text=f"a{r.seed}", model="flaky") for r in requests]
        return out[:-1] if self.short else out

    def close(self):
        pass


def test_transient_errors_are_retried_with_growing_waits():
    waits = []
    inner = Flaky(errors=[ConnectionResetError("reset by peer"), TimeoutError("slow")])
    out = RetryingBackend(inner, attempts=4, backoff_s=0.5, sleep=waits.append).generate(_reqs(3))
    assert [r.text for r in out] == ["a0", "a1", "a2"]
    assert waits == [0.5, 1.0]
    assert inner.calls == 3


def test_a_persistent_outage_fails_the_batch_cleanly():
    inner = Flaky(errors=[BackendUnavailable("server at http://x unreachable")] * 10)
    backend = RetryingBackend(inner, attempts=3, backoff_s=0.1, max_backoff_s=0.15, sleep=lambda s: None)
    out = backend.generate(_reqs(4))
    assert inner.calls == 3, "transient errors that persist are not split into more calls"
    assert all(r.parsed is None and "BackendUnavailable: server at http://x unreachable" == r.extra["error"] for r in out)
    assert backend.failed_requests == 4


def test_one_poisonous_request_fails_alone():
    inner = Flaky(poison={5})
    out = RetryingBackend(inner, sleep=lambda s: None).generate(_reqs(8))
    errors = [bool(r.extra.get("error")) for r in out]
    assert errors == [False] * 5 + [True] + [False] * 2
    assert "non-JSON body" in out[5].extra["error"]
    assert [r.text for i, r in enumerate(out) if i != 5] == [f"a{i}" for i in range(8) if i != 5]


def test_a_wrong_number_of_replies_is_an_error_not_a_misalignment():
    out = RetryingBackend(Flaky(short=True), sleep=lambda s: None).generate(_reqs(1))
    assert "returned 0 replies for 1 requests" in out[0].extra["error"]


@pytest.mark.parametrize(
    "exc, transient",
    [(ConnectionResetError(), True), (TimeoutError(), True), (BackendUnavailable("x"), True),
     (ValueError("bad"), False), (KeyError("k"), False)],
)
def test_what_counts_as_transient(exc, transient):
    assert is_transient(exc) is transient


def test_openai_errors_are_recognised_by_name():
    class APIConnectionError(Exception):
        pass

    class RateLimitError(Exception):
        pass

    assert is_transient(APIConnectionError()) and is_transient(RateLimitError())
