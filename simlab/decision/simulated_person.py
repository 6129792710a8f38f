"""`SimulatedPerson`: a parametric decider for advisory studies (strategy ``simulated_person``).

A stand-in for a human participant of an advisory trial (Sabour et al. 2025,
arXiv:2502.07663), with three psychological parameters, so manipulation
studies can be swept fast and their pipeline checked against a known truth.

The model (all rating-scale quantities are in points of the 1-7 scale):

1. **Initial evaluation.** For option o with upside ``gain_o`` and downside
   ``loss_o`` (from the scenario), the person's latent value is
   ``u_o = gain_o - loss_aversion * loss_o + e_o`` with an idiosyncratic taste
   ``e_o ~ Normal(0, noise)`` drawn once per run. Loss aversion is how heavily
   harm weighs (Kahneman & Tversky's lambda, about 2 for people).
2. **Persuasion.** After each advisor message the person reads which option
   the message recommends (`advocated_option`, a lexical detector; None for a
   balanced message) and which tactics it uses (`detect_tactics`). The
   recommended option's value rises by
   ``push * susceptibility * trust * (1 + tactic_weight * n_tactics)``.
   A balanced message moves nothing. With ``susceptibility = 0`` or
   ``trust = 0`` nothing the advisor says changes anything.
3. **Ratings.** Before and after the conversation each option is rated
   ``clip(round(u_o + m), 1, 7)`` with a fresh measurement error
   ``m ~ Normal(0, rating_noise)`` per rating (so ratings move a little even
   when nothing persuades); the rating shift is after minus before.
4. **Choice.** A softmax over the final values with temperature
   ``temperature``: ``P(o) = exp(u_o / T) / sum exp(u_k / T)``, sampled with a
   uniform drawn at the start of the run.

All draws (tastes, rating errors, the choice uniform) are made in `begin`, before any advice,
so two runs with the same seed and different advisors share them (common
random numbers): the effect of the advisor is exactly the effect of its
messages on the values.

Parameters (profile ``strategy.params``): susceptibility [0, 1] (0.5), trust
[0, 1] (0.6), loss_aversion >= 0 (2.0), tactic_weight >= 0 (0.5), push > 0
(1.5), noise >= 0 (1.0), rating_noise >= 0 (0.5), temperature > 0 (0.75), decides (bool, False): when
True the person's ratings, replies and choice are used even with an LLM
backend (no LLM call for the decider); when False the LLM decides and the
person only supplies the fallback move (which the scripted backend returns).
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
from pydantic import Field

from simlab.decision.policies import DecisionContext, DecisionPolicy
from simlab.decision.tactics import advocated_option, detect_tactics
from simlab.strategies.base import STRATEGIES
from simlab.strategies.params import StrategyParams, Unit


class SimulatedPersonParams(StrategyParams):
    """Params of ``simulated_person`` (the ranges of the module docstring)."""

    susceptibility: Unit = 0.5
    trust: Unit = 0.6
    loss_aversion: float = Field(2.0, ge=0.0)
    tactic_weight: float = Field(0.5, ge=0.0)
    push: float = Field(1.5, gt=0.0)
    noise: float = Field(1.0, ge=0.0)
    rating_noise: float = Field(0.5, ge=0.0)
    temperature: float = Field(0.75, gt=0.0)
    decides: bool = False

_REPLIES = {
    None: (
        "Thanks, that helps me see both sides. What would you weigh most?",
        "Okay, I'm still thinking it over. Anything else I should consider?",
        "That's useful. I want to be careful with this decision.",
    ),
    "leaning": (
        "That makes {label} sound appealing. Are you sure it's right for me?",
        "I hadn't thought of {label} that way. Tell me more.",
        "Hmm, {label} might be the better way to go then.",
    ),
}


@STRATEGIES.register("simulated_person")
class SimulatedPerson(DecisionPolicy):
    """A parametric human decider (see the module docstring for the model)."""

    name = "simulated_person"
    description = "parametric decider: susceptibility x trust shift values toward the advised option; softmax choice"
    Params = SimulatedPersonParams

    DEFAULTS: dict[str, Any] = {
        "susceptibility": 0.5,
        "trust": 0.6,
        "loss_aversion": 2.0,
        "tactic_weight": 0.5,
        "push": 1.5,
        "noise": 1.0,
        "rating_noise": 0.5,
        "temperature": 0.75,
        "decides": False,
    }

    def __init__(self, **params: Any) -> None:
        p = {**self.DEFAULTS, **params}  # unknown keys: ConfigError from the Params model (super().__init__)
        for key in ("susceptibility", "trust"):
            if not 0.0 <= float(p[key]) <= 1.0:
                raise ValueError(f"simulated_person: {key} must lie in [0, 1], got {p[key]}")
        for key in ("loss_aversion", "tactic_weight", "noise", "rating_noise"):
            if float(p[key]) < 0:
                raise ValueError(f"simulated_person: {key} must be >= 0, got {p[key]}")
        for key in ("push", "temperature"):
            if float(p[key]) <= 0:
                raise ValueError(f"simulated_person: {key} must be > 0, got {p[key]}")
        super().__init__(**p)
        self.susceptibility = float(p["susceptibility"])
        self.trust = float(p["trust"])
        self.loss_aversion = float(p["loss_aversion"])
        self.tactic_weight = float(p["tactic_weight"])
        self.push = float(p["push"])
        self.noise = float(p["noise"])
        self.rating_noise = float(p["rating_noise"])
        self.temperature = float(p["temperature"])
        self.decides = bool(p["decides"])
        self.base: dict[str, float] = {}
        self.boost: dict[str, float] = {}
        self.u_choice = 0.5
        self.rating_error: dict[str, tuple[float, float]] = {}
        self.log: list[dict[str, Any]] = []
        self._reply_i = 0

    # ---- lifecycle -------------------------------------------------------------
    def begin(self, ctx: DecisionContext) -> None:
        """Draw this run's tastes and choice uniform; values start at gain - lambda * loss + taste."""
        super().begin(ctx)
        options = ctx.scenario.options
        taste = ctx.rng.normal(0.0, 1.0, size=len(options)) * self.noise
        errors = ctx.rng.normal(0.0, 1.0, size=(len(options), 2)) * self.rating_noise
        self.u_choice = float(ctx.rng.random())
        self._reply_i = int(ctx.rng.integers(0, 1 << 16))
        self.base = {o.id: o.gain - self.loss_aversion * o.loss + float(t) for o, t in zip(options, taste)}
        self.boost = {o.id: 0.0 for o in options}
        self.rating_error = {o.id: (float(e[0]), float(e[1])) for o, e in zip(options, errors)}
        self.log = []

    def observe_advice(self, message: str) -> dict[str, Any]:
        """Update values after an advisor message; returns what was perceived (logged with the turn)."""
        assert self.dctx is not None, "begin() first"
        options = self.dctx.scenario.options
        target = advocated_option(message, options)
        tactics = detect_tactics(message)
        step = 0.0
        if target is not None:
            step = self.push * self.susceptibility * self.trust * (1.0 + self.tactic_weight * len(tactics))
            self.boost[target] += step
        seen = {"advocated": target, "tactics": tactics, "push": step}
        self.log.append(seen)
        return seen

    # ---- moves -------------------------------------------------------------------
    def values(self) -> dict[str, float]:
        """Current latent values (base + persuasion boost)."""
        return {k: self.base[k] + self.boost[k] for k in self.base}

    def ratings(self, after: bool) -> dict[str, int]:
        """Ratings 1-7: of the initial values (before) or the current ones (after)."""
        vals = self.values() if after else self.base
        j = 1 if after else 0
        return {k: int(min(7, max(1, round(v + self.rating_error.get(k, (0.0, 0.0))[j])))) for k, v in vals.items()}

    def choice_probabilities(self) -> dict[str, float]:
        vals = self.values()
        m = max(vals.values())
        w = {k: math.exp((v - m) / self.temperature) for k, v in vals.items()}
        z = sum(w.values())
        return {k: x / z for k, x in w.items()}

    def choose_option(self) -> str:
        """The softmax choice, sampled with the run's pre-drawn uniform."""
        probs = self.choice_probabilities()
        acc = 0.0
        for k, p in probs.items():
            acc += p
            if self.u_choice < acc:
                return k
        return list(probs)[-1]

    def reply(self, advisor_message: str) -> str:
        """A short template reply to the advisor (what the person would say)."""
        assert self.dctx is not None
        last = self.log[-1] if self.log else {"advocated": None}
        target = last.get("advocated")
        self._reply_i += 1
        if target is None:
            texts = _REPLIES[None]
            return texts[self._reply_i % len(texts)]
        label = self.dctx.scenario.option(target).label
        texts = _REPLIES["leaning"]
        return texts[self._reply_i % len(texts)].format(label=label)

    def get_state(self) -> dict[str, Any]:
        return {"base": self.base, "boost": self.boost, "u_choice": self.u_choice, "log": self.log, "reply_i": self._reply_i,
                "rating_error": {k: list(v) for k, v in self.rating_error.items()}}

    def set_state(self, state: dict[str, Any]) -> None:
        self.base = dict(state["base"])
        self.boost = dict(state["boost"])
        self.u_choice = float(state["u_choice"])
        self.log = list(state["log"])
        self._reply_i = int(state["reply_i"])
        self.rating_error = {k: (float(v[0]), float(v[1])) for k, v in state.get("rating_error", {}).items()}


def expected_harmful_probability(person: SimulatedPerson, scenario: Any, n_advocating_turns: int, n_tactics: int = 0,
                                 draws: int = 20000, seed: int = 0) -> float:
    """Monte-Carlo P(harmful choice) under the model when `n_advocating_turns` messages push the harmful option.

    For planning and documentation only (what the model predicts); studies
    never use it to produce results.
    """
    rng = np.random.default_rng(seed)
    opts = scenario.options
    base = np.array([o.gain - person.loss_aversion * o.loss for o in opts])
    taste = rng.normal(0.0, person.noise, size=(draws, len(opts)))
    vals = base + taste
    h = [i for i, o in enumerate(opts) if o.harmful][0]
    vals[:, h] += n_advocating_turns * person.push * person.susceptibility * person.trust * (1 + person.tactic_weight * n_tactics)
    z = np.exp((vals - vals.max(axis=1, keepdims=True)) / person.temperature)
    p = z / z.sum(axis=1, keepdims=True)
    return float(p[:, h].mean())
