"""A seeded generator of hostile LLM replies and a fake backend that serves them (for the reply fuzz test).

Every reply is a pure function of (request seed, attempt), so a request asked
again (after a split batch, say) gets the same reply, and the generator knows
what each reply is: ``good`` (valid for the schema), ``sanitize`` (valid once
lone surrogates are replaced or the message clipped), ``bad`` (no valid reply)
or ``poison`` (the backend raises on that request).
"""
from __future__ import annotations

import json
import random
from typing import Any

from simlab.llm.base import ChatRequest, ChatResponse

REPAIR_MARK = "not a valid JSON object"


def _good(req: ChatRequest, rnd: random.Random) -> dict[str, Any]:
    schema = req.json_schema or {}
    props = schema.get("properties", {})
    move = dict(req.fallback or {})
    out: dict[str, Any] = {}
    for key, sub in props.items():
        if key == "offer":
            out[key] = {k: rnd.uniform(s["minimum"], s["maximum"]) if rnd.random() < 0.5 else s["minimum"]
                        for k, s in sub["properties"].items()}
        elif key == "action":  # mostly offers, so runs last long enough to meet many replies
            out[key] = "offer" if rnd.random() < 0.95 else rnd.choice(sub["enum"])
        elif "enum" in sub:
            out[key] = rnd.choice(sub["enum"])
        elif key == "message":
            out[key] = rnd.choice(["ok", "Let us settle.", "Ünïcødé ✓ 😀", move.get("message", "fine")])[:120]
        else:
            out[key] = move.get(key)
    return out


def _deep(n: int) -> str:
    return '{"a":' * n + "1" + "}" * n


BAD_MAKERS = [
    lambda g, r: json.dumps({**g, "offer": {k: 1e9 for k in g.get("offer", {"amount": 0})}}) if "offer" in g else "{}",
    lambda g, r: json.dumps({**g, "offer": {k: -5 for k in g.get("offer", {"amount": 0})}}) if "offer" in g else "[]",
    lambda g, r: json.dumps(g).replace(json.dumps(g.get("action", "offer")), "NaN", 1) if "action" in g else '{"message": NaN}',
    lambda g, r: '{"offer": {"amount": Infinity}, "action": "offer", "emotion": "anger", "message": "x"}',
    lambda g, r: '{"offer": {"amount": 1e400}, "action": "offer", "emotion": "anger", "message": "x"}',
    lambda g, r: '{"action": "offer", "offer": {"amount": ' + "7" * r.randint(4301, 6000) + '}, "message": "x"}',
    lambda g, r: _deep(r.choice([900, 5000, 20_000])),
    lambda g, r: "[" * 20_000 + "]" * 20_000,
    lambda g, r: json.dumps({**g, "colour": "red"}),
    lambda g, r: json.dumps({k: v for k, v in g.items() if k != "message"}),
    lambda g, r: json.dumps({**g, "message": 12345}),
    lambda g, r: json.dumps({**g, "offer": [1, 2, 3]}) if "offer" in g else json.dumps({**g, "message": None}),
    lambda g, r: json.dumps({**g, "emotion": "ecstasy"}) if "emotion" in g else json.dumps({**g, "message": ["a"]}),
    lambda g, r: json.dumps({**g, "action": "ACCEPT"}) if "action" in g else json.dumps({**g, "message": {"t": 1}}),
    lambda g, r: json.dumps(g)[: r.randint(1, max(1, len(json.dumps(g)) - 1))],
    lambda g, r: "Sure! Here is my answer: " + json.dumps(g)[:-1],
    lambda g, r: "<html><body>502 Bad Gateway</body></html>",
    lambda g, r: "",
    lambda g, r: None,
    lambda g, r: "\x00\x01\x02 binary \udcff junk",
    lambda g, r: json.dumps([g, g]),
    lambda g, r: json.dumps({**g, "offer": {"amount": True}}) if "offer" in g else json.dumps({**g, "message": True}),
    lambda g, r: json.dumps({**g, "\ud800key": 1}, ensure_ascii=True),
    lambda g, r: json.dumps({**g, "message": "x" * 121, "zzz": 1}),
]

SANITIZE_MAKERS = [
    lambda g, r: json.dumps({**g, "message": "lone " + chr(0xD800 + r.randrange(0x800)) + " surrogate"}),
    lambda g, r: json.dumps({**g, "message": "y" * r.choice([121, 5000, 50_000])}),
    lambda g, r: json.dumps({**g, "message": "x" * 3_000_000}) if r.random() < 0.01 else json.dumps({**g, "message": "z" * 400}),
    lambda g, r: json.dumps({**g, "message": "nul\x00byte"}),
    lambda g, r: "Of course. " + json.dumps({**g, "message": "\udfff" * 3}) + " Hope that helps!",
]


def make_reply(req: ChatRequest, attempt: int) -> tuple[str, Any]:
    """(kind, text) of the reply to `req` at `attempt` (0 first try, 1 repair)."""
    rnd = random.Random(req.seed * 2 + attempt)
    g = _good(req, rnd)
    u = rnd.random()
    if u < 0.004:
        return "poison", None
    if u < 0.40:
        return "good", json.dumps(g) if rnd.random() < 0.8 else "Here you go: " + json.dumps(g) + " thanks"
    if u < 0.55:
        return "sanitize", rnd.choice(SANITIZE_MAKERS)(g, rnd)
    return "bad", rnd.choice(BAD_MAKERS)(g, rnd)


def attempt_of(req: ChatRequest) -> int:
    return 1 if req.messages and REPAIR_MARK in req.messages[-1]["content"] else 0


class FuzzBackend:
    """Serves `make_reply` replies; raises on poison requests."""

    is_llm = True
    model_id = "fuzz"
    needs_messages = False  # replies depend on the seed only: the engine skips building prompts

    def __init__(self) -> None:
        self.served: set[tuple[int, int]] = set()

    def generate(self, requests: list[ChatRequest]) -> list[ChatResponse]:
        out = []
        for req in requests:
            attempt = attempt_of(req)
            kind, text = make_reply(req, attempt)
            self.served.add((req.seed, attempt))
            if kind == "poison":
                raise ValueError(f"the server sent a 200 response with a non-JSON body for seed {req.seed}")
            out.append(ChatResponse(text=text, model=self.model_id, prompt_tokens=3, completion_tokens=5))
        return out

    def close(self) -> None:
        pass


class Recorder:
    """A pass-through layer that notes the kind of reply each run's requests get (cache hits included)."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.model_id, self.is_llm, self.needs_messages = inner.model_id, inner.is_llm, inner.needs_messages
        #: run id -> {seed: {attempt: kind}} in the order the run's turns asked (dicts keep insertion order)
        self.log: dict[str, dict[int, dict[int, str]]] = {}

    def generate(self, requests: list[ChatRequest]) -> list[ChatResponse]:
        for req in requests:
            attempt = attempt_of(req)
            run_id = (req.session or "?").rsplit(":", 1)[0]
            self.log.setdefault(run_id, {}).setdefault(req.seed, {})[attempt] = make_reply(req, attempt)[0]
        return self.inner.generate(requests)

    def close(self) -> None:
        self.inner.close()
