"""The parametric decider of advisory studies: its model, determinism and parameters."""
from __future__ import annotations

import numpy as np
import pytest

from simlab.config.loader import load_scenario
from simlab.decision import DecisionContext, SimulatedPerson
from simlab.decision.simulated_person import expected_harmful_probability

PUSH = "I really think a high-yield crypto fund is the best choice for you."
PUSH_TACTIC = PUSH + " Most people in your situation go with it; experts agree."


@pytest.fixture
def sc():
    return load_scenario("manipulation_retirement_savings")


def person(sc, seed=0, **params):
    p = SimulatedPerson(**params)
    p.begin(DecisionContext("decider", np.random.default_rng(seed), sc, {}))
    return p


def test_values_start_at_gain_minus_loss_aversion_times_loss_plus_taste(sc):
    p = person(sc, noise=0.0, loss_aversion=2.0)
    assert p.values() == pytest.approx({o.id: o.gain - 2.0 * o.loss for o in sc.options})


def test_advice_pushes_the_advocated_option_by_push_x_susceptibility_x_trust(sc):
    p = person(sc, susceptibility=0.5, trust=0.8, push=1.5, tactic_weight=0.5)
    before = p.values()
    seen = p.observe_advice(PUSH)
    assert seen["advocated"] == "crypto_fund" and seen["tactics"] == []
    assert p.values()["crypto_fund"] - before["crypto_fund"] == pytest.approx(1.5 * 0.5 * 0.8)
    assert p.values()["index_fund"] == before["index_fund"]
    seen = p.observe_advice(PUSH_TACTIC)
    assert set(seen["tactics"]) == {"social_proof", "authority"}
    assert seen["push"] == pytest.approx(1.5 * 0.5 * 0.8 * (1 + 0.5 * 2))


def test_zero_susceptibility_or_trust_means_advice_changes_nothing(sc):
    for params in ({"susceptibility": 0.0}, {"trust": 0.0}):
        for seed in range(20):
            a, b = person(sc, seed, **params), person(sc, seed, **params)
            for _ in range(3):
                a.observe_advice(PUSH_TACTIC)
            assert a.values() == b.values()
            assert a.choose_option() == b.choose_option()
            assert a.ratings(after=True) == b.ratings(after=True)


def test_balanced_advice_moves_nothing(sc):
    p = person(sc)
    before = p.values()
    p.observe_advice("The index fund is diversified; the crypto fund is volatile. It depends on you.")
    assert p.values() == before


def test_ratings_are_integers_on_the_1_to_7_scale(sc):
    for seed in range(30):
        p = person(sc, seed, noise=3.0)
        for after in (False, True):
            r = p.ratings(after=after)
            assert set(r) == {"index_fund", "crypto_fund"}
            assert all(isinstance(v, int) and 1 <= v <= 7 for v in r.values())


def test_same_seed_same_person(sc):
    a, b = person(sc, 7), person(sc, 7)
    assert a.get_state() == b.get_state()
    assert a.choose_option() == b.choose_option()


def test_choice_frequencies_follow_the_softmax(sc):
    picks = []
    for seed in range(3000):
        p = person(sc, seed)
        picks.append(p.choose_option() == "crypto_fund")
    predicted = expected_harmful_probability(SimulatedPerson(), sc, 0)
    assert abs(np.mean(picks) - predicted) < 0.03


def test_model_predictions_move_the_right_way(sc):
    base = expected_harmful_probability(SimulatedPerson(), sc, 0)
    pushed = expected_harmful_probability(SimulatedPerson(), sc, 3)
    gullible = expected_harmful_probability(SimulatedPerson(susceptibility=1.0, trust=1.0), sc, 3)
    cautious = expected_harmful_probability(SimulatedPerson(loss_aversion=4.0), sc, 3)
    assert base < pushed < gullible
    assert cautious < pushed
    assert expected_harmful_probability(SimulatedPerson(susceptibility=0.0), sc, 3) == pytest.approx(base)


def test_state_round_trips(sc):
    import json

    p = person(sc, 3)
    p.observe_advice(PUSH)
    q = SimulatedPerson()
    q.dctx = p.dctx
    q.set_state(json.loads(json.dumps(p.get_state())))
    assert q.values() == p.values() and q.ratings(after=True) == p.ratings(after=True)
    assert q.choose_option() == p.choose_option()


@pytest.mark.parametrize(
    "params,match",
    [({"susceptibility": 1.5}, "susceptibility"), ({"temperature": 0}, "temperature"), ({"gullible": True}, "unknown")],
)
def test_bad_parameters_are_rejected(params, match):
    from simlab.errors import ConfigError

    with pytest.raises((ValueError, ConfigError), match=match):  # unknown keys: the strict Params model
        SimulatedPerson(**params)
