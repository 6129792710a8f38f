"""`OpenAIBackend`: any OpenAI-compatible chat server (vLLM, Ollama, llama.cpp server, ...).

The server's URL is ``spec.base_url``, else the environment variable
``SIMLAB_OPENAI_BASE_URL``, else ``OPENAI_BASE_URL``, else
``http://127.0.0.1:8000/v1`` (where ``python -m llama_cpp.server`` and vLLM
listen by default). The key is ``OPENAI_API_KEY`` (``"sk-no-key"`` when unset,
which local servers accept). ``spec.model`` names the served model; when it is
None the first model the server lists is used.

Structured output: a request with a `json_schema` is sent with
``response_format={"type": "json_schema", ...}`` (OpenAI, vLLM, Ollama). A server
that rejects that (llama-cpp-python's server answers 422) is retried with
``{"type": "json_object", "schema": ...}`` and then without a response format;
the first mode the server accepts is remembered (llama-cpp-python's server
answers ``json_schema`` with an HTTP 500 validation error, so any 400/422, or an
error that names ``response_format``, counts as "not supported"). The reply is parsed with
`parse_json_reply` either way.

A batch is sent as concurrent requests (``options["concurrency"]``, default 8)
so a batching server such as vLLM can run them together; replies keep request
order. Every request carries ``seed``.

Accounting: ``prompt_tokens`` and ``completion_tokens`` are the server's usage;
``prompt_tokens_evaluated`` is ``prompt_tokens`` minus the server's reported
``prompt_tokens_details.cached_tokens``. Servers that do not report cached tokens
get ``prompt_tokens`` (an upper bound) and ``extra["cached_tokens_reported"] = False``.

An unreachable server raises `BackendUnavailable` naming the URL and the fix.
Options: ``concurrency`` (8), ``timeout_s`` (120), ``max_retries`` (2),
``extra_body`` (a dict passed through, e.g. ``{"top_k": 40}``).
"""
from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from simlab.config.models import BackendSpec
from simlab.errors import BackendUnavailable
from simlab.llm.base import ChatRequest, ChatResponse, parse_json_reply

DEFAULT_BASE_URL = "http://127.0.0.1:8000/v1"
_MODES = ("json_schema", "json_object", "plain")


def resolve_base_url(spec: BackendSpec) -> str:
    """The server URL: spec, then SIMLAB_OPENAI_BASE_URL, OPENAI_BASE_URL, then the local default."""
    return (
        spec.base_url
        or os.environ.get("SIMLAB_OPENAI_BASE_URL")
        or os.environ.get("OPENAI_BASE_URL")
        or DEFAULT_BASE_URL
    )


def _unreachable(url: str, exc: Exception) -> BackendUnavailable:
    return BackendUnavailable(
        f"openai backend: cannot reach an OpenAI-compatible server at {url} ({type(exc).__name__}); start one "
        "(e.g. `python -m llama_cpp.server --model file.gguf`, vLLM or Ollama) or point the backend's base_url / "
        "SIMLAB_OPENAI_BASE_URL at it."
    )


def _rejects_format(exc: Exception) -> bool:
    """Whether an HTTP error says the server does not support the response_format sent."""
    status = getattr(exc, "status_code", None)
    text = str(exc).lower()
    return status in (400, 422) or ("response_format" in text or "json_schema" in text)


class OpenAIBackend:
    """Chat completions from an OpenAI-compatible server (see the module docstring).

    Args:
        spec: `BackendSpec` with ``base_url``, ``model`` and ``options``.

    Raises:
        BackendUnavailable: the ``openai`` package is missing, or (when the model
            must be looked up) the server cannot be reached.
    """

    is_llm: bool = True

    def __init__(self, spec: BackendSpec) -> None:
        try:
            import openai
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise BackendUnavailable("openai backend needs the openai client: pip install 'simlab[openai]'.") from exc
        self._openai = openai
        self.spec = spec
        self.base_url = resolve_base_url(spec)
        opts = dict(spec.options)
        self.concurrency = max(1, int(opts.get("concurrency", 8)))
        self.extra_body: dict[str, Any] = dict(opts.get("extra_body") or {})
        self._client = openai.OpenAI(
            base_url=self.base_url,
            api_key=os.environ.get("OPENAI_API_KEY") or "sk-no-key",
            timeout=float(opts.get("timeout_s", 120.0)),
            max_retries=int(opts.get("max_retries", 2)),
        )
        self._mode_lock = threading.Lock()
        self._mode_index = 0  # index into _MODES of the first structured-output mode to try
        self._mode_confirmed = False
        self._pool: ThreadPoolExecutor | None = None
        self.model_id: str = spec.model or self._first_model()

    def _first_model(self) -> str:
        try:
            models = list(self._client.models.list())
        except self._openai.APIConnectionError as exc:
            raise _unreachable(self.base_url, exc) from exc
        except self._openai.APIStatusError as exc:
            raise BackendUnavailable(
                f"openai backend: {self.base_url} does not list its models (HTTP {exc.status_code}); "
                "set the backend's model to the served model name."
            ) from exc
        if not models:
            raise BackendUnavailable(f"openai backend: the server at {self.base_url} serves no model; load one.")
        return str(models[0].id)

    def _response_format(self, schema: dict[str, Any], mode: str) -> dict[str, Any] | None:
        if mode == "json_schema":
            return {"type": "json_schema", "json_schema": {"name": "reply", "schema": schema, "strict": True}}
        if mode == "json_object":
            return {"type": "json_object", "schema": schema}
        return None

    def _create(self, req: ChatRequest) -> tuple[Any, str]:
        openai = self._openai
        kwargs: dict[str, Any] = {
            "model": self.model_id,
            "messages": [dict(m) for m in req.messages],
            "temperature": req.temperature,
            "max_tokens": req.max_tokens,
        }
        if req.seed is not None:
            kwargs["seed"] = req.seed
        if self.extra_body:
            kwargs["extra_body"] = self.extra_body
        if req.json_schema is None:
            try:
                return self._client.chat.completions.create(**kwargs), "none"
            except openai.APIConnectionError as exc:
                raise _unreachable(self.base_url, exc) from exc
        start = self._mode_index
        for i in range(start, len(_MODES)):
            mode = _MODES[i]
            fmt = self._response_format(req.json_schema, mode)
            # until a mode has worked, probe without retries (a rejected format is not transient)
            client = self._client if self._mode_confirmed else self._client.with_options(max_retries=0)
            try:
                out = client.chat.completions.create(**kwargs, **({"response_format": fmt} if fmt is not None else {}))
            except openai.APIConnectionError as exc:
                raise _unreachable(self.base_url, exc) from exc
            except openai.APIStatusError as exc:
                if i == len(_MODES) - 1 or not _rejects_format(exc):
                    raise
                continue
            with self._mode_lock:
                self._mode_index = max(self._mode_index, i)
                self._mode_confirmed = True
            return out, mode
        raise AssertionError("unreachable")  # pragma: no cover

    def _one(self, req: ChatRequest) -> ChatResponse:
        t0 = time.perf_counter()
        out, mode = self._create(req)
        latency = time.perf_counter() - t0
        choice = out.choices[0]
        text = choice.message.content or ""
        usage = out.usage
        prompt_tokens = int(getattr(usage, "prompt_tokens", 0) or 0)
        completion_tokens = int(getattr(usage, "completion_tokens", 0) or 0)
        details = getattr(usage, "prompt_tokens_details", None)
        cached = getattr(details, "cached_tokens", None) if details is not None else None
        return ChatResponse(
            text=text,
            parsed=parse_json_reply(text, req.json_schema) if req.json_schema is not None else None,
            model=self.model_id,
            prompt_tokens=prompt_tokens,
            prompt_tokens_evaluated=max(0, prompt_tokens - int(cached or 0)),
            completion_tokens=completion_tokens,
            latency_s=latency,
            is_llm=True,
            extra={
                "finish_reason": choice.finish_reason,
                "response_format": mode,
                "cached_tokens_reported": cached is not None,
                "server_model": getattr(out, "model", None),
            },
        )

    def generate(self, requests: list[ChatRequest]) -> list[ChatResponse]:
        """Send the batch as concurrent requests; the i-th reply answers the i-th request."""
        if len(requests) <= 1 or self.concurrency == 1:
            return [self._one(r) for r in requests]
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="simlab-openai")
        return list(self._pool.map(self._one, requests))

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        self._client.close()
