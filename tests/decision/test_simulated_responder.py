"""The parametric vignette responder: its model recovers what is planted in it."""
from __future__ import annotations

import math

import numpy as np
import pytest

from simlab.decision.decision_models import JudgementSpec
from simlab.decision.simulated_responder import SimulatedResponder, linear_term
from simlab.stats import cohens_d, cohens_h, h_from_proportions

AMOUNT = JudgementSpec(kind="amount", prompt="How much?", min=0, max=100)
YES_NO = JudgementSpec(kind="yes_no", prompt="Yes or no?")


def test_linear_term_handles_interactions_and_missing_features():
    coef = {"identified": 0.1, "identified*cot": 0.05, "absent": 9.0}
    assert linear_term(coef, {"identified": 1, "cot": 1}) == pytest.approx(0.15)
    assert linear_term(coef, {"identified": 1, "cot": 0}) == pytest.approx(0.1)
    assert linear_term(coef, {}) == 0.0


def test_amounts_recover_the_planted_d():
    r = SimulatedResponder(base=0.4, sd=0.15, coef={"identified": 0.075})
    assert r.planted_d("identified") == pytest.approx(0.5)
    rng = np.random.default_rng(1)
    a = [r.judge(AMOUNT, {"identified": 1}, rng)["amount"] for _ in range(3000)]
    b = [r.judge(AMOUNT, {"identified": 0}, rng)["amount"] for _ in range(3000)]
    d = cohens_d(a, b)
    assert d.covers(0.5)
    assert all(0 <= v <= 100 for v in a + b)


def test_integer_amounts_are_ints_so_they_satisfy_an_integer_schema():
    r = SimulatedResponder()
    v = r.judge(JudgementSpec(kind="amount", prompt="?", min=0, max=10, integer=True), {}, np.random.default_rng(0))["amount"]
    assert isinstance(v, int)


def test_yes_no_follows_the_logistic_model():
    r = SimulatedResponder(p_yes=0.3, logit_coef={"identified": 1.0})
    assert r.p_yes_of({"identified": 0}) == pytest.approx(0.3)
    expected = 1 / (1 + math.exp(-(math.log(0.3 / 0.7) + 1.0)))
    assert r.p_yes_of({"identified": 1}) == pytest.approx(expected)
    rng = np.random.default_rng(2)
    ys = [r.judge(YES_NO, {"identified": 1}, rng)["decision"] == "yes" for _ in range(4000)]
    assert abs(np.mean(ys) - expected) < 0.03


def test_rule_items_answer_correctly_at_the_accuracy_and_framing_pulls_toward_its_answer():
    robust = SimulatedResponder(accuracy=0.9)
    assert robust.p_yes_of({"emotional": 1}, expected="no", pull="yes") == pytest.approx(0.1)
    assert robust.p_yes_of({"emotional": 1}, expected="yes", pull="no") == pytest.approx(0.9)
    swayed = SimulatedResponder(accuracy=0.9, logit_coef={"emotional": 1.5})
    assert swayed.p_yes_of({"emotional": 1}, expected="no", pull="yes") > 0.1
    assert swayed.p_yes_of({"emotional": 1}, expected="yes", pull="no") < 0.9
    # the planted h of 'answers toward the pull', emotional vs neutral, is recovered
    p_e = swayed.p_yes_of({"emotional": 1}, expected="no", pull="yes")
    rng = np.random.default_rng(3)
    e = sum(swayed.judge(YES_NO, {"emotional": 1}, rng, "no", "yes")["decision"] == "yes" for _ in range(2000))
    n = sum(swayed.judge(YES_NO, {"emotional": 0}, rng, "no", "yes")["decision"] == "yes" for _ in range(2000))
    assert cohens_h(e, 2000, n, 2000).covers(h_from_proportions(p_e, 0.1))


@pytest.mark.parametrize("params", [{"sd": 0}, {"accuracy": 1.0}, {"p_yes": 0}, {"mean": 3}])
def test_bad_parameters_are_rejected(params):
    from simlab.errors import ConfigError

    with pytest.raises((ValueError, ConfigError)):  # unknown keys: the strict Params model
        SimulatedResponder(**params)
