"""Game-theoretic emotion choice and behaviour-dependent concession.

Defines the payoff model (`DEFAULT_PAYOFFS`, `payoff_matrix`, `expected_payoffs`,
`best_response`), the behaviour-dependent concession tactics
(`tit_for_tat_target`, `ReciprocalConcession`), `CounterpartEvidence` (feeds
counterpart turns to a strategy exactly once) and two strategies:

- ``hmm_game_theory``: the HMM belief over the counterpart's state (see
  `simlab.strategies.hmm_tracker`) + the best-response emotion + reciprocal
  offers. This is the pipeline of the emotion-aware credit negotiation agent
  that tracks the debtor's emotional state with an HMM and chooses the
  collector's emotional stance and offer game-theoretically.
- ``game_theoretic``: the best response without tracking, against a prior over
  counterpart states or the posterior from the last detected emotion alone.

The payoff model scores showing emotion e to a counterpart in state s,
U[e, s]; the best response maximises the expected payoff sum_s b(s) U[e, s]
under a belief b. `DEFAULT_PAYOFFS` are illustrative priors, not estimates,
chosen to reflect findings on emotions in negotiation: anger extracts
concessions from counterparts who can be pressured but escalates conflict with
hostile ones (van Kleef, De Dreu & Manstead 2004; Sinaceur & Tiedens 2006);
sadness/supplication elicits help from cooperative and distressed partners
(Sinaceur et al. 2015); neutrality de-escalates hostility; against suspected
deception a tough, annoyed stance limits exploitation. Override them with the
``payoffs`` parameter ({emotion: {state: value}}).

Offers are behaviour-dependent (Faratin, Sierra & Jennings 1998): relative
tit-for-tat in utility space, reciprocating the counterpart's concession as
measured in our own utility (Baarslag, Hindriks & Jonker 2013, "A tit for tat
negotiation strategy for real-time bilateral negotiations"), scaled by how
much the belief says reciprocity is safe (fully with cooperative partners,
more with distressed ones, less with hostile or deceptive ones), with a
Boulware time-dependent safety net so the agent still concedes towards its
floor as the deadline nears. Acceptance is AC_next (Baarslag et al. 2014).
The Nash bargaining reference point lives in the engine, not here.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
from pydantic import Field, ValidationInfo, model_validator

from simlab.emotion.labels import DEFAULT_SPACE, EKMAN7
from simlab.emotion.mapping import map_label
from simlab.errors import ConfigError
from simlab.strategies.base import STRATEGIES, Decision, EmotionStrategy, Feedback, Observation, StrategyContext, finish_decision
from simlab.strategies.concession import ac_next, concession_floor, time_dependent_target
from simlab.strategies.hmm_tracker import DEFAULT_HMM, ForwardFilter, HMMParams, evidence_vector, resolve_params
from simlab.strategies.params import ConcessionParams, map_label_name, map_names
from simlab.types import Offer

DEFAULT_PAYOFFS: dict[str, dict[str, float]] = {
    "neutral": {"cooperative": 0.30, "distressed": 0.20, "hostile": 0.20, "deceptive": 0.30},
    "joy": {"cooperative": 0.60, "distressed": 0.10, "hostile": -0.20, "deceptive": 0.00},
    "sadness": {"cooperative": 0.30, "distressed": 0.40, "hostile": -0.30, "deceptive": -0.10},
    "anger": {"cooperative": 0.20, "distressed": -0.50, "hostile": -0.40, "deceptive": 0.40},
    "fear": {"cooperative": -0.10, "distressed": 0.00, "hostile": -0.50, "deceptive": -0.40},
    "surprise": {"cooperative": 0.10, "distressed": 0.00, "hostile": 0.00, "deceptive": 0.20},
    "disgust": {"cooperative": -0.40, "distressed": -0.60, "hostile": -0.10, "deceptive": 0.10},
}
"""U[own emotion][counterpart state]: best responses are cooperative -> joy,
distressed -> sadness, hostile -> neutral, deceptive -> anger."""

DEFAULT_STATE_FACTORS: dict[str, float] = {
    "cooperative": 1.0,
    "distressed": 1.25,
    "hostile": 0.5,
    "deceptive": 0.5,
}
"""How much of the counterpart's concession to reciprocate, per believed state."""


def payoff_matrix(
    emotions: Sequence[str],
    states: Sequence[str],
    payoffs: Mapping[str, Mapping[str, float]] | None = None,
) -> np.ndarray:
    """U as an (emotions x states) array; an emotion missing from `payoffs` uses its Ekman counterpart."""
    table = payoffs or DEFAULT_PAYOFFS
    rows = []
    for e in emotions:
        key = e if e in table else map_label(e, tuple(k for k in EKMAN7 if k in table) or EKMAN7)
        row = table.get(key, {})
        rows.append([float(row.get(s, 0.0)) for s in states])
    return np.array(rows, dtype=float)


def expected_payoffs(belief: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """sum_s b(s) U[e, s] for every emotion e."""
    return matrix @ np.asarray(belief, dtype=float)


def best_response(
    belief: Mapping[str, float] | np.ndarray,
    payoffs: Mapping[str, Mapping[str, float]] | np.ndarray,
    emotions: Sequence[str] | None = None,
    states: Sequence[str] | None = None,
) -> str:
    """The emotion maximising expected payoff under `belief` (ties: the earlier emotion).

    `belief` is {state: probability} or an array over `states`; `payoffs` is
    {emotion: {state: value}} or an (emotions x states) array.
    """
    if isinstance(payoffs, np.ndarray):
        if emotions is None:
            raise ValueError("emotions are required with a payoff array")
        matrix = payoffs
        emotions = list(emotions)
    else:
        emotions = list(emotions or payoffs.keys())
        states = list(states or (belief.keys() if isinstance(belief, Mapping) else DEFAULT_HMM.states))
        matrix = payoff_matrix(emotions, states, payoffs)
    if isinstance(belief, Mapping):
        b = np.array([float(belief.get(s, 0.0)) for s in (states or [])])
    else:
        b = np.asarray(belief, dtype=float)
    values = expected_payoffs(b, matrix)
    return emotions[int(np.argmax(values))]


def softmax(values: np.ndarray, temperature: float) -> np.ndarray:
    z = np.asarray(values, dtype=float) / max(float(temperature), 1e-9)
    w = np.exp(z - z.max())
    return w / w.sum()


def tit_for_tat_target(
    own_target: float,
    their_utilities: Sequence[float],
    factor: float = 1.0,
    window: int = 1,
) -> float:
    """Relative tit-for-tat in utility space (Faratin et al. 1998; Baarslag et al. 2013).

    The counterpart's concession is the rise, in *our* utility, of their offers
    over the last `window` offers, averaged per offer (``window > 1`` is
    Faratin's averaged tit-for-tat). We concede `factor` times that; a
    counterpart that retracts earns no concession (we never retract either).
    """
    if len(their_utilities) < 2:
        return own_target
    w = max(1, min(int(window), len(their_utilities) - 1))
    conceded = (their_utilities[-1] - their_utilities[-1 - w]) / w
    return own_target - float(factor) * max(0.0, conceded)


class ReciprocalConcession:
    """Behaviour-dependent offers with a time-dependent safety net and AC_next acceptance.

    The target starts at `start`, falls by the reciprocated concession
    (`tit_for_tat_target`) and never rises; it is also capped by Faratin's
    time-dependent curve with exponent `deadline_e` (Boulware for e < 1), so the
    agent reaches its floor by the deadline even against a counterpart that
    never concedes. The floor is max(`floor`, the deal floor of the round in
    which the offer would be accepted: the reservation value divided by the
    discount, `concession.deal_floor`), so no offer it makes or accepts is worth
    less than no deal at the round of agreement.
    """

    def __init__(
        self,
        start: float = 1.0,
        floor: float | None = None,
        factor: float = 1.0,
        window: int = 1,
        deadline_e: float = 0.2,
    ) -> None:
        self.start = float(start)
        self.floor = None if floor is None else float(floor)
        self.factor = float(factor)
        self.window = int(window)
        self.deadline_e = float(deadline_e)
        self.reset()

    @classmethod
    def from_params(cls, params: Mapping[str, Any] | ConcessionParams) -> "ReciprocalConcession":
        """Built from a strategy's validated params (a `ConcessionParams` model or its dump):
        start, floor, concession_factor, window, deadline_e."""
        if isinstance(params, ConcessionParams):
            params = params.model_dump()
        return cls(
            start=float(params.get("start", 1.0)),
            floor=params.get("floor"),
            factor=float(params.get("concession_factor", 1.0)),
            window=int(params.get("window", 1)),
            deadline_e=float(params.get("deadline_e", 0.2)),
        )

    def reset(self) -> None:
        self.target = self.start
        self.their_utilities: list[float] = []

    def observe(self, their_utility: float | None) -> None:
        if their_utility is not None:
            self.their_utilities.append(float(their_utility))

    def ingest(self, ev: Mapping[str, Any]) -> float | None:
        """Observe the utility of a counterpart turn (`CounterpartEvidence`); returns its concession.

        The concession is the evidence's own (the change between the counterpart's
        offers), else this offer's utility minus the previous one observed here,
        else None.
        """
        concession = ev["concession"]
        if concession is None and ev["utility"] is not None and self.their_utilities:
            concession = float(ev["utility"]) - self.their_utilities[-1]
        self.observe(ev["utility"])
        return concession

    def floor_for(self, ctx: StrategyContext, obs: Observation) -> float:
        """The lowest target of an offer made now (`concession.concession_floor`)."""
        return concession_floor(ctx.utility, obs, self.floor)

    def next_target(self, ctx: StrategyContext, obs: Observation, multiplier: float = 1.0) -> float:
        floor = self.floor_for(ctx, obs)
        tft = tit_for_tat_target(self.target, self.their_utilities, self.factor * multiplier, self.window)
        safety = time_dependent_target(obs.time, self.deadline_e, min(floor, self.start), self.start)
        return float(min(max(min(tft, safety, self.target), floor), 1.0))

    def move(
        self, ctx: StrategyContext, obs: Observation, multiplier: float = 1.0
    ) -> tuple[str, Offer, float]:
        """(action, offer, target) for this turn; commits the new target. Acceptance is AC_next
        on the discounted worth at the round of agreement (`concession.ac_next`)."""
        self.target = self.next_target(ctx, obs, multiplier)
        offer = ctx.utility.offer_with_utility(self.target)
        if ac_next(ctx.utility, obs, offer):
            return "accept", dict(obs.their_last_offer), self.target  # type: ignore[arg-type]
        return "offer", offer, self.target

    def get_state(self) -> dict[str, Any]:
        return {"target": self.target, "their_utilities": list(self.their_utilities)}

    def set_state(self, state: Mapping[str, Any]) -> None:
        self.target = float(state["target"])
        self.their_utilities = [float(u) for u in state["their_utilities"]]


class CounterpartEvidence:
    """Delivers each counterpart turn to a strategy once, from `update` or else from `choose`.

    The engine calls ``update(Feedback(kind="turn"))`` after every counterpart
    turn, then ``choose`` with an observation repeating the same turn. Evidence
    is taken from the feedback; `choose` uses the observation only when no
    feedback arrived since the previous decision (callers that never send
    feedback still work).
    """

    def __init__(self) -> None:
        self.fresh = False

    def from_feedback(self, fb: Feedback) -> dict[str, Any] | None:
        if fb.kind != "turn":
            return None
        self.fresh = True
        return {
            "emotion": fb.their_detected if fb.their_detected else fb.their_emotion,
            "utility": fb.their_offer_utility,
            "concession": fb.concession,
        }

    def from_observation(self, obs: Observation) -> dict[str, Any] | None:
        fresh, self.fresh = self.fresh, False
        if fresh or (obs.their_last_emotion is None and obs.their_last_detected is None
                     and obs.their_last_offer is None):
            return None
        return {
            "emotion": obs.their_last_detected if obs.their_last_detected else obs.their_last_emotion,
            "utility": obs.their_offer_utility,
            "concession": None,
        }


def _hmm_states(spec: Any) -> tuple[str, ...]:
    try:
        return resolve_params(spec).states
    except ConfigError as exc:
        raise ValueError(f"hmm: {exc}") from None


def check_payoffs(
    payoffs: Mapping[str, Mapping[str, float]], states: Sequence[str], info: ValidationInfo | None
) -> dict[str, dict[str, float]]:
    """A payoff table with emotions and states spelled as the label space and the HMM spell them.

    Names are matched case-insensitively ("Anger" -> "anger"); an emotion outside
    the label space, an unknown state or a row that leaves a state out is a
    ValueError (a missing payoff never silently counts as 0).
    """
    from simlab.strategies.params import _space_of

    space = _space_of(info)
    out: dict[str, dict[str, float]] = {}
    for emotion, row in payoffs.items():
        label = map_label_name(emotion, space, "payoffs emotion")
        if label in out:
            raise ValueError(f"payoffs: emotion '{label}' is given twice (names are case-insensitive)")
        names = map_names(row, states, f"state in payoffs.{emotion}")
        missing = [s for s in states if s not in names.values()]
        if missing:
            raise ValueError(f"payoffs.{emotion}: give a payoff for every state; missing {', '.join(missing)}")
        out[label] = {names[k]: float(v) for k, v in row.items()}
    if not out:
        raise ValueError("payoffs: give at least one emotion row, or leave payoffs out for the defaults")
    return out


class GameTheoryParams(ConcessionParams):
    """Params of ``hmm_game_theory`` (and the base of ``game_theoretic``'s).

    Attributes:
        hmm: HMM parameters (a dict, or the path of a JSON file from ``simlab fit hmm``); default DEFAULT_HMM.
        payoffs: {emotion: {state: payoff}} (every state in every row); default DEFAULT_PAYOFFS.
        state_factors: {state: reciprocity factor >= 0}; default DEFAULT_STATE_FACTORS.
    """

    hmm: dict[str, Any] | str | None = None
    payoffs: dict[str, dict[str, float]] | None = None
    state_factors: dict[str, float] | None = None

    @model_validator(mode="after")
    def _names(self, info: ValidationInfo) -> "GameTheoryParams":
        states = _hmm_states(self.hmm)
        if self.payoffs is not None:
            self.payoffs = check_payoffs(self.payoffs, states, info)
        else:
            unknown = [s for s in states if s not in DEFAULT_PAYOFFS["neutral"]]
            if unknown:  # the default table has no payoff for them: they would all count as 0
                raise ValueError(
                    f"payoffs: the HMM's states {', '.join(unknown)} have no default payoffs; "
                    "give `payoffs: {emotion: {state: value}}` for every state"
                )
        if self.state_factors is not None:
            names = map_names(self.state_factors, states, "state in state_factors")
            bad = {k: v for k, v in self.state_factors.items() if v < 0}
            if bad:
                raise ValueError(f"state_factors must be >= 0, got {bad}")
            self.state_factors = {names[k]: float(v) for k, v in self.state_factors.items()}
        return self


class GameTheoreticParams(GameTheoryParams):
    """Params of ``game_theoretic``: `GameTheoryParams` plus the belief it best-responds to.

    Attributes:
        mode: "last_emotion" (posterior from the last detected emotion) or "prior".
        prior: "uniform", or {state: probability >= 0} (normalised); default the HMM start distribution.
    """

    mode: Literal["last_emotion", "prior"] = "last_emotion"
    prior: Literal["uniform"] | dict[str, float] | None = None

    @model_validator(mode="after")
    def _prior(self) -> "GameTheoreticParams":
        if isinstance(self.prior, dict):
            states = _hmm_states(self.hmm)
            names = map_names(self.prior, states, "state in prior")
            if any(v < 0 for v in self.prior.values()) or sum(self.prior.values()) <= 0:
                raise ValueError("prior: probabilities must be >= 0 with a positive sum")
            self.prior = {names[k]: float(v) for k, v in self.prior.items()}
        return self


def _space(ctx: StrategyContext | None) -> tuple[str, ...]:
    return tuple(ctx.emotions) if ctx is not None and ctx.emotions else DEFAULT_SPACE


class _GameTheoryBase(EmotionStrategy):
    """Shared parameters and offer logic of the two game-theoretic strategies."""

    Params = GameTheoryParams

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        p = self.params  # validated (GameTheoryParams)
        self.hmm: HMMParams = resolve_params(p["hmm"])
        self.payoffs = p["payoffs"] or DEFAULT_PAYOFFS
        self.state_factors = {**DEFAULT_STATE_FACTORS, **dict(p["state_factors"] or {})}
        self.concession = ReciprocalConcession.from_params(p)
        self.evidence = CounterpartEvidence()
        self.emotions: tuple[str, ...] = DEFAULT_SPACE
        self.matrix = payoff_matrix(self.emotions, self.hmm.states, self.payoffs)

    def reset(self, ctx: StrategyContext) -> None:
        super().reset(ctx)
        self.emotions = _space(ctx)
        self.matrix = payoff_matrix(self.emotions, self.hmm.states, self.payoffs)
        self.concession.reset()
        self.evidence = CounterpartEvidence()

    def multiplier(self, belief: np.ndarray) -> float:
        return float(sum(p * self.state_factors.get(s, 1.0) for s, p in zip(self.hmm.states, belief)))

    def decide(self, obs: Observation, belief: np.ndarray, label: str, extra: dict[str, Any]) -> Decision:
        assert self.ctx is not None
        values = expected_payoffs(belief, self.matrix)
        emotion = self.emotions[int(np.argmax(values))]
        move = self.concession.move(self.ctx, obs, self.multiplier(belief))
        top = max(zip(self.hmm.states, belief), key=lambda x: x[1])
        rationale = (
            f"{label}: counterpart most likely {top[0]} ({top[1]:.2f}); best response {emotion}; "
            f"target utility {move[2]:.3f}"
        )
        return finish_decision(
            emotion, rationale, {**extra, "expected_payoffs": {e: float(v) for e, v in zip(self.emotions, values)}}, move
        )


@STRATEGIES.register("hmm_game_theory")
class HMMGameTheoryStrategy(_GameTheoryBase):
    """HMM emotion tracking + game-theoretic best response + behaviour-dependent offers.

    Implements the emotion-aware credit negotiation agent's pipeline: an HMM
    over the counterpart's hidden state (cooperative, distressed, hostile,
    deceptive) is filtered online from the emotions detected in its messages;
    the agent shows the emotion with the highest expected payoff under the
    one-step-ahead belief and makes reciprocal (tit-for-tat) offers scaled by
    the belief (Faratin et al. 1998; Baarslag et al. 2013).

    Params:
        hmm: HMM parameters (dict, or path to a JSON file from `fit hmm`); default DEFAULT_HMM.
        payoffs: {emotion: {state: payoff}}; default DEFAULT_PAYOFFS.
        state_factors: {state: reciprocity factor}; default DEFAULT_STATE_FACTORS.
        concession_factor: base tit-for-tat factor (1.0 = mirror).
        window: tit-for-tat window (1 = relative, >1 = averaged).
        start, floor: first and lowest target utility (floor >= reservation value).
        deadline_e: exponent of the time-dependent safety net (0.2 = Boulware).

    Decision.info: "belief" (filtered counterpart state), "predicted" (one step
    ahead, used for the best response), "expected_payoffs", "target_utility".
    """

    name = "hmm_game_theory"
    description = "HMM belief over the counterpart's state + best-response emotion + tit-for-tat offers"
    check_params = ({}, {"window": 2, "concession_factor": 0.5, "deadline_e": 1.0})
    Params = GameTheoryParams

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.filter = ForwardFilter(self.hmm)

    def reset(self, ctx: StrategyContext) -> None:
        super().reset(ctx)
        self.filter.reset()

    def _ingest(self, ev: dict[str, Any] | None) -> None:
        if ev is None:
            return
        self.filter.update(ev["emotion"])
        self.concession.observe(ev["utility"])

    def update(self, feedback: Feedback) -> None:
        self._ingest(self.evidence.from_feedback(feedback))

    def choose(self, obs: Observation) -> Decision:
        self._ingest(self.evidence.from_observation(obs))
        predicted = self.filter.predict()
        return self.decide(
            obs,
            predicted,
            "HMM + best response",
            {
                "belief": self.filter.belief_dict(),
                "predicted": self.filter.belief_dict(predicted),
            },
        )

    def get_state(self) -> dict[str, Any]:
        return {
            "filter": self.filter.get_state(),
            "concession": self.concession.get_state(),
            "fresh": self.evidence.fresh,
        }

    def set_state(self, state: dict[str, Any]) -> None:
        self.filter.set_state(state["filter"])
        self.concession.set_state(state["concession"])
        self.evidence.fresh = bool(state.get("fresh", False))


@STRATEGIES.register("game_theoretic")
class GameTheoreticStrategy(_GameTheoryBase):
    """Best-response emotion without tracking (the game-theoretic agent of emotion-aware negotiation).

    The belief is either the prior over counterpart states (``mode="prior"``)
    or, by default (``mode="last_emotion"``), the posterior from the last
    detected emotion alone, P(s | o) proportional to prior(s) L(s); before any
    counterpart message it is the prior. Offers are the same belief-scaled
    tit-for-tat as ``hmm_game_theory`` (Faratin et al. 1998; Baarslag et al. 2013).

    Params:
        mode: "last_emotion" (default) or "prior".
        prior: {state: probability}; default the HMM start distribution
            (``prior="uniform"`` for the uniform belief).
        hmm, payoffs, state_factors, concession_factor, window, start, floor,
        deadline_e: as for ``hmm_game_theory`` (the HMM's emissions invert a detection).
    """

    name = "game_theoretic"
    description = "best-response emotion to a prior or to the last detected emotion + tit-for-tat offers"
    check_params = ({}, {"mode": "prior", "prior": "uniform"})
    Params = GameTheoreticParams

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.mode = str(self.params["mode"])
        prior = self.params["prior"]
        states = self.hmm.states
        if prior == "uniform":
            p = np.full(len(states), 1.0 / len(states))
        elif isinstance(prior, Mapping):
            p = np.array([float(prior.get(s, 0.0)) for s in states])
        else:
            p = self.hmm.startprob.copy()
        self.prior = p / p.sum()
        self.last_q: np.ndarray | None = None

    def reset(self, ctx: StrategyContext) -> None:
        super().reset(ctx)
        self.last_q = None

    def _ingest(self, ev: dict[str, Any] | None) -> None:
        if ev is None:
            return
        q = evidence_vector(ev["emotion"], self.hmm.labels)
        if q is not None:
            self.last_q = q
        self.concession.observe(ev["utility"])

    def update(self, feedback: Feedback) -> None:
        self._ingest(self.evidence.from_feedback(feedback))

    def belief(self) -> np.ndarray:
        if self.mode == "prior" or self.last_q is None:
            return self.prior.copy()
        joint = self.prior * (self.hmm.emissionprob @ self.last_q)
        return joint / joint.sum() if joint.sum() > 0 else self.prior.copy()

    def choose(self, obs: Observation) -> Decision:
        self._ingest(self.evidence.from_observation(obs))
        b = self.belief()
        return self.decide(obs, b, f"best response ({self.mode})",
                           {"belief": {s: float(p) for s, p in zip(self.hmm.states, b)}})

    def get_state(self) -> dict[str, Any]:
        return {
            "last_q": None if self.last_q is None else self.last_q.tolist(),
            "concession": self.concession.get_state(),
            "fresh": self.evidence.fresh,
        }

    def set_state(self, state: dict[str, Any]) -> None:
        q = state.get("last_q")
        self.last_q = None if q is None else np.array(q, dtype=float)
        self.concession.set_state(state["concession"])
        self.evidence.fresh = bool(state.get("fresh", False))
