import numpy as np
import pytest

from simlab.errors import ConfigError
from simlab.strategies.concession import time_dependent_target
from simlab.strategies.debtor import DebtorBehaviourStrategy
from simlab.strategies.utility import utility_of


@pytest.mark.parametrize("e", [0.2, 1.0, 5.0])
def test_faratin_target_endpoints_and_closed_form(e):
    assert time_dependent_target(0.0, e, 0.3) == pytest.approx(1.0)
    assert time_dependent_target(1.0, e, 0.3) == pytest.approx(0.3)
    t = 0.4
    assert time_dependent_target(t, e, 0.3) == pytest.approx(0.3 + 0.7 * (1 - t ** (1 / e)))


def test_boulware_stays_above_linear_above_conceder():
    for t in np.linspace(0.05, 0.95, 10):
        b, l, c = (time_dependent_target(t, e, 0.0) for e in (0.2, 1.0, 5.0))
        assert b > l > c


def test_unknown_debtor_behaviour_is_a_config_error():
    with pytest.raises(ConfigError, match="unknown behaviour 'sneaky'.*cooperative, cheating, threatening, victim"):
        DebtorBehaviourStrategy(behaviour="sneaky")


def test_debtor_behaviour_is_matched_case_insensitively():
    assert DebtorBehaviourStrategy(behaviour="Cheating").behaviour == "cheating"


def _debtor(behaviour, **kw):
    from simlab.config.loader import load_scenario
    from simlab.strategies.base import Feedback, Observation, StrategyContext

    sc = load_scenario("debt_collection")
    s = DebtorBehaviourStrategy(behaviour=behaviour, **kw)
    s.reset(StrategyContext("debtor", "creditor", utility_of(sc, "debtor"), sc.deadline, np.random.default_rng(0), sc.issue_ranges()))
    return s, Feedback, Observation


@pytest.mark.parametrize("behaviour, emotion, faster", [("cooperative", "sadness", True), ("threatening", "anger", False), ("cooperative", "joy", False)])
def test_counterpart_concession_responds_to_the_shown_emotion(behaviour, emotion, faster):
    obs_args = dict(round=5, time=0.4, own_last_offer=None, their_last_offer=None, their_last_emotion=None,
                    their_last_message=None, their_offer_utility=None, history=[])
    base, Feedback, Observation = _debtor(behaviour)
    moved, _, _ = _debtor(behaviour)
    for _ in range(3):
        moved.update(Feedback(kind="turn", round=1, their_emotion=emotion))
    u_base = base.choose(Observation(**obs_args)).info["target_utility"]
    u_moved = moved.choose(Observation(**obs_args)).info["target_utility"]
    assert (u_moved < u_base) if faster else (u_moved > u_base)
    still, _, _ = _debtor(behaviour, responsive=False)
    still.update(Feedback(kind="turn", round=1, their_emotion=emotion))
    assert still.choose(Observation(**obs_args)).info["target_utility"] == pytest.approx(u_base)
