"""`RepairingBackend`: retry an unparseable JSON reply once with a repair prompt, then fall back.

DESIGN rule: a malformed LLM reply is retried with a repair prompt, then
replaced by the strategy's own offer and flagged (`parse_failed`), never
silently dropped.

For every request with a `json_schema` whose reply did not parse:

1. the request is sent again (all such requests of a batch in one batch) with the
   bad reply appended as an assistant message and a user message asking for only
   a JSON object with the schema's keys (`repair_request`); same seed, same
   session, so a KV-caching backend reuses the prefix;
2. if the retry parses, its response is returned (``attempt=1``);
3. otherwise the retry's response is returned with ``parsed=request.fallback``,
   ``parse_failed=True``, ``attempt=1`` and its raw `text` kept.

Accounting: a retried response carries the earlier attempt(s) as
``response.extra["attempts"]``: a list of `ChatResponse.to_dict()` dicts, oldest
first, each with its own ``attempt`` number. The response itself is the last
attempt, so the model calls behind one reply are ``extra["attempts"] + [response]``
(`all_attempts` returns them), one llm_calls row each. Every attempt but the last
did not parse, by construction; `parse_failed` is set on the last one only, when
the fallback was used.
"""
from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from simlab.llm.base import ChatRequest, ChatResponse, LLMBackend, parse_json_reply

REPAIR_INSTRUCTION = (
    "Your previous reply was not a valid JSON object for this task. "
    "Answer again with only one JSON object and no other text, with exactly these keys: {keys}."
)


def _describe_keys(schema: dict[str, Any]) -> str:
    parts = []
    required = schema.get("required") or list(schema.get("properties", {}))
    for key in required:
        sub = schema.get("properties", {}).get(key, {})
        if "enum" in sub:
            parts.append(f'"{key}" (one of {", ".join(json.dumps(v) for v in sub["enum"])})')
        elif sub.get("type") == "object" and sub.get("properties"):
            inner = ", ".join(f'"{k}"' for k in sub.get("required") or sub["properties"])
            parts.append(f'"{key}" (an object with {inner})')
        elif "type" in sub:
            parts.append(f'"{key}" ({sub["type"]})')
        else:
            parts.append(f'"{key}"')
    return ", ".join(parts)


def repair_request(request: ChatRequest, bad_reply: str) -> ChatRequest:
    """The retry of `request` after `bad_reply` failed to parse."""
    instruction = REPAIR_INSTRUCTION.format(keys=_describe_keys(request.json_schema or {}))
    messages = tuple(request.messages) + (
        {"role": "assistant", "content": bad_reply},
        {"role": "user", "content": instruction},
    )
    return replace(request, messages=messages)


def all_attempts(response: ChatResponse) -> list[dict[str, Any]]:
    """Every model call behind `response`, oldest first, as dicts (one llm_calls row each)."""
    earlier = list(response.extra.get("attempts", []))
    last = response.to_dict()
    last["extra"] = {k: v for k, v in last["extra"].items() if k != "attempts"}
    return earlier + [last]


class RepairingBackend:
    """Wrap `inner` so every schema request ends with a parsed object (or a flagged fallback).

    Args:
        inner: the backend to call (typically a `CachedBackend` around a model backend).
    """

    def __init__(self, inner: LLMBackend) -> None:
        self.inner = inner
        self.model_id: str = inner.model_id
        self.is_llm: bool = inner.is_llm
        self.repairs = 0
        self.failures = 0

    @staticmethod
    def _parsed(req: ChatRequest, resp: ChatResponse) -> dict[str, Any] | None:
        if resp.parsed is not None:
            return resp.parsed
        return parse_json_reply(resp.text, req.json_schema)

    def generate(self, requests: list[ChatRequest]) -> list[ChatResponse]:
        first = self.inner.generate(list(requests))
        if len(first) != len(requests):
            raise RuntimeError(f"{type(self.inner).__name__} returned {len(first)} replies for {len(requests)} requests")
        out = list(first)
        bad: list[int] = []
        for i, (req, resp) in enumerate(zip(requests, first)):
            if req.json_schema is None:
                continue
            parsed = self._parsed(req, resp)
            if parsed is None:
                bad.append(i)
            elif resp.parsed is None:
                resp.parsed = parsed
        if not bad:
            return out
        retries = self.inner.generate([repair_request(requests[i], first[i].text) for i in bad])
        if len(retries) != len(bad):
            raise RuntimeError(f"{type(self.inner).__name__} returned {len(retries)} replies for {len(bad)} requests")
        for i, retry in zip(bad, retries):
            req = requests[i]
            self.repairs += 1
            earlier = first[i].to_dict()
            earlier["attempt"] = 0
            retry.extra = {**retry.extra, "attempts": [earlier]}
            retry.attempt = 1
            parsed = self._parsed(req, retry)
            if parsed is None:
                self.failures += 1
                retry.parsed = dict(req.fallback) if req.fallback is not None else None
                retry.parse_failed = True
            else:
                retry.parsed = parsed
                retry.parse_failed = False
            out[i] = retry
        return out

    def close(self) -> None:
        self.inner.close()
