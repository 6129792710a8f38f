"""Make a parsed LLM reply storable: `clean_text`, `sanitize_reply`.

A reply can parse as JSON and still be unstorable or oversized: JSON allows
lone UTF-16 surrogates (``"\\ud800"``), which no UTF-8 store accepts, and a
model (or a hostile server) can send a string far longer than the schema's
``maxLength``. `sanitize_reply` replaces each lone surrogate with U+FFFD,
removes NUL characters and clips strings to the schema's ``maxLength``; it
returns a note per change so the caller flags the reply (``ChatResponse.sanitized``)
rather than storing a silently altered one.
"""
from __future__ import annotations

from typing import Any

from simlab.store.text import REPLACEMENT, storable_text

__all__ = ["REPLACEMENT", "clean_text", "sanitize_reply"]


def clean_text(text: str) -> tuple[str, bool]:
    """`text` with lone surrogates replaced by U+FFFD and NULs removed; True if anything changed."""
    return storable_text(text)


def _walk(value: Any, schema: dict[str, Any] | None, path: str, notes: list[str]) -> Any:
    if isinstance(value, str):
        return _walk_str(value, schema, path, notes)
    if isinstance(value, dict):
        props = (schema or {}).get("properties") or {}
        extra = (schema or {}).get("additionalProperties")
        out_d: dict[str, Any] = {}
        for k, v in value.items():
            key, changed = clean_text(k) if isinstance(k, str) else (k, False)
            if changed:
                notes.append(f"{path}.{key}: invalid characters in the key replaced")
            sub = props.get(key, extra if isinstance(extra, dict) else None)
            if isinstance(v, str):  # the common case: a string value, its path only spelt out for a note
                out_d[key] = _walk_str(v, sub, None, notes, path, key)
            elif isinstance(v, (dict, list)):
                out_d[key] = _walk(v, sub, f"{path}.{key}" if path else key, notes)
            else:  # numbers, booleans, None: kept as they are
                out_d[key] = v
        return out_d
    if isinstance(value, list):
        item = (schema or {}).get("items")
        return [_walk(v, item if isinstance(item, dict) else None, f"{path}[{i}]", notes) for i, v in enumerate(value)]
    return value


def _walk_str(
    value: str, schema: dict[str, Any] | None, path: str | None, notes: list[str], parent: str = "", key: Any = None
) -> str:
    """A string made storable; `path` (or, when None, ``parent.key``) names it in a note."""
    out, changed = clean_text(value)
    if changed:
        if path is None:
            path = f"{parent}.{key}" if parent else key
        notes.append(f"{path or 'reply'}: invalid characters replaced")
    limit = (schema or {}).get("maxLength")
    if isinstance(limit, int) and len(out) > limit:
        if path is None:
            path = f"{parent}.{key}" if parent else key
        notes.append(f"{path or 'reply'}: clipped from {len(out)} to {limit} characters")
        out = out[:limit]
    return out


def sanitize_reply(value: Any, schema: dict[str, Any] | None) -> tuple[Any, list[str]]:
    """`value` made storable under `schema` (see the module docstring), and a note per change."""
    notes: list[str] = []
    return _walk(value, schema, "", notes), notes
