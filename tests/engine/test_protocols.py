"""The protocol registry: every entry imports, shares `SessionBase`, and agrees with `SCENARIO_MODELS`."""
import pytest

from simlab.engine.protocols import PROTOCOLS
from simlab.engine.protocols.base import SessionBase
from simlab.registry import SCENARIO_MODELS


def test_protocol_and_scenario_model_registries_name_the_same_protocols():
    assert PROTOCOLS.names() == SCENARIO_MODELS.names()
    assert {"alternating_offers", "advisory", "vignette"} <= set(PROTOCOLS.names())


@pytest.mark.parametrize("name", PROTOCOLS.names())
def test_every_protocol_imports_and_names_its_registered_scenario_model(name):
    cls = PROTOCOLS.get(name)
    assert issubclass(cls, SessionBase)
    assert cls.scenario_model is SCENARIO_MODELS.get(name)
    for method in ("from_spec", "speaker", "next_request", "apply", "fail", "run_fields", "turn_rows"):
        assert callable(getattr(cls, method)), method
