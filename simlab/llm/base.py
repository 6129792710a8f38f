"""The `LLMBackend` contract: `ChatRequest`, `ChatResponse`, `LLMBackend`, `BACKENDS`.

Every backend answers a *batch* of chat requests at once (the engine sends all
requests of one model step together). A request may carry a JSON schema; a
backend that supports constrained decoding must honour it. Every response
reports the model id, token usage, latency and whether it came from a cache, and
says whether a language model produced it at all (`is_llm` is False for the
scripted template realiser, so no table ever passes it off as an LLM).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from simlab.registry import Registry


@dataclass(frozen=True)
class ChatRequest:
    """One chat completion to produce.

    Attributes:
        messages: OpenAI-style ``[{"role": ..., "content": ...}]``.
        json_schema: if set, the reply must be a JSON object matching it.
        temperature, max_tokens, seed: sampling; `seed` makes a reply reproducible.
        fallback: the move the agent's own policy would make, as a dict with the
            schema's keys. Template backends realise it; `RepairingBackend` uses it
            when a reply cannot be parsed.
        session: an opaque id of the dialogue this request continues (lets a
            backend keep per-dialogue state such as a KV cache).
    """

    messages: tuple[dict[str, str], ...]
    json_schema: dict[str, Any] | None = None
    temperature: float = 0.7
    max_tokens: int = 160
    seed: int = 0
    fallback: dict[str, Any] | None = None
    session: str | None = None

    def cache_key_payload(self, model_id: str) -> str:
        """Canonical JSON of everything that determines the reply (for the cache)."""
        return json.dumps(
            {
                "model": model_id,
                "messages": list(self.messages),
                "schema": self.json_schema,
                "temperature": self.temperature,
                "max_tokens": self.max_tokens,
                "seed": self.seed,
            },
            sort_keys=True,
            separators=(",", ":"),
        )


@dataclass
class ChatResponse:
    """A reply with its accounting.

    Attributes:
        text: the raw completion.
        parsed: the JSON object if the request had a schema and the text parsed.
        model: the model id that produced it.
        prompt_tokens: tokens in the prompt.
        prompt_tokens_evaluated: prompt tokens actually run through the model
            (fewer than `prompt_tokens` when a KV cache of the prefix was reused).
        completion_tokens, latency_s: usage and wall time of the generation.
        cache_hit: served from the response cache.
        is_llm: False for template/scripted backends.
        attempt: 0 for the first try, 1 for the repair retry.
        parse_failed: the reply could not be parsed even after repair; `parsed`
            then holds the fallback move.
        sanitized: the reply parsed but had to be altered to be storable (lone
            surrogates replaced, strings clipped to the schema's maxLength);
            ``extra["sanitized"]`` says what was changed.
    """

    text: str
    parsed: dict[str, Any] | None = None
    model: str = ""
    prompt_tokens: int = 0
    prompt_tokens_evaluated: int = 0
    completion_tokens: int = 0
    latency_s: float = 0.0
    cache_hit: bool = False
    is_llm: bool = True
    attempt: int = 0
    parse_failed: bool = False
    sanitized: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The fields as a dict; `extra` and `parsed` are copied one level deep (callers replace
        top-level keys, never mutate nested values), which is much cheaper than `asdict`'s deep copy."""
        out = {name: getattr(self, name) for name in _RESPONSE_FIELDS}
        out["extra"] = dict(self.extra)
        if isinstance(self.parsed, dict):
            out["parsed"] = dict(self.parsed)
        return out


_RESPONSE_FIELDS = tuple(ChatResponse.__dataclass_fields__)


@runtime_checkable
class LLMBackend(Protocol):
    """What every backend provides."""

    model_id: str
    is_llm: bool

    def generate(self, requests: list[ChatRequest]) -> list[ChatResponse]:
        """Answer each request; the i-th response answers the i-th request."""
        ...

    def close(self) -> None:
        """Release model files, sockets, processes."""
        ...


BACKENDS: Registry[type] = Registry("backend", entry_point_group="simlab.backends")
BACKENDS.register_lazy("scripted", "simlab.llm.scripted:ScriptedBackend")
BACKENDS.register_lazy("embedded", "simlab.llm.embedded:EmbeddedBackend")
BACKENDS.register_lazy("openai", "simlab.llm.openai_backend:OpenAIBackend", extra="openai")
BACKENDS.register_lazy("transformers", "simlab.llm.transformers_backend:TransformersBackend", extra="hf")


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def parse_reply(
    text: Any, schema: dict[str, Any] | None, sanitize: bool = True
) -> tuple[dict[str, Any] | None, list[str]]:
    """Parse `text` as a JSON object satisfying `schema`, made storable; and what was sanitised.

    Returns ``(None, [])`` when the text is not such an object, whatever is
    wrong with it: not a string, no braces, invalid JSON, nesting too deep for
    the parser (RecursionError), an integer over Python's digit limit or a
    NaN/Infinity constant (ValueError), or a value outside the schema. A parsed
    object is first sanitised (`simlab.llm.sanitize`: lone surrogates replaced,
    strings clipped to ``maxLength``); the notes list each change, so the caller
    can flag the reply. With ``sanitize=False`` the object is checked as it is.
    Tolerates surrounding prose by taking the outermost braces.
    """
    if not isinstance(text, str):
        return None, []
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end <= start:
        return None, []
    try:
        obj = json.loads(text[start : end + 1], parse_constant=_no_constants)
    except (ValueError, RecursionError, TypeError, OverflowError):  # JSONDecodeError is a ValueError
        return None, []
    if not isinstance(obj, dict):
        return None, []
    return check_parsed(obj, schema, sanitize)


def check_parsed(
    obj: Any, schema: dict[str, Any] | None, sanitize: bool = True
) -> tuple[dict[str, Any] | None, list[str]]:
    """Sanitise (unless ``sanitize=False``) and schema-check an already parsed reply (see `parse_reply`)."""
    if not isinstance(obj, dict):
        return None, []
    from simlab.llm.sanitize import sanitize_reply

    notes: list[str] = []
    if sanitize:
        try:
            obj, notes = sanitize_reply(obj, schema)
        except RecursionError:  # a structure nested past the interpreter's limit
            return None, []
    if schema:
        from simlab.llm.schema import validate_against_schema

        try:
            ok = validate_against_schema(obj, schema)
        except RecursionError:
            return None, []
        if not ok:
            return None, []
    return obj, notes


def parse_json_reply(text: Any, schema: dict[str, Any] | None) -> dict[str, Any] | None:
    """The object of `parse_reply`, checked as sent (not sanitised), or None.

    Backends fill `ChatResponse.parsed` with it; `RepairingBackend` then
    sanitises and flags what is unstorable, so no alteration goes unflagged.
    """
    return parse_reply(text, schema, sanitize=False)[0]
