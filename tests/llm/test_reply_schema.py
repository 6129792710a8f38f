"""The JSON-schema check enforces every keyword simlab's reply schemas use, and refuses the rest."""
from __future__ import annotations

import pytest

from simlab.engine.turn_schema import turn_schema
from simlab.llm.schema import UnsupportedSchema, validate_against_schema

ISSUES = {"amount": (0.0, 100.0), "months": (1.0, 24.0)}
SCHEMA = turn_schema(ISSUES, ("neutral", "anger"))
GOOD = {"action": "offer", "offer": {"amount": 50, "months": 12}, "emotion": "anger", "message": "fine"}


def _with(**kw):
    return {**GOOD, **kw}


def test_a_valid_reply_passes():
    assert validate_against_schema(GOOD, SCHEMA)


@pytest.mark.parametrize(
    "reply, why",
    [
        (_with(message="x" * 121), "maxLength"),
        (_with(colour="red"), "additionalProperties at the top"),
        (_with(offer={"amount": 50, "months": 12, "bonus": 1}), "additionalProperties in the offer"),
        (_with(emotion="joy"), "enum"),
        (_with(action="OFFER"), "enum is case-sensitive"),
        (_with(offer={"amount": 101, "months": 12}), "maximum"),
        (_with(offer={"amount": -0.5, "months": 12}), "minimum"),
        (_with(offer={"amount": float("nan"), "months": 12}), "NaN is not a number in range"),
        (_with(offer={"amount": float("inf"), "months": 12}), "Infinity"),
        (_with(offer={"amount": True, "months": 12}), "a boolean is not a number"),
        (_with(offer={"amount": "50", "months": 12}), "type"),
        (_with(offer={"amount": 50}), "required in the offer"),
        ({k: v for k, v in GOOD.items() if k != "message"}, "required at the top"),
        (_with(message=7), "type string"),
    ],
)
def test_each_keyword_rejects_what_it_forbids(reply, why):
    assert not validate_against_schema(reply, SCHEMA), why


def test_other_keywords():
    assert not validate_against_schema("ab", {"type": "string", "minLength": 3})
    assert not validate_against_schema([1, 2, 3], {"type": "array", "maxItems": 2})
    assert not validate_against_schema([], {"type": "array", "minItems": 1})
    assert not validate_against_schema(5, {"type": "integer", "exclusiveMaximum": 5})
    assert not validate_against_schema("abc", {"type": "string", "pattern": "^[0-9]+$"})
    assert validate_against_schema(None, {"type": ["string", "null"]})
    assert not validate_against_schema(True, {"enum": [1]}), "True is not 1 in a JSON enum"
    assert validate_against_schema(1.0, {"enum": [1]})
    assert not validate_against_schema({"x": "no"}, {"type": "object", "additionalProperties": {"type": "integer"}})
    assert validate_against_schema({"x": 3}, {"type": "object", "additionalProperties": {"type": "integer"}})


def test_an_unsupported_keyword_is_refused_not_ignored():
    with pytest.raises(UnsupportedSchema, match="format"):
        validate_against_schema("a", {"type": "string", "format": "email"})
    with pytest.raises(UnsupportedSchema):
        validate_against_schema("a", {"type": "date"})
