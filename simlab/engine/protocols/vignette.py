"""`Vignette`: one judgement per trial, every trial a fresh prompt under its arm.

The protocol of judgement studies such as the identifiable victim effect
(Small, Loewenstein & Slovic 2007; Kogut & Ritov 2005) and emotional-framing
robustness of rule-bound decisions. A run presents each (item, arm) pair of
its `VignetteScenario` as its own trial: a new two-message prompt with no
memory of the other trials (so trials are independent, as in a
between-subjects design), and one judgement, constrained by a JSON schema:
``{"amount": number in [min, max]}`` or ``{"decision": "yes" | "no"}``, with a
``"reasoning"`` field first under chain-of-thought prompting.

Judgements come from the backend. The responder profile's
`SimulatedResponder` (a default one for a plain LLM profile) supplies each
trial's fallback judgement, which the scripted backend returns, so scripted
studies measure exactly the effects planted in the responder's parameters.

A reply that cannot be parsed (after the repair retry) is *counted, never
dropped*: the trial is stored with ``parse_failed`` true, ``value`` null and the
fallback judgement kept beside it (``fallback_value``); reports show the
count per arm and leave those trials out of the estimates.

Per trial (``turns.decision_json``): paradigm, item, arm, prompting, features,
value (amount, or 1 = yes / 0 = no), answer, expected / pull and the derived
0/1 ``correct`` and ``pulled``, reasoning. Per run (``runs.metrics_json``): the
paradigm, the judgement kind, n trials, n parse failures and the mean value
per arm.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from simlab.config.models import AgentProfile
from simlab.decision import prompts as dp
from simlab.decision.decision_models import ItemSpec, VignetteScenario
from simlab.decision.policies import DecisionContext
from simlab.decision.simulated_responder import SimulatedResponder
from simlab.engine.protocols.base import SessionBase, build_policy, child_rngs
from simlab.errors import ConfigError
from simlab.llm.base import ChatRequest, ChatResponse
from simlab.llm.schema import validate_against_schema
from simlab.types import derive_seed


FALLBACK_REASONING = "(simulated respondent, no language model: judgement drawn from its parametric model)"


@dataclass
class Trial:
    index: int
    item: ItemSpec
    arm: str
    features: dict[str, float]
    prompting: str
    fallback: dict[str, Any]


class Vignette(SessionBase):
    """One block of vignette trials (see the module docstring).

    Args:
        run_id: the run's id.
        scenario: the resolved `VignetteScenario`.
        profiles: ``{"decider": ...}`` (the responder).
        rng: the run's generator; trial generators and request seeds are drawn from it up front.
        temperature, max_tokens: sampling of every request.
    """

    scenario_model = VignetteScenario

    def __init__(
        self,
        run_id: str,
        scenario: VignetteScenario,
        profiles: dict[str, AgentProfile],
        rng: np.random.Generator,
        temperature: float = 0.7,
        max_tokens: int = 160,
    ) -> None:
        if "decider" not in profiles:
            raise ConfigError(f"vignette scenario '{scenario.id}' needs an agent profile for the role 'decider'")
        super().__init__(run_id, scenario, rng, temperature, max_tokens)
        self.profile = profiles["decider"]
        self.responder: SimulatedResponder = build_policy(self.profile, "decider", (SimulatedResponder,), SimulatedResponder)
        pairs = scenario.trials()
        policy_rng, self.request_rng = child_rngs(rng, 2)
        self.responder.begin(DecisionContext("decider", policy_rng, scenario, dict(scenario.facts)))
        trial_rngs = child_rngs(policy_rng, len(pairs))
        self.trials: list[Trial] = []
        for i, ((item, arm), trng) in enumerate(zip(pairs, trial_rngs)):
            feats = scenario.features_of(item, arm)
            fallback = self.responder.judge(scenario.judgement, feats, trng, item.expected, item.pull)
            prompting = scenario.prompting_of(arm)
            if prompting != "none":  # the schema asks for reasoning first
                fallback = {"reasoning": FALLBACK_REASONING, **fallback}
            self.trials.append(Trial(i, item, arm, feats, prompting, fallback))
        self.i = 0
        self.pending: tuple[Trial, ChatRequest] | None = None
        self.done = not self.trials
        self.outcome: str | None = "judged" if self.done else None

    def speaker(self) -> str:
        return "decider"

    def next_request(self) -> ChatRequest:
        """The request of the next trial."""
        if self.done:
            raise RuntimeError(f"vignette run {self.run_id} is finished")
        trial = self.trials[self.i]
        sc = self.scenario
        request = self._request(
            dp.vignette_messages(sc, trial.item, trial.arm, self.profile.persona) if self.prompt_messages else (),
            dp.judgement_schema(sc.judgement, trial.prompting, sc.reasoning_chars),
            derive_seed(self.request_rng),
            dict(trial.fallback),
            f"{self.run_id}:trial{trial.index}",
        )
        self.pending = (trial, request)
        return request

    def _value(self, reply: dict[str, Any] | None, schema: dict[str, Any]) -> tuple[float | None, str | None, str]:
        """(value, answer, reasoning) of a reply; value None when it cannot be used."""
        if reply is None or not validate_against_schema(reply, schema):
            return None, None, ""
        j = self.scenario.judgement
        reasoning = str(reply.get("reasoning", "") or "")
        if j.kind == "amount":
            v = reply.get("amount")
            if not isinstance(v, (int, float)) or isinstance(v, bool) or not j.min <= v <= j.max:
                return None, None, reasoning
            return float(v), f"{float(v):g}", reasoning
        d = reply.get("decision")
        if d not in ("yes", "no"):
            return None, None, reasoning
        return (1.0 if d == "yes" else 0.0), d, reasoning

    def apply(self, response: ChatResponse) -> None:
        """Store the pending trial's judgement (flagged, with a null value, if it cannot be parsed)."""
        assert self.pending is not None
        (trial, request), self.pending = self.pending, None
        schema = request.json_schema or {}
        value, answer, reasoning = (None, None, "")
        if not response.parse_failed:
            value, answer, reasoning = self._value(response.parsed, schema)
        parse_failed = value is None
        fb_value, fb_answer, _ = self._value(trial.fallback, schema)
        self._record_calls(len(self.turns), response)
        item = trial.item
        decision = {
            "paradigm": self.scenario.paradigm,
            "item": item.id,
            "arm": trial.arm,
            "prompting": trial.prompting,
            "features": trial.features,
            "kind": self.scenario.judgement.kind,
            "value": value,
            "answer": answer,
            "expected": item.expected,
            "pull": item.pull,
            "correct": (None if answer is None or item.expected is None else int(answer == item.expected)),
            "pulled": (None if answer is None or item.pull is None else int(answer == item.pull)),
            "reasoning": reasoning,
            "fallback_value": fb_value,
            "source": "fallback" if parse_failed else ("llm" if response.is_llm else "policy"),
            "raw": None if not parse_failed else (response.text or "")[:500],
        }
        shown = answer if answer is not None else "(unparseable)"
        self.turns.append(
            {
                "turn_index": len(self.turns),
                "round": trial.index + 1,
                "speaker": self.profile.id,
                "role": "decider",
                "action": self.scenario.judgement.kind,
                "message": f"{item.id} / {trial.arm}: {shown}" + (f" | {reasoning}" if reasoning else ""),
                "parse_failed": parse_failed,
                "decision": decision,
            }
        )
        self.i += 1
        if self.i >= len(self.trials):
            self.done = True
            self.outcome = "judged"

    # ---- results ------------------------------------------------------------------
    def metrics(self) -> dict[str, Any]:
        per_arm: dict[str, list[float]] = {}
        for t in self.turns:
            v = t["decision"]["value"]
            if v is not None:
                per_arm.setdefault(t["decision"]["arm"], []).append(v)
        return {
            "paradigm": self.scenario.paradigm,
            "judgement": self.scenario.judgement.kind,
            "n_trials": len(self.turns),
            "n_parse_failed": sum(bool(t["parse_failed"]) for t in self.turns),
            "arm_means": {a: sum(v) / len(v) for a, v in per_arm.items()},
        }

    def run_fields(self) -> dict[str, Any]:
        return self._judgement_fields(len(self.turns), self.metrics())
