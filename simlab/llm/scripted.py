"""`ScriptedBackend`: a deterministic template realiser with no language model.

It answers each request with the request's `fallback` move (the agent policy's
own move, worded by `simlab.llm.templates`), so sweeps and tests run without a
model. It is **not an LLM**: `is_llm` is False, its model id is
``scripted-template (not an LLM)`` and every table that shows a run says so.
It never reads a request's chat messages (``needs_messages = False``), so the
engine does not build them for it.
"""
from __future__ import annotations

import json
import time

from simlab.config.models import BackendSpec
from simlab.llm.base import ChatRequest, ChatResponse
from simlab.llm.sanitize import sanitize_reply
from simlab.llm.schema import validate_against_schema
from simlab.llm.templates import realise


_ENCODER = json.JSONEncoder(sort_keys=True)


class ScriptedBackend:
    """Returns the fallback move of each request as JSON; no model involved."""

    is_llm = False
    needs_messages = False  # reads only fallback, json_schema and seed: NegotiationModel skips building prompts

    def __init__(self, spec: BackendSpec | None = None) -> None:
        self.model_id = "scripted-template (not an LLM)"

    def generate(self, requests: list[ChatRequest]) -> list[ChatResponse]:
        out = []
        for req in requests:
            t0 = time.perf_counter()
            move = dict(req.fallback or {})
            if req.json_schema is not None:
                if "message" not in move:  # (setdefault would word the move even when it has a message)
                    move["message"] = realise(move, req.seed)
                if req.json_schema.get("additionalProperties") is False:
                    # answer only what the (possibly narrowed) schema asks for, as a model constrained by it would
                    props = req.json_schema.get("properties") or {}
                    move = {k: v for k, v in move.items() if k in props}
                move = sanitize_reply(move, req.json_schema)[0]  # a long template is clipped to maxLength
                text = _ENCODER.encode(move)  # == json.dumps(move, sort_keys=True), without building an encoder per reply
                # the move is already a dict: check it against the schema without re-parsing the text
                parsed = move if validate_against_schema(move, req.json_schema) else None
            else:
                text = move.get("message") or realise(move, req.seed)
                parsed = None
            out.append(
                ChatResponse(
                    text=text,
                    parsed=parsed,
                    model=self.model_id,
                    latency_s=time.perf_counter() - t0,
                    is_llm=False,
                )
            )
        return out

    def close(self) -> None:
        pass
