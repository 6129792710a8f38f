"""The JSON schema every negotiation turn reply must satisfy, and its prompt text.

A reply is ``{"action": "offer" | "accept" | "walk_away", "offer": {issue:
number, ...}, "emotion": <label>, "message": <text>}``. Backends with
constrained decoding (llama.cpp grammars, OpenAI ``json_schema``) are forced to
emit it, so replies parse. `reply_fields` says which of the fields a strategy's
`Decision` leaves for the LLM to fill.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from simlab.strategies.base import Decision

ACTIONS = ("offer", "accept", "walk_away")


FIELDS = ("action", "offer", "emotion", "message")


def reply_fields(decision: "Decision") -> tuple[str, ...]:
    """The reply keys the LLM must fill: whatever the strategy left open, and always the message."""
    fields = []
    if decision.action is None:
        fields.append("action")
    if decision.offer is None and decision.action in (None, "offer"):
        fields.append("offer")
    if decision.emotion is None:
        fields.append("emotion")
    fields.append("message")
    return tuple(fields)


def turn_schema(
    issues: dict[str, tuple[float, float]],
    emotions: tuple[str, ...],
    fields: tuple[str, ...] = FIELDS,
    choices: dict[str, list[str]] | None = None,
) -> dict[str, Any]:
    """The schema for a turn over `issues` (name -> (low, high)) showing one of `emotions`.

    `choices` names the discrete issues and their labels: their offer value is
    a string from that enum instead of a number.

    `fields` narrows it to what the LLM still has to decide: when a strategy
    has set the move and the emotion, the LLM is asked for the message only
    (fewer tokens to generate, nothing for it to contradict).
    """
    full = _full_schema(issues, emotions, choices or {})
    return {
        **full,
        "properties": {k: v for k, v in full["properties"].items() if k in fields},
        "required": [k for k in full["required"] if k in fields],
    }


def _issue_schema(name: str, lo: float, hi: float, choices: dict[str, list[str]]) -> dict[str, Any]:
    if name in choices:
        return {"type": "string", "enum": list(choices[name])}
    return {"type": "number", "minimum": lo, "maximum": hi}


def _full_schema(issues: dict[str, tuple[float, float]], emotions: tuple[str, ...], choices: dict[str, list[str]]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "action": {"type": "string", "enum": list(ACTIONS)},
            "offer": {
                "type": "object",
                "properties": {
                    name: _issue_schema(name, lo, hi, choices) for name, (lo, hi) in issues.items()
                },
                "required": list(issues),
                "additionalProperties": False,
            },
            "emotion": {"type": "string", "enum": list(emotions)},
            "message": {"type": "string", "maxLength": 120},
        },
        "required": ["action", "offer", "emotion", "message"],
        "additionalProperties": False,
    }
