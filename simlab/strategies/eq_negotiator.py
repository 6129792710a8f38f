"""EQ-Negotiator: the credit negotiator with HMM emotion tracking, as its authors built it.

Defines `EQNegotiatorStrategy` (registered as ``eq_negotiator``), its `Params`,
and the published constants `EQ_EMOTIONS`, `EQ_NEGATIVE`, `T0`, `E0`, `BIAS`,
`PAYOFF` (all transcribed from the authors' code; see
/work/shared/reference/published_systems.md, "Credit negotiation with HMM
emotion tracking and game theory").

The agent keeps an HMM whose hidden state is **its own** emotion and whose
observation is the **counterpart's** emotion. Count matrices start at the
published T0 and E0 with their rows renormalised (two published rows sum to
1.05), get +1 per observed (previous, current) own-emotion transition and per
(current own emotion, observed counterpart emotion) emission, and are read with
their rows renormalised. The next emotion is

    argmax_e  T[current, e] * E[e, observed] * bias[e]

(the negative-bias vector weights the emotions that answer negative displays).
Otherwise the agent best-responds with the payoff matrix: in the row of the
counterpart's emotion, the agent emotion (column) with the highest
*counterpart* payoff, ties broken uniformly at random with the run's generator.
The switch rule keeps the last 5 counterpart emotions; when there are 5 of them
and at least 3 are negative ({sadness, anger, disgust, fear}) the HMM chooses,
otherwise the payoff matrix does.

Choices this module makes where the published text is silent (stated so a
reader can check them): the agent starts in `initial_emotion` (neutral) and
shows it until the counterpart has shown an emotion; each observed counterpart
emotion is counted as an emission of the agent's emotion at that moment (the one
the counterpart answered) *before* the choice is made; the transition from the
current to the chosen emotion is counted after the choice; counts are updated in
both modes. Counterpart labels of another space are mapped to the seven labels
(`simlab.emotion.mapping.map_label`), and the chosen label is mapped into the
run's label space when that space differs.

The authors' agent lets its LLM choose the offer guided by the emotion
(``offers: llm``, the default); ``offers: reciprocal`` makes the lab's
belief-free tit-for-tat offers instead (`ReciprocalConcession`). Today's
``hmm_game_theory`` remains the lab's own variant (hidden counterpart states,
forward filtering).
"""
from __future__ import annotations

from collections import deque
from typing import Any, Literal

import numpy as np
from pydantic import Field, field_validator, model_validator

from simlab.emotion.labels import ALL_LABELS
from simlab.emotion.mapping import map_label
from simlab.strategies.base import STRATEGIES, Decision, EmotionStrategy, Feedback, Observation, StrategyContext, finish_decision
from simlab.strategies.game_theory import CounterpartEvidence, ReciprocalConcession
from simlab.strategies.params import ConcessionParams, map_label_name

EQ_EMOTIONS: tuple[str, ...] = ("joy", "sadness", "anger", "fear", "surprise", "disgust", "neutral")
"""The authors' label order (rows and columns of every matrix below)."""

EQ_NEGATIVE: frozenset[str] = frozenset({"sadness", "anger", "disgust", "fear"})

T0 = np.array(
    [
        [0.50, 0.10, 0.05, 0.05, 0.20, 0.05, 0.05],
        [0.20, 0.40, 0.10, 0.10, 0.05, 0.10, 0.05],
        [0.10, 0.20, 0.40, 0.10, 0.05, 0.10, 0.05],
        [0.10, 0.20, 0.10, 0.40, 0.05, 0.10, 0.05],
        [0.30, 0.05, 0.05, 0.05, 0.50, 0.05, 0.05],  # sums to 1.05 as published
        [0.10, 0.20, 0.10, 0.10, 0.05, 0.40, 0.05],
        [0.20, 0.10, 0.05, 0.05, 0.20, 0.05, 0.35],
    ]
)
"""Initial own-emotion transition matrix (from -> to), as published (unnormalised)."""

E0 = np.array(
    [
        [0.60, 0.05, 0.05, 0.05, 0.10, 0.05, 0.10],
        [0.05, 0.50, 0.20, 0.10, 0.05, 0.05, 0.05],
        [0.05, 0.20, 0.50, 0.10, 0.05, 0.05, 0.05],
        [0.05, 0.20, 0.10, 0.50, 0.05, 0.05, 0.05],
        [0.10, 0.05, 0.05, 0.05, 0.60, 0.05, 0.10],
        [0.05, 0.10, 0.20, 0.10, 0.05, 0.50, 0.05],  # sums to 1.05 as published
        [0.10, 0.10, 0.10, 0.10, 0.10, 0.10, 0.40],
    ]
)
"""Initial emission matrix (own emotion -> observed counterpart emotion), as published."""

BIAS = np.array([0.2, 0.5, 1.0, 0.6, 0.2, 0.7, 0.3])
"""The negative-bias vector over `EQ_EMOTIONS`."""

PAYOFF = np.array(
    [
        # agent:  joy     sadness anger   fear    surprise disgust neutral     counterpart emotion
        [(4, 4), (2, 3), (1, 2), (2, 1), (3, 3), (2, 2), (3, 3)],  # joy
        [(3, 2), (3, 3), (1, 2), (2, 1), (2, 2), (1, 1), (2, 3)],  # sadness
        [(2, 1), (2, 1), (1, 1), (1, 0), (1, 2), (0, 1), (1, 2)],  # anger
        [(1, 2), (1, 2), (0, 1), (2, 2), (1, 2), (0, 1), (2, 3)],  # fear
        [(3, 3), (2, 2), (2, 1), (2, 1), (4, 4), (1, 2), (3, 3)],  # surprise
        [(2, 2), (1, 1), (1, 0), (1, 0), (2, 1), (2, 2), (2, 2)],  # disgust
        [(3, 3), (2, 3), (2, 1), (3, 2), (3, 3), (2, 2), (3, 3)],  # neutral
    ],
    dtype=float,
)
"""PAYOFF[counterpart emotion, agent emotion] = (agent payoff, counterpart payoff)."""


def _rows(m: np.ndarray) -> np.ndarray:
    return m / m.sum(axis=1, keepdims=True)


@STRATEGIES.register("eq_negotiator")
class EQNegotiatorStrategy(EmotionStrategy):
    """EQ-Negotiator (HMM emotion tracking + payoff-matrix best response + 3-of-5 switch rule).

    Implements the emotion-aware credit negotiator of "EQ-Negotiator: dynamic
    emotional personas empower small language models for edge-deployable credit
    negotiation" (2025) as its authors' code does it; the module docstring has
    the rule and the choices made where the published text is silent.

    Decision.info: "mode" ("hmm", "payoff" or "initial"), "observed" (the
    counterpart emotion in the seven labels), "current" (own emotion before the
    choice), "window" (the last counterpart emotions), "scores" (the HMM product
    or the counterpart payoffs per emotion) and "ties" (payoff mode).
    """

    name = "eq_negotiator"
    description = "EQ-Negotiator: own-emotion HMM + counterpart-payoff best response, 3-of-5 negative switch"

    class Params(ConcessionParams):
        """Parameters of `EQNegotiatorStrategy` (unknown keys are errors); the concession
        fields (start, floor, concession_factor, window, deadline_e) matter only with
        ``offers: reciprocal``."""

        initial_emotion: str = Field("neutral", description="the agent's emotion before the counterpart shows one")
        history: int = Field(5, ge=1, le=100, description="counterpart emotions kept for the switch rule (published: 5)")
        min_negative: int = Field(3, ge=1, le=100, description="negative emotions in a full window that switch to the HMM")
        observe: Literal["declared", "detected"] = Field(
            "declared", description="the counterpart's declared emotion, or the detector's top label when present"
        )
        offers: Literal["llm", "reciprocal"] = Field("llm", description="who sets the offer")

        @field_validator("initial_emotion")
        @classmethod
        def _label(cls, v: str) -> str:
            return map_label_name(v, EQ_EMOTIONS)

        @model_validator(mode="after")
        def _window(self) -> "EQNegotiatorStrategy.Params":
            if self.min_negative > self.history:
                raise ValueError("min_negative must not exceed history")
            return self

    check_params = ({}, {"observe": "detected", "offers": "reciprocal"}, {"initial_emotion": "joy", "history": 3, "min_negative": 2})

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)  # validates `params` with `Params` (unknown keys, ranges: ConfigError)
        self.p: EQNegotiatorStrategy.Params = self.config  # type: ignore[assignment]
        self.concession = ReciprocalConcession.from_params(self.p.model_dump())
        self._fresh_state()

    def _fresh_state(self) -> None:
        self.trans_counts = _rows(T0)
        self.emit_counts = _rows(E0)
        self.current = EQ_EMOTIONS.index(self.p.initial_emotion)
        self.recent: deque[str] = deque(maxlen=self.p.history)
        self.pending: str | None = None  # counterpart emotion observed since the last choice
        self.evidence = CounterpartEvidence()

    def reset(self, ctx: StrategyContext) -> None:
        super().reset(ctx)
        self._fresh_state()
        self.concession.reset()

    # ---- the published model -------------------------------------------------
    @property
    def transmat(self) -> np.ndarray:
        return _rows(self.trans_counts)

    @property
    def emissionprob(self) -> np.ndarray:
        return _rows(self.emit_counts)

    def use_hmm(self) -> bool:
        """The switch rule: a full window with at least `min_negative` negative emotions."""
        return len(self.recent) == self.p.history and sum(e in EQ_NEGATIVE for e in self.recent) >= self.p.min_negative

    def hmm_scores(self, observed: int) -> np.ndarray:
        return self.transmat[self.current] * self.emissionprob[:, observed] * BIAS

    def payoff_choice(self, observed: int) -> tuple[int, np.ndarray, list[int]]:
        assert self.ctx is not None
        theirs = PAYOFF[observed, :, 1]
        ties = [int(i) for i in np.flatnonzero(theirs == theirs.max())]
        pick = ties[int(self.ctx.rng.integers(len(ties)))] if len(ties) > 1 else ties[0]
        return pick, theirs, ties

    # ---- evidence --------------------------------------------------------------
    def _label(self, ev: dict[str, Any] | None) -> str | None:
        if ev is None:
            return None
        raw = ev["emotion"]
        if isinstance(raw, dict):
            if not raw:
                return None
            raw = max(raw.items(), key=lambda kv: kv[1])[0]
        if raw is None:
            return None
        label = str(raw).strip().lower()
        if label in EQ_EMOTIONS:
            return label
        if label not in ALL_LABELS:
            return None
        return map_label(label, EQ_EMOTIONS)

    def _ingest(self, ev: dict[str, Any] | None, declared: str | None, detected: dict[str, float] | None) -> None:
        if ev is None:
            return
        self.concession.observe(ev["utility"])
        source = detected if (self.p.observe == "detected" and detected) else declared
        label = self._label({"emotion": source})
        if label is None:
            return
        o = EQ_EMOTIONS.index(label)
        self.emit_counts[self.current, o] += 1.0
        self.recent.append(label)
        self.pending = label

    def update(self, feedback: Feedback) -> None:
        ev = self.evidence.from_feedback(feedback)
        self._ingest(ev, feedback.their_emotion, feedback.their_detected)

    def _out_label(self, label: str) -> str:
        assert self.ctx is not None
        space = tuple(self.ctx.emotions)
        if not space or label in space:
            return label
        return map_label(label, space, EQ_EMOTIONS)

    def choose(self, obs: Observation) -> Decision:
        assert self.ctx is not None
        ev = self.evidence.from_observation(obs)
        self._ingest(ev, obs.their_last_emotion, obs.their_last_detected)
        before = EQ_EMOTIONS[self.current]
        info: dict[str, Any] = {"current": before, "window": list(self.recent)}
        if self.pending is None:
            mode, nxt = "initial", self.current
            info["observed"] = None
        else:
            observed = EQ_EMOTIONS.index(self.pending)
            info["observed"] = self.pending
            if self.use_hmm():
                mode = "hmm"
                scores = self.hmm_scores(observed)
                nxt = int(np.argmax(scores))
            else:
                mode = "payoff"
                nxt, scores, ties = self.payoff_choice(observed)
                info["ties"] = [EQ_EMOTIONS[i] for i in ties]
            info["scores"] = {e: float(s) for e, s in zip(EQ_EMOTIONS, scores)}
            self.trans_counts[self.current, nxt] += 1.0
            self.current = nxt
            self.pending = None
        info["mode"] = mode
        emotion = EQ_EMOTIONS[nxt]
        rationale = f"eq_negotiator ({mode}): counterpart {info['observed'] or 'none yet'}, {before} -> {emotion}"
        move = self.concession.move(self.ctx, obs) if self.p.offers == "reciprocal" else None
        return finish_decision(self._out_label(emotion), rationale, info, move)

    # ---- checkpointing ----------------------------------------------------------
    def get_state(self) -> dict[str, Any]:
        return {
            "trans_counts": self.trans_counts.tolist(),
            "emit_counts": self.emit_counts.tolist(),
            "current": self.current,
            "recent": list(self.recent),
            "pending": self.pending,
            "fresh": self.evidence.fresh,
            "concession": self.concession.get_state(),
        }

    def set_state(self, state: dict[str, Any]) -> None:
        self.trans_counts = np.array(state["trans_counts"], dtype=float)
        self.emit_counts = np.array(state["emit_counts"], dtype=float)
        self.current = int(state["current"])
        self.recent = deque(state["recent"], maxlen=self.p.history)
        self.pending = state["pending"]
        self.evidence.fresh = bool(state["fresh"])
        self.concession.set_state(state["concession"])

