"""check_backend catches broken backends and passes every registered one."""
from __future__ import annotations

import importlib.util
import itertools
from dataclasses import replace

import pytest

from simlab.config.models import BackendSpec
from simlab.llm.base import BACKENDS, ChatResponse
from simlab.llm.check import check_backend
from simlab.llm.repair import RepairingBackend

from llm_fakes import EchoJSONBackend


class _Reversing(EchoJSONBackend):
    def generate(self, requests):
        return list(reversed(super().generate(requests)))


class _Dropping(EchoJSONBackend):
    def generate(self, requests):
        return super().generate(requests)[:-1] if len(requests) > 1 else super().generate(requests)


class _Unseeded(EchoJSONBackend):
    counter = itertools.count()

    def generate(self, requests):
        out = super().generate(requests)
        for r in out:
            r.text += str(next(self.counter))
        return out


class _WrongModel(EchoJSONBackend):
    def generate(self, requests):
        return [replace(r, model="someone-else") for r in super().generate(requests)]


class _LiesAboutLLM(EchoJSONBackend):
    def generate(self, requests):
        return [replace(r, is_llm=False) for r in super().generate(requests)]


class _BadAccounting(EchoJSONBackend):
    def generate(self, requests):
        return [replace(r, prompt_tokens_evaluated=r.prompt_tokens + 1) for r in super().generate(requests)]


class _SchemaBreaker(EchoJSONBackend):
    def generate(self, requests):
        return [replace(r, parsed={"action": "dance"}) for r in super().generate(requests)]


class _NotAResponse(EchoJSONBackend):
    def generate(self, requests):
        return [r.to_dict() for r in super().generate(requests)]


def test_a_correct_backend_passes():
    out = check_backend(EchoJSONBackend())
    assert len(out) == 3 and all(isinstance(r, ChatResponse) for r in out)


@pytest.mark.parametrize(
    "cls, message",
    [
        (_Reversing, "different reply than in the batch"),
        (_Dropping, "responses for 3 requests"),
        (_Unseeded, "different reply"),
        (_WrongModel, "backend.model_id"),
        (_LiesAboutLLM, "is_llm"),
        (_BadAccounting, "prompt_tokens_evaluated"),
        (_SchemaBreaker, "does not obey the request's schema"),
        (_NotAResponse, "not ChatResponse"),
    ],
)
def test_broken_backends_fail_with_a_named_rule(cls, message):
    with pytest.raises(AssertionError, match=message):
        check_backend(cls())


def test_missing_attributes_fail():
    class NoModel(EchoJSONBackend):
        pass

    b = NoModel()
    b.model_id = ""
    with pytest.raises(AssertionError, match="model_id"):
        check_backend(b)


def test_every_registered_backend_imports():
    for name in ("embedded", "openai", "transformers"):
        assert callable(BACKENDS.get(name))
    if importlib.util.find_spec("simlab.llm.scripted") is not None:
        assert callable(BACKENDS.get("scripted"))


def test_scripted_backend_passes_check():
    if importlib.util.find_spec("simlab.llm.scripted") is None:
        pytest.skip("simlab/llm/scripted.py is not there yet")
    backend = BACKENDS.get("scripted")(BackendSpec(kind="scripted"))
    assert backend.is_llm is False
    check_backend(backend)


def test_transformers_backend_passes_check(tiny_hf_model):
    backend = BACKENDS.get("transformers")(BackendSpec(kind="transformers", model=str(tiny_hf_model)))
    try:
        # a random 2-layer model writes no JSON: the raw backend may leave parsed None,
        # the repair stack must always end with a parsed object or a flagged fallback
        check_backend(backend, require_parsed=False, max_tokens=8)
        out = check_backend(RepairingBackend(backend), require_parsed=True, max_tokens=8)
        assert all(r.parse_failed for r in out)
    finally:
        backend.close()


@pytest.mark.slow
def test_embedded_backend_passes_check():
    # one thread: llama.cpp's spinning threads collapse when other processes share the two cores
    backend = BACKENDS.get("embedded")(BackendSpec(kind="embedded", n_ctx=1024, options={"n_threads": 1}))
    try:
        out = check_backend(backend, require_parsed=False, max_tokens=32)
        assert all(r.prompt_tokens_evaluated < r.prompt_tokens for r in out[1:]), "the shared system prompt is reused"
    finally:
        backend.close()


@pytest.mark.slow
def test_openai_backend_passes_check(llama_server):
    backend = BACKENDS.get("openai")(BackendSpec(kind="openai", base_url=llama_server))
    try:
        # llama.cpp's server reuses the KV prefix of its previous request, which changes its arithmetic,
        # so a repeated request may differ there: reproducibility over a server is the server's (the
        # response cache makes replays exact). Everything else of the contract is checked.
        check_backend(RepairingBackend(backend), require_parsed=True, max_tokens=40, check_determinism=False)
    finally:
        backend.close()
