"""RepairingBackend: one repair retry, then the fallback flagged as parse_failed."""
from __future__ import annotations

from simlab.llm.base import ChatRequest
from simlab.llm.check import CHECK_SCHEMA, check_backend, check_requests
from simlab.llm.repair import RepairingBackend, all_attempts, repair_request

from llm_fakes import EchoJSONBackend, FixedOnRepairBackend, GarbageBackend


def test_garbage_replies_end_as_flagged_fallback_with_both_attempts_visible():
    inner = GarbageBackend()
    backend = RepairingBackend(inner)
    reqs = check_requests(3)
    out = backend.generate(reqs)
    assert len(inner.calls) == 2, "first attempts in one batch, all repairs in one more"
    assert len(inner.calls[1]) == 3
    for req, resp in zip(reqs, out):
        assert resp.parse_failed is True
        assert resp.attempt == 1
        assert resp.parsed == req.fallback
        assert resp.text.startswith("I refuse"), "the raw reply text is kept"
        first = resp.extra["attempts"]
        assert len(first) == 1 and first[0]["attempt"] == 0 and first[0]["text"].startswith("I refuse")
        rows = all_attempts(resp)
        assert [r["attempt"] for r in rows] == [0, 1]
        assert sum(r["prompt_tokens"] for r in rows) == 14
        assert sum(r["latency_s"] for r in rows) == 0.04
        assert "attempts" not in rows[-1]["extra"]
    assert backend.failures == 3 and backend.repairs == 3


def test_repair_prompt_carries_bad_reply_and_schema_keys():
    req = check_requests(1 + 1)[0]
    fixed = repair_request(req, "oops not json")
    assert fixed.messages[: len(req.messages)] == req.messages, "the dialogue prefix is kept (KV reuse)"
    assert fixed.messages[-2] == {"role": "assistant", "content": "oops not json"}
    instruction = fixed.messages[-1]["content"]
    for key in CHECK_SCHEMA["required"]:
        assert f'"{key}"' in instruction
    assert '"walk_away"' in instruction, "enum values are spelled out"
    assert fixed.seed == req.seed and fixed.session == req.session and fixed.json_schema == req.json_schema


def test_successful_repair_returns_parsed_reply_at_attempt_one():
    inner = FixedOnRepairBackend()
    out = RepairingBackend(inner).generate(check_requests(2))
    for resp in out:
        assert resp.parse_failed is False
        assert resp.attempt == 1
        assert resp.parsed is not None and resp.parsed["action"] == "offer"
        assert resp.extra["attempts"][0]["text"] == "{broken"


def test_good_replies_and_schemaless_requests_pass_through_without_retry():
    inner = EchoJSONBackend()
    reqs = check_requests(2) + [ChatRequest(messages=({"role": "user", "content": "free text"},), seed=3)]
    out = RepairingBackend(inner).generate(reqs)
    assert len(inner.calls) == 1
    assert all(r.attempt == 0 and not r.parse_failed and "attempts" not in r.extra for r in out)
    assert out[2].parsed is None


def test_missing_fallback_gives_none_but_still_flags():
    req = ChatRequest(messages=({"role": "user", "content": "x"},), json_schema=CHECK_SCHEMA, seed=1)
    (resp,) = RepairingBackend(GarbageBackend()).generate([req])
    assert resp.parse_failed and resp.parsed is None


def test_repairing_wrapper_passes_check_backend_even_over_garbage():
    check_backend(RepairingBackend(GarbageBackend()), require_parsed=True)
