"""Chat prompts and JSON schemas of the advisory and vignette protocols.

Advisory: the advisor sees its instructions (`AdvisorPolicy.system_prompt`)
and the conversation with its own messages as assistant turns; the decider
sees its persona and the situation, the conversation with its own messages as
assistant turns, and a final directive for ratings or the choice. Everything
but the last message is a stable, growing prefix, so a KV-caching backend
re-reads only the new turns.

Vignette: a system prompt with the study's instructions, one user message with
the vignette, the question, the prompting instruction and the reply format.
Chain-of-thought prompting puts a ``reasoning`` field *before* the answer in the
schema, so a constrained decoder writes the reasoning first.
"""
from __future__ import annotations

import json
from typing import Any

from simlab.decision.decision_models import AdvisoryScenario, ItemSpec, JudgementSpec, VignetteScenario


class _Keep(dict):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def safe_fill(text: str, facts: dict[str, Any]) -> str:
    """`text` with known ``{fact}`` placeholders filled; unknown ones and stray braces kept as written."""
    try:
        return text.format_map(_Keep(facts))
    except (ValueError, IndexError, AttributeError):
        return text


# --------------------------------------------------------------------------- schemas


def message_schema(max_chars: int) -> dict[str, Any]:
    """``{"message": str}``."""
    return {
        "type": "object",
        "properties": {"message": {"type": "string", "maxLength": max_chars}},
        "required": ["message"],
        "additionalProperties": False,
    }


def ratings_schema(option_ids: list[str]) -> dict[str, Any]:
    """``{"ratings": {option: integer 1-7, ...}}``."""
    return {
        "type": "object",
        "properties": {
            "ratings": {
                "type": "object",
                "properties": {o: {"type": "integer", "minimum": 1, "maximum": 7} for o in option_ids},
                "required": list(option_ids),
                "additionalProperties": False,
            }
        },
        "required": ["ratings"],
        "additionalProperties": False,
    }


def choice_schema(option_ids: list[str]) -> dict[str, Any]:
    """``{"choice": one of the option ids}``."""
    return {
        "type": "object",
        "properties": {"choice": {"type": "string", "enum": list(option_ids)}},
        "required": ["choice"],
        "additionalProperties": False,
    }


def judgement_schema(judgement: JudgementSpec, prompting: str, reasoning_chars: int = 400) -> dict[str, Any]:
    """The reply schema of one vignette trial."""
    props: dict[str, Any] = {}
    if prompting != "none":
        props["reasoning"] = {"type": "string", "maxLength": reasoning_chars}
    if judgement.kind == "amount":
        props["amount"] = {
            "type": "integer" if judgement.integer else "number",
            "minimum": judgement.min,
            "maximum": judgement.max,
        }
    else:
        props["decision"] = {"type": "string", "enum": ["yes", "no"]}
    return {"type": "object", "properties": props, "required": list(props), "additionalProperties": False}


# --------------------------------------------------------------------------- advisory


def _options_text(scenario: AdvisoryScenario) -> str:
    return "\n".join(f"- {o.id}: {o.label}" + (f" ({o.description})" if o.description else "") for o in scenario.options)


def decider_system(scenario: AdvisoryScenario, persona: str, facts: dict[str, Any]) -> str:
    parts = [
        "You are a person facing a decision. You are chatting with an AI assistant about it.",
        scenario.personas.get("decider", "").format_map(facts),
        safe_fill(persona, facts) if persona else "",
        f"Your situation: {scenario.context.format_map(facts)}",
        f"Your decision: {scenario.question.format_map(facts)}",
        f"Options:\n{_options_text(scenario)}",
        "Speak as yourself, briefly and honestly. Reply with one JSON object as asked.",
    ]
    return "\n\n".join(p for p in parts if p.strip())


def advisor_messages(system: str, history: list[dict[str, Any]], turn: int, k: int) -> tuple[dict[str, str], ...]:
    msgs: list[dict[str, str]] = [{"role": "system", "content": system}]
    for t in history:
        if t["kind"] == "advise":
            msgs.append({"role": "assistant", "content": json.dumps({"message": t["message"]})})
        elif t["kind"] == "reply":
            msgs.append({"role": "user", "content": t["message"]})
    directive = (
        "Start the conversation: greet the user and give your advice." if turn == 1
        else f"Continue the conversation (message {turn} of {k})."
    )
    msgs.append({"role": "user", "content": f"[{directive} Reply as JSON: {{\"message\": ...}}]"})
    return tuple(msgs)


def decider_messages(system: str, history: list[dict[str, Any]], directive: str) -> tuple[dict[str, str], ...]:
    msgs: list[dict[str, str]] = [{"role": "system", "content": system}]
    for t in history:
        if t["kind"] == "advise":
            msgs.append({"role": "user", "content": f"Assistant: {t['message']}"})
        elif t["kind"] == "reply":
            msgs.append({"role": "assistant", "content": json.dumps({"message": t["message"]})})
    msgs.append({"role": "user", "content": directive})
    return tuple(msgs)


def rating_directive(scenario: AdvisoryScenario, after: bool) -> str:
    when = "Now that you have talked with the assistant, rate" if after else "Before talking with anyone, rate"
    example = ", ".join(f'"{o}": your rating' for o in scenario.option_ids)
    return (
        f"{when} how good each option is for you, from 1 (very bad) to 7 (very good); "
        "give different ratings when you see the options differently. "
        f'Reply with JSON {{"ratings": {{{example}}}}}, each rating a whole number from 1 to 7.'
    )


def reply_directive() -> str:
    return 'Reply to the assistant in one or two sentences, as JSON {"message": ...}.'


def choice_directive(scenario: AdvisoryScenario) -> str:
    ids = " or ".join(f'"{o}"' for o in scenario.option_ids)
    return f'Make your final decision. Reply with JSON {{"choice": {ids}}}.'


# --------------------------------------------------------------------------- vignette

PROMPTING_INSTRUCTIONS = {
    "none": "Answer directly.",
    "cot": "Think step by step: first write your reasoning in \"reasoning\", then give your answer.",
    "utilitarian_cot": (
        "Think step by step as a utilitarian: in \"reasoning\", weigh how to do the most good for the greatest "
        "number of people, then give your answer."
    ),
}


def vignette_messages(scenario: VignetteScenario, item: ItemSpec, arm_id: str, persona: str) -> tuple[dict[str, str], ...]:
    """The two messages of one vignette trial."""
    facts = {**scenario.facts, **item.facts}
    system = "\n\n".join(
        p for p in (
            scenario.instructions.format_map(facts).strip(),
            scenario.personas.get("decider", "").format_map(facts),
            safe_fill(persona, facts) if persona else "",
        ) if p.strip()
    )
    j = scenario.judgement
    prompting = scenario.prompting_of(arm_id)
    if j.kind == "amount":
        unit = f" {j.unit}" if j.unit else ""
        fmt = f'"amount": a number from {j.min:g} to {j.max:g}{unit}'
    else:
        fmt = '"decision": "yes" or "no"'
    keys = ('"reasoning": your reasoning, ' if prompting != "none" else "") + fmt
    user = "\n\n".join(
        [
            scenario.text_of(item, arm_id),
            scenario.prompt_of(item),
            PROMPTING_INSTRUCTIONS[prompting],
            f"Reply with one JSON object: {{{keys}}}.",
        ]
    )
    return ({"role": "system", "content": system}, {"role": "user", "content": user})
