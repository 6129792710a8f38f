"""Strict strategy params (issue 10 item 4, issue 9 item 3): nothing in a config is silently ignored."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

import simlab.strategies  # noqa: F401 - fills the registry
from simlab.config.loader import load_agent, load_scenario, load_study
from simlab.config.models import AgentProfile
from simlab.emotion.labels import EKMAN7, PLUTCHIK8
from simlab.engine.protocols.alternating import AlternatingOffers
from simlab.errors import ConfigError
from simlab.strategies.base import STRATEGIES
from simlab.strategies.check import param_sets
from simlab.strategies.game_theory import DEFAULT_PAYOFFS, HMMGameTheoryStrategy
from simlab.strategies.params import validate_strategy_params
from simlab.sweep.expand import expand_study

NEEDS = {"debtor_behaviour": {"behaviour": "victim"}, "counterpart_behaviour": {"behaviour": "victim"}}


def _base_params(name: str) -> dict:
    cls = STRATEGIES.get(name)
    return dict(NEEDS.get(name) or (param_sets(cls)[0] if getattr(cls, "check_params", None) else {}))


@pytest.mark.parametrize("name", STRATEGIES.names())
def test_every_registered_strategy_refuses_an_unknown_param(name):
    params = {**_base_params(name), "reservaton": 0.9}
    with pytest.raises(ConfigError, match=rf"^strategy {name}: unknown param 'reservaton'"):
        validate_strategy_params(name, params)


def test_the_message_suggests_the_close_key_and_the_fix():
    with pytest.raises(ConfigError) as exc:
        validate_strategy_params("time_dependent", {"E": 0.2, "flor": 0.5})
    msg = str(exc.value)
    assert "\n" not in msg
    assert "unknown param" in msg and "did you mean 'floor'?" in msg or "did you mean 'e'?" in msg


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_numbers_are_refused(bad):
    with pytest.raises(ConfigError, match="strategy time_dependent: param 'e'.*finite"):
        validate_strategy_params("time_dependent", {"e": bad})
    with pytest.raises(ConfigError, match="payoffs.anger.hostile"):
        validate_strategy_params("hmm_game_theory", {"payoffs": {"anger": {
            "cooperative": 1.0, "distressed": 0.0, "hostile": bad, "deceptive": 0.0}}})


def test_out_of_range_values_are_refused():
    for name, params, key in [
        ("time_dependent", {"e": -1.0}, "e"),
        ("time_dependent", {"floor": 1.5}, "floor"),
        ("coherence", {"order": 3}, "order"),
        ("thompson_bandit", {"kind": "poisson"}, "kind"),
        ("debtor_behaviour", {"behaviour": "victim", "walk_probability": 2.0}, "walk_probability"),
    ]:
        with pytest.raises(ConfigError, match=rf"strategy {name}: param '{key}'"):
            validate_strategy_params(name, params)


def test_payoff_keys_in_another_capitalisation_are_mapped_not_zeroed():
    shouting = {e.capitalize(): {s.upper(): v for s, v in row.items()} for e, row in DEFAULT_PAYOFFS.items()}
    a = HMMGameTheoryStrategy(payoffs=shouting)
    b = HMMGameTheoryStrategy(payoffs=DEFAULT_PAYOFFS)
    assert a.payoffs == b.payoffs
    assert np.array_equal(a.matrix, b.matrix) and np.abs(a.matrix).sum() > 0


def test_unknown_payoff_names_and_incomplete_rows_are_refused():
    with pytest.raises(ConfigError, match="state in payoffs.anger 'hostle'.*did you mean 'hostile'"):
        validate_strategy_params("hmm_game_theory", {"payoffs": {"anger": {
            "cooperative": 1, "distressed": 0, "hostle": 0, "deceptive": 0}}})
    with pytest.raises(ConfigError, match="missing distressed"):
        validate_strategy_params("game_theoretic", {"payoffs": {"anger": {"cooperative": 1, "hostile": 0, "deceptive": 0}}})
    with pytest.raises(ConfigError, match="payoffs emotion 'smug' is not in the label space"):
        validate_strategy_params("hmm_game_theory", {"payoffs": {"smug": {
            "cooperative": 1, "distressed": 0, "hostile": 0, "deceptive": 0}}})
    with pytest.raises(ConfigError, match="state in state_factors 'friendly'"):
        validate_strategy_params("hmm_game_theory", {"state_factors": {"friendly": 1.0}})


def test_labels_are_checked_against_the_label_space_and_mapped():
    assert validate_strategy_params("fixed_emotion", {"emotion": "Anger"}, EKMAN7).emotion == "anger"
    assert validate_strategy_params("fixed_emotion", {"emotion": "trust"}, PLUTCHIK8).emotion == "trust"
    with pytest.raises(ConfigError, match="emotion 'trust' is not in the label space"):
        validate_strategy_params("fixed_emotion", {"emotion": "trust"}, EKMAN7)
    assert STRATEGIES.get("fixed_emotion")(emotion="JOY").params["emotion"] == "joy"


def test_an_extra_key_no_longer_gives_an_identical_run(debt_scenario):
    good = {"creditor": load_agent("boulware_creditor"), "debtor": load_agent("cooperative_debtor")}
    AlternatingOffers("r", debt_scenario, good, np.random.default_rng(0))
    bad = dict(good)
    bad["creditor"] = AgentProfile(id="c", role="creditor", strategy={"name": "time_dependent",
                                                                      "params": {"e": 0.2, "reservaton": 0.9}})
    with pytest.raises(ConfigError, match="strategy time_dependent: unknown param 'reservaton'"):
        AlternatingOffers("r", debt_scenario, bad, np.random.default_rng(0))
    # a label the run's space lacks is refused at run time as at validate time
    bad["creditor"] = AgentProfile(id="c", role="creditor", strategy={"name": "fixed_emotion",
                                                                      "params": {"emotion": "trust"}})
    with pytest.raises(ConfigError, match="'trust' is not in the label space"):
        AlternatingOffers("r", debt_scenario, bad, np.random.default_rng(0))


def _study(tmp_path: Path, agents_yaml: str, conditions: str = "") -> Path:
    (tmp_path / "agents").mkdir(exist_ok=True)
    for name, text in agents_yaml.items() if isinstance(agents_yaml, dict) else []:
        (tmp_path / "agents" / f"{name}.yaml").write_text(text)
    path = tmp_path / "study.yaml"
    path.write_text(
        "study: t\nscenarios: [debt_collection]\n"
        "agents: {creditor: [boulware_creditor], debtor: [odd_debtor]}\n"
        f"seeds: [1]\nbackend: {{kind: scripted}}\n{conditions}"
    )
    return path


def test_validate_refuses_an_undefined_behaviour(tmp_path):
    path = _study(tmp_path, {"odd_debtor": (
        "id: odd_debtor\nrole: debtor\nbehaviour: sneaky\n"
        "strategy: {name: debtor_behaviour, params: {behaviour: cheating}}\n")})
    with pytest.raises(ConfigError, match="behaviour 'sneaky' is not defined by the scenario.*cooperative"):
        expand_study(load_study(path), path)


def test_validate_refuses_bad_strategy_params_from_a_condition(tmp_path):
    path = _study(
        tmp_path,
        {"odd_debtor": "id: odd_debtor\nrole: debtor\nstrategy: {name: debtor_behaviour, params: {behaviour: victim}}\n"},
        "conditions:\n  fast: {strategy_params: {debtor: {e: -1}}}\n",
    )
    with pytest.raises(ConfigError, match="agent 'odd_debtor'.*strategy debtor_behaviour: param 'e'.*greater than 0"):
        expand_study(load_study(path), path)


def test_a_shipped_behaviour_strategy_in_another_case_is_mapped(tmp_path):
    path = _study(tmp_path, {"odd_debtor": (
        "id: odd_debtor\nrole: debtor\nbehaviour: victim\n"
        "strategy: {name: debtor_behaviour, params: {behaviour: Victim}}\n")})
    specs = expand_study(load_study(path), path)
    assert len(specs) == 1
    assert load_scenario("debt_collection").behaviours["victim"]


def test_an_hmm_with_its_own_states_needs_its_own_payoffs():
    from simlab.strategies.hmm_tracker import DEFAULT_HMM

    hmm = {**DEFAULT_HMM.to_dict(), "states": ["calm", "upset", "angry", "lying"]}
    with pytest.raises(ConfigError, match="states calm, upset, angry, lying have no default payoffs"):
        validate_strategy_params("hmm_game_theory", {"hmm": hmm})
    rows = {e: {"calm": 1.0, "upset": 0.0, "angry": 0.0, "lying": 0.0} for e in ("neutral", "anger")}
    assert validate_strategy_params("hmm_game_theory", {"hmm": hmm, "payoffs": rows}).payoffs == rows
