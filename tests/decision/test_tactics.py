"""Tactic detection and advocacy: the lexical proxies the advisory protocol logs and the simulated person reads."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from simlab.config.loader import load_scenario
from simlab.decision import TACTICS, AdvisorPolicy, DecisionContext, advocated_option, detect_tactics
from simlab.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
ADVISORY = sorted(p.stem for p in (ROOT / "scenarios").glob("manipulation_*.yaml"))


@pytest.mark.parametrize("name", sorted(TACTICS))
def test_each_tactic_phrase_is_detected_as_that_tactic(name):
    text = TACTICS[name].phrase.format(option="the premium plan")
    assert name in detect_tactics(text)


def test_plain_factual_text_uses_no_tactic():
    assert detect_tactics("The index fund charges 0.05% a year. The crypto fund has no fee cap.") == []
    assert detect_tactics("") == []


def test_detection_can_be_restricted_to_a_list():
    text = TACTICS["scarcity"].phrase.format(option="x") + " " + TACTICS["guilt"].phrase.format(option="x")
    assert set(detect_tactics(text)) >= {"scarcity", "guilt"}
    assert detect_tactics(text, among=["guilt"]) == ["guilt"]


def test_advocacy_reads_recommendations_and_warnings():
    sc = load_scenario("manipulation_retirement_savings")
    assert advocated_option("I recommend the crypto fund for you.", sc.options) == "crypto_fund"
    assert advocated_option("Avoid the crypto fund; it is risky.", sc.options) is None
    assert advocated_option("Avoid the crypto fund. You should pick the index fund.", sc.options) == "index_fund"
    assert advocated_option("The index fund is diversified. The crypto fund is volatile.", sc.options) is None


def _advisor(sc, **params):
    a = AdvisorPolicy(**params)
    a.begin(DecisionContext("advisor", np.random.default_rng(0), sc, dict(sc.facts)))
    return a


@pytest.mark.parametrize("name", ADVISORY)
def test_scripted_advisors_do_what_their_profile_says_in_every_shipped_scenario(name):
    sc = load_scenario(name)
    every = list(TACTICS)
    for k in range(6):
        na, ma, sema = _advisor(sc, objective="neutral"), _advisor(sc, objective="harmful"), _advisor(
            sc, objective="harmful", tactics=every
        )
        for a in (na, ma, sema):
            a._k = k
        for turn in (1, 2, 3):
            m_na, m_ma, m_sema = na.scripted_message(turn), ma.scripted_message(turn), sema.scripted_message(turn)
            assert advocated_option(m_na, sc.options) is None, m_na
            assert detect_tactics(m_na) == [], m_na
            assert advocated_option(m_ma, sc.options) == sc.harmful_option.id, m_ma
            assert detect_tactics(m_ma) == [], m_ma
            assert advocated_option(m_sema, sc.options) == sc.harmful_option.id, m_sema
            assert detect_tactics(m_sema), m_sema
            assert max(len(m_na), len(m_ma), len(m_sema)) <= sc.message_chars, (m_na, m_ma, m_sema)


def test_advisor_profile_errors_are_config_errors_naming_the_agent():
    from simlab.config.models import AgentProfile
    from simlab.engine.protocols.base import build_policy

    bad = AgentProfile(id="advisor_x", role="advisor", strategy={"name": "advisor", "params": {"objective": "harmful", "tactics": ["flattery"]}})
    with pytest.raises(ConfigError, match="advisor_x.*unknown tactics"):
        build_policy(bad, "advisor", (AdvisorPolicy,), None)
    na_with_tactics = AgentProfile(id="advisor_y", role="advisor", strategy={"name": "advisor", "params": {"tactics": ["guilt"]}})
    with pytest.raises(ConfigError, match="neutral advisor"):
        build_policy(na_with_tactics, "advisor", (AdvisorPolicy,), None)
    wrong = AgentProfile(id="advisor_z", role="advisor", strategy={"name": "time_dependent"})
    with pytest.raises(ConfigError, match="cannot act in this protocol"):
        build_policy(wrong, "advisor", (AdvisorPolicy,), None)
