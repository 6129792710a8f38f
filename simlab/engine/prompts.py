"""Chat prompts for a negotiator's turn.

The message list is built so that everything but the last message is a stable,
growing prefix: the system prompt (persona, case facts, issues, behaviour,
reply format), then one message per past turn (own turns as assistant JSON,
the counterpart's as user text). The last user message is this turn's
directive (round, the strategy's chosen emotion and move). A backend with a KV
cache re-reads only the new turns and the directive each time.

`build_messages` renders the whole list from scratch; `PromptBuilder` gives the
same list for one session but renders the system prompt once per role and each
past turn once per role, so building a negotiation's prompts costs time linear
in its turns instead of quadratic.
"""
from __future__ import annotations

import json
from typing import Any

from simlab.config.models import AgentProfile, Scenario
from simlab.engine.turn_schema import reply_fields
from simlab.errors import ConfigError
from simlab.llm.templates import format_offer
from simlab.strategies.base import Decision


class _Facts(dict):
    def __missing__(self, key: str) -> str:
        raise ConfigError(f"template uses {{{key}}} but the scenario has no fact '{key}'; add it under facts:")


def fill(template: str, facts: dict[str, Any]) -> str:
    """`template` with {fact} placeholders filled from `facts`."""
    return template.format_map(_Facts(facts))


def units(scenario: Scenario) -> dict[str, str]:
    return {i.name: i.unit for i in scenario.issues}


def system_prompt(scenario: Scenario, profile: AgentProfile, role: str, facts: dict[str, Any], emotions: tuple[str, ...]) -> str:
    other = scenario.counterpart(role)
    own = scenario.role_ranges(role)  # the role's own ranges (utilities.ROLE.ranges), default the issues'
    target = scenario.utilities[role].target
    tables = scenario.utilities[role].tables
    issue_lines = "\n".join(
        (f"- {i.name}: one of {', '.join(i.values)}" if i.type == "discrete"
         else f"- {i.name}: {own[i.name][0]:g} to {own[i.name][1]:g} {i.unit}".rstrip())
        + (f" ({i.description})" if i.description else "")
        + (f"; your target: {target[i.name]:g} {i.unit}".rstrip() if i.name in target else "")
        for i in scenario.issues
    )
    prefer = scenario.utilities[role].prefer
    wants = ", ".join(
        [f"{'more' if prefer[n] == 'high' else 'less'} {n}" for n in prefer]
        # a discrete issue: the role's labels from best to worst (its value table, ties in listed order)
        + [f"{n}: " + " > ".join(sorted(t, key=lambda v: -t[v])) for n, t in tables.items()]
    )
    parts = [
        f"You are the {role} in a negotiation with the {other}. {fill(scenario.personas.get(role, ''), facts)}",
        fill(profile.persona, facts) if profile.persona else "",
        fill(scenario.context, facts) if scenario.context else "",
        f"Issues:\n{issue_lines}\nYou want {wants}.",
    ]
    if profile.behaviour:
        if profile.behaviour not in scenario.behaviours:  # never drop the behaviour text silently
            known = ", ".join(sorted(scenario.behaviours)) or "none"
            raise ConfigError(
                f"agent '{profile.id}': behaviour '{profile.behaviour}' is not defined by scenario "
                f"'{scenario.id}' (it defines: {known}); add it under the scenario's `behaviours:`"
            )
        b = scenario.behaviours[profile.behaviour]
        parts.append(f"How you behave: {fill(b.instructions or b.description, facts)}")
    parts.append(
        "Reply with one JSON object: {\"action\": \"offer\" | \"accept\" | \"walk_away\", "
        "\"offer\": {" + ", ".join(f'"{i.name}": ' + (" | ".join(f'"{v}"' for v in i.values) if i.type == "discrete" else "number")
                                   for i in scenario.issues) + "}, "
        f"\"emotion\": one of {', '.join(emotions)}, \"message\": what you say (one or two sentences)}}."
    )
    return "\n\n".join(p for p in parts if p)


def turn_message(turn: dict[str, Any], scenario: Scenario) -> str:
    """How the counterpart's turn reads to the other side."""
    action = turn["action"]
    what = {
        "accept": "accepts your offer",
        "walk_away": "walks away",
    }.get(action, f"offers {format_offer(turn['offer'], units(scenario))}")
    return f"{turn['role'].capitalize()} ({turn['emotion']}) {what}: {turn['message']}"


def own_reply(turn: dict[str, Any]) -> str:
    return json.dumps(
        {"action": turn["action"], "offer": turn["offer"], "emotion": turn["emotion"], "message": turn["message"]},
        separators=(",", ":"),
    )


def directive(scenario: Scenario, round_: int, decision: Decision, their_offer_utility: float | None) -> str:
    lines = [f"Round {round_} of {scenario.deadline}."]
    if their_offer_utility is not None:
        lines.append(f"Their last offer is worth {their_offer_utility:.2f} to you (your walk-away value is "
                     f"{{reservation}}).")
    if decision.action == "accept":
        lines.append("Accept their offer.")
    elif decision.action == "walk_away":
        lines.append("Walk away from the negotiation.")
    elif decision.offer is not None:
        lines.append(f"Offer exactly: {format_offer(decision.offer, units(scenario))}.")
    else:
        lines.append("Decide whether to accept, walk away or make an offer.")
    if decision.emotion:
        lines.append(f"Show {decision.emotion} in your message.")
    keys = ", ".join(f'"{k}"' for k in reply_fields(decision))
    lines.append(f"Answer with a JSON object with the keys {keys} only.")
    return " ".join(lines)


def build_messages(
    scenario: Scenario,
    profile: AgentProfile,
    role: str,
    facts: dict[str, Any],
    emotions: tuple[str, ...],
    history: list[dict[str, Any]],
    round_: int,
    decision: Decision,
    their_offer_utility: float | None,
) -> tuple[dict[str, str], ...]:
    msgs: list[dict[str, str]] = [{"role": "system", "content": system_prompt(scenario, profile, role, facts, emotions)}]
    for turn in history:
        if turn["role"] == role:
            msgs.append({"role": "assistant", "content": own_reply(turn)})
        else:
            msgs.append({"role": "user", "content": turn_message(turn, scenario)})
    text = directive(scenario, round_, decision, their_offer_utility)
    text = text.replace("{reservation}", f"{scenario.utilities[role].reservation:.2f}")
    msgs.append({"role": "user", "content": text})
    return tuple(msgs)


class PromptBuilder:
    """`build_messages` for one session, incremental: same result, each piece rendered once.

    The system prompt is cached per role and the message of each past turn per
    role, on the assumption (true for protocol sessions) that the history only
    grows and past turns are not edited. Each call returns fresh message dicts.
    """

    def __init__(self, scenario: Scenario, facts: dict[str, Any], emotions: tuple[str, ...]) -> None:
        self.scenario = scenario
        self.facts = facts
        self.emotions = emotions
        self._system: dict[str, str] = {}
        self._history: dict[str, list[tuple[str, str]]] = {}

    def build(
        self,
        profile: AgentProfile,
        role: str,
        history: list[dict[str, Any]],
        round_: int,
        decision: Decision,
        their_offer_utility: float | None,
    ) -> tuple[dict[str, str], ...]:
        """The same tuple as ``build_messages(scenario, profile, role, facts, emotions, history, ...)``."""
        key = f"{role}\x00{profile.id}"
        system = self._system.get(key)
        if system is None:
            system = self._system[key] = system_prompt(self.scenario, profile, role, self.facts, self.emotions)
        rendered = self._history.setdefault(key, [])
        for turn in history[len(rendered):]:
            if turn["role"] == role:
                rendered.append(("assistant", own_reply(turn)))
            else:
                rendered.append(("user", turn_message(turn, self.scenario)))
        msgs = [{"role": "system", "content": system}]
        msgs.extend({"role": r, "content": c} for r, c in rendered[: len(history)])
        text = directive(self.scenario, round_, decision, their_offer_utility)
        text = text.replace("{reservation}", f"{self.scenario.utilities[role].reservation:.2f}")
        msgs.append({"role": "user", "content": text})
        return tuple(msgs)
