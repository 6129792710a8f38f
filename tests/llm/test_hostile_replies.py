"""Hostile replies: nothing a model (or a server) sends raises out of the parser or the repair wrapper."""
from __future__ import annotations

import json

import pytest

from simlab.engine.turn_schema import turn_schema
from simlab.llm.base import ChatRequest, ChatResponse, parse_json_reply, parse_reply
from simlab.llm.repair import QUOTE_CHARS, RepairingBackend

SCHEMA = turn_schema({"amount": (0.0, 100.0)}, ("neutral", "anger"))
FALLBACK = {"action": "offer", "offer": {"amount": 10.0}, "emotion": "neutral", "message": "policy"}


def _valid(message: str) -> str:
    return '{"action": "offer", "offer": {"amount": 5}, "emotion": "anger", "message": ' + json.dumps(message) + "}"


HOSTILE = {
    "deep nesting": "[" * 100_000 + "]" * 100_000,
    "deep object": '{"a":' * 50_000 + "1" + "}" * 50_000,
    "5000-digit int": '{"action": "offer", "offer": {"amount": ' + "9" * 5000 + '}, "emotion": "anger", "message": "m"}',
    "NaN": '{"action": "offer", "offer": {"amount": NaN}, "emotion": "anger", "message": "m"}',
    "Infinity": '{"action": "offer", "offer": {"amount": Infinity}, "emotion": "anger", "message": "m"}',
    "1e400": '{"action": "offer", "offer": {"amount": 1e400}, "emotion": "anger", "message": "m"}',
    "not JSON": "<html>502 Bad Gateway</html>",
    "empty": "",
    "a list": "[1, 2, 3]",
    "extra key": '{"action": "offer", "offer": {"amount": 5}, "emotion": "anger", "message": "m", "x": 1}',
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_the_parser_returns_none_for_every_bad_reply(name):
    assert parse_json_reply(HOSTILE[name], SCHEMA) is None
    assert parse_reply(HOSTILE[name], SCHEMA) == (None, [])


@pytest.mark.parametrize("text", [None, 42, b"{}", {"a": 1}])
def test_a_non_string_text_is_a_bad_reply_not_an_error(text):
    assert parse_json_reply(text, SCHEMA) is None


class _Fixed:
    """Replies with the given texts (first attempts), then with `repair` texts."""

    is_llm = True
    model_id = "fixed"

    def __init__(self, texts, repair=None):
        self.texts, self.repair, self.calls = list(texts), repair, []

    def generate(self, requests):
        self.calls.append(list(requests))
        if len(self.calls) == 1:
            return [ChatResponse(text=t, model="fixed") for t in self.texts]
        return [ChatResponse(text=self.repair if self.repair is not None else t, model="fixed") for t in self.texts]

    def close(self):
        pass


def _req(i=0):
    return ChatRequest(messages=({"role": "user", "content": "go"},), json_schema=SCHEMA, seed=i, fallback=FALLBACK)


def test_every_hostile_reply_ends_flagged_with_the_policy_move():
    texts = list(HOSTILE.values())
    backend = RepairingBackend(_Fixed(texts))
    out = backend.generate([_req(i) for i in range(len(texts))])
    assert all(r.parse_failed and r.parsed == FALLBACK for r in out)
    # the repair prompt quotes at most QUOTE_CHARS of the bad reply
    repair_prompts = backend.inner.calls[1]
    assert all(len(r.messages[-2]["content"]) <= QUOTE_CHARS for r in repair_prompts)


def test_a_lone_surrogate_is_replaced_and_flagged_not_failed():
    text = '{"action": "offer", "offer": {"amount": 5}, "emotion": "anger", "message": "bad \\ud800 char"}'
    assert "\ud800" in json.loads(text)["message"]
    [resp] = RepairingBackend(_Fixed([text])).generate([_req()])
    assert not resp.parse_failed and resp.sanitized
    assert resp.parsed["message"] == "bad \ufffd char"
    resp.parsed["message"].encode("utf-8")  # storable
    assert any("invalid characters" in n for n in resp.extra["sanitized"])


def test_a_huge_message_is_clipped_to_max_length_and_flagged():
    [resp] = RepairingBackend(_Fixed([_valid("x" * 3_000_000)])).generate([_req()])
    assert not resp.parse_failed and resp.sanitized
    assert resp.parsed["message"] == "x" * 120
    assert any("clipped from 3000000 to 120" in n for n in resp.extra["sanitized"])


def test_a_backends_own_parse_is_judged_again():
    """A backend that fills `parsed` with something outside the schema does not get it through."""

    class Liar(_Fixed):
        def generate(self, requests):
            out = super().generate(requests)
            for r in out:
                r.parsed = {"action": "offer", "offer": {"amount": 1e9}, "emotion": "anger", "message": "m"}
            return out

    [resp] = RepairingBackend(Liar(["not json"])).generate([_req()])
    assert resp.parse_failed and resp.parsed == FALLBACK


def test_clean_replies_are_not_flagged():
    [resp] = RepairingBackend(_Fixed([_valid("hello")])).generate([_req()])
    assert not resp.parse_failed and not resp.sanitized and resp.attempt == 0
