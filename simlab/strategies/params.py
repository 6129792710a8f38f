"""Strict strategy parameters: `StrategyParams`, `EmotionLabel`, `ConcessionParams`, `validate_strategy_params`.

Every registered strategy declares its parameters as a pydantic model in a
class attribute ``Params`` (a `StrategyParams` subclass), and is built from the
validated model, so a misspelled or unknown key, a NaN or infinite number, a
value out of its range or an emotion label outside the label space is a
`ConfigError` naming the strategy, the key and the fix, never a silently
different run.

Emotion labels (a fixed emotion to show, the rows of a payoff table) are
checked against the label space given in the validation context
(``{"label_space": (...)}``; the space every label with VAD coordinates when
none is given), matched case-insensitively and mapped to the space's spelling
("Anger" -> "anger"), and rejected when they are not in it.

`validate_strategy_params(name, params, label_space)` is the one entry point
the config loader, the study expansion and the engine share, so ``simlab
validate`` accepts exactly what ``simlab run`` accepts.
"""
from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, ValidationInfo

from simlab.emotion.labels import ALL_LABELS
from simlab.errors import ConfigError


class StrategyParams(BaseModel):
    """Base of every strategy's ``Params``: unknown keys rejected, floats finite."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


def _space_of(info: ValidationInfo | None) -> tuple[str, ...]:
    ctx = info.context if info is not None else None
    space = ctx.get("label_space") if isinstance(ctx, Mapping) else None
    return tuple(space) if space else ALL_LABELS


def map_label_name(value: Any, space: Sequence[str], what: str = "emotion") -> str:
    """`value` spelled as in `space` (case-insensitive), or ValueError naming the space."""
    text = str(value)
    by_lower = {s.lower(): s for s in space}
    hit = by_lower.get(text.strip().lower())
    if hit is None:
        close = difflib.get_close_matches(text.lower(), list(by_lower), n=1)
        hint = f" (did you mean '{by_lower[close[0]]}'?)" if close else ""
        raise ValueError(f"{what} '{text}' is not in the label space{hint}; use one of {', '.join(space)}")
    return hit


def map_names(values: Iterable[Any], known: Sequence[str], what: str) -> dict[Any, str]:
    """{given name: known spelling} for each of `values`, case-insensitively; ValueError for an unknown one."""
    by_lower = {s.lower(): s for s in known}
    out: dict[Any, str] = {}
    for v in values:
        hit = by_lower.get(str(v).strip().lower())
        if hit is None:
            close = difflib.get_close_matches(str(v).lower(), list(by_lower), n=1)
            hint = f" (did you mean '{by_lower[close[0]]}'?)" if close else ""
            raise ValueError(f"unknown {what} '{v}'{hint}; use one of {', '.join(known)}")
        if hit in out.values():
            raise ValueError(f"{what} '{hit}' is given twice (names are case-insensitive)")
        out[v] = hit
    return out


def _label(value: str, info: ValidationInfo) -> str:
    return map_label_name(value, _space_of(info))


EmotionLabel = Annotated[str, AfterValidator(_label)]
"""An emotion label, checked against the label space of the validation context and mapped to its spelling."""

Unit = Annotated[float, Field(ge=0.0, le=1.0)]
"""A utility level or probability in [0, 1]."""


class ConcessionParams(StrategyParams):
    """Offer parameters of the reciprocal (tit-for-tat) concession shared by several strategies.

    Attributes:
        start: the first target utility (default 1).
        floor: the lowest target utility; the floor is never below the reservation
            value (discounted to the round of agreement, see `concession.deal_floor`).
        concession_factor: how much of the counterpart's concession to reciprocate (1 = mirror).
        window: tit-for-tat window (1 = relative, > 1 = averaged).
        deadline_e: exponent of the time-dependent safety net (0.2 = Boulware).
    """

    start: float = Field(1.0, gt=0.0, le=1.0)
    floor: Unit | None = None
    concession_factor: float = Field(1.0, ge=0.0, le=10.0)
    window: int = Field(1, ge=1, le=1000)
    deadline_e: float = Field(0.2, gt=0.0, le=100.0)


def _closest(key: str, known: Sequence[str]) -> str | None:
    """The known name `key` most likely misspells (same letters in another case first)."""
    lower = {k.lower(): k for k in known}
    if key.lower() in lower:
        return lower[key.lower()]
    close = difflib.get_close_matches(key.lower(), list(lower), n=1)
    return lower[close[0]] if close else None


def _first_error(exc: ValidationError) -> dict[str, Any]:
    errors = exc.errors(include_url=False)
    # an unknown key is the most useful thing to report first
    for e in errors:
        if e.get("type") == "extra_forbidden":
            return e
    return errors[0]


def format_params_error(strategy: str, model: type[BaseModel], exc: ValidationError) -> str:
    """One line naming the strategy, the key and the fix."""
    e = _first_error(exc)
    loc = ".".join(str(p) for p in e.get("loc", ()))
    known = sorted(model.model_fields)
    if e.get("type") == "extra_forbidden" and len(e.get("loc", ())) == 1:
        key = str(e["loc"][0])
        close = _closest(key, known)
        hint = f"did you mean '{close}'?" if close else "remove it"
        return (
            f"strategy {strategy}: unknown param '{key}' ({hint}); "
            f"known params: {', '.join(known) if known else 'none'}"
        )
    msg = str(e.get("msg", "invalid value"))
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    got = e.get("input")
    got_text = "" if e.get("type") in ("missing",) or not loc else f" (got {got!r})"
    if len(got_text) > 80:
        got_text = got_text[:77] + "...)"
    where = f"param '{loc}'" if loc else "params"
    return f"strategy {strategy}: {where}: {msg}{got_text}"


def parse_params(
    strategy: str,
    model: type[BaseModel],
    params: Mapping[str, Any] | None,
    label_space: Sequence[str] | None = None,
) -> BaseModel:
    """`params` validated by `model`; ConfigError (one line) when they are not valid."""
    if params is None:
        params = {}
    if not isinstance(params, Mapping):
        raise ConfigError(f"strategy {strategy}: params must be a mapping of names to values, not {type(params).__name__}")
    context = {"label_space": tuple(label_space)} if label_space else None
    try:
        return model.model_validate(dict(params), context=context)
    except ValidationError as exc:
        raise ConfigError(format_params_error(strategy, model, exc)) from None


def validate_strategy_params(
    name: str, params: Mapping[str, Any] | None, label_space: Sequence[str] | None = None
) -> BaseModel:
    """The validated ``Params`` model of strategy `name` built from `params`.

    Args:
        name: the registered strategy name (as in YAML).
        params: the profile's ``strategy.params`` (after condition overrides).
        label_space: the emotion labels the run uses (default: every known label).

    Raises:
        ConfigError: an unknown strategy, a strategy without a ``Params`` model, or
            invalid params (unknown key, NaN, out of range, label outside the space),
            as one line naming the strategy, the key and the fix.
    """
    from simlab.strategies.registry import STRATEGIES

    cls = STRATEGIES.get(name)
    model = getattr(cls, "Params", None)
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        raise ConfigError(
            f"strategy {name}: declares no Params model, so its params cannot be checked; "
            "give the class a pydantic `Params` attribute (extra='forbid')"
        )
    return parse_params(name, model, params, label_space)
