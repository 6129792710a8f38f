"""`check_backend`: does an object honour the `LLMBackend` contract? (after Gymnasium's ``check_env``)

It sends a small batch of seeded requests with a JSON schema and asserts:

* the attributes: a non-empty ``model_id`` string, a bool ``is_llm``, callable
  ``generate`` and ``close``; an empty batch gives an empty list;
* one `ChatResponse` per request, in request order: the batch, each request
  alone, and the batch reversed give the same texts (this also checks that the
  same request and seed give the same reply, and that a reply does not depend on
  its batch mates or on what ran before);
* the accounting: ``model == model_id``, ``is_llm`` equal to the backend's,
  non-negative token counts with ``prompt_tokens_evaluated <= prompt_tokens``,
  a finite non-negative latency, ``attempt`` 0 or 1;
* ``parsed`` obeys the schema, or is the request's ``fallback`` with
  ``parse_failed`` set (``require_parsed=True`` also forbids None: use it for
  backends with constrained decoding or wrapped in `RepairingBackend`).

It raises AssertionError naming the first broken rule and returns the batch's
responses. It does not close the backend.
"""
from __future__ import annotations

import math
from typing import Any

from simlab.llm.base import ChatRequest, ChatResponse, LLMBackend
from simlab.llm.schema import validate_against_schema

CHECK_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "action": {"type": "string", "enum": ["offer", "accept", "walk_away"]},
        "amount": {"type": "number", "minimum": 0, "maximum": 100},
        "message": {"type": "string", "maxLength": 120},
    },
    "required": ["action", "amount", "message"],
    "additionalProperties": False,
}

_PROMPTS = (
    "You sell a used bicycle. The buyer offers 40. Reply with your move as JSON.",
    "You are buying concert tickets. The seller asks 90. Reply with your move as JSON.",
    "You rent out a flat. The tenant proposes 55 per day. Reply with your move as JSON.",
    "You negotiate a salary. The employer offers 70. Reply with your move as JSON.",
)


def check_requests(
    n: int = 3, schema: dict[str, Any] | None = None, max_tokens: int = 48, temperature: float = 0.7
) -> list[ChatRequest]:
    """The seeded, distinct requests `check_backend` sends (also useful in tests)."""
    schema = schema if schema is not None else CHECK_SCHEMA
    out = []
    for i in range(n):
        fallback = {"action": "offer", "amount": float(10 + 7 * i), "message": f"My offer is {10 + 7 * i}."}
        out.append(
            ChatRequest(
                messages=(
                    {"role": "system", "content": "You are a negotiator. Answer with one JSON object."},
                    {"role": "user", "content": _PROMPTS[i % len(_PROMPTS)] + ("" if i < len(_PROMPTS) else f" (case {i})")},
                ),
                json_schema=schema,
                temperature=temperature,
                max_tokens=max_tokens,
                seed=1000 + 17 * i,
                fallback=fallback,
                session=f"check-{i}",
            )
        )
    return out


def _check_response(backend: LLMBackend, req: ChatRequest, resp: Any, i: int, require_parsed: bool) -> None:
    where = f"response {i}"
    assert isinstance(resp, ChatResponse), f"{where} is {type(resp).__name__}, not ChatResponse"
    assert isinstance(resp.text, str), f"{where}: text must be a str"
    assert resp.model == backend.model_id, f"{where}: model {resp.model!r} != backend.model_id {backend.model_id!r}"
    assert resp.is_llm is backend.is_llm, f"{where}: is_llm {resp.is_llm} != backend.is_llm {backend.is_llm}"
    for name in ("prompt_tokens", "prompt_tokens_evaluated", "completion_tokens"):
        value = getattr(resp, name)
        assert isinstance(value, int) and value >= 0, f"{where}: {name} must be a non-negative int, got {value!r}"
    assert resp.prompt_tokens_evaluated <= resp.prompt_tokens, (
        f"{where}: prompt_tokens_evaluated {resp.prompt_tokens_evaluated} > prompt_tokens {resp.prompt_tokens}"
    )
    if backend.is_llm and not resp.cache_hit:
        assert resp.prompt_tokens > 0, f"{where}: an LLM backend must report the prompt's tokens"
    latency = resp.latency_s
    assert isinstance(latency, (int, float)) and math.isfinite(latency) and latency >= 0, (
        f"{where}: latency_s must be a finite non-negative float, got {resp.latency_s!r}"
    )
    assert resp.attempt in (0, 1), f"{where}: attempt must be 0 or 1, got {resp.attempt!r}"
    assert isinstance(resp.extra, dict), f"{where}: extra must be a dict"
    if resp.parse_failed:
        assert resp.parsed == req.fallback, f"{where}: parse_failed replies must carry the request's fallback as parsed"
    elif resp.parsed is not None:
        assert validate_against_schema(resp.parsed, req.json_schema or {}), (
            f"{where}: parsed {resp.parsed!r} does not obey the request's schema"
        )
    elif require_parsed:
        raise AssertionError(f"{where}: parsed is None for a schema request (text {resp.text[:80]!r})")


def check_backend(
    backend: LLMBackend,
    *,
    n_requests: int = 3,
    schema: dict[str, Any] | None = None,
    max_tokens: int = 48,
    require_parsed: bool = True,
    check_determinism: bool = True,
) -> list[ChatResponse]:
    """Assert that `backend` honours the `LLMBackend` contract (see the module docstring).

    Args:
        backend: the backend (or wrapper stack) to check.
        n_requests: requests in the batch (>= 2 so order can be checked).
        schema: the JSON schema sent (default `CHECK_SCHEMA`).
        max_tokens: per request; keep small for slow models.
        require_parsed: fail when a schema reply has ``parsed=None``.
        check_determinism: also send each request alone and the batch reversed
            and require identical texts (same request + seed -> same reply).

    Returns:
        The responses to the batch.
    """
    assert n_requests >= 2, "check_backend needs at least 2 requests to check order"
    assert isinstance(getattr(backend, "model_id", None), str) and backend.model_id, "model_id must be a non-empty str"
    assert isinstance(getattr(backend, "is_llm", None), bool), "is_llm must be a bool"
    assert callable(getattr(backend, "generate", None)), "generate must be callable"
    assert callable(getattr(backend, "close", None)), "close must be callable"
    assert isinstance(backend, LLMBackend), "backend does not satisfy the LLMBackend protocol"
    empty = backend.generate([])
    assert isinstance(empty, list) and not empty, "generate([]) must return []"

    requests = check_requests(n_requests, schema=schema, max_tokens=max_tokens)
    batch = backend.generate(list(requests))
    assert isinstance(batch, list), f"generate must return a list, got {type(batch).__name__}"
    assert len(batch) == len(requests), f"generate returned {len(batch)} responses for {len(requests)} requests"
    for i, (req, resp) in enumerate(zip(requests, batch)):
        _check_response(backend, req, resp, i, require_parsed)

    if check_determinism:
        texts = [r.text for r in batch]
        singles = [backend.generate([req]) for req in requests]
        for i, single in enumerate(singles):
            assert isinstance(single, list) and len(single) == 1, f"generate([request {i}]) must return one response"
            _check_response(backend, requests[i], single[0], i, require_parsed)
            assert single[0].text == texts[i], (
                f"request {i} alone gave a different reply than in the batch (order lost, or the same "
                f"request and seed are not reproducible): {single[0].text[:80]!r} != {texts[i][:80]!r}"
            )
        reversed_batch = backend.generate(list(reversed(requests)))
        assert len(reversed_batch) == len(requests), "generate on the reversed batch returned the wrong count"
        for i, resp in enumerate(reversed(reversed_batch)):
            assert resp.text == texts[i], (
                f"request {i} gave a different reply when the batch was reversed: {resp.text[:80]!r} != {texts[i][:80]!r}"
            )
    return batch
