"""A content-addressed LLM response cache: `ResponseCache` and the `CachedBackend` wrapper.

A response is stored under ``sha256(request.cache_key_payload(model_id))``: the
model id, messages, schema, temperature, max_tokens and seed. Two requests with
the same key get the same reply from a deterministic backend, so replaying a
study (or re-running a crashed one) costs no model time.

Only requests with a seed (``request.seed is not None``) are cached: without a
seed a sampled reply is not a function of the request, and serving it again
would silently turn a random draw into a constant. In simlab every request
carries a seed drawn from the run's generator, so in practice all are cached.

The store is one sqlite3 file in WAL mode (default ``runs/llm_cache.sqlite``):
several worker processes may read and write it at once; writes that race on the
same key keep the first (``INSERT OR IGNORE``), which is the same reply anyway.

A cache hit is the stored `ChatResponse` with ``cache_hit=True``,
``latency_s`` = the lookup time, ``prompt_tokens_evaluated=0`` (nothing ran
through a model) and the original generation latency in
``extra["cached_latency_s"]``. `prompt_tokens` and `completion_tokens` keep
their stored values: they describe the text, not work done now.

A cached reply can never block a study for good: responses that carry an
error (``extra["error"]``, a request the backend could not answer) are never
stored; a stored entry that cannot be read back as a response is a miss and is
overwritten by the fresh reply; and every response names its key in
``extra["cache_key"]`` so the engine can `forget` the replies of a run that
failed, which the next attempt then asks the model for again.
"""
from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from simlab.llm.base import ChatRequest, ChatResponse, LLMBackend

DEFAULT_CACHE_PATH = Path("runs") / "llm_cache.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS responses (
    key TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    response TEXT NOT NULL,
    created REAL NOT NULL
)
"""


def cache_key(request: ChatRequest, model_id: str) -> str:
    """The hex sha256 of the request's canonical payload for `model_id`."""
    return hashlib.sha256(request.cache_key_payload(model_id).encode("utf-8")).hexdigest()


class ResponseCache:
    """A sqlite3 key -> `ChatResponse` store, safe across processes (WAL).

    Args:
        path: the sqlite file; parent folders are created. Defaults to
            ``runs/llm_cache.sqlite`` relative to the working directory.
        timeout_s: how long a writer waits for another process's lock.

    The connection is opened lazily and re-opened after a fork (one per process
    id), so a cache built in a parent may be handed to worker processes.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None, timeout_s: float = 30.0) -> None:
        self.path = Path(path) if path is not None else DEFAULT_CACHE_PATH
        self.timeout_s = timeout_s
        self._conn: sqlite3.Connection | None = None
        self._pid: int | None = None
        self._lock = threading.Lock()

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None or self._pid != os.getpid():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(str(self.path), timeout=self.timeout_s, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute(_SCHEMA)
            conn.commit()
            self._conn, self._pid = conn, os.getpid()
        return self._conn

    def get_many(self, keys: list[str]) -> dict[str, dict[str, Any]]:
        """Stored response dicts for those of `keys` that are present."""
        if not keys:
            return {}
        found: dict[str, dict[str, Any]] = {}
        with self._lock:
            conn = self._connection()
            unique = list(dict.fromkeys(keys))
            for i in range(0, len(unique), 500):
                chunk = unique[i : i + 500]
                marks = ",".join("?" * len(chunk))
                for key, payload in conn.execute(
                    f"SELECT key, response FROM responses WHERE key IN ({marks})", chunk
                ):
                    data = _load_entry(payload)
                    if data is not None:  # an unreadable entry is a miss (and gets overwritten)
                        found[key] = data
        return found

    def get(self, key: str) -> dict[str, Any] | None:
        """The stored response dict under `key`, or None."""
        return self.get_many([key]).get(key)

    def put_many(self, items: list[tuple[str, ChatResponse]]) -> None:
        """Store responses (first writer of a key wins), in one transaction."""
        if not items:
            return
        now = time.time()
        rows = []
        for key, resp in items:
            if resp.extra.get("error"):
                continue
            data = resp.to_dict()
            data["cache_hit"] = False
            data["extra"] = {k: v for k, v in data["extra"].items() if k != "cache_key"}
            rows.append((key, resp.model, json.dumps(data, sort_keys=True, default=str), now))
        with self._lock:
            conn = self._connection()
            with conn:
                # a readable entry is kept (first writer wins); an unreadable one is replaced
                conn.executemany(
                    "INSERT INTO responses (key, model, response, created) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT (key) DO UPDATE SET model = excluded.model, response = excluded.response, "
                    "created = excluded.created WHERE json_valid(responses.response) = 0",
                    rows,
                )

    def forget(self, keys: list[str]) -> int:
        """Delete the entries under `keys` (the replies of a failed run); returns how many were stored."""
        keys = [k for k in dict.fromkeys(keys) if k]
        if not keys:
            return 0
        n = 0
        with self._lock:
            conn = self._connection()
            with conn:
                for i in range(0, len(keys), 500):
                    chunk = keys[i : i + 500]
                    cur = conn.execute(f"DELETE FROM responses WHERE key IN ({','.join('?' * len(chunk))})", chunk)
                    n += cur.rowcount
        return n

    def put(self, key: str, response: ChatResponse) -> None:
        self.put_many([(key, response)])

    def __len__(self) -> int:
        with self._lock:
            return int(self._connection().execute("SELECT COUNT(*) FROM responses").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            if self._conn is not None and self._pid == os.getpid():
                self._conn.close()
            self._conn, self._pid = None, None

    def __getstate__(self) -> dict[str, Any]:
        # Picklable for worker processes: the connection and lock are per process.
        return {"path": self.path, "timeout_s": self.timeout_s}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["path"], state["timeout_s"])  # type: ignore[misc]


def _load_entry(payload: Any) -> dict[str, Any] | None:
    """A stored response dict, or None when the entry is not one (damaged or from another version)."""
    try:
        data = json.loads(payload)
    except (TypeError, ValueError, RecursionError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("text"), str):
        return None
    if not isinstance(data.get("extra") or {}, dict):
        return None
    return data


def _response_from_dict(data: dict[str, Any]) -> ChatResponse:
    fields = ChatResponse.__dataclass_fields__
    return ChatResponse(**{k: v for k, v in data.items() if k in fields})


class CachedBackend:
    """Serve repeated requests from a `ResponseCache`; send misses to `inner` as one batch.

    Args:
        inner: the backend that produces replies on a miss.
        cache: a `ResponseCache`, or a path for one (None -> the default path).

    Requests without a seed bypass the cache (see the module docstring).
    Put it *inside* `RepairingBackend` (``RepairingBackend(CachedBackend(b, c))``)
    so first attempts and repair retries are each cached as the model calls they are.
    """

    def __init__(self, inner: LLMBackend, cache: ResponseCache | str | os.PathLike[str] | None = None) -> None:
        self.inner = inner
        self.cache = cache if isinstance(cache, ResponseCache) else ResponseCache(cache)
        self.model_id: str = inner.model_id
        self.is_llm: bool = inner.is_llm
        self.needs_messages: bool = bool(getattr(inner, "needs_messages", True))
        self.hits = 0
        self.misses = 0

    def generate(self, requests: list[ChatRequest]) -> list[ChatResponse]:
        t0 = time.perf_counter()
        keys = [cache_key(r, self.model_id) if r.seed is not None else None for r in requests]
        stored = self.cache.get_many([k for k in keys if k is not None])
        lookup_s = (time.perf_counter() - t0) / max(1, len(requests))
        out: list[ChatResponse | None] = [None] * len(requests)
        miss_idx: list[int] = []
        for i, key in enumerate(keys):
            if key is not None and key in stored:
                data = dict(stored[key])
                extra = dict(data.get("extra") or {})
                extra["cached_latency_s"] = data.get("latency_s", 0.0)
                extra["cache_key"] = key
                data.update(cache_hit=True, latency_s=lookup_s, prompt_tokens_evaluated=0, extra=extra)
                try:
                    out[i] = _response_from_dict(data)
                except TypeError:  # a field of the wrong shape: treat as a miss
                    miss_idx.append(i)
                    continue
                self.hits += 1
            else:
                miss_idx.append(i)
        if miss_idx:
            fresh = self.inner.generate([requests[i] for i in miss_idx])
            if len(fresh) != len(miss_idx):
                raise RuntimeError(f"{type(self.inner).__name__} returned {len(fresh)} replies for {len(miss_idx)} requests")
            to_store = []
            for i, resp in zip(miss_idx, fresh):
                out[i] = resp
                self.misses += 1
                if keys[i] is not None:
                    to_store.append((keys[i], resp))
            self.cache.put_many(to_store)  # type: ignore[arg-type]
            for key, resp in to_store:
                resp.extra = {**resp.extra, "cache_key": key}
        return out  # type: ignore[return-value]

    def forget(self, keys: list[str]) -> int:
        """Drop cached replies (see `ResponseCache.forget`)."""
        return self.cache.forget(keys)

    def close(self) -> None:
        self.inner.close()
        self.cache.close()
