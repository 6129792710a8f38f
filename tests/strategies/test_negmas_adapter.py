"""NegMAS negotiators as simlab strategies, checked against pure NegMAS runs of the same pair."""
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("negmas")
from negmas.sao import SAOMechanism  # noqa: E402

from simlab.config.models import AgentProfile, Scenario, StrategySpec  # noqa: E402
from simlab.engine.protocols.alternating import AlternatingOffers  # noqa: E402
from simlab.errors import ConfigError  # noqa: E402
from simlab.interop.genius import genius_to_scenario, read_genius_folder  # noqa: E402
from simlab.llm.scripted import ScriptedBackend  # noqa: E402
from simlab.strategies.negmas_adapter import OutcomeSpaceMap, negotiator_class  # noqa: E402
from simlab.strategies.params import validate_strategy_params  # noqa: E402
from simlab.strategies.utility import utility_of  # noqa: E402

LAPTOP = Path(__file__).parent.parent / "interop" / "data" / "laptop"


@pytest.fixture(scope="module")
def laptop():
    return Scenario.model_validate(genius_to_scenario(read_genius_folder(LAPTOP), deadline=10))


def profile(role, name, params):
    return AgentProfile(id=f"{role}-{name}", role=role, strategy=StrategySpec(name=name, params=params))


def simlab_run(scenario, params_a, params_b, seed=0):
    a, b = scenario.roles
    profiles = {a: profile(a, *params_a), b: profile(b, *params_b)}
    s = AlternatingOffers("n", scenario, profiles, np.random.default_rng(seed))
    backend = ScriptedBackend()
    while not s.done:
        s.apply(backend.generate([s.next_request()])[0])
    return s


def pure_negmas(scenario, cls_a, cls_b):
    """The same pair in NegMAS alone: same ufuns, one action per step, 2 x deadline steps."""
    a, b = scenario.roles
    spaces = {r: OutcomeSpaceMap(utility_of(scenario, r), 11) for r in (a, b)}
    mech = SAOMechanism(outcome_space=spaces[a].outcome_space, n_steps=2 * scenario.deadline, one_offer_per_step=True)
    for role, cls in ((a, cls_a), (b, cls_b)):
        mech.add(negotiator_class(cls)(name=role), ufun=spaces[role].ufun(utility_of(scenario, role).reservation))
    mech.run()
    st = mech.state
    return (spaces[a].to_offer(st.agreement) if st.agreement is not None else None), st


@pytest.mark.parametrize("pair", [("AspirationNegotiator", "NaiveTitForTatNegotiator"),
                                  ("BoulwareTBNegotiator", "ConcederTBNegotiator"),
                                  ("AspirationNegotiator", "AspirationNegotiator")])
def test_negmas_pair_inside_simlab_agrees_exactly_as_in_negmas(laptop, pair):
    s = simlab_run(laptop, ("negmas", {"negotiator": pair[0]}), ("negmas", {"negotiator": pair[1]}))
    agreement, st = pure_negmas(laptop, *pair)
    assert (s.outcome == "agreement") == (agreement is not None)
    assert s.agreement == agreement
    if agreement is not None:  # and at the same point in time: NegMAS counts one step per action
        assert len(s.turns) == st.step


def test_negmas_negotiator_meets_a_simlab_strategy(laptop):
    s = simlab_run(laptop, ("negmas", {"negotiator": "AspirationNegotiator"}), ("time_dependent", {"e": 2.0}))
    assert s.outcome == "agreement"
    a, b = laptop.roles
    for role in (a, b):  # neither side agrees below its no-deal value
        assert utility_of(laptop, role).undiscounted(s.agreement) >= laptop.utilities[role].reservation - 1e-9
    buyer_turns = [t for t in s.turns if t["role"] == a]
    assert all("AspirationNegotiator" in t["decision"]["rationale"] for t in buyer_turns)
    # reproducible from the spec
    again = simlab_run(laptop, ("negmas", {"negotiator": "AspirationNegotiator"}), ("time_dependent", {"e": 2.0}))
    assert [t["offer"] for t in again.turns] == [t["offer"] for t in s.turns]


def test_params_are_strict():
    with pytest.raises(ConfigError, match="negmas has no SAO negotiator 'Aspiration'"):
        validate_strategy_params("negmas", {"negotiator": "Aspiration"})
    with pytest.raises(ConfigError, match="unknown param 'negotiater'"):
        validate_strategy_params("negmas", {"negotiator": "AspirationNegotiator", "negotiater": "x"})
