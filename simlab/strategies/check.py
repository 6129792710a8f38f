"""`check_strategy`: the contract test of an `EmotionStrategy`, after Gymnasium's `check_env`.

`check_strategy(cls, params)` builds a synthetic two-issue negotiation
(`synthetic_context`) and a scripted counterpart (`synthetic_observations`),
then checks that the strategy

0. declares its params as a pydantic model in a ``Params`` class attribute with
   ``extra="forbid"`` and finite floats, and refuses to be built with an
   unknown param (`ConfigError`), so a misspelled key is never silently ignored;
1. can be built from `params` and `reset` with a `StrategyContext`;
2. returns a `Decision` every turn whose emotion is None or in the label space,
   whose offer is None or names every issue with a value inside its range,
   whose action is None, "offer", "accept" or "walk_away" ("accept" only when
   there is an offer to accept), and whose `info` is JSON-serialisable
   (with "belief" a probability distribution when present);
3. takes `update` feedback after every counterpart turn and at the end;
4. has a `get_state` that survives a JSON round trip and, restored into a fresh
   instance with the same random-generator state, reproduces the next decision;
5. makes the same decisions from the same seed, even when the global `random`
   and `numpy.random` generators are seeded differently (so every draw comes
   from ctx.rng).

It raises `StrategyCheckError` naming the first failed check. A strategy that
needs parameters lists example sets in a ``check_params`` class attribute
(a sequence of dicts); `param_sets` returns them ([{}] by default).
"""
from __future__ import annotations

import copy
import json
import math
import random
from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

import numpy as np

from simlab.emotion.labels import DEFAULT_SPACE
from simlab.strategies.utility import UtilityFunction
from simlab.errors import ConfigError, SimlabError
from simlab.strategies.base import Decision, EmotionStrategy, Feedback, Observation, StrategyContext

ACTIONS = (None, "offer", "accept", "walk_away")


class StrategyCheckError(SimlabError, AssertionError):
    """A strategy broke the `EmotionStrategy` contract."""


def synthetic_context(seed: int = 0, emotions: tuple[str, ...] = DEFAULT_SPACE, deadline: int = 8) -> StrategyContext:
    """A creditor-like role over two issues (amount rising is good, months falling is good)."""
    issues = {"amount": (1000.0, 5000.0), "months": (3.0, 24.0)}
    utility = UtilityFunction(
        issues=tuple(issues),
        lows=np.array([v[0] for v in issues.values()]),
        highs=np.array([v[1] for v in issues.values()]),
        weights=np.array([0.7, 0.3]),
        increasing=np.array([True, False]),
        reservation=0.25,
        discount=1.0,
    )
    return StrategyContext(
        role="creditor",
        counterpart_role="debtor",
        utility=utility,
        deadline=deadline,
        rng=np.random.default_rng(seed),
        issues=issues,
        facts={"synthetic": True},
        emotions=tuple(emotions),
    )


def synthetic_observations(ctx: StrategyContext, seed: int = 0) -> list[dict[str, Any]]:
    """Counterpart turns for each round: conceding offers, varied emotions and detections."""
    rng = np.random.default_rng(10_000 + seed)
    labels = ctx.emotions or DEFAULT_SPACE
    turns = []
    for r in range(1, ctx.deadline + 1):
        # the counterpart concedes from our worst towards our 0.6 utility, with noise
        u = min(0.6, 0.05 + 0.6 * r / ctx.deadline + float(rng.normal(0, 0.03)))
        offer = ctx.utility.offer_with_utility(max(u, 0.0))
        emotion = str(labels[int(rng.integers(len(labels)))])
        detected = rng.dirichlet(np.full(len(labels), 0.5))
        detected = 0.5 * detected + 0.5 * np.eye(len(labels))[labels.index(emotion)]
        turns.append(
            {
                "offer": offer,
                "emotion": emotion,
                "detected": {x: float(p) for x, p in zip(labels, detected / detected.sum())},
                "message": f"synthetic counterpart message {r} ({emotion})",
            }
        )
    return turns


def _canonical(decision: Decision) -> str:
    return json.dumps(asdict(decision), sort_keys=True, default=_json_default)


def _json_default(o: Any) -> Any:
    if isinstance(o, (np.floating, np.integer)):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"{type(o).__name__} is not JSON-serialisable")


def _fail(cls: type, msg: str) -> StrategyCheckError:
    return StrategyCheckError(f"{getattr(cls, '__name__', cls)}: {msg}")


def _check_decision(cls: type, d: Any, ctx: StrategyContext, obs: Observation, turn: int) -> None:
    where = f"turn {turn}"
    if not isinstance(d, Decision):
        raise _fail(cls, f"choose() returned {type(d).__name__}, not a Decision ({where})")
    space = ctx.emotions or DEFAULT_SPACE
    if d.emotion is not None and d.emotion not in space:
        raise _fail(cls, f"emotion {d.emotion!r} is not in the label space {space} ({where})")
    if d.action not in ACTIONS:
        raise _fail(cls, f"action {d.action!r} is not one of {ACTIONS} ({where})")
    if d.action == "accept" and obs.their_last_offer is None:
        raise _fail(cls, f"accepts with no counterpart offer on the table ({where})")
    if d.offer is not None:
        if not isinstance(d.offer, Mapping) or set(d.offer) != set(ctx.issues):
            raise _fail(cls, f"offer {d.offer!r} does not name exactly the issues {sorted(ctx.issues)} ({where})")
        for name, (lo, hi) in ctx.issues.items():
            v = d.offer[name]
            if not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v):
                raise _fail(cls, f"offer value {name}={v!r} is not a finite number ({where})")
            if not lo - 1e-9 <= float(v) <= hi + 1e-9:
                raise _fail(cls, f"offer value {name}={v} is outside its range [{lo}, {hi}] ({where})")
    if not isinstance(d.rationale, str):
        raise _fail(cls, f"rationale must be a string ({where})")
    try:
        json.dumps(d.info, default=_json_default)
    except (TypeError, ValueError) as exc:
        raise _fail(cls, f"Decision.info is not JSON-serialisable: {exc} ({where})") from None
    belief = d.info.get("belief") if isinstance(d.info, Mapping) else None
    if belief is not None:
        values = list(belief.values()) if isinstance(belief, Mapping) else []
        if not values or any(v < -1e-12 for v in values) or abs(sum(values) - 1.0) > 1e-6:
            raise _fail(cls, f"info['belief'] is not a probability distribution: {belief!r} ({where})")


class _Run:
    """One strategy instance driven through the synthetic negotiation."""

    def __init__(self, cls: type, params: Mapping[str, Any], seed: int, emotions: tuple[str, ...]) -> None:
        self.cls = cls
        self.ctx = synthetic_context(seed, emotions)
        self.script = synthetic_observations(self.ctx, seed)
        self.strategy = self.build(params)
        self.strategy.reset(self.ctx)
        self.history: list[dict[str, Any]] = []
        self.own_last: dict[str, float] | None = None
        self.their_prev_u: float | None = None
        self.decisions: list[str] = []

    def build(self, params: Mapping[str, Any]) -> EmotionStrategy:
        try:
            strategy = self.cls(**copy.deepcopy(dict(params)))
        except Exception as exc:  # noqa: BLE001 - report any construction failure
            raise _fail(self.cls, f"cannot be built from params {dict(params)!r}: {exc!r}") from exc
        if not isinstance(strategy, EmotionStrategy):
            raise _fail(self.cls, "is not an EmotionStrategy")
        return strategy

    def observation(self, r: int) -> Observation:
        theirs = self.script[r - 2] if r >= 2 else None
        their_offer = theirs["offer"] if theirs else None
        return Observation(
            round=r,
            time=r / self.ctx.deadline,
            own_last_offer=self.own_last,
            their_last_offer=their_offer,
            their_last_emotion=theirs["emotion"] if theirs else None,
            their_last_message=theirs["message"] if theirs else None,
            their_offer_utility=self.ctx.utility.undiscounted(their_offer) if their_offer else None,
            history=list(self.history),
            their_last_detected=theirs["detected"] if theirs else None,
        )

    def step(self, r: int) -> Decision:
        """Our turn in round r (the counterpart's turn of round r-1 came before)."""
        obs = self.observation(r)
        d = self.strategy.choose(obs)
        _check_decision(self.cls, d, self.ctx, obs, r)
        self.decisions.append(_canonical(d))
        if d.offer is not None:
            self.own_last = dict(d.offer)
        self.history.append({"round": r, "role": self.ctx.role, "emotion": d.emotion, "offer": d.offer})
        return d

    def counterpart(self, r: int) -> None:
        theirs = self.script[r - 1]
        u = self.ctx.utility.undiscounted(theirs["offer"])
        fb = Feedback(
            kind="turn",
            round=r,
            their_offer=theirs["offer"],
            their_emotion=theirs["emotion"],
            their_message=theirs["message"],
            their_offer_utility=u,
            concession=None if self.their_prev_u is None else u - self.their_prev_u,
            their_detected=theirs["detected"],
        )
        self.their_prev_u = u
        self.history.append({"round": r, "role": self.ctx.counterpart_role, "emotion": theirs["emotion"],
                             "offer": theirs["offer"]})
        self.strategy.update(fb)

    def play(self, rounds: int) -> None:
        for r in range(1, rounds + 1):
            self.step(r)
            self.counterpart(r)

    def end(self) -> None:
        self.strategy.update(Feedback(kind="end", round=self.ctx.deadline, agreement=True, final_utility=0.6))


UNKNOWN_KEY = "__check_strategy_unknown_param__"


def check_params_model(cls: type, params: Mapping[str, Any] | None = None) -> None:
    """Check 0: a strict ``Params`` model, and an unknown key refused at construction."""
    from pydantic import BaseModel

    model = getattr(cls, "Params", None)
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        raise _fail(cls, "declares no pydantic `Params` model (class attribute) for its params")
    config = model.model_config
    if config.get("extra") != "forbid":
        raise _fail(cls, f"Params model {model.__name__} must set extra='forbid' (it has {config.get('extra')!r})")
    if config.get("allow_inf_nan", True):
        raise _fail(cls, f"Params model {model.__name__} must set allow_inf_nan=False (NaN params give meaningless runs)")
    bad = {**copy.deepcopy(dict(params or {})), UNKNOWN_KEY: 1}
    try:
        cls(**bad)
    except ConfigError as exc:
        if UNKNOWN_KEY not in str(exc):
            raise _fail(cls, f"an unknown param is refused, but the message does not name it: {exc}") from None
        return
    except Exception as exc:  # noqa: BLE001 - any other failure is a contract violation worth reporting
        raise _fail(cls, f"an unknown param raises {type(exc).__name__}, not ConfigError: {exc!r}") from exc
    raise _fail(cls, f"accepts the unknown param {UNKNOWN_KEY!r} (it would be silently ignored)")


def param_sets(cls: type) -> list[dict[str, Any]]:
    """The parameter sets to check `cls` with: its ``check_params`` attribute, else one empty set."""
    sets = getattr(cls, "check_params", None)
    return [dict(p) for p in sets] if sets else [{}]


def check_strategy(
    cls: type,
    params: Mapping[str, Any] | None = None,
    seed: int = 0,
    emotions: tuple[str, ...] = DEFAULT_SPACE,
    rounds: int = 6,
) -> None:
    """Run every contract check on `cls` built with `params` (see module docstring).

    Raises:
        StrategyCheckError: the first check that fails, with the reason.
    """
    params = dict(params or {})
    rounds = max(2, int(rounds))

    # 0: a strict Params model
    check_params_model(cls, params)

    # 1-3: decisions are well formed over a whole negotiation, feedback included
    run = _Run(cls, params, seed, emotions)
    run.play(rounds)
    run.end()
    # a second negotiation with the same instance (strategies may learn across resets)
    run.strategy.reset(synthetic_context(seed + 1, emotions))
    run.ctx = run.strategy.ctx  # type: ignore[assignment]
    run.own_last, run.their_prev_u, run.history = None, None, []
    run.step(1)

    # 4: state round trip reproduces the next decision
    k = rounds // 2
    a = _Run(cls, params, seed, emotions)
    a.play(k)
    try:
        state = a.strategy.get_state()
        restored = json.loads(json.dumps(state))
    except (TypeError, ValueError) as exc:
        raise _fail(cls, f"get_state() is not JSON-serialisable: {exc}") from None
    rng_state = copy.deepcopy(a.ctx.rng.bit_generator.state)
    b = _Run(cls, params, seed, emotions)
    b.history, b.own_last, b.their_prev_u = list(a.history), a.own_last, a.their_prev_u
    try:
        b.strategy.set_state(restored)
    except Exception as exc:  # noqa: BLE001
        raise _fail(cls, f"set_state(get_state()) failed after a JSON round trip: {exc!r}") from exc
    b.ctx.rng.bit_generator.state = rng_state
    next_a, next_b = a.step(k + 1), b.step(k + 1)
    if _canonical(next_a) != _canonical(next_b):
        raise _fail(
            cls,
            "set_state(get_state()) does not reproduce the next decision:\n"
            f"  original: {_canonical(next_a)}\n  restored: {_canonical(next_b)}",
        )

    # 5: same seed, same decisions, whatever the global generators hold
    runs = []
    for global_seed in (1, 2):
        random.seed(global_seed)
        np.random.seed(global_seed)  # noqa: NPY002 - deliberately perturbing the legacy global generator
        r = _Run(cls, params, seed, emotions)
        r.play(rounds)
        runs.append(r.decisions)
    if runs[0] != runs[1]:
        turn = next(i for i, (x, y) in enumerate(zip(*runs)) if x != y) + 1
        raise _fail(
            cls,
            f"decisions differ between two runs with the same seed (first at turn {turn}); "
            "draw randomness from ctx.rng only",
        )
