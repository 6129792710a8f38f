"""`check_strategy` over every registered strategy, and on strategies that break the contract."""
from __future__ import annotations

import random
from typing import Any

import pytest

import simlab.strategies  # noqa: F401 - registers the engine owner's strategies
import simlab.strategies.bandit  # noqa: F401 - registration (also imported by simlab.strategies)
import simlab.strategies.coherence  # noqa: F401
import simlab.strategies.game_theory  # noqa: F401
import simlab.strategies.orchestrator  # noqa: F401
from simlab.emotion.labels import GOEMOTIONS28, PLUTCHIK8
from simlab.strategies.base import STRATEGIES, Decision, EmotionStrategy, Observation
from simlab.strategies.baselines import NoParams
from simlab.strategies.check import StrategyCheckError, check_strategy, param_sets

KNOWN_PARAMS: dict[str, list[dict[str, Any]]] = {
    # strategies without a check_params attribute that need parameters
    "debtor_behaviour": [{"behaviour": b} for b in ("cooperative", "cheating", "threatening", "victim")],
    "counterpart_behaviour": [{"behaviour": "victim"}],
}

CASES = [
    pytest.param(name, params, id=f"{name}-{i}")
    for name in STRATEGIES.names()
    for i, params in enumerate(
        param_sets(STRATEGIES.get(name)) if getattr(STRATEGIES.get(name), "check_params", None)
        else KNOWN_PARAMS.get(name, [{}])
    )
]

MINE = ["hmm_game_theory", "game_theoretic", "coherence", "thompson_bandit", "bayesian_orchestrator"]


def test_every_strategy_of_this_package_is_registered():
    assert set(MINE) <= set(STRATEGIES.names())


@pytest.mark.parametrize("name,params", CASES)
def test_registered_strategy_passes_check_strategy(name, params):
    check_strategy(STRATEGIES.get(name), params, seed=3)


@pytest.mark.parametrize("name", MINE)
@pytest.mark.parametrize("space", [PLUTCHIK8, GOEMOTIONS28], ids=["plutchik8", "goemotions28"])
def test_emotion_strategies_work_in_other_label_spaces(name, space):
    check_strategy(STRATEGIES.get(name), {}, seed=1, emotions=space, rounds=4)


class _Base(EmotionStrategy):
    Params = NoParams

    def choose(self, obs: Observation) -> Decision:
        return Decision(emotion="neutral")


class GlobalRandom(_Base):
    def choose(self, obs):
        return Decision(emotion=random.choice(["joy", "anger"]))


class OutOfRange(_Base):
    def choose(self, obs):
        return Decision(offer={"amount": 10.0, "months": 6.0})


class BadEmotion(_Base):
    def choose(self, obs):
        return Decision(emotion="smug")


class ForgetfulState(_Base):
    """Counts its turns but does not save the count."""

    def reset(self, ctx):
        super().reset(ctx)
        self.n = 0

    def choose(self, obs):
        self.n += 1
        return Decision(emotion="joy" if self.n % 2 else "anger")


class AcceptsNothing(_Base):
    def choose(self, obs):
        return Decision(action="accept")


@pytest.mark.parametrize(
    "cls,match",
    [
        (GlobalRandom, "same seed"),
        (OutOfRange, "outside its range"),
        (BadEmotion, "not in the label space"),
        (ForgetfulState, "does not reproduce"),
        (AcceptsNothing, "no counterpart offer"),
    ],
)
def test_check_strategy_catches_broken_contracts(cls, match):
    with pytest.raises(StrategyCheckError, match=match):
        check_strategy(cls)


class NoModel(EmotionStrategy):
    """No Params model: every key would be silently ignored."""

    Params = None

    def choose(self, obs):
        return Decision(emotion="neutral")


class LaxModel(_Base):
    from pydantic import BaseModel as _BM

    class Params(_BM):  # extra keys ignored (pydantic's default)
        e: float = 1.0


@pytest.mark.parametrize("cls,match", [(NoModel, "declares no pydantic `Params` model"), (LaxModel, "extra='forbid'")])
def test_check_strategy_requires_a_strict_params_model(cls, match):
    with pytest.raises(StrategyCheckError, match=match):
        check_strategy(cls)
