import numpy as np
import pytest

from simlab.errors import ConfigError
from simlab.strategies.concession import time_dependent_target
from simlab.strategies.debtor import DebtorBehaviourStrategy


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
    with pytest.raises(ConfigError, match="behaviour must be one of"):
        DebtorBehaviourStrategy(behaviour="sneaky")
