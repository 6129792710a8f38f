"""The EmoMAS benchmarks as their authors ran them: cases, ranges, settlement, collection rate, message rounds.

Known answers are computed here from the published rules
(/work/shared/reference/published_systems.md), not from the implementation.
"""
from __future__ import annotations

import csv
import importlib.util

import numpy as np
import pytest

from simlab.config.loader import load_scenario, load_study
from simlab.config.models import AgentProfile, Scenario
from simlab.engine.protocols.alternating import AlternatingOffers
from simlab.llm.base import ChatResponse
from simlab.sweep.expand import expand_study

DOMAINS = {"emomas_debt": "creditor", "emomas_surgery": "provider", "emomas_disaster": "rescuer", "emomas_sleep": "robot"}


def test_the_case_files_are_what_the_generator_makes(root, tmp_path):
    spec = importlib.util.spec_from_file_location("make_emomas_cases", root / "scenarios" / "cases" / "make_emomas_cases.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    for path in mod.main(tmp_path):
        committed = root / "scenarios" / "cases" / path.name
        assert path.read_text() == committed.read_text(), f"{path.name} differs: rerun make_emomas_cases.py"
        assert len(list(csv.DictReader(committed.open()))) == 100


def _study(tmp_path, scenario, count=100):
    p = tmp_path / "experiments" / "study.yaml"
    p.parent.mkdir(exist_ok=True)
    p.write_text(f"study: s\nscenarios: [{scenario}]\nagents: {{lead: [lead_eq_negotiator], counterpart: [counterpart_llm]}}\n"
                 f"seeds: {{start: 0, count: {count}}}\nbackend: {{kind: scripted}}\n")
    return p


@pytest.mark.parametrize("scenario", list(DOMAINS))
def test_every_case_of_every_domain_applies(tmp_path, scenario):
    p = _study(tmp_path, scenario)
    specs = expand_study(load_study(p), p)
    assert len(specs) == 100
    assert len({s.scenario["facts"]["case_id"] for s in specs}) == 100
    for s in specs:
        assert not (s.scenario.get("case_bank") or {}).get("error"), s.scenario["case_bank"]["error"]


def test_debt_ranges_and_targets_per_case(tmp_path, root):
    rows = list(csv.DictReader((root / "scenarios" / "cases" / "emomas_debt.csv").open()))
    p = _study(tmp_path, "emomas_debt")
    specs = expand_study(load_study(p), p)
    for seed in (0, 17, 99):
        row, sc = rows[seed], specs[seed].scenario
        tc, td = int(row["creditor_target_days"]), int(row["debtor_target_days"])
        assert sc["utilities"]["creditor"]["ranges"]["days"] == (max(1, tc - 10), tc + 30)
        assert sc["utilities"]["debtor"]["ranges"]["days"] == (max(1, td - 30), td + 60)
        assert sc["utilities"]["creditor"]["target"]["days"] == tc
        assert sc["facts"]["debtor_name"] == row["debtor_name"]
        assert sc["deadline"] == 30 and sc["protocol_options"] == {"agreement": "emomas_mean_within_5", "rounds": "messages"}


def _profiles(sc: Scenario) -> dict[str, AgentProfile]:
    return {r: AgentProfile(id=f"llm_{r}", role=r, strategy={"name": "vanilla"}) for r in sc.roles}


def _debt(tc=10, td=40, **over) -> Scenario:
    data = load_scenario("emomas_debt").model_dump()
    data.pop("case_bank")
    data["utilities"]["creditor"].update(target={"days": tc}, ranges={"days": (max(1, tc - 10), tc + 30)})
    data["utilities"]["debtor"].update(target={"days": td}, ranges={"days": (max(1, td - 30), td + 60)})
    data.update(over)
    return Scenario.model_validate(data)


def play(sc: Scenario, moves: list[tuple[str, int | None]]) -> AlternatingOffers:
    """Drive a session with the LLM's replies: ("offer", days) or ("accept", None)."""
    s = AlternatingOffers("emomas", sc, _profiles(sc), np.random.default_rng(0), detector=None)
    for action, days in moves:
        if s.done:
            break
        s.next_request()
        reply = {"action": action, "offer": {"days": days if days is not None else 1}, "emotion": "neutral",
                 "message": "ok"}
        s.apply(ChatResponse(text="", parsed=reply))
    return s


@pytest.mark.parametrize("moves,final", [
    # creditor 12, debtor 15, creditor accepts: |12 - 15| = 3 <= 5 -> round(13.5) = 14 (Python rounds half to even)
    ([("offer", 12), ("offer", 15), ("accept", None)], 14),
    # creditor 12, debtor 17 (gap exactly 5): mean 14.5 -> 14
    ([("offer", 12), ("offer", 17), ("accept", None)], 14),
    # creditor 12, debtor 18 (gap 6): the creditor's last offer, 12
    ([("offer", 12), ("offer", 18), ("accept", None)], 12),
    # the debtor accepts the creditor's 20 after offering 23: mean 21.5 -> 22
    ([("offer", 10), ("offer", 30), ("offer", 20), ("offer", 23), ("offer", 20), ("accept", None)], 22),
])
def test_emomas_settlement_rule(moves, final):
    s = play(_debt(), moves)
    assert s.outcome == "agreement"
    assert s.agreement == {"days": float(final)}


@pytest.mark.parametrize("final,rate", [(14, 10 / 14), (20, 0.5), (8, 1.0), (10, 1.0)])
def test_collection_rate_is_min_one_target_over_final_days(final, rate):
    # t_c = 10; the creditor offers `final`, the debtor accepts -> settles at `final` (gap 0)
    s = play(_debt(tc=10), [("offer", final), ("accept", None)])
    m = s.metrics()["custom"]
    assert s.agreement == {"days": float(final)}
    assert m["collection_rate"] == pytest.approx(rate)
    assert m["success"] == 1.0


def test_rounds_are_messages_and_thirty_messages_end_without_agreement():
    s = play(_debt(), [("offer", 5 + i % 2 * 50) for i in range(40)])
    assert s.outcome == "timeout" and len(s.turns) == 30
    assert s.rounds == 30 and s.run_fields()["rounds"] == 30
    assert [t["round"] for t in s.turns[:4]] == [1, 2, 3, 4]
    m = s.metrics()["custom"]
    assert m["collection_rate"] == 0.0 and m["success"] == 0.0


def test_offers_stay_in_each_roles_own_range():
    # t_c = 10: creditor range [1, 40]; t_d = 40: debtor range [10, 100]
    s = play(_debt(tc=10, td=40), [("offer", 200), ("offer", 2), ("offer", 0)])
    assert [t["offer"]["days"] for t in s.turns] == [40.0, 10.0, 1.0]


def test_pairs_and_last_offer_stay_the_default(debt_scenario):
    assert debt_scenario.protocol_options.agreement == "last_offer"
    assert debt_scenario.protocol_options.rounds == "pairs"
    s = play(_debt(protocol_options={"agreement": "last_offer", "rounds": "pairs"}),
             [("offer", 12), ("offer", 15), ("accept", None)])
    assert s.agreement == {"days": 15.0} and s.rounds == 2
