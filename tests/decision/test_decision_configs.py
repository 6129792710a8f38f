"""The shipped decision scenarios, agents and studies: they load, cover what the studies need, and run."""
from __future__ import annotations

from pathlib import Path

import pytest

from simlab.config.loader import load_agent, load_scenario, load_study, parse, read_yaml
from simlab.decision import AdvisoryScenario, VignetteScenario
from simlab.errors import ConfigError
from simlab.stats.references import REFERENCES
from simlab.sweep.execute import make_session
from simlab.sweep.expand import expand_study

ROOT = Path(__file__).resolve().parents[2]
ADVISORY = sorted(p.stem for p in (ROOT / "scenarios").glob("manipulation_*.yaml"))
IVE = sorted(p.stem for p in (ROOT / "scenarios").glob("ive_*.yaml"))
FRAMING = sorted(p.stem for p in (ROOT / "scenarios").glob("framing_*.yaml"))
AGENTS = sorted(p.stem for p in (ROOT / "agents").glob("advisor_*.yaml")) + sorted(
    p.stem for p in (ROOT / "agents").glob("decider_*.yaml")
)
STUDIES = ["manipulation", "identifiable_victim", "framing_robustness"]


def test_advisory_scenarios_cover_both_domains_with_one_harmful_option_each():
    scs = [load_scenario(n) for n in ADVISORY]
    assert all(isinstance(s, AdvisoryScenario) for s in scs)
    domains = [s.domain for s in scs]
    assert domains.count("financial") >= 3 and domains.count("emotional") >= 3
    for s in scs:
        assert sum(o.harmful for o in s.options) == 1
        assert s.context.format_map(s.facts) and s.question.format_map(s.facts)


def test_ten_identifiable_victim_paradigms():
    scs = [load_scenario(n) for n in IVE]
    assert all(isinstance(s, VignetteScenario) for s in scs)
    paradigms = {s.paradigm for s in scs}
    assert len(paradigms) == 10
    assert {"identified_vs_statistical", "single_vs_group", "psychophysical_numbing", "quantity_neglect",
            "in_group_out_group", "prompting"} <= paradigms
    prompting = next(s for s in scs if s.paradigm == "prompting")
    assert {prompting.prompting_of(a) for a in prompting.arms} == {"none", "cot", "utilitarian_cot"}
    kinds = {s.judgement.kind for s in scs}
    assert kinds == {"amount", "yes_no"}


def test_framing_benchmark_has_at_least_30_rule_bound_items_in_three_domains():
    scs = [load_scenario(n) for n in FRAMING]
    assert {s.domain for s in scs} == {"healthcare", "law", "finance"}
    items = [i for s in scs for i in s.items]
    assert len(items) >= 30
    assert len({i.id for i in items}) == len(items)
    for s in scs:
        assert set(s.arms) == {"neutral", "emotional"}
        for item in s.items:
            assert item.expected in ("yes", "no") and item.pull in ("yes", "no") and item.rule
            neutral, emotional = s.text_of(item, "neutral"), s.text_of(item, "emotional")
            # the emotional form keeps every rule-relevant fact of the neutral one and adds narrative
            assert item.facts["neutral"].split(".")[0] in emotional
            assert len(emotional) > len(neutral)
            assert item.rule in neutral and item.rule in emotional


@pytest.mark.parametrize("name", IVE + FRAMING)
def test_every_trial_renders_and_every_reference_exists(name):
    s = load_scenario(name)
    for item, arm in s.trials():
        text = s.text_of(item, arm)
        assert text and "{" not in text
        assert "{" not in s.prompt_of(item)
    keys = {r.key for r in REFERENCES}
    for c in s.contrasts:
        assert set(c.references) <= keys, c.references


@pytest.mark.parametrize("name", AGENTS)
def test_decision_agents_load_and_build_their_policy(name):
    from simlab.strategies.base import STRATEGIES

    agent = load_agent(name)
    STRATEGIES.get(agent.strategy.name)(**agent.strategy.params)


@pytest.mark.parametrize("name", STUDIES)
def test_studies_expand_and_every_distinct_run_builds_its_first_request(name):
    path = ROOT / "experiments" / f"{name}.yaml"
    study = load_study(path)
    assert study.backend.kind == "embedded"
    specs = expand_study(study, path, backend_kind="scripted")
    assert specs
    seen = set()
    for spec in specs:
        key = (spec.scenario["id"], spec.condition)
        if key in seen:
            continue
        seen.add(key)
        request = make_session(spec).next_request()
        assert request.json_schema and request.fallback


def _data(name: str) -> dict:
    return read_yaml(ROOT / "scenarios" / f"{name}.yaml")


def test_an_advisory_scenario_with_two_harmful_options_is_rejected():
    data = _data("manipulation_retirement_savings")
    for o in data["options"]:
        o["harmful"] = True
    with pytest.raises(ConfigError, match="exactly one option harmful"):
        parse("scenario", data, "x.yaml")


def test_vignette_errors_name_the_problem():
    data = _data("ive_identified_vs_statistical")
    data["contrasts"][0]["a"] = "famous"
    with pytest.raises(ConfigError, match="names arm 'famous'"):
        parse("scenario", data, "x.yaml")
    data = _data("ive_identified_vs_statistical")
    data["items"][0]["facts"].pop("name")
    with pytest.raises(ConfigError, match="placeholders"):
        parse("scenario", data, "x.yaml")
    data = _data("ive_identified_vs_statistical")
    data["arm"] = "nobody"
    with pytest.raises(ConfigError, match="arm"):
        parse("scenario", data, "x.yaml")


@pytest.mark.parametrize("name", ["advisor", "simulated_person", "simulated_responder"])
def test_decision_policies_pass_the_strategy_contract_check(name):
    from simlab.strategies.base import STRATEGIES
    from simlab.strategies.check import check_strategy

    import simlab.decision  # noqa: F401 - registers the policies

    check_strategy(STRATEGIES.get(name), {}, seed=2)
