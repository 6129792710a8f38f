"""Every entry of every registry imports (STYLE 5: a lazy entry that points nowhere fails here, not in a user's run)."""
import pytest

from simlab.emotion.detectors import DETECTORS
from simlab.engine.protocols import PROTOCOLS
from simlab.llm.base import BACKENDS
from simlab.registry import SCENARIO_MODELS
from simlab.strategies import STRATEGIES
from simlab.strategies.base import EmotionStrategy

REGISTRIES = {"strategy": STRATEGIES, "backend": BACKENDS, "detector": DETECTORS, "protocol": PROTOCOLS,
              "scenario_model": SCENARIO_MODELS}
ENTRIES = [(kind, name) for kind, reg in REGISTRIES.items() for name in reg.names()]


@pytest.mark.parametrize("kind,name", ENTRIES, ids=[f"{k}:{n}" for k, n in ENTRIES])
def test_every_registry_entry_imports_to_a_class(kind, name):
    entry = REGISTRIES[kind].get(name)
    assert isinstance(entry, type), f"{kind} '{name}' resolves to {entry!r}, not a class"


@pytest.mark.parametrize("name", STRATEGIES.names())
def test_every_strategy_entry_is_an_emotion_strategy(name):
    assert issubclass(STRATEGIES.get(name), EmotionStrategy)
