"""Tiny in-test backends for the wrapper and checker tests (no model involved)."""
from __future__ import annotations

import hashlib
import json

from simlab.llm.base import ChatRequest, ChatResponse, parse_json_reply


def _digest(req: ChatRequest) -> int:
    return int(hashlib.sha256(req.cache_key_payload("fake").encode()).hexdigest()[:8], 16)


class EchoJSONBackend:
    """Replies with the request's fallback as JSON plus a seed-dependent tag; counts calls."""

    is_llm = True

    def __init__(self, model_id: str = "fake-json") -> None:
        self.model_id = model_id
        self.calls: list[list[ChatRequest]] = []

    def generate(self, requests: list[ChatRequest]) -> list[ChatResponse]:
        self.calls.append(list(requests))
        out = []
        for req in requests:
            move = dict(req.fallback or {"action": "offer", "amount": 1.0, "message": "hi"})
            move["message"] = f"{move.get('message', '')} #{_digest(req) % 1000}"
            text = json.dumps(move)
            out.append(
                ChatResponse(
                    text=text,
                    parsed=parse_json_reply(text, req.json_schema) if req.json_schema else None,
                    model=self.model_id,
                    prompt_tokens=10 * len(req.messages),
                    prompt_tokens_evaluated=10,
                    completion_tokens=len(text) // 4,
                    latency_s=0.01,
                )
            )
        return out

    def close(self) -> None:
        pass


class GarbageBackend(EchoJSONBackend):
    """Never produces JSON."""

    def generate(self, requests: list[ChatRequest]) -> list[ChatResponse]:
        self.calls.append(list(requests))
        return [
            ChatResponse(
                text=f"I refuse to answer in JSON ({_digest(r) % 97})",
                model=self.model_id,
                prompt_tokens=7,
                prompt_tokens_evaluated=7,
                completion_tokens=9,
                latency_s=0.02,
            )
            for r in requests
        ]


class FixedOnRepairBackend(EchoJSONBackend):
    """Garbage on the first attempt, valid JSON when the last message is a repair instruction."""

    def generate(self, requests: list[ChatRequest]) -> list[ChatResponse]:
        out = []
        good = super().generate(requests)
        for req, resp in zip(requests, good):
            if "not a valid JSON object" in req.messages[-1]["content"]:
                out.append(resp)
            else:
                out.append(ChatResponse(text="{broken", model=self.model_id, prompt_tokens=5, prompt_tokens_evaluated=5, completion_tokens=2, latency_s=0.01))
        return out
