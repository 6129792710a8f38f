"""`SimulatedResponder`: a parametric vignette responder (strategy ``simulated_responder``).

The responder's judgements are draws from a model whose effects the
researcher sets, so a study's pipeline (prompts, parsing, storage, effect
sizes) can be checked against a known truth. It supplies the fallback
judgement of every vignette trial: the scripted backend returns it as the
reply, and an LLM's unparseable reply is flagged and stored with it (reports
count those and leave them out of the estimates).

Each trial has design features x (the arm's and item's ``features`` plus
``cot`` / ``utilitarian_cot`` indicators of its prompting). A coefficient key
may be a product such as ``"identified*cot"`` (an interaction).

**Amounts** (``judgement.kind: amount`` on [min, max]): on the unit scale
``y = base + sum_k coef_k x_k + sd * z``, ``z ~ Normal(0, 1)``, clipped to
[0, 1] and mapped to ``min + y (max - min)`` (rounded for integer
judgements). Between two arms differing by 1 in feature k the planted
standardised effect is Cohen's ``d = coef_k / sd`` (before clipping; keep
``base`` well inside [0, 1] so clipping is rare).

**Yes/no** (``judgement.kind: yes_no``): ``P(yes) = sigmoid(eta)``. Without a
rule-correct answer ``eta = logit(p_yes) + sum_k logit_coef_k x_k``. For an
item with ``expected`` answer, ``eta = s_e logit(accuracy) + s_p sum_k
logit_coef_k x_k`` where ``s_e`` is +1 when the expected answer is yes, -1
otherwise, and ``s_p`` is +1 when the item's ``pull`` (the answer an emotional
framing appeals to) is yes, -1 when it is no. So ``logit_coef: {emotional: g}``
moves answers toward what the framing appeals to; g = 0 is a perfectly robust
decider (planted Cohen's h = 0).

Parameters: base (0.4), sd (0.15), coef ({}), p_yes (0.5), accuracy (0.85),
logit_coef ({}). Every draw uses the generator the session gives it for that
trial, so results depend only on the run's seed.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from simlab.decision.policies import DecisionPolicy
from pydantic import Field

from simlab.strategies.base import STRATEGIES
from simlab.strategies.params import StrategyParams


def _logit(p: float) -> float:
    return math.log(p / (1.0 - p))


def linear_term(coef: dict[str, float], features: dict[str, float]) -> float:
    """sum_k coef_k * prod(features of k's factors); missing features count as 0."""
    total = 0.0
    for key, c in coef.items():
        prod = 1.0
        for factor in key.split("*"):
            prod *= float(features.get(factor.strip(), 0.0))
        total += float(c) * prod
    return total


class SimulatedResponderParams(StrategyParams):
    """Params of ``simulated_responder`` (see the module docstring)."""

    base: float = 0.4
    sd: float = Field(0.15, gt=0.0)
    coef: dict[str, float] = Field(default_factory=dict)
    p_yes: float = Field(0.5, gt=0.0, lt=1.0)
    accuracy: float = Field(0.85, gt=0.0, lt=1.0)
    logit_coef: dict[str, float] = Field(default_factory=dict)


@STRATEGIES.register("simulated_responder")
class SimulatedResponder(DecisionPolicy):
    """Parametric vignette responder (see the module docstring)."""

    name = "simulated_responder"
    description = "parametric vignette responder: amount ~ Normal(base + coef.x, sd); P(yes) logistic in the features"
    Params = SimulatedResponderParams

    DEFAULTS: dict[str, Any] = {"base": 0.4, "sd": 0.15, "coef": {}, "p_yes": 0.5, "accuracy": 0.85, "logit_coef": {}}

    def __init__(self, **params: Any) -> None:
        p = {**self.DEFAULTS, **params}  # unknown keys: ConfigError from the Params model (super().__init__)
        if float(p["sd"]) <= 0:
            raise ValueError("simulated_responder: sd must be > 0")
        for key in ("p_yes", "accuracy"):
            if not 0.0 < float(p[key]) < 1.0:
                raise ValueError(f"simulated_responder: {key} must lie in (0, 1)")
        super().__init__(**p)
        self.base = float(p["base"])
        self.sd = float(p["sd"])
        self.coef = {str(k): float(v) for k, v in dict(p["coef"]).items()}
        self.p_yes = float(p["p_yes"])
        self.accuracy = float(p["accuracy"])
        self.logit_coef = {str(k): float(v) for k, v in dict(p["logit_coef"]).items()}

    def planted_d(self, feature: str) -> float:
        """The planted Cohen's d of a one-unit change in `feature` (amounts, before clipping)."""
        return self.coef.get(feature, 0.0) / self.sd

    def p_yes_of(self, features: dict[str, float], expected: str | None = None, pull: str | None = None) -> float:
        """The model's P(yes) for a trial."""
        shift = linear_term(self.logit_coef, features)
        if expected is None:
            eta = _logit(self.p_yes) + shift
        else:
            s_e = 1.0 if expected == "yes" else -1.0
            s_p = -1.0 if pull == "no" else 1.0
            eta = s_e * _logit(self.accuracy) + s_p * shift
        return 1.0 / (1.0 + math.exp(-eta))

    def judge(self, judgement: Any, features: dict[str, float], rng: np.random.Generator,
              expected: str | None = None, pull: str | None = None) -> dict[str, Any]:
        """One judgement as the reply object the trial's schema asks for (``amount`` or ``decision``)."""
        if judgement.kind == "amount":
            y = self.base + linear_term(self.coef, features) + self.sd * float(rng.standard_normal())
            y = min(1.0, max(0.0, y))
            value = judgement.min + y * (judgement.max - judgement.min)
            value = int(round(value)) if judgement.integer else round(value, 2)
            return {"amount": value}
        p = self.p_yes_of(features, expected, pull)
        return {"decision": "yes" if float(rng.random()) < p else "no"}
