"""OpenAIBackend against llama-cpp-python's own OpenAI-compatible server (started by a fixture)."""
from __future__ import annotations

import time

import pytest

from simlab.config.models import BackendSpec
from simlab.engine.turn_schema import turn_schema
from simlab.errors import BackendUnavailable
from simlab.llm.base import ChatRequest
from simlab.llm.openai_backend import DEFAULT_BASE_URL, OpenAIBackend, resolve_base_url

from llm_fakes import free_port

SCHEMA = turn_schema({"amount": (0, 100)}, ("neutral", "joy"))


def test_base_url_resolution(monkeypatch):
    monkeypatch.delenv("SIMLAB_OPENAI_BASE_URL", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    assert resolve_base_url(BackendSpec(kind="openai")) == DEFAULT_BASE_URL
    monkeypatch.setenv("OPENAI_BASE_URL", "http://b/v1")
    assert resolve_base_url(BackendSpec(kind="openai")) == "http://b/v1"
    monkeypatch.setenv("SIMLAB_OPENAI_BASE_URL", "http://a/v1")
    assert resolve_base_url(BackendSpec(kind="openai")) == "http://a/v1"
    assert resolve_base_url(BackendSpec(kind="openai", base_url="http://c/v1")) == "http://c/v1"


def test_unreachable_server_is_a_one_line_backend_error():
    url = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    t0 = time.monotonic()
    with pytest.raises(BackendUnavailable) as err:
        OpenAIBackend(BackendSpec(kind="openai", base_url=url, options={"max_retries": 0}))
    msg = str(err.value)
    assert url in msg and "base_url" in msg and "SIMLAB_OPENAI_BASE_URL" in msg and "\n" not in msg
    # with a model name no lookup happens at construction; the first request fails the same way
    backend = OpenAIBackend(BackendSpec(kind="openai", base_url=url, model="m", options={"max_retries": 0}))
    with pytest.raises(BackendUnavailable, match="cannot reach"):
        backend.generate([ChatRequest(({"role": "user", "content": "hi"},), json_schema=SCHEMA, seed=1)])
    backend.close()
    assert time.monotonic() - t0 < 30


@pytest.mark.slow
def test_schema_generation_against_llama_cpp_server(llama_server):
    backend = OpenAIBackend(BackendSpec(kind="openai", base_url=llama_server))
    try:
        assert backend.model_id.endswith(".gguf"), "the model id comes from /v1/models"
        reqs = [
            ChatRequest(
                ({"role": "system", "content": "You sell a bike. Reply with JSON: action, offer.amount, emotion, message."},
                 {"role": "user", "content": f"I offer {20 + 10 * i}."}),
                json_schema=SCHEMA, max_tokens=64, seed=i, temperature=0.7,
            )
            for i in range(3)
        ]  # fmt: skip
        out = backend.generate(reqs)
        assert len(out) == 3
        # llama-cpp-python's server rejects "json_schema" and accepts json_object + schema
        assert all(r.extra["response_format"] == "json_object" for r in out)
        for r in out:
            assert r.model == backend.model_id and r.is_llm
            assert r.prompt_tokens > 0 and 0 < r.completion_tokens <= 64
            assert r.prompt_tokens_evaluated == r.prompt_tokens and r.extra["cached_tokens_reported"] is False
            assert r.text.lstrip().startswith("{"), r.text
        assert any(r.parsed is not None for r in out), [r.text for r in out]
        for r in out:
            if r.parsed is not None:
                assert set(r.parsed) == {"action", "offer", "emotion", "message"}
        plain = backend.generate([ChatRequest(({"role": "user", "content": "Say hi."},), max_tokens=8, seed=3)])[0]
        assert plain.parsed is None and plain.text
    finally:
        backend.close()
