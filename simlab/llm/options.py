"""Strict models of each backend's ``backend.options``: `EmbeddedOptions`, `OpenAIOptions`, `TransformersOptions`, `check_backend_options`.

`BackendSpec.options` is a free mapping in the YAML; each backend reads the
keys it knows and ignores the rest, so ``options: {n_thread: 4}`` (a typo) used
to run silently with one thread, and ``options: {slots: many}`` ended in a
traceback inside the backend. These models name every key each backend reads
(with its type and range); the pre-flight gate (`simlab.sweep.gate`) checks a
study's backend options against them, so `simlab validate` and `simlab run`
refuse an unknown key or a bad value with one line before any run starts.
`tests/llm/test_backend_options.py` checks that every key a backend's source
reads is declared here.

The scripted backend reads no options: a study written for another backend
keeps its options when it is run with ``--backend scripted``, so they are not
checked against it.
"""
from __future__ import annotations

from typing import Any, Literal, Mapping

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from simlab.errors import ConfigError


class _Options(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class EmbeddedOptions(_Options):
    """Options of the embedded llama.cpp backend (`simlab.llm.embedded`)."""

    n_threads: int = Field(1, ge=1, le=512)
    n_threads_batch: int | None = Field(None, ge=1, le=512)
    kv_reuse: Literal["session", "max", "none"] = "session"
    kv_chunk: int = Field(16, ge=1, le=4096)
    session_cache_mb: float = Field(1024, ge=0, le=1_000_000)
    top_k: int = Field(40, ge=0, le=100_000)
    top_p: float = Field(0.95, gt=0.0, le=1.0)
    min_p: float = Field(0.05, ge=0.0, le=1.0)
    repeat_penalty: float = Field(1.0, gt=0.0, le=10.0)
    decode: Literal["batched", "sequential"] = "batched"
    slots: int = Field(16, ge=1, le=64)
    n_batch: int = Field(512, ge=1, le=65_536)
    n_ubatch: int = Field(512, ge=1, le=65_536)


class OpenAIOptions(_Options):
    """Options of the OpenAI-compatible backend (`simlab.llm.openai_backend`)."""

    concurrency: int = Field(8, ge=1, le=1024)
    extra_body: dict[str, Any] = Field(default_factory=dict)
    timeout_s: float = Field(120.0, gt=0.0, le=86_400)
    max_retries: int = Field(2, ge=0, le=100)


class TransformersOptions(_Options):
    """Options of the local Hugging Face transformers backend (`simlab.llm.transformers_backend`)."""

    top_p: float = Field(0.95, gt=0.0, le=1.0)
    n_threads: int | None = Field(None, ge=1, le=512)
    dtype: Literal["float32", "float16", "bfloat16", "float64"] = "float32"
    trust_remote_code: bool = False
    adapter: str | None = Field(None, min_length=1, description="peft LoRA adapter folder (simlab train expresser)")


BACKEND_OPTIONS: dict[str, type[_Options]] = {
    "embedded": EmbeddedOptions,
    "openai": OpenAIOptions,
    "transformers": TransformersOptions,
}
"""Backend kind -> the model of its options (kinds not listed read no options)."""


def check_backend_options(kind: str, options: Mapping[str, Any] | None) -> BaseModel | None:
    """The validated options of backend `kind` (None for a kind that reads none); ConfigError naming the key otherwise."""
    model = BACKEND_OPTIONS.get(kind)
    if model is None:
        return None
    try:
        return model.model_validate(dict(options or {}))
    except ValidationError as exc:
        problems = []
        for e in exc.errors():
            key = ".".join(str(p) for p in e["loc"]) or "(options)"
            if e["type"] == "extra_forbidden":
                problems.append(f"unknown option '{key}' (known: {', '.join(model.model_fields)})")
            else:
                problems.append(f"option '{key}': {e['msg']}")
        raise ConfigError(f"backend.options of the {kind} backend: " + "; ".join(problems)) from None
