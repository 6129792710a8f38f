"""A JSON-schema checker for the schemas simlab asks LLMs to fill: `compile_schema`, `validate_against_schema`.

Supports every keyword a reply schema in simlab uses, and refuses to compile a
schema with any other (`UnsupportedSchema`), so no keyword is ever silently
ignored: ``type`` (object, string, number, integer, boolean, array, null, or a
list of them), ``properties``, ``required``, ``additionalProperties`` (False or
a schema), ``enum``, ``const``, ``minimum`` / ``maximum`` /
``exclusiveMinimum`` / ``exclusiveMaximum``, ``minLength`` / ``maxLength``,
``pattern``, ``items``, ``minItems`` / ``maxItems`` and ``anyOf``. Annotations
(``title``, ``description``, ``default``, ``examples``, ``$schema``) are allowed
and have no effect.

Numbers must be finite (a reply's NaN or Infinity never passes a "number"), and
booleans are not numbers. A schema is compiled once into nested closures
(cached per schema object), because the check runs on every turn of every run.
"""
from __future__ import annotations

import math
import re
from typing import Any, Callable

_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "number": (int, float),
    "integer": (int,),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict,),
}

ANNOTATIONS = frozenset({"title", "description", "default", "examples", "$schema"})
KEYWORDS = frozenset(
    {
        "type", "properties", "required", "additionalProperties", "enum", "const", "minimum", "maximum",
        "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength", "pattern", "items", "minItems",
        "maxItems", "anyOf",
    }
)

Check = Callable[[Any], bool]
_COMPILED: dict[int, tuple[dict[str, Any], Check]] = {}


class UnsupportedSchema(ValueError):
    """A schema uses a keyword this checker does not enforce (a programming error, not a reply's)."""


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _type_check(typ: str) -> Check:
    if typ == "null":
        return lambda v: v is None
    if typ not in _TYPES:
        raise UnsupportedSchema(f"JSON schema type {typ!r} is not supported")
    if typ == "integer":
        return lambda v: isinstance(v, int) and not isinstance(v, bool)
    if typ == "number":
        return lambda v: _is_number(v) and (isinstance(v, int) or math.isfinite(v))
    types = _TYPES[typ]
    return lambda v: isinstance(v, types)


def _all_of(checks: list[Check]) -> Check:
    """A check passing when every one of `checks` passes, tried in order (like ``all``, without a generator per call)."""
    if not checks:
        return lambda v: True
    if len(checks) == 1:
        return checks[0]
    if len(checks) == 2:
        first, second = checks
        return lambda v: first(v) and second(v)

    def every(v: Any) -> bool:
        for c in checks:
            if not c(v):
                return False
        return True

    return every


def _enum_check(allowed: list[Any]) -> Check:
    """Type-strict enum membership: True is not 1, 1.0 is 1, "1" is not 1."""

    def generic(v: Any) -> bool:
        return any(v == a and type(v) is type(a) or (_is_number(v) and _is_number(a) and v == a) for a in allowed)

    # a plain str matches exactly the allowed values of type str (the generic test's only true case for it),
    # so it is answered by one set lookup: enums of labels are checked on every turn
    strings = frozenset(a for a in allowed if type(a) is str)
    return lambda v: v in strings if type(v) is str else generic(v)


def _compile(schema: dict[str, Any]) -> Check:
    if not isinstance(schema, dict):
        raise UnsupportedSchema(f"a JSON schema must be an object, not {type(schema).__name__}")
    unknown = set(schema) - KEYWORDS - ANNOTATIONS
    if unknown:
        raise UnsupportedSchema(f"JSON schema keyword(s) {sorted(unknown)} are not enforced by simlab.llm.schema")
    checks: list[Check] = []
    typ = schema.get("type")
    if isinstance(typ, list):
        alts = [_type_check(t) for t in typ]
        checks.append(lambda v: any(c(v) for c in alts))
    elif typ is not None:
        checks.append(_type_check(typ))
    if "anyOf" in schema:
        subs = [_compile(s) for s in schema["anyOf"]]
        checks.append(lambda v: any(c(v) for c in subs))
    if "enum" in schema:
        checks.append(_enum_check(list(schema["enum"])))
    if "const" in schema:
        const = schema["const"]
        checks.append(lambda v: v == const and (type(v) is type(const) or (_is_number(v) and _is_number(const))))
    bounds = [(schema.get(k), op) for k, op in (
        ("minimum", lambda v, b: v >= b), ("maximum", lambda v, b: v <= b),
        ("exclusiveMinimum", lambda v, b: v > b), ("exclusiveMaximum", lambda v, b: v < b),
    ) if schema.get(k) is not None]
    if bounds:
        def in_bounds(v: Any) -> bool:
            if not _is_number(v):
                return True
            if isinstance(v, float) and not math.isfinite(v):
                return False
            for b, op in bounds:
                if not op(v, b):
                    return False
            return True

        checks.append(in_bounds)
    lo_len, hi_len = schema.get("minLength"), schema.get("maxLength")
    if lo_len is not None or hi_len is not None:
        checks.append(lambda v: not isinstance(v, str) or ((lo_len is None or len(v) >= lo_len)
                                                          and (hi_len is None or len(v) <= hi_len)))
    if "pattern" in schema:
        rx = re.compile(schema["pattern"])
        checks.append(lambda v: not isinstance(v, str) or rx.search(v) is not None)
    required = list(schema.get("required", []))
    props = {k: _compile(s) for k, s in schema.get("properties", {}).items()}
    extra = schema.get("additionalProperties", True)
    if extra is True:
        extra_check: Check | None = None
    elif extra is False:
        extra_check = lambda v: False  # noqa: E731
    else:
        extra_check = _compile(extra)
    if required or props or extra_check is not None:
        def obj(v: Any) -> bool:
            if not isinstance(v, dict):
                return True
            for k in required:
                if k not in v:
                    return False
            for k, x in v.items():
                c = props.get(k)
                if c is not None:
                    if not c(x):
                        return False
                elif extra_check is not None and not extra_check(x):
                    return False
            return True

        checks.append(obj)
    if "items" in schema:
        item = _compile(schema["items"])
        checks.append(lambda v: not isinstance(v, list) or all(item(x) for x in v))
    lo_items, hi_items = schema.get("minItems"), schema.get("maxItems")
    if lo_items is not None or hi_items is not None:
        checks.append(lambda v: not isinstance(v, list) or ((lo_items is None or len(v) >= lo_items)
                                                           and (hi_items is None or len(v) <= hi_items)))
    return _all_of(checks)


def compile_schema(schema: dict[str, Any]) -> Check:
    """The checker of `schema`, compiled once per schema object.

    Raises:
        UnsupportedSchema: the schema uses a keyword the checker does not enforce.
    """
    entry = _COMPILED.get(id(schema))
    if entry is not None and entry[0] is schema:
        return entry[1]
    check = _compile(schema)
    if len(_COMPILED) > 4096:
        _COMPILED.clear()
    _COMPILED[id(schema)] = (schema, check)
    return check


def validate_against_schema(value: Any, schema: dict[str, Any]) -> bool:
    """True when `value` satisfies `schema` (the keywords listed in the module docstring)."""
    return bool(compile_schema(schema)(value))


def string_limits(schema: dict[str, Any]) -> dict[str, int]:
    """``{property: maxLength}`` of the top-level string properties of an object schema."""
    return {
        k: int(s["maxLength"])
        for k, s in (schema.get("properties") or {}).items()
        if isinstance(s, dict) and s.get("maxLength") is not None
    }
