"""A minimal JSON-schema checker for the flat schemas simlab asks LLMs to fill.

Supports object/properties/required, string/number/integer/boolean/array/null
types, enum, minimum/maximum and nested objects: exactly what turn schemas use.
(jsonschema would do, but this keeps the hot path free of a heavy validator.)
"""
from __future__ import annotations

from typing import Any

_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "number": (int, float),
    "integer": (int,),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict,),
}


def validate_against_schema(value: Any, schema: dict[str, Any]) -> bool:
    """True when `value` satisfies `schema` (the subset described above)."""
    if "anyOf" in schema:
        return any(validate_against_schema(value, s) for s in schema["anyOf"])
    typ = schema.get("type")
    if isinstance(typ, list):
        return any(validate_against_schema(value, {**schema, "type": t}) for t in typ)
    if typ == "null":
        return value is None
    if typ is not None:
        if typ in ("number", "integer") and isinstance(value, bool):
            return False
        if not isinstance(value, _TYPES[typ]):
            return False
    if "enum" in schema and value not in schema["enum"]:
        return False
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            return False
        if "maximum" in schema and value > schema["maximum"]:
            return False
    if isinstance(value, dict):
        for key in schema.get("required", []):
            if key not in value:
                return False
        for key, sub in schema.get("properties", {}).items():
            if key in value and not validate_against_schema(value[key], sub):
                return False
    if isinstance(value, list) and "items" in schema:
        return all(validate_against_schema(v, schema["items"]) for v in value)
    return True
