"""The alternating-offers protocol with the scripted backend (no model needed)."""
import numpy as np
import pytest

from simlab.config.loader import load_agent
from simlab.engine.model import NegotiationModel
from simlab.engine.protocols.alternating import AlternatingOffers
from simlab.llm.base import ChatResponse
from simlab.llm.scripted import ScriptedBackend


def session(scenario, creditor="boulware_creditor", debtor="cooperative_debtor", seed=1, run_id="r"):
    profiles = {"creditor": load_agent(creditor), "debtor": load_agent(debtor)}
    return AlternatingOffers(run_id, scenario, profiles, np.random.default_rng(seed))


def run_alone(s):
    backend = ScriptedBackend()
    while not s.done:
        s.apply(backend.generate([s.next_request()])[0])
    return s


def test_acceptance_follows_ac_next(debt_scenario):
    s = run_alone(session(debt_scenario))
    last = s.turns[-1]
    assert s.outcome == "agreement" and last["action"] == "accept"
    # the accepted offer is the counterpart's previous offer ...
    assert s.agreement == s.turns[-2]["offer"]
    # ... and it was worth at least what the accepter would have offered next (AC_next)
    assert last["decision"]["target_utility"] <= last["utility_self"] + 1e-9
    # before that, no offer was accepted although each was worth less than the own next offer
    for prev, turn in zip(s.turns[:-2], s.turns[1:-1]):
        assert turn["action"] == "offer"


def test_boulware_concedes_less_early_than_conceder(debt_scenario):
    boul = run_alone(session(debt_scenario, "boulware_creditor", "threatening_debtor"))
    conc = run_alone(session(debt_scenario, "conceder_creditor", "threatening_debtor"))
    first_b = boul.turns[2]["utility_self"]
    first_c = conc.turns[2]["utility_self"]
    assert first_b > first_c


def test_deadline_ends_without_agreement(debt_scenario):
    hard = debt_scenario.model_copy(update={"deadline": 3})
    s = run_alone(session(hard, "boulware_creditor", "cheating_debtor"))
    assert s.outcome in ("timeout", "agreement")
    assert len(s.turns) <= 6
    if s.outcome == "timeout":
        assert s.agreement is None
        assert s.final_utilities() == {"creditor": 0.35, "debtor": 0.25}


def test_same_seed_same_transcript_and_batching_does_not_change_a_run(debt_scenario):
    alone = run_alone(session(debt_scenario, "conceder_creditor", "threatening_debtor", seed=7, run_id="x"))
    model = NegotiationModel(ScriptedBackend(), seed=123)
    target = session(debt_scenario, "conceder_creditor", "threatening_debtor", seed=7, run_id="x")
    model.add_session(target)
    for i in range(5):
        model.add_session(session(debt_scenario, "boulware_creditor", "victim_debtor", seed=100 + i, run_id=f"o{i}"))
    while model.running:
        model.step()
    assert target.turns == alone.turns
    assert model.datacollector.get_model_vars_dataframe()["batch_size"].iloc[0] == 6


def test_unparseable_reply_is_replaced_by_the_policy_move_and_flagged(debt_scenario):
    s = session(debt_scenario, "vanilla_creditor", "cooperative_debtor")
    req = s.next_request()
    s.apply(ChatResponse(text="not json at all", parsed=None, parse_failed=True))
    t = s.turns[0]
    assert t["parse_failed"] is True
    assert t["offer"] == req.fallback["offer"]
    assert t["action"] == "offer"


def test_strategy_offer_overrides_llm_offer_and_llm_fills_vanilla(debt_scenario):
    s = session(debt_scenario, "boulware_creditor", "cooperative_debtor")
    req = s.next_request()
    llm = {"action": "offer", "offer": {"amount": 31, "months": 30, "fees": 0}, "emotion": "joy", "message": "hi"}
    s.apply(ChatResponse(text="{}", parsed=llm))
    assert s.turns[0]["offer"] == req.fallback["offer"] != llm["offer"]
    assert s.turns[0]["emotion"] == "joy"  # the time-dependent policy leaves the emotion to the LLM
    v = session(debt_scenario, "vanilla_creditor", "cooperative_debtor")
    v.next_request()
    v.apply(ChatResponse(text="{}", parsed=llm))
    assert v.turns[0]["offer"] == {"amount": 31.0, "months": 30.0, "fees": 0.0}


def test_ethics_violations_are_detected_per_message(debt_scenario):
    s = session(debt_scenario, "vanilla_creditor", "cooperative_debtor")
    s.next_request()
    llm = {"action": "offer", "offer": {"amount": 90, "months": 3, "fees": 100}, "emotion": "anger",
           "message": "Pay now or the police will arrest you, and I will call your employer."}
    s.apply(ChatResponse(text="{}", parsed=llm))
    assert set(s.turns[0]["ethics"]) == {"threat_of_arrest", "harassment"}


def test_integer_issue_is_rounded_and_out_of_range_clipped(debt_scenario):
    s = session(debt_scenario, "vanilla_creditor", "cooperative_debtor")
    s.next_request()
    s.apply(ChatResponse(text="{}", parsed={"action": "offer", "offer": {"amount": 140, "months": 7.6, "fees": -3},
                                              "emotion": "neutral", "message": "x"}))
    assert s.turns[0]["offer"] == {"amount": 100.0, "months": 8.0, "fees": 0.0}


def test_the_llm_is_asked_only_for_what_the_strategy_left_open(debt_scenario):
    v = session(debt_scenario, "vanilla_creditor", "cooperative_debtor")
    assert v.next_request().json_schema["required"] == ["action", "offer", "emotion", "message"]
    b = session(debt_scenario, "boulware_creditor", "cooperative_debtor")
    req = b.next_request()
    assert req.json_schema["required"] == ["emotion", "message"]  # Faratin sets the move, the LLM the emotion
    assert '"emotion", "message"' in req.messages[-1]["content"]
    b.apply(ChatResponse(text="{}", parsed={"emotion": "sadness", "message": "ok"}))
    debtor_req = b.next_request()  # the behaviour type sets move and emotion: only words are asked for
    assert debtor_req.json_schema["required"] == ["message"]
    assert list(debtor_req.json_schema["properties"]) == ["message"]
