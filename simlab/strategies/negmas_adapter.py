"""NegMAS negotiators as simlab strategies: `NegmasStrategy` (registered as ``negmas``).

Plays any NegMAS SAO negotiator (Mohammad et al. 2021, "NegMAS: a platform
for automated negotiations"; the stacked alternating offers protocol of
Aydogan et al. 2017) inside a simlab negotiation, so the lab's emotion
strategies meet NegMAS's library of opponents::

    strategy: {name: negmas, params: {negotiator: AspirationNegotiator}}

How: the strategy keeps a private NegMAS `SAOMechanism` in lockstep with the
simlab negotiation. The wrapped negotiator is one party; a proxy negotiator
stands for the simlab counterpart and replays its offers. The mechanism runs
one action per step (``one_offer_per_step``) over ``2 x deadline`` steps, so the
wrapped negotiator sees the same offers in the same order and the same
relative time as in a pure NegMAS run of the same pair, and its decision
(accept, counter-offer, end) becomes the simlab move. The negotiator's utility
function is the role's simlab utility tabulated on the outcome space
(undiscounted, reserved value = the role's reservation); a continuous issue is
offered on a grid of `levels` values (so is an integer issue of more than 1001 values).

NegMAS negotiators draw random numbers from NegMAS's own generator, not from
the run's seed: use deterministic negotiators (aspiration, time-based, tit for
tat) where a run must be reproducible from its spec.
"""
from __future__ import annotations

import importlib
from typing import Any

import numpy as np
from pydantic import Field, field_validator

from simlab.errors import BackendUnavailable, ConfigError
from simlab.strategies.base import STRATEGIES, Decision, EmotionStrategy, Observation, StrategyContext
from simlab.strategies.params import EmotionLabel, StrategyParams
from simlab.types import Offer

try:
    import negmas  # noqa: F401
    from negmas import make_issue
    from negmas.outcomes import make_os
    from negmas.preferences import LinearAdditiveUtilityFunction
    from negmas.preferences.value_fun import TableFun
    from negmas.gb.negotiators.base import GBNegotiator
    from negmas.sao import ResponseType, SAOMechanism, SAONegotiator, SAOResponse
except ImportError as exc:  # the registry entry is lazy; this turns into a one-line message
    raise BackendUnavailable(f"strategy 'negmas' needs the negmas package ({exc.name}): pip install 'simlab[bench]'") from exc


def negotiator_class(name: str) -> type:
    """The NegMAS negotiator class `name`: a class of ``negmas.sao`` or a dotted ``module.Class`` path."""
    if "." in name:
        module_name, _, attr = name.rpartition(".")
        try:
            cls = getattr(importlib.import_module(module_name), attr)
        except (ImportError, AttributeError):
            raise ConfigError(f"negmas negotiator '{name}' cannot be imported; give a negmas.sao class name or module.Class") from None
    else:
        import negmas.sao as sao

        cls = getattr(sao, name, None)
        if cls is None:
            known = sorted(n for n in dir(sao) if n.endswith("Negotiator") and isinstance(getattr(sao, n), type))
            raise ConfigError(f"negmas has no SAO negotiator '{name}'; known: {', '.join(known[:25])} ...")
    if not (isinstance(cls, type) and issubclass(cls, (SAONegotiator, GBNegotiator))):
        raise ConfigError(f"negmas '{name}' is not a negotiator class that plays the SAO protocol")
    return cls


class NegmasParams(StrategyParams):
    """Params of ``negmas``."""

    negotiator: str = Field(description="a NegMAS SAO negotiator: a class name of negmas.sao or module.Class")
    kwargs: dict[str, Any] = Field(default_factory=dict, description="keyword arguments of the negotiator's constructor")
    levels: int = Field(11, ge=2, le=1001, description="grid values per continuous issue")
    emotion: EmotionLabel | None = Field(None, description="a fixed emotion to show; None lets the LLM choose")

    @field_validator("negotiator")
    @classmethod
    def _exists(cls, v: str) -> str:
        try:
            negotiator_class(v)
        except ConfigError as exc:
            raise ValueError(str(exc)) from None
        return v


class _Proxy(SAONegotiator):
    """Stands for the simlab counterpart: rejects and offers whatever the counterpart offered."""

    pending: tuple | None = None

    def propose(self, state: Any, dest: str | None = None) -> tuple | None:
        return self.pending

    def respond(self, state: Any, source: str | None = None) -> ResponseType:
        return ResponseType.REJECT_OFFER

    def __call__(self, state: Any, dest: str | None = None) -> SAOResponse:
        return SAOResponse(ResponseType.REJECT_OFFER, self.pending)


class OutcomeSpaceMap:
    """simlab offers <-> NegMAS outcomes over one role's issues (discrete labels, integers, continuous grid)."""

    def __init__(self, utility: Any, levels: int) -> None:
        self.utility = utility
        self.names = tuple(utility.issues)
        labels = tuple(getattr(utility, "levels", ()) or ())
        self.values: list[list[Any]] = []
        self.kinds: list[str] = []
        integer = tuple(getattr(utility, "integer", ()) or ())
        for k, name in enumerate(self.names):
            lab = labels[k] if k < len(labels) else None
            lo, hi = float(utility.lows[k]), float(utility.highs[k])
            if lab:
                self.values.append(list(lab))
                self.kinds.append("discrete")
            elif ((k < len(integer) and integer[k]) or not integer) and float(lo).is_integer() and float(hi).is_integer() and hi - lo <= 1000:
                # an integer issue of at most 1001 values is offered value by value; a wider one on the grid below
                self.values.append(list(range(int(lo), int(hi) + 1)))
                self.kinds.append("integer")
            else:
                self.values.append([float(x) for x in np.linspace(lo, hi, levels)])
                self.kinds.append("continuous")
        self.issues = [make_issue(values=vals, name=name) for name, vals in zip(self.names, self.values)]
        self.outcome_space = make_os(self.issues)

    def to_outcome(self, offer: Offer) -> tuple:
        out = []
        for name, kind, vals in zip(self.names, self.kinds, self.values):
            v = offer[name]
            if kind == "discrete":
                out.append(v if v in vals else vals[int(round(float(v)))])
            elif kind == "integer":
                out.append(int(min(max(round(float(v)), vals[0]), vals[-1])))
            else:
                arr = np.asarray(vals)
                out.append(float(arr[np.argmin(np.abs(arr - float(v)))]))
        return tuple(out)

    def to_offer(self, outcome: tuple) -> Offer:
        return {name: (v if kind == "discrete" else float(v)) for name, kind, v in zip(self.names, self.kinds, outcome)}

    def ufun(self, reservation: float) -> Any:
        """The role's undiscounted simlab utility as a NegMAS linear-additive function (same numbers)."""
        # each issue's normalised value, read through the role's own utility (exactly its per-issue term)
        tables = [TableFun({v: self._issue_value(k, v) for v in vals}) for k, vals in enumerate(self.values)]
        return LinearAdditiveUtilityFunction(
            values=tables, weights=[float(w) for w in self.utility.weights], outcome_space=self.outcome_space, reserved_value=reservation
        )

    def _issue_value(self, k: int, v: Any) -> float:
        return float(self.utility.issue_value(k, v))


@STRATEGIES.register("negmas")
class NegmasStrategy(EmotionStrategy):
    """A NegMAS SAO negotiator playing one side of a simlab negotiation (see the module docstring).

    Params (`NegmasParams`):
        negotiator: NegMAS class name (``AspirationNegotiator``, ``NaiveTitForTatNegotiator`` ...).
        kwargs: its constructor arguments.
        levels: grid size for continuous issues.
        emotion: a fixed emotion to show (None: the LLM chooses).
    """

    name = "negmas"
    description = "a NegMAS SAO negotiator (Mohammad et al. 2021) deciding the moves"
    Params = NegmasParams
    check_params = ({"negotiator": "AspirationNegotiator"}, {"negotiator": "NaiveTitForTatNegotiator"})

    def reset(self, ctx: StrategyContext) -> None:
        super().reset(ctx)
        self.space = OutcomeSpaceMap(ctx.utility, int(self.params.get("levels", 11)))
        self.mechanism: Any = None
        self.agent: Any = None
        self.proxy: Any = None
        self.journal: list[Offer | None] = []

    def _start(self, first: bool) -> None:
        cls = negotiator_class(self.params["negotiator"])
        try:
            self.agent = cls(name=f"negmas-{self.ctx.role}", **dict(self.params.get("kwargs") or {}))
        except TypeError as exc:
            raise ConfigError(f"negmas negotiator {cls.__name__} rejects its kwargs ({exc}); fix params.kwargs") from None
        self.proxy = _Proxy(name=f"simlab-{self.ctx.counterpart_role}")
        self.mechanism = SAOMechanism(outcome_space=self.space.outcome_space, n_steps=2 * self.ctx.deadline, one_offer_per_step=True)
        ufun = self.space.ufun(float(self.ctx.utility.reservation))
        order = [(self.agent, ufun), (self.proxy, self.space.ufun(0.0))] if first else [(self.proxy, self.space.ufun(0.0)), (self.agent, ufun)]
        for neg, u in order:
            self.mechanism.add(neg, ufun=u)

    def choose(self, obs: Observation) -> Decision:
        theirs = dict(obs.their_last_offer) if obs.their_last_offer is not None else None
        decision = self._advance(theirs)
        self.journal.append(theirs)
        return decision

    def _advance(self, theirs: Offer | None) -> Decision:
        """Feed the counterpart's offer (None on an opening move) to the NegMAS negotiation, let the negotiator act."""
        if self.mechanism is None:
            self._start(first=theirs is None)
        elif theirs is None:
            raise ConfigError("negmas strategy: the counterpart's last move was not an offer; the protocol must end on accept or walk away")
        if theirs is not None:
            self.proxy.pending = self.space.to_outcome(theirs)
            self.mechanism.step()  # the counterpart's offer enters the NegMAS negotiation
        if not self.mechanism.state.ended:
            self.mechanism.step()  # the wrapped negotiator acts
        st = self.mechanism.state
        emotion = self.params.get("emotion")
        info = {"negmas_step": int(st.step), "negmas_relative_time": float(st.relative_time)}
        if st.agreement is not None:
            return Decision(emotion=emotion, action="accept", rationale=f"{self.params['negotiator']} accepted", info=info)
        if st.broken or st.ended or st.current_offer is None or st.current_proposer != self.agent.id:
            why = "ended the negotiation" if st.broken else "made no offer"
            return Decision(emotion=emotion, action="walk_away", rationale=f"{self.params['negotiator']} {why}", info=info)
        offer = self.space.to_offer(st.current_offer)
        return Decision(emotion=emotion, offer=offer, action="offer", rationale=f"{self.params['negotiator']} offers", info=info)

    def get_state(self) -> dict[str, Any]:
        """The counterpart offers fed so far; `set_state` replays them (NegMAS negotiators are not serialisable)."""
        return {"journal": [dict(o) if o is not None else None for o in self.journal]}

    def set_state(self, state: dict[str, Any]) -> None:
        self.mechanism, self.agent, self.proxy, self.journal = None, None, None, []
        for theirs in state.get("journal", []):
            self._advance(theirs)
            self.journal.append(theirs)
