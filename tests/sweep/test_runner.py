"""Running studies: deterministic run ids, resume, workers, one-writer store."""
import json

import pytest

from simlab.config.loader import load_study
from simlab.errors import ConfigError
from simlab.store.store import RunStore
from simlab.sweep.expand import expand_study
from simlab.sweep.runner import run_study


def test_expansion_is_the_full_grid_with_stable_unique_ids(small_study):
    study = load_study(small_study)
    a = expand_study(study, small_study)
    b = expand_study(study, small_study)
    assert len(a) == 2 * 2 * 2
    assert [s.run_id for s in a] == [s.run_id for s in b]
    assert len({s.run_id for s in a}) == len(a)
    # a different backend is a different run
    assert {s.run_id for s in expand_study(study, small_study, backend_kind="embedded")}.isdisjoint({s.run_id for s in a})


def test_second_run_runs_nothing_and_results_repeat(small_study, tmp_path):
    store_path = tmp_path / "s.duckdb"
    first = run_study(small_study, store_path=store_path, cache_path=None)
    assert (first.ran, first.skipped, first.failed) == (8, 0, 0)
    second = run_study(small_study, store_path=store_path, cache_path=None)
    assert (second.ran, second.skipped) == (0, 8)
    store = RunStore(store_path, read_only=True)
    runs = store.query("SELECT run_id, utility_a, utility_b, rounds FROM runs ORDER BY run_id")
    # a fresh store gives the same numbers
    other = tmp_path / "t.duckdb"
    run_study(small_study, store_path=other, cache_path=None)
    again = RunStore(other, read_only=True).query("SELECT run_id, utility_a, utility_b, rounds FROM runs ORDER BY run_id")
    assert runs.equals(again)
    n_turns = store.query("SELECT count(*) AS n FROM turns")["n"][0]
    assert n_turns == store.query("SELECT sum(n_turns) AS n FROM runs")["n"][0] > 0


def test_resume_after_interruption_runs_only_the_rest(small_study, tmp_path):
    store_path = tmp_path / "s.duckdb"

    class Stop(Exception):
        pass

    def interrupt(done, total):
        if done == 3:
            raise Stop

    with pytest.raises(Stop):
        run_study(small_study, store_path=store_path, cache_path=None, on_progress=interrupt, batch_every_s=0.0)
    store = RunStore(store_path, read_only=True)
    stored = store.query("SELECT count(*) AS n FROM runs")["n"][0]
    assert stored == 3
    # no partial runs: every stored run has all its turns
    check = store.query("SELECT r.n_turns, count(t.turn_index) AS k FROM runs r JOIN turns t USING (run_id) GROUP BY r.run_id, r.n_turns")
    assert (check["n_turns"] == check["k"]).all()
    rest = run_study(small_study, store_path=store_path, cache_path=None)
    assert (rest.ran, rest.skipped) == (5, 3)


def test_two_workers_give_the_same_results_as_one(small_study, tmp_path):
    run_study(small_study, store_path=tmp_path / "one.duckdb", cache_path=None)
    run_study(small_study, workers=2, store_path=tmp_path / "two.duckdb", cache_path=None)
    q = "SELECT run_id, utility_a, utility_b, rounds, outcome FROM runs ORDER BY run_id"
    one = RunStore(tmp_path / "one.duckdb", read_only=True).query(q)
    two = RunStore(tmp_path / "two.duckdb", read_only=True).query(q)
    assert one.equals(two)


def test_unknown_agent_and_bad_condition_are_config_errors(tmp_path, small_study):
    bad = small_study.read_text().replace("conceder_creditor", "nobody_creditor")
    p = small_study.parent / "bad.yaml"
    p.write_text(bad)
    with pytest.raises(ConfigError, match="agent 'nobody_creditor' not found"):
        run_study(p, store_path=tmp_path / "x.duckdb")
    cond = small_study.read_text() + "conditions:\n  fast: {deadlines: 3}\n"
    p.write_text(cond)
    with pytest.raises(ConfigError, match="unknown keys"):
        run_study(p, store_path=tmp_path / "x.duckdb")


def test_conditions_override_the_scenario(tmp_path, small_study):
    text = small_study.read_text() + "conditions:\n  short: {scenario: {deadline: 2}}\n  long: {}\n"
    small_study.write_text(text)
    run_study(small_study, store_path=tmp_path / "c.duckdb", cache_path=None)
    df = RunStore(tmp_path / "c.duckdb", read_only=True).query(
        "SELECT json_extract_string(condition_json, '$.condition') AS c, max(rounds) AS r FROM runs GROUP BY c"
    )
    rounds = dict(zip(df["c"], df["r"]))
    assert rounds["short"] <= 2 < rounds["long"]


def test_a_failing_strategy_is_stored_as_failed_and_retried(tmp_path, small_study, monkeypatch):
    from simlab.strategies import debtor

    calls = {"n": 0}
    orig = debtor.DebtorBehaviourStrategy.choose

    def flaky(self, obs):
        if self.behaviour == "threatening" and obs.round == 2:
            raise RuntimeError("boom")
        return orig(self, obs)

    monkeypatch.setattr(debtor.DebtorBehaviourStrategy, "choose", flaky)
    res = run_study(small_study, store_path=tmp_path / "f.duckdb", cache_path=None)
    assert res.failed == 4 and res.ran == 8
    store = RunStore(tmp_path / "f.duckdb", read_only=True)
    failed = store.query("SELECT run_id, error FROM runs WHERE status = 'failed'")
    assert len(failed) == 4 and failed["error"].str.contains("boom").all()
    assert store.query("SELECT count(*) AS n FROM turns t JOIN runs r USING (run_id) WHERE r.status = 'failed'")["n"][0] == 0
    monkeypatch.setattr(debtor.DebtorBehaviourStrategy, "choose", orig)
    again = run_study(small_study, store_path=tmp_path / "f.duckdb", cache_path=None)
    assert (again.ran, again.failed) == (4, 0)
