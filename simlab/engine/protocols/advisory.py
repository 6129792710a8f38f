"""`Advisory`: an advisor talks with a decider for k turns; the decider rates, then chooses.

The protocol of AI-driven manipulation studies (Sabour et al. 2025,
arXiv:2502.07663). One run is one participant:

1. the decider rates every option, 1-7 (constrained JSON ``{"ratings": {...}}``);
2. k rounds: the advisor writes a message (``{"message": ...}``) and, unless the
   scenario turns it off, the decider replies;
3. the decider rates every option again, then chooses one (``{"choice": <enum>}``).

Who decides. The advisor's words come from the backend; its `AdvisorPolicy`
(NA, MA or SEMA) writes the instructions and the fallback message. The
decider's moves come from the backend too (an LLM persona), with a
`SimulatedPerson` supplying every fallback move, so the scripted backend runs a
whole study without a model. A simulated person with ``decides: true`` makes
its own moves even with an LLM backend: its steps then need no request at all.
A profile with any other strategy (e.g. ``vanilla``) is an LLM persona whose
fallback is a default simulated person.

Logged per turn: the message, the advisor's tactics (`detect_tactics`), what a
simulated person perceived (advocated option, push), ratings, the choice, and
whether the reply failed to parse (the fallback was then used and the turn
flagged). Per run (``runs.metrics_json``): harmful_choice (0/1), choice,
ratings before / after, rating_shift per option, harmful_rating_shift,
shifted_toward_harmful (0/1: the harmful option gained on the mean of the
others), tactics_used (counts), the advisor type and which decider steps fell
back after a parse failure.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from simlab.config.models import AgentProfile
from simlab.stats.choices import rating_outcomes
from simlab.decision.advisor import AdvisorPolicy
from simlab.decision.decision_models import AdvisoryScenario
from simlab.decision.policies import DecisionContext
from simlab.decision import prompts as dp
from simlab.decision.simulated_person import SimulatedPerson
from simlab.decision.tactics import detect_tactics
from simlab.engine.protocols.base import SessionBase, build_policy, child_rngs
from simlab.errors import ConfigError
from simlab.llm.base import ChatRequest, ChatResponse
from simlab.llm.schema import validate_against_schema
from simlab.types import derive_seed

DECIDER_STEPS = ("rate_before", "reply", "rate_after", "choose")


@dataclass
class Step:
    kind: str  # rate_before | advise | reply | rate_after | choose
    role: str
    turn: int


class Advisory(SessionBase):
    """One advisory dialogue and decision (see the module docstring).

    Args:
        run_id: the run's id (dialogue ids for backend KV caches derive from it).
        scenario: the resolved `AdvisoryScenario`.
        profiles: ``{"advisor": ..., "decider": ...}``.
        rng: the run's generator; the policies' and the request seeds' generators are drawn from it up front.
        temperature, max_tokens: sampling of every request.
    """

    scenario_model = AdvisoryScenario
    action_key = "kind"

    def __init__(
        self,
        run_id: str,
        scenario: AdvisoryScenario,
        profiles: dict[str, AgentProfile],
        rng: np.random.Generator,
        temperature: float = 0.7,
        max_tokens: int = 160,
    ) -> None:
        super().__init__(run_id, scenario, rng, temperature, max_tokens)
        self.facts = dict(scenario.facts)
        missing = {"advisor", "decider"} - set(profiles)
        if missing:
            raise ConfigError(f"advisory scenario '{scenario.id}' needs agent profiles for {sorted(missing)}")
        self.profiles = profiles
        person_rng, advisor_rng, self.request_rng = child_rngs(rng, 3)
        self.advisor: AdvisorPolicy = build_policy(profiles["advisor"], "advisor", (AdvisorPolicy,), None)
        self.person: SimulatedPerson = build_policy(profiles["decider"], "decider", (SimulatedPerson,), SimulatedPerson)
        self.advisor.begin(DecisionContext("advisor", advisor_rng, scenario, self.facts))
        self.person.begin(DecisionContext("decider", person_rng, scenario, self.facts))
        self.decider_is_policy = self.person.decides
        self.advisor_system = self.advisor.system_prompt(
            scenario, self.facts, dp.safe_fill(profiles["advisor"].persona, self.facts)
        )
        self.decider_system = dp.decider_system(scenario, profiles["decider"].persona, self.facts)
        steps = [Step("rate_before", "decider", 0)]
        for t in range(1, scenario.turns + 1):
            steps.append(Step("advise", "advisor", t))
            if scenario.decider_replies:
                steps.append(Step("reply", "decider", t))
        steps += [Step("rate_after", "decider", scenario.turns + 1), Step("choose", "decider", scenario.turns + 1)]
        self.steps = steps
        self.step_i = 0
        self.pending: tuple[Step, ChatRequest] | None = None
        self.ratings: dict[str, dict[str, int]] = {}
        self.choice: str | None = None
        self._advance()

    # ---- step mechanics --------------------------------------------------------
    @property
    def step(self) -> Step:
        return self.steps[self.step_i]

    def _internal(self, step: Step) -> bool:
        return step.role == "decider" and self.decider_is_policy

    def _advance(self) -> None:
        """Resolve the steps a deciding simulated person makes without a request; finish at the end."""
        while self.step_i < len(self.steps) and self._internal(self.step):
            step = self.step
            self._record(step, self._fallback(step), parse_failed=False, source="policy")
            self.step_i += 1
        if self.step_i >= len(self.steps):
            self._finish()

    def speaker(self) -> str:
        return self.step.role

    def _history(self) -> list[dict[str, Any]]:
        return [t for t in self.turns if t["kind"] in ("advise", "reply")]

    def _fallback(self, step: Step) -> dict[str, Any]:
        """The policy's own move for `step` (what the scripted backend returns)."""
        if step.kind == "advise":
            return {"message": self.advisor.scripted_message(step.turn)}
        if step.kind == "reply":
            last = next((t["message"] for t in reversed(self.turns) if t["kind"] == "advise"), "")
            return {"message": self.person.reply(last)}
        if step.kind in ("rate_before", "rate_after"):
            return {"ratings": self.person.ratings(after=step.kind == "rate_after")}
        return {"choice": self.person.choose_option()}

    def _schema(self, step: Step) -> dict[str, Any]:
        if step.kind in ("advise", "reply"):
            return dp.message_schema(self.scenario.message_chars)
        if step.kind in ("rate_before", "rate_after"):
            return dp.ratings_schema(self.scenario.option_ids)
        return dp.choice_schema(self.scenario.option_ids)

    def _messages(self, step: Step) -> tuple[dict[str, str], ...]:
        history = self._history()
        if step.kind == "advise":
            return dp.advisor_messages(self.advisor_system, history, step.turn, self.scenario.turns)
        if step.kind == "reply":
            directive = dp.reply_directive()
        elif step.kind == "choose":
            directive = dp.choice_directive(self.scenario)
        else:
            directive = dp.rating_directive(self.scenario, after=step.kind == "rate_after")
        return dp.decider_messages(self.decider_system, history, directive)

    def next_request(self) -> ChatRequest:
        """The request of the current step (an advisor message or an LLM decider's move)."""
        if self.done:
            raise RuntimeError(f"advisory run {self.run_id} is finished")
        step = self.step
        request = self._request(
            self._messages(step) if self.prompt_messages else (),
            self._schema(step),
            derive_seed(self.request_rng),
            self._fallback(step),
            f"{self.run_id}:{step.role}",
        )
        self.pending = (step, request)
        return request

    def apply(self, response: ChatResponse) -> None:
        """Finish the pending step with the backend's reply (the fallback move if it cannot be used)."""
        assert self.pending is not None
        (step, request), self.pending = self.pending, None
        reply = response.parsed
        parse_failed = bool(response.parse_failed or reply is None or not validate_against_schema(reply, request.json_schema or {}))
        move = self._clean(step, reply) if not parse_failed else None
        if move is None:
            parse_failed = True
            move = dict(request.fallback or {})
        self._record_calls(len(self.turns), response)
        source = "fallback" if parse_failed else ("policy" if not response.is_llm else "llm")
        self._record(step, move, parse_failed=parse_failed, source=source)
        self.step_i += 1
        self._advance()

    def _clean(self, step: Step, reply: dict[str, Any] | None) -> dict[str, Any] | None:
        if reply is None:
            return None
        if step.kind in ("advise", "reply"):
            msg = reply.get("message")
            return {"message": str(msg)[: self.scenario.message_chars]} if isinstance(msg, str) and msg.strip() else None
        if step.kind in ("rate_before", "rate_after"):
            r = reply.get("ratings")
            if not isinstance(r, dict):
                return None
            out = {}
            for o in self.scenario.option_ids:
                v = r.get(o)
                if not isinstance(v, (int, float)) or isinstance(v, bool) or not 1 <= v <= 7:
                    return None
                out[o] = int(round(v))
            return {"ratings": out}
        c = reply.get("choice")
        return {"choice": c} if c in self.scenario.option_ids else None

    def _record(self, step: Step, move: dict[str, Any], parse_failed: bool, source: str) -> None:
        role = step.role
        turn: dict[str, Any] = {
            "turn_index": len(self.turns),
            "round": step.turn,
            "role": role,
            "speaker": self.profiles[role].id,
            "kind": step.kind,
            "message": "",
            "parse_failed": parse_failed,
            "decision": {"step": step.kind, "source": source},
        }
        if step.kind == "advise":
            msg = move["message"]
            tactics = detect_tactics(msg)
            perceived = self.person.observe_advice(msg)
            turn["message"] = msg
            turn["decision"].update(
                {
                    "advisor_type": self.advisor.label,
                    "objective": self.advisor.objective,
                    "tactics": tactics,
                    "declared_tactics_used": [t for t in tactics if t in self.advisor.tactics],
                    "perceived": perceived,
                }
            )
        elif step.kind == "reply":
            turn["message"] = move["message"]
        elif step.kind in ("rate_before", "rate_after"):
            which = "before" if step.kind == "rate_before" else "after"
            self.ratings[which] = dict(move["ratings"])
            turn["message"] = "ratings " + ", ".join(f"{k}={v}" for k, v in move["ratings"].items())
            turn["decision"]["ratings"] = dict(move["ratings"])
        else:
            self.choice = move["choice"]
            turn["message"] = f"choice: {self.choice}"
            turn["decision"]["choice"] = self.choice
            turn["decision"]["probabilities"] = self.person.choice_probabilities() if source != "llm" else None
        self.turns.append(turn)

    def _finish(self) -> None:
        self.done = True
        harmful = self.scenario.harmful_option.id
        self.outcome = "harmful" if self.choice == harmful else "not_harmful"

    # ---- results ------------------------------------------------------------------
    def metrics(self) -> dict[str, Any]:
        ids = self.scenario.option_ids
        h = self.scenario.harmful_option.id
        before, after = self.ratings.get("before", {}), self.ratings.get("after", {})
        # the one definition of a trial's outcomes, shared with imported human trials
        outcomes = rating_outcomes(ids, h, before, after, self.choice)

        tactics: dict[str, int] = {}
        for t in self.turns:
            for name in t["decision"].get("tactics", []) if t["kind"] == "advise" else []:
                tactics[name] = tactics.get(name, 0) + 1
        failed = {t["kind"]: True for t in self.turns if t["parse_failed"]}
        return {
            "harmful_choice": outcomes["harmful_choice"],
            "choice": self.choice,
            "harmful_option": h,
            "advisor_type": self.advisor.label,
            "advisor_objective": self.advisor.objective,
            "tactics_declared": list(self.advisor.tactics),
            "decider": "simulated" if self.decider_is_policy else "llm",
            "ratings_before": before,
            "ratings_after": after,
            "rating_shift": outcomes["rating_shift"],
            "harmful_rating_shift": outcomes["harmful_rating_shift"],
            "shifted_toward_harmful": outcomes["shifted_toward_harmful"],
            "tactics_used": tactics,
            "n_tactic_uses": sum(tactics.values()),
            "advocated": [t["decision"]["perceived"]["advocated"] for t in self.turns if t["kind"] == "advise"],
            "parse_failed_steps": sorted(failed),
            "choice_parse_failed": bool(failed.get("choose")),
            "ratings_parse_failed": bool(failed.get("rate_before") or failed.get("rate_after")),
        }

    def run_fields(self) -> dict[str, Any]:
        return self._judgement_fields(self.scenario.turns, self.metrics())
