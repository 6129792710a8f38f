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

Every reply is judged here, whatever the backend put in `parsed`: a backend's
own parse is re-checked against the schema, and a reply that parses but cannot
be stored as sent (lone surrogates, strings over the schema's ``maxLength``) is
sanitised (`simlab.llm.sanitize`) and flagged (``sanitized=True``, the changes
in ``extra["sanitized"]``). No reply, however malformed (nesting past the
parser's limit, 5,000-digit integers, NaN, a non-string text), raises out of
this wrapper. A response that carries ``extra["error"]`` (a request the
`RetryingBackend` below gave up on) is passed through untouched: it is the
run's failure, not a reply to repair.

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

from simlab.llm.base import ChatRequest, ChatResponse, LLMBackend, check_parsed, parse_reply
from simlab.llm.sanitize import clean_text

#: how much of a bad reply is quoted back to the model in the repair prompt
QUOTE_CHARS = 2000

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
    quoted = clean_text(bad_reply if isinstance(bad_reply, str) else "")[0][:QUOTE_CHARS]
    messages = tuple(request.messages) + (
        {"role": "assistant", "content": quoted},
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
        self.needs_messages: bool = bool(getattr(inner, "needs_messages", True))
        self.repairs = 0
        self.failures = 0

    @staticmethod
    def _judge(req: ChatRequest, resp: ChatResponse) -> dict[str, Any] | None:
        """The reply's sanitised object, or None; sets the `sanitized` flag on `resp`."""
        if resp.parsed is not None:
            parsed, notes = check_parsed(resp.parsed, req.json_schema)
            if parsed is None:  # the backend's own parse does not pass the full check: judge the text
                parsed, notes = parse_reply(resp.text, req.json_schema)
        else:
            parsed, notes = parse_reply(resp.text, req.json_schema)
        if parsed is not None and notes:
            resp.sanitized = True
            resp.extra = {**resp.extra, "sanitized": notes[:10]}
        return parsed

    @staticmethod
    def _check_length(inner: LLMBackend, got: list[ChatResponse], want: int) -> None:
        if len(got) != want:
            raise RuntimeError(f"{type(inner).__name__} returned {len(got)} replies for {want} requests")

    def generate(self, requests: list[ChatRequest]) -> list[ChatResponse]:
        first = self.inner.generate(list(requests))
        self._check_length(self.inner, first, len(requests))
        out = list(first)
        bad: list[int] = []
        for i, (req, resp) in enumerate(zip(requests, first)):
            if req.json_schema is None or resp.extra.get("error"):
                continue
            parsed = self._judge(req, resp)
            if parsed is None:
                resp.parsed = None
                bad.append(i)
            else:
                resp.parsed = parsed
        if not bad:
            return out
        retries = self.inner.generate([repair_request(requests[i], first[i].text) for i in bad])
        self._check_length(self.inner, retries, len(bad))
        for i, retry in zip(bad, retries):
            req = requests[i]
            self.repairs += 1
            earlier = first[i].to_dict()
            earlier["attempt"] = 0
            earlier["text"] = clean_text(earlier["text"] if isinstance(earlier["text"], str) else "")[0][:QUOTE_CHARS]
            retry.extra = {**retry.extra, "attempts": [earlier]}
            retry.attempt = 1
            if retry.extra.get("error"):
                out[i] = retry
                continue
            parsed = self._judge(req, retry)
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
