"""The `Session` contract every protocol implements, and the `PROTOCOLS` registry.

A session is one run under one protocol (a negotiation, an advisory dialogue, a
vignette trial). The engine drives every session the same way: ask for the
current speaker's `ChatRequest`, batch the requests of a step, hand each reply
back, and when `done`, read the rows it writes to the store. Each protocol names
the pydantic model its scenario files follow (`scenario_model`), so one
`scenarios/` folder holds negotiations and decision studies alike.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from simlab.registry import Registry

if TYPE_CHECKING:
    from simlab.llm.base import ChatRequest, ChatResponse
    from simlab.sweep.expand import RunSpec


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


PROTOCOLS: Registry[type] = Registry("protocol", entry_point_group="simlab.protocols")
PROTOCOLS.register_lazy("alternating_offers", "simlab.engine.protocol:AlternatingOffers")
PROTOCOLS.register_lazy("advisory", "simlab.engine.advisory:Advisory")
PROTOCOLS.register_lazy("vignette", "simlab.engine.vignette:Vignette")


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


def scenario_model_for(data: dict[str, Any]) -> type:
    """The pydantic model a scenario mapping follows, chosen by its `protocol` field."""
    return PROTOCOLS.get(str(data.get("protocol", "alternating_offers"))).scenario_model


_CALL_FIELDS = ("attempt", "model", "is_llm", "prompt_tokens", "prompt_tokens_evaluated", "completion_tokens",
                "latency_s", "cache_hit")


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
    row.update({k: getattr(response, k) for k in _CALL_FIELDS})
    row["parse_failed"] = response.parse_failed or response.parsed is None
    calls.append(row)
