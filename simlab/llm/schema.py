"""A minimal JSON-schema checker for the flat schemas simlab asks LLMs to fill.

Supports object/properties/required, string/number/integer/boolean/array/null
types, enum, minimum/maximum, anyOf and nested objects: exactly what turn
schemas use. A schema is compiled once into nested closures (`compile_schema`,
cached per schema object), because the check runs on every turn of every run.
"""
from __future__ import annotations

from typing import Any, Callable

_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "number": (int, float),
    "integer": (int,),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict,),
}

Check = Callable[[Any], bool]
_COMPILED: dict[int, tuple[dict[str, Any], Check]] = {}


def _compile(schema: dict[str, Any]) -> Check:
    checks: list[Check] = []
    if "anyOf" in schema:
        subs = [_compile(s) for s in schema["anyOf"]]
        checks.append(lambda v: any(c(v) for c in subs))
    typ = schema.get("type")
    if isinstance(typ, list):
        alts = [_compile({**schema, "type": t}) for t in typ]
        return lambda v: any(c(v) for c in alts)
    if typ == "null":
        return lambda v: v is None
    if typ is not None:
        types = _TYPES[typ]
        numeric = typ in ("number", "integer")
        checks.append(lambda v: isinstance(v, types) and not (numeric and isinstance(v, bool)))
    if "enum" in schema:
        allowed = list(schema["enum"])
        checks.append(lambda v: v in allowed)
    lo, hi = schema.get("minimum"), schema.get("maximum")
    if lo is not None or hi is not None:
        def bounds(v: Any) -> bool:
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                return (lo is None or v >= lo) and (hi is None or v <= hi)
            return True

        checks.append(bounds)
    required = list(schema.get("required", []))
    props = {k: _compile(s) for k, s in schema.get("properties", {}).items()}
    if required or props:
        def obj(v: Any) -> bool:
            if not isinstance(v, dict):
                return True
            if any(k not in v for k in required):
                return False
            return all(c(v[k]) for k, c in props.items() if k in v)

        checks.append(obj)
    if "items" in schema:
        item = _compile(schema["items"])
        checks.append(lambda v: not isinstance(v, list) or all(item(x) for x in v))
    return lambda v: all(c(v) for c in checks)


def compile_schema(schema: dict[str, Any]) -> Check:
    """The checker of `schema`, compiled once per schema object."""
    entry = _COMPILED.get(id(schema))
    if entry is not None and entry[0] is schema:
        return entry[1]
    check = _compile(schema)
    if len(_COMPILED) > 4096:
        _COMPILED.clear()
    _COMPILED[id(schema)] = (schema, check)
    return check


def validate_against_schema(value: Any, schema: dict[str, Any]) -> bool:
    """True when `value` satisfies `schema` (the subset described above)."""
    return compile_schema(schema)(value)
