"""LLM counterparts: profiles whose offers the LLM decides, under a behaviour or an emotion-profile persona."""
from __future__ import annotations

import numpy as np
import pytest

from simlab.config.loader import load_agent, load_scenario, load_study
from simlab.engine.protocols.alternating import AlternatingOffers
from simlab.llm.base import ChatResponse
from simlab.sweep.expand import expand_study

BEHAVIOURS = ["cooperative", "cheating", "threatening", "victim"]
EMOTIONS = {"happy": "joy", "angry": "anger", "sad": "sadness", "fearful": "fear", "surprised": "surprise",
            "disgusted": "disgust"}
ALL = ["counterpart_llm"] + [f"counterpart_llm_{b}" for b in BEHAVIOURS] + [f"counterpart_llm_{e}" for e in EMOTIONS]


def _session(counterpart: str, lead: str = "lead_vanilla"):
    sc = load_scenario("debt_collection")
    lead_p, cp = load_agent(lead), load_agent(counterpart)
    profiles = {"creditor": lead_p.model_copy(update={"role": "creditor"}), "debtor": cp.model_copy(update={"role": "debtor"})}
    return AlternatingOffers("llm", sc, profiles, np.random.default_rng(0), detector=None)


@pytest.mark.parametrize("name", ALL)
def test_the_llm_decides_the_counterparts_offer(name):
    s = _session(name)
    s.next_request()  # the creditor (vanilla): everything left to the LLM
    s.apply(ChatResponse(text="", parsed={"action": "offer", "offer": {"amount": 90, "months": 6, "fees": 80},
                                          "emotion": "neutral", "message": "Pay 90% over six months."}))
    req = s.next_request()  # the LLM counterpart
    props = req.json_schema["properties"]
    assert "offer" in props and "action" in props  # the offer and the move are the LLM's to choose
    if name.removeprefix("counterpart_llm_") in EMOTIONS:
        assert "emotion" not in props  # the emotion profile fixes the emotion; the LLM words it
    if name.removeprefix("counterpart_llm_") in BEHAVIOURS:
        behaviour = load_scenario("debt_collection").behaviours[name.removeprefix("counterpart_llm_")]
        assert behaviour.instructions.split("{")[0][:30] in req.messages[0]["content"]
    s.apply(ChatResponse(text="", parsed={"action": "offer", "offer": {"amount": 55, "months": 30, "fees": 10},
                                          "emotion": "sadness", "message": "I can do 55% over 30 months."}))
    turn = s.turns[-1]
    assert turn["offer"] == {"amount": 55.0, "months": 30.0, "fees": 10.0}  # exactly the LLM's offer
    expected = EMOTIONS.get(name.removeprefix("counterpart_llm_"), "sadness")
    assert turn["emotion"] == expected


def test_quickstart_has_one_llm_against_llm_cell(root):
    p = root / "experiments" / "debt_quickstart.yaml"
    specs = expand_study(load_study(p), p)
    assert len(specs) == 13 * 3
    llm_cells = {s.condition for s in specs if s.profiles["debtor"]["id"] == "llm_debtor"}
    assert llm_cells == {"vanilla_creditor vs llm_debtor"}
    both = [s for s in specs if s.condition in llm_cells][0]
    assert both.profiles["creditor"]["strategy"]["name"] == "vanilla" and both.profiles["debtor"]["strategy"]["name"] == "vanilla"


def test_exclude_names_only_listed_profiles(tmp_path):
    from simlab.errors import ConfigError

    p = tmp_path / "s.yaml"
    p.write_text("study: s\nscenarios: [debt_collection]\nagents: {creditor: [vanilla_creditor], debtor: [llm_debtor]}\n"
                 "exclude: [{debtor: cooperative_debtor}]\nseeds: [1]\n")
    with pytest.raises(ConfigError, match="not listed under agents.debtor"):
        load_study(p)
