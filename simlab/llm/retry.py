"""`RetryingBackend`: retry a backend's transient errors with backoff, then fail only the affected requests.

Any exception from a backend call (a reset connection, a timeout, a server's
5xx, a 200 response whose body is not JSON, a bug in a backend) must not end a
study. This wrapper (Concordia's `RetryLanguageModel`, as a wrapper around any
`LLMBackend`):

1. calls ``inner.generate(batch)``; a *transient* error (`is_transient`:
   connection and timeout errors, `BackendUnavailable`, a locked cache file,
   the openai client's connection, timeout, rate-limit and server errors) is
   retried up to `attempts` times with exponential backoff (`backoff_s`,
   doubling, capped at `max_backoff_s`);
2. when the error persists (or is not transient), a batch of several requests
   is split in halves and each half tried again, so one request the backend
   cannot answer does not take its batch mates down (transient errors that
   outlast the retries fail the whole batch: the server is down for all);
3. a request that still fails gets a `failed_response`: no text, ``parsed=None``
   and ``extra["error"]`` naming the exception. The engine ends that run as
   failed with this error (stored with ``status = 'failed'``, retried on resume);
   `RepairingBackend` passes such responses through untouched.

A backend that returns the wrong number of replies is treated like one that
raised (a non-transient error).
"""
from __future__ import annotations

import sqlite3
import time
from typing import Callable

from simlab.errors import BackendUnavailable
from simlab.llm.base import ChatRequest, ChatResponse, LLMBackend

#: class names of the openai client's retryable errors (matched by name: the client is optional)
_TRANSIENT_NAMES = frozenset(
    {"APIConnectionError", "APITimeoutError", "RateLimitError", "InternalServerError", "APIResponseValidationError"}
)


class BackendCallFailed(RuntimeError):
    """A request the backend could not answer (after retries); the run that sent it fails."""


def is_transient(exc: BaseException) -> bool:
    """True for errors a later try may not meet (network, timeouts, locks, server overload)."""
    if isinstance(exc, (ConnectionError, TimeoutError, BackendUnavailable)):
        return True
    if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc).lower():
        return True
    return any(cls.__name__ in _TRANSIENT_NAMES for cls in type(exc).__mro__)


def describe(exc: BaseException) -> str:
    """One line naming the exception (clipped: a server may put a whole page in it)."""
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:300]}" if text else type(exc).__name__


def failed_response(request: ChatRequest, backend: LLMBackend, error: str) -> ChatResponse:
    """The stand-in reply of a request the backend could not answer."""
    return ChatResponse(text="", parsed=None, model=backend.model_id, is_llm=backend.is_llm, extra={"error": error})


class RetryingBackend:
    """Wrap `inner` so its errors cost at most the requests they concern (see the module docstring).

    Args:
        inner: the backend (or wrapper stack) to call.
        attempts: tries per batch for transient errors (>= 1).
        backoff_s: the first wait between tries; doubled each time.
        max_backoff_s: the longest wait.
        sleep: the wait function (tests pass a fake clock).
    """

    def __init__(
        self,
        inner: LLMBackend,
        attempts: int = 4,
        backoff_s: float = 0.5,
        max_backoff_s: float = 8.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if attempts < 1:
            raise ValueError("attempts must be at least 1")
        self.inner = inner
        self.model_id: str = inner.model_id
        self.is_llm: bool = inner.is_llm
        self.needs_messages: bool = bool(getattr(inner, "needs_messages", True))
        self.attempts = attempts
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self.sleep = sleep
        self.retries = 0
        self.failed_requests = 0

    def _call(self, requests: list[ChatRequest]) -> list[ChatResponse]:
        wait = self.backoff_s
        for attempt in range(self.attempts):
            try:
                out = self.inner.generate(list(requests))
            except Exception as exc:  # noqa: BLE001 - judged here: retried, split or recorded on the run
                if not is_transient(exc) or attempt == self.attempts - 1:
                    raise
                self.retries += 1
                self.sleep(min(wait, self.max_backoff_s))
                wait *= 2
                continue
            if len(out) != len(requests):
                raise BackendCallFailed(
                    f"{type(self.inner).__name__} returned {len(out)} replies for {len(requests)} requests"
                )
            return out
        raise AssertionError("unreachable")  # pragma: no cover

    def generate(self, requests: list[ChatRequest]) -> list[ChatResponse]:
        if not requests:
            return []
        try:
            return self._call(requests)
        except Exception as exc:  # noqa: BLE001 - becomes the affected runs' stored error
            if len(requests) == 1 or is_transient(exc):
                self.failed_requests += len(requests)
                error = describe(exc)
                return [failed_response(r, self, error) for r in requests]
        half = len(requests) // 2
        return self.generate(requests[:half]) + self.generate(requests[half:])

    def close(self) -> None:
        self.inner.close()
