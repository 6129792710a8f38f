"""The `Session` contract every protocol implements, and `SessionBase`, what they share.

A session is one run under one protocol (a negotiation, an advisory dialogue, a
vignette trial). The engine drives every session the same way: ask for the
current speaker's `ChatRequest`, batch the requests of a step, hand each reply
back, and when `done`, read the rows it writes to the store. Each protocol names
the pydantic model its scenario files follow (`scenario_model`, also registered
in `simlab.registry.SCENARIO_MODELS`), so one `scenarios/` folder holds
negotiations and decision studies alike.

`SessionBase` holds the machinery the protocols share rather than copy: the
constructor arguments taken from a `RunSpec` (`session_kwargs`, `from_spec`),
the common state (turns, llm_calls rows, pending request, done / error /
outcome), building a request with the run's sampling settings, one `llm_calls`
row per model call (`record_calls`), `fail`, and the `turns` table rows.
`build_policy` and `child_rngs` serve the decision protocols (advisory, vignette).
"""
from __future__ import annotations

import json
import operator
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

import numpy as np

from simlab.errors import ConfigError
from simlab.llm.base import ChatRequest, ChatResponse
from simlab.strategies.base import STRATEGIES

if TYPE_CHECKING:
    from simlab.config.models import AgentProfile
    from simlab.engine.spec import RunSpec


@runtime_checkable
class Session(Protocol):
    run_id: str
    done: bool
    error: str | None
    pending: Any
    calls: list[dict[str, Any]]
    scenario: Any

    @classmethod
    def from_spec(cls, spec: "RunSpec") -> "Session": ...

    def speaker(self) -> str: ...

    def next_request(self) -> "ChatRequest": ...

    def apply(self, response: "ChatResponse") -> None: ...

    def fail(self, exc: BaseException) -> None: ...

    def run_fields(self) -> dict[str, Any]:
        """Outcome columns of the `runs` row (outcome, agreement, utilities, rounds, metrics_json ...)."""
        ...

    def turn_rows(self) -> list[dict[str, Any]]:
        """Rows of the `turns` table (without run_id)."""
        ...


def session_kwargs(spec: "RunSpec") -> dict[str, Any]:
    """The constructor arguments every protocol takes from a resolved `RunSpec`."""
    backend = spec.backend_spec()
    return {
        "run_id": spec.run_id,
        "scenario": spec.scenario_model(),
        "profiles": spec.profile_models(),
        "rng": spec.rng(),
        "temperature": backend.temperature,
        "max_tokens": backend.max_tokens,
    }


_CALL_FIELDS = ("attempt", "model", "is_llm", "prompt_tokens", "prompt_tokens_evaluated", "completion_tokens",
                "latency_s", "cache_hit", "sanitized")
_call_values = operator.attrgetter(*_CALL_FIELDS)  # a response's values of _CALL_FIELDS, in order


def record_calls(calls: list[dict[str, Any]], run_id: str, turn_index: int, response: "ChatResponse") -> None:
    """Append one `llm_calls` row per model call behind `response`: earlier repair attempts
    (``response.extra["attempts"]``, as dicts) and the final response itself (read field by field,
    without the deep copy of ``to_dict``)."""
    for a in response.extra.get("attempts", []):
        row = {"run_id": run_id, "turn_index": turn_index}
        row.update({k: a.get(k) for k in _CALL_FIELDS})
        row["parse_failed"] = a.get("parse_failed", False) or a.get("parsed") is None
        calls.append(row)
    row = {"run_id": run_id, "turn_index": turn_index}
    row.update(zip(_CALL_FIELDS, _call_values(response)))
    row["parse_failed"] = response.parse_failed or response.parsed is None
    calls.append(row)


def to_json(value: Any) -> str | None:
    """A JSON column value (sorted keys), None for None."""
    return None if value is None else json.dumps(value, sort_keys=True)


def child_rngs(rng: np.random.Generator, n: int) -> list[np.random.Generator]:
    """`n` independent generators seeded from `rng` (drawn up front, so their streams never depend on later events)."""
    return [np.random.default_rng(int(s)) for s in rng.integers(0, 2**62, size=n)]


def build_policy(profile: "AgentProfile", role: str, allowed: tuple[type, ...], default: Any) -> Any:
    """The profile's strategy if it is one of `allowed`; `default()` for a plain LLM profile (vanilla)."""
    cls = STRATEGIES.get(profile.strategy.name)
    if issubclass(cls, allowed):
        try:
            return cls(**profile.strategy.params)
        except (TypeError, ValueError, ConfigError) as exc:  # ConfigError: the strategy's Params model
            raise ConfigError(f"agent '{profile.id}': strategy.params: {exc}") from None
    if default is None or profile.strategy.name != "vanilla":
        names = ", ".join(c.name for c in allowed)
        raise ConfigError(
            f"agent '{profile.id}' ({role}) uses strategy '{profile.strategy.name}', which cannot act in this protocol; "
            f"use {names}" + (" or vanilla" if default is not None else "")
        )
    return default()


class SessionBase:
    """State and mechanics every protocol shares (see the module docstring).

    Subclasses set `scenario_model`, call ``super().__init__`` first, and
    implement `speaker`, `next_request`, `apply` and `run_fields`. Their turn
    records are dicts with the `turns` columns below (``offer``, ``ethics``,
    ``detected``, ``belief``, ``experts`` JSON-encoded; missing ones stored as null);
    `action_key` names the record key stored as the ``action`` column.

    Attributes:
        prompt_messages: build the chat messages of each request (default).
            `NegotiationModel` sets it False when its backend declares
            ``needs_messages = False`` (the scripted backend reads only a
            request's fallback move, schema and seed); requests then carry an
            empty message tuple and everything else is unchanged.
    """

    scenario_model: ClassVar[type]
    action_key: ClassVar[str] = "action"

    @classmethod
    def from_spec(cls, spec: "RunSpec") -> Any:
        """The session of a resolved `RunSpec`."""
        return cls(**session_kwargs(spec))

    def __init__(self, run_id: str, scenario: Any, rng: np.random.Generator, temperature: float, max_tokens: int) -> None:
        self.run_id = run_id
        self.scenario = scenario
        self.rng = rng
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.prompt_messages = True
        self.turns: list[dict[str, Any]] = []
        self.calls: list[dict[str, Any]] = []
        self.pending: Any = None
        self.done = False
        self.error: str | None = None
        self.outcome: str | None = None

    def _request(
        self, messages: Any, json_schema: dict[str, Any], seed: int, fallback: dict[str, Any], session: str
    ) -> ChatRequest:
        """A request with this run's sampling settings."""
        return ChatRequest(
            messages=messages,
            json_schema=json_schema,
            temperature=self.temperature,
            max_tokens=self.max_tokens,
            seed=seed,
            fallback=fallback,
            session=session,
        )

    def _record_calls(self, turn_index: int, response: ChatResponse) -> None:
        record_calls(self.calls, self.run_id, turn_index, response)

    def fail(self, exc: BaseException) -> None:
        """End the run as failed (it is stored with status 'failed' and retried on resume)."""
        self.done = True
        self.pending = None
        self.outcome = "error"
        self.error = f"{type(exc).__name__}: {exc}"

    def parse_failures(self) -> int:
        return sum(bool(t["parse_failed"]) for t in self.turns)

    def _judgement_fields(self, rounds: int, metrics: dict[str, Any]) -> dict[str, Any]:
        """The `runs` columns of a decision protocol (no agreement, utilities or ethics screen)."""
        return {
            "outcome": self.outcome,
            "agreement": None,
            "rounds": rounds,
            "n_turns": len(self.turns),
            "metrics_json": to_json(metrics),
            "ethics_violations": 0,
            "parse_failures": self.parse_failures(),
        }

    def turn_rows(self) -> list[dict[str, Any]]:
        """Rows of the `turns` table (without run_id)."""
        key = self.action_key
        return [
            {
                "turn_index": t["turn_index"],
                "round": t["round"],
                "speaker": t["speaker"],
                "role": t["role"],
                "action": t[key],
                "offer_json": to_json(t.get("offer")),
                "emotion": t.get("emotion"),
                "message": t["message"],
                "parse_failed": t["parse_failed"],
                "utility_self": t.get("utility_self"),
                "utility_other": t.get("utility_other"),
                "decision_json": to_json(t["decision"]),
                "ethics_json": to_json(t.get("ethics")),
                "detected_json": to_json(t.get("detected")),
                "belief_json": to_json(t.get("belief")),
                "experts_json": to_json(t.get("experts")),
            }
            for t in self.turns
        ]
