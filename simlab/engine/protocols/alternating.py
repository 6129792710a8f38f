"""`AlternatingOffers`: one bilateral multi-issue negotiation session.

A session is a state machine over turns. The engine asks it for the current
speaker's `ChatRequest` (`next_request`), sends the requests of all sessions of
a step as one batch, and hands each reply back (`apply`). The speaker's
strategy decides the emotion (and possibly the move); the LLM words it and
fills whatever the strategy left open. Deadline in rounds (a round is one turn
of each side); accept ends with agreement on the counterpart's last offer, walk
away or the deadline without one.

Per-turn cost is constant (no rescans of the transcript): each side's last
offer and each offer's utilities are kept as the turns are made, and prompt
messages are built incrementally (`prompts.PromptBuilder`), or not at all when
the engine says the backend ignores them (`prompt_messages`, see
`NegotiationModel`).
"""
from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from simlab.config.models import AgentProfile, Scenario
from simlab.emotion.labels import DEFAULT_SPACE
from simlab.engine import prompts
from simlab.engine.ethics import ethics_checker
from simlab.engine.outcome import ParetoFrontier, ReachableFrontier, evaluate_metric
from simlab.engine.protocols.base import SessionBase, session_kwargs, to_json
from simlab.engine.turn_schema import ACTIONS, reply_fields, turn_schema
from simlab.errors import ConfigError
from simlab.llm.base import ChatRequest, ChatResponse
from simlab.llm.templates import realise
from simlab.strategies.base import STRATEGIES, Decision, EmotionStrategy, Feedback, Observation, StrategyContext
from simlab.strategies.concession import ac_next, deal_floor, offer_round, time_dependent_target, worth
from simlab.strategies.params import validate_strategy_params
from simlab.strategies.utility import UtilityFunction, utility_of
from simlab.types import Offer, derive_seed

Detector = Callable[[str], dict[str, float]]


@dataclass
class Party:
    """One side of a session: profile, strategy and utility."""

    role: str
    profile: AgentProfile
    strategy: EmotionStrategy
    utility: UtilityFunction


@dataclass
class PendingTurn:
    role: str
    decision: Decision
    request: ChatRequest
    their_offer_utility: float | None
    decision_offer: Offer | None = None  # _clean_offer(decision.offer) when the strategy set an offer


@functools.lru_cache(maxsize=8)
def shared_detector(name: str | None) -> Detector | None:
    """One detector instance per name and process (detectors are stateless)."""
    if not name:
        return None
    from simlab.emotion.detectors import make_detector

    return make_detector(name)


class AlternatingOffers(SessionBase):
    """One bilateral multi-issue negotiation under the alternating-offers protocol.

    Args:
        run_id: the run's id (also the dialogue id for backend KV caches).
        scenario: the resolved scenario.
        profiles: role -> agent profile.
        rng: this run's generator; every draw of the run comes from it.
        facts: case facts (the scenario's, possibly from a case bank).
        detector: optional text -> emotion distribution, logged per turn and
            passed to strategies.
        backend_options: temperature and max_tokens for requests.

    Attributes:
        prompt_messages: build the chat messages of each request (default).
            `NegotiationModel` sets it False when its backend declares
            ``needs_messages = False`` (the scripted backend reads only a
            request's fallback move, schema and seed); requests then carry an
            empty message tuple and everything else, the transcript included,
            is unchanged.
    """

    scenario_model = Scenario

    @classmethod
    def from_spec(cls, spec: Any) -> "AlternatingOffers":
        """The session of a resolved `RunSpec`."""
        return cls(**session_kwargs(spec), detector=shared_detector(spec.detector))

    def __init__(
        self,
        run_id: str,
        scenario: Scenario,
        profiles: dict[str, AgentProfile],
        rng: np.random.Generator,
        facts: dict[str, Any] | None = None,
        detector: Detector | None = None,
        temperature: float = 0.7,
        max_tokens: int = 160,
        emotions: tuple[str, ...] = DEFAULT_SPACE,
    ) -> None:
        super().__init__(run_id, scenario, rng, temperature, max_tokens)
        self.facts = dict(scenario.facts if facts is None else facts)
        self.detector = detector
        self.emotions = emotions
        self.issues = scenario.issue_ranges()
        self.integer_issues = {i.name for i in scenario.issues if i.type == "integer"}
        # discrete issues: offers carry one of the labels (the reply schema's enum)
        self.discrete_values = {i.name: list(i.values) for i in scenario.issues if i.type == "discrete"}
        self._issue_specs = [(n, lo, hi, n in self.integer_issues) for n, (lo, hi) in self.issues.items()]
        # each role's own ranges (utilities.ROLE.ranges, default the issues'): its offers are clipped to them
        self.role_issues = {role: scenario.role_ranges(role) for role in scenario.roles}
        self._role_specs = {
            role: [(n, lo, hi, n in self.integer_issues) for n, (lo, hi) in ranges.items()]
            for role, ranges in self.role_issues.items()
        }
        self.options = scenario.protocol_options
        # rounds: "messages" makes every message a round and the deadline a message limit (EmoMAS)
        self.messages_mode = self.options.rounds == "messages"
        self.max_turns = scenario.deadline if self.messages_mode else 2 * scenario.deadline
        self._prefers_high = {r: {n: p == "high" for n, p in u.prefer.items()} for r, u in scenario.utilities.items()}
        self.schema = turn_schema(self.issues, emotions, choices=self.discrete_values)
        self._schemas: dict[tuple[Any, ...], dict[str, Any]] = {}
        self.ethics = ethics_checker(scenario.ethics)
        self.units = prompts.units(scenario)
        self._prompts = prompts.PromptBuilder(scenario, self.facts, emotions)
        self._last_offer_turn: dict[str, dict[str, Any]] = {}  # role -> its latest turn with action "offer"
        self.parties: dict[str, Party] = {}
        for role in scenario.roles:
            profile = profiles[role]
            cls = STRATEGIES.get(profile.strategy.name)
            # built from the validated params (unknown keys, NaN, labels outside `emotions`: ConfigError)
            try:
                config = validate_strategy_params(profile.strategy.name, profile.strategy.params, emotions)
            except ConfigError as exc:
                raise ConfigError(f"agent '{profile.id}': {exc}") from None
            strategy = cls(**config.model_dump())
            utility = utility_of(scenario, role)
            strategy.reset(
                StrategyContext(
                    role=role,
                    counterpart_role=scenario.counterpart(role),
                    utility=utility,
                    deadline=scenario.deadline,
                    rng=rng,
                    issues=self.role_issues[role],
                    facts=self.facts,
                    emotions=emotions,
                )
            )
            self.parties[role] = Party(role, profile, strategy, utility)
        self.order = [scenario.first_mover or scenario.roles[0], scenario.counterpart(scenario.first_mover or scenario.roles[0])]
        self.agreement: Offer | None = None
        self.pending: PendingTurn | None = None

    # ---- turn mechanics --------------------------------------------------
    @property
    def turn_index(self) -> int:
        return len(self.turns)

    @property
    def round(self) -> int:
        return self.turn_index + 1 if self.messages_mode else self.turn_index // 2 + 1

    def speaker(self) -> str:
        return self.order[self.turn_index % 2]

    def _last(self, role: str) -> dict[str, Any] | None:
        for t in reversed(self.turns):
            if t["role"] == role:
                return t
        return None

    def observation(self, role: str) -> Observation:
        mine, theirs = self._last(role), self._last(self.scenario.counterpart(role))
        their_offer = theirs["offer"] if theirs and theirs["action"] == "offer" else None
        # utility_other of their turn is exactly parties[role].utility.undiscounted(their offer), computed in apply()
        return Observation(
            round=self.round,
            time=self.round / self.scenario.deadline,
            own_last_offer=mine["offer"] if mine else None,
            their_last_offer=their_offer,
            their_last_emotion=theirs["emotion"] if theirs else None,
            their_last_message=theirs["message"] if theirs else None,
            their_offer_utility=theirs["utility_other"] if their_offer else None,
            history=list(self.turns),
            their_last_detected=theirs.get("detected") if theirs else None,
        )

    def _fallback_move(self, role: str, decision: Decision, obs: Observation) -> dict[str, Any]:
        """The policy's own complete move: the strategy's choices, gaps filled by linear concession."""
        party = self.parties[role]
        offer = decision.offer
        action = decision.action
        if offer is None or action is None:
            # the floor is the deal floor: what an agreement in the offer's round needs to beat no deal
            floor = min(deal_floor(party.utility, offer_round(obs)), 1.0)
            target = time_dependent_target(obs.time, 1.0, floor)
            linear = party.utility.offer_with_utility(target)
            offer = offer or linear
            if action is None:
                # AC_next on the discounted worth at the round of agreement (never below no deal)
                action = "accept" if ac_next(party.utility, obs, linear) else "offer"
        move = {"action": action, "offer": self._clean_offer(offer, role, favour=True), "emotion": decision.emotion or "neutral"}
        move["message"] = realise(move, int(self.rng.integers(0, 1 << 16)), self.units)
        return move

    def _clean_offer(self, offer: dict[str, Any], role: str | None = None, favour: bool = False) -> Offer:
        """Every issue present, numeric, inside its range; integers whole, others to 4 decimals.

        With ``favour=True`` (the policy's own move, `_fallback_move`) values are
        rounded in the proposer's favour (up where it prefers more, down where
        less), so an offer a strategy made at its floor is still worth its floor
        after rounding: rounding never makes a strategy propose, and so agree to,
        less than its deal floor. An LLM's offer is rounded to the nearest value.
        """
        up = self._prefers_high.get(role, {}) if (favour and role is not None) else {}
        discrete = self.discrete_values
        out: Offer = {}
        # the proposer's own ranges when it has them (utilities.ROLE.ranges), else the issues'
        for name, lo, hi, integer in (self._role_specs[role] if role in self._role_specs else self._issue_specs):
            raw = offer.get(name, lo)
            if name in discrete:
                out[name] = _label_of(raw, discrete[name])  # type: ignore[assignment]
                continue
            v = float(raw) if isinstance(raw, (int, float)) else lo
            if not math.isfinite(v):
                v = lo
            # min(max(v, lo), hi), spelt out (the same picks: max keeps v unless lo > v, min keeps it unless hi < it)
            if lo > v:
                v = lo
            if hi < v:
                v = hi
            r = float(round(v)) if integer else round(v, 4)
            if name in up:
                if up[name] and r < v:
                    r = r + 1.0 if integer else round(r + 1e-4, 4)
                elif not up[name] and r > v:
                    r = r - 1.0 if integer else round(r - 1e-4, 4)
            if lo > r:
                r = lo
            if hi < r:
                r = hi
            out[name] = r
        return out

    def schema_for(self, decision: Decision, role: str | None = None) -> dict[str, Any]:
        """The reply schema narrowed to what `decision` leaves to the LLM, offers inside `role`'s own
        ranges when given (cached per role and shape)."""
        fields = reply_fields(decision)
        key = (role, *fields)
        schema = self._schemas.get(key)
        if schema is None:
            issues = self.role_issues[role] if role is not None else self.issues
            schema = self._schemas[key] = turn_schema(issues, self.emotions, fields, choices=self.discrete_values)
        return schema

    def next_request(self) -> ChatRequest:
        """The current speaker's request (the strategy decides first)."""
        assert not self.done
        role = self.speaker()
        obs = self.observation(role)
        decision = self.parties[role].strategy.choose(obs)
        if decision.emotion is not None and decision.emotion not in self.emotions:
            decision.emotion = "neutral"
        if decision.action == "accept" and obs.their_last_offer is None:
            decision.action = "offer"
        fallback = self._fallback_move(role, decision, obs)
        if self.prompt_messages:
            messages = self._prompts.build(
                self.parties[role].profile, role, self.turns, self.round, decision,
                # what their offer is worth if agreed now (discounted), comparable with the walk-away value
                None if obs.their_offer_utility is None
                else worth(self.parties[role].utility, obs.their_offer_utility, obs.round),
            )
        else:
            messages = ()
        request = self._request(messages, self.schema_for(decision, role), derive_seed(self.rng), fallback, f"{self.run_id}:{role}")
        # When the strategy chose the offer, the fallback's offer is already _clean_offer(decision.offer):
        # keep a private copy so apply() need not clean it again (the request's dicts belong to the backend).
        clean = dict(fallback["offer"]) if decision.offer else None
        self.pending = PendingTurn(role, decision, request, obs.their_offer_utility, clean)
        return request

    def apply(self, response: ChatResponse) -> None:
        """Finish the pending turn with the backend's reply."""
        assert self.pending is not None
        pending, self.pending = self.pending, None
        role, decision = pending.role, pending.decision
        other = self.scenario.counterpart(role)
        reply = response.parsed if response.parsed is not None else None
        parse_failed = bool(response.parse_failed or reply is None)
        if reply is None:
            reply = pending.request.fallback or {}
        llm_action = reply.get("action") if reply.get("action") in ACTIONS else "offer"
        action = decision.action or llm_action
        their_last = self._last(other)
        if action == "accept" and (their_last is None or their_last["action"] != "offer"):
            action = "offer"
        if pending.decision_offer is not None:  # == self._clean_offer(decision.offer)
            offer = pending.decision_offer
        else:
            offer = self._clean_offer(reply.get("offer") or pending.request.fallback["offer"], role)  # type: ignore[index]
        emotion = decision.emotion or (reply.get("emotion") if reply.get("emotion") in self.emotions else "neutral")
        message = str(reply.get("message") or "")
        if action == "accept":
            offer = dict(their_last["offer"])  # type: ignore[index]
        turn: dict[str, Any] = {
            "turn_index": self.turn_index,
            "round": self.round,
            "role": role,
            "speaker": self.parties[role].profile.id,
            "action": action,
            "offer": offer,
            "emotion": emotion,
            "message": message,
            "parse_failed": parse_failed,
            "utility_self": self.parties[role].utility.undiscounted(offer),
            "utility_other": self.parties[other].utility.undiscounted(offer),
            "decision": {
                "emotion": decision.emotion,
                "offer": decision.offer,
                "action": decision.action,
                "llm_action": reply.get("action"),
                "rationale": decision.rationale,
                **{k: v for k, v in decision.info.items() if k not in ("belief", "experts")},
            },
            "belief": decision.info.get("belief"),
            "experts": decision.info.get("experts"),
            "ethics": self.ethics.violations(message, role),
            "detected": self.detector(message) if self.detector else None,
        }
        self._record_calls(self.turn_index, response)
        self.turns.append(turn)
        self._feedback(other, turn)
        if action == "accept":
            self._finish("agreement", self.settlement(offer))
        elif action == "walk_away":
            self._finish("walk_away", None)
        elif self.turn_index >= self.max_turns:
            self._finish("timeout", None)

    def _feedback(self, role: str, turn: dict[str, Any]) -> None:
        # `role` is the counterpart of the turn's speaker, so a turn's "utility_other" is
        # exactly self.parties[role].utility.undiscounted(turn["offer"]).
        prev = self._last_offer_turn.get(turn["role"])  # the speaker's previous offer, if any
        now = turn["utility_other"] if turn["action"] == "offer" else None
        before = prev["utility_other"] if prev is not None else None
        if turn["action"] == "offer":
            self._last_offer_turn[turn["role"]] = turn
        self.parties[role].strategy.update(
            Feedback(
                kind="turn",
                round=turn["round"],
                their_offer=turn["offer"] if turn["action"] == "offer" else None,
                their_emotion=turn["emotion"],
                their_message=turn["message"],
                their_offer_utility=now,
                concession=(now - before) if (now is not None and before is not None) else None,
                their_detected=turn["detected"],
            )
        )

    def _finish(self, outcome: str, agreement: Offer | None) -> None:
        self.done = True
        self.outcome = outcome
        self.agreement = agreement
        final = self.final_utilities()
        for role, party in self.parties.items():
            party.strategy.update(
                Feedback(
                    kind="end",
                    round=self.round,
                    agreement=agreement is not None,
                    final_utility=final[role],
                )
            )

    # ---- results -----------------------------------------------------------
    @property
    def rounds(self) -> int:
        return len(self.turns) if self.messages_mode else math.ceil(len(self.turns) / 2)

    def settlement(self, accepted: Offer) -> Offer:
        """The agreed outcome when `accepted` (the counterpart's last offer) is accepted.

        ``agreement: last_offer``: the accepted offer. ``agreement: emomas_mean_within_5``
        (EmoMAS, as its authors' code settles): the last offer of each role among the last
        4 messages; when both exist and differ by at most 5 on every issue, their mean
        (rounded with Python's round, integer issues to whole numbers); otherwise the first
        role's (the creditor's) last offer; with only one of them, that one; with none, the
        accepted offer.
        """
        if self.options.agreement == "last_offer":
            return accepted
        last: dict[str, Offer] = {}
        for t in self.turns[-4:]:
            if t["action"] == "offer":
                last[t["role"]] = t["offer"]
        first, second = self.scenario.roles
        if first in last and second in last:
            a, b = last[first], last[second]
            if all(abs(float(a[n]) - float(b[n])) <= 5 for n in self.issues):
                return {n: float(round((float(a[n]) + float(b[n])) / 2)) if n in self.integer_issues
                        else round((float(a[n]) + float(b[n])) / 2, 4) for n in self.issues}
            return dict(a)
        if last:
            return dict(last.get(first) or last[second])
        return accepted

    def final_utilities(self) -> dict[str, float]:
        """Discounted utility of the agreement in its round, else the reservation value."""
        out = {}
        for role, party in self.parties.items():
            if self.agreement is None:
                out[role] = party.utility.reservation
            else:
                out[role] = party.utility(self.agreement, self.rounds)
        return out

    def metrics(self) -> dict[str, Any]:
        a, b = self.scenario.roles
        ua, ub = self.parties[a].utility, self.parties[b].utility
        frontier = ParetoFrontier.from_utilities(ua, ub)
        if self.agreement is not None:
            point = (ua.undiscounted(self.agreement), ub.undiscounted(self.agreement))
        else:
            point = (ua.reservation, ub.reservation)
        nash = frontier.nash_point(ua.reservation, ub.reservation)
        # the frontier of the outcomes the negotiation can actually agree on (discrete / integer issues), beside the hull's
        reach = ReachableFrontier.from_utilities(ua, ub, max_outcomes=200_000)
        reach_nash = reach.nash_point(ua.reservation, ub.reservation) if reach is not None else None
        final = self.final_utilities()
        env: dict[str, Any] = {k: v for k, v in self.facts.items() if isinstance(v, (int, float))}
        env.update({n: (self.agreement or {}).get(n, 0.0) for n in self.issues})
        env.update({"agreement": 1.0 if self.agreement else 0.0, "rounds": float(self.rounds)})
        for role in self.scenario.roles:  # targets in the issues' units (utilities.ROLE.target)
            env.update({f"target_{role}_{n}": float(v) for n, v in self.scenario.utilities[role].target.items()})
        env.update({f"u_{r}": u for r, u in final.items()})
        custom = {name: evaluate_metric(expr, env) for name, expr in self.scenario.metrics.items()}
        return {
            "utilities": final,
            "undiscounted": {a: point[0], b: point[1]},
            "social_welfare": final[a] + final[b],
            "pareto_distance": frontier.distance(point),
            "nash_point": nash,
            "nash_distance": float(np.hypot(point[0] - nash[0], point[1] - nash[1])) if nash else None,
            # None: every hull point is reachable (a continuous issue) or the outcome space is too large to enumerate
            "pareto_distance_reachable": reach.distance(point) if reach is not None and len(reach.points) else None,
            "nash_point_reachable": reach_nash,
            "nash_distance_reachable": float(np.hypot(point[0] - reach_nash[0], point[1] - reach_nash[1])) if reach_nash else None,
            "custom": custom,
        }

    # ---- store rows -----------------------------------------------------------
    def run_fields(self) -> dict[str, Any]:
        m = self.metrics()
        roles = self.scenario.roles
        return {
            "outcome": self.outcome,
            "agreement": self.agreement is not None,
            "agreed_offer_json": to_json(self.agreement),
            "utilities_json": to_json({
                "final": m["utilities"], "undiscounted": m["undiscounted"], "nash_point": m["nash_point"],
                # pareto_distance / nash_distance columns: the convex hull's frontier; these: the reachable outcomes'
                "reachable": {k: m[f"{k}_reachable"] for k in ("pareto_distance", "nash_point", "nash_distance")},
            }),
            "utility_a": m["utilities"][roles[0]],
            "utility_b": m["utilities"][roles[1]],
            "rounds": self.rounds,
            "n_turns": len(self.turns),
            "social_welfare": m["social_welfare"],
            "pareto_distance": m["pareto_distance"],
            "nash_distance": m["nash_distance"],
            "metrics_json": json.dumps(m["custom"]),  # declared order: the first metric is the headline
            "ethics_violations": sum(len(t["ethics"]) for t in self.turns),
            "parse_failures": self.parse_failures(),
        }


def _label_of(raw: Any, labels: list[str]) -> str:
    """A discrete issue's value as one of its labels: the label (any case) or a label position.

    Replies of the LLM are checked against the enum before they get here, so a
    value that is neither is a strategy's bug: an error, never a silent first label.
    """
    if isinstance(raw, str):
        by_lower = {x.lower(): x for x in labels}
        hit = by_lower.get(raw.strip().lower())
        if hit is not None:
            return hit
    elif isinstance(raw, (int, float)) and math.isfinite(float(raw)) and 0 <= round(float(raw)) < len(labels):
        return labels[int(round(float(raw)))]
    raise ConfigError(f"offer value {raw!r} for a discrete issue is not one of its labels {labels}")
