"""`simlab.dashboard`: store checks, read-only access under a writer, metrics, statistics."""
from __future__ import annotations

import json
import math
import subprocess
import sys
import textwrap
import time

import duckdb
import numpy as np
import pandas as pd
import pytest

from simlab.dashboard import (
    Metric,
    RunFilter,
    StoreReader,
    add_intervals,
    belief_frame,
    check_store,
    effect_sizes_vs,
    offer_trajectories,
    read_connection,
    reference_values,
    reliability_frame,
    reservation_values,
)
from simlab.dashboard.launch import app_path, streamlit_command
from simlab.errors import SimlabError, StoreError
from simlab.store import RunStore
from simlab.store.schema import SCHEMA_VERSION


def _raw(path, sql, params=None):
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql, params or []).df()


# ---------------------------------------------------------------- store status
def test_check_store_ok(filled_store):
    path, _ = filled_store
    s = check_store(path)
    assert s.kind == "ok" and s.ok and s.n_studies == 3 and s.n_runs == 61 and s.schema_version == SCHEMA_VERSION


def test_check_store_missing(tmp_path):
    s = check_store(tmp_path / "nope.duckdb")
    assert s.kind == "missing" and not s.ok and "simlab run" in s.message and "--store" in s.message


def test_check_store_empty(tmp_path):
    RunStore(tmp_path / "empty.duckdb")
    s = check_store(tmp_path / "empty.duckdb")
    assert s.kind == "empty" and s.ok and "empty" in s.message


def test_check_store_old_schema(tmp_path):
    path = tmp_path / "old.duckdb"
    RunStore(path)
    with duckdb.connect(str(path)) as con:
        con.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", [str(SCHEMA_VERSION - 1)])
    s = check_store(path)
    assert s.kind == "schema" and not s.ok
    assert "older simlab" in s.message and f"version {SCHEMA_VERSION - 1}" in s.message


def test_check_store_not_duckdb_and_not_simlab(tmp_path):
    junk = tmp_path / "junk.duckdb"
    junk.write_bytes(b"this is not a database" * 100)
    s = check_store(junk)
    assert s.kind == "not_duckdb" and s.message == f"store {junk} is not a DuckDB file (no DuckDB header); pass the right --store"
    other = tmp_path / "other.duckdb"
    with duckdb.connect(str(other)) as con:
        con.execute("CREATE TABLE t (x INTEGER)")
    s = check_store(other)
    assert s.kind == "not_simlab" and "meta" in s.message


def test_sqlite_file_is_refused_at_once_with_the_store_error(tmp_path):
    """A SQLite file: the store layer's one-line error, not an extension autoload (network, 90 s hang)."""
    import sqlite3

    path = tmp_path / "foreign.duckdb"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE meta (key TEXT, value TEXT)")
    con.commit()
    con.close()
    t0 = time.monotonic()
    with pytest.raises(StoreError, match="is a SQLite database, not a simlab"):
        with read_connection(path):
            pass
    s = check_store(path)
    assert s.kind == "not_duckdb" and "SQLite" in s.message and time.monotonic() - t0 < 5


def test_reader_connections_have_extension_autoloading_off(filled_store):
    path, _ = filled_store
    with read_connection(path) as con:
        got = dict(con.execute("SELECT name, value FROM duckdb_settings() WHERE name IN "
                               "('autoload_known_extensions', 'autoinstall_known_extensions')").fetchall())
    assert got == {"autoload_known_extensions": "false", "autoinstall_known_extensions": "false"}


def test_reads_wait_for_a_writer_and_never_hold_the_file(tmp_path, filled_store):
    """A writer in another process holds the file; a read retries until it is released."""
    src, _ = filled_store
    path = tmp_path / "busy.duckdb"
    path.write_bytes(src.read_bytes())
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import duckdb, sys, time
        con = duckdb.connect({str(path)!r})
        print("locked", flush=True)
        time.sleep(1.0)
        con.close()
    """)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "locked"
    t0 = time.monotonic()
    n = StoreReader(path).rows("SELECT count(*) FROM runs")[0][0]
    waited = time.monotonic() - t0
    holder.wait(timeout=10)
    assert n == 61 and waited > 0.3
    # after the read, a writer in this process can open the file at once: nothing is held
    with duckdb.connect(str(path)) as con:
        con.execute("INSERT INTO meta VALUES ('touched', '1')")


def test_read_gives_up_with_a_clear_error_when_locked(tmp_path, monkeypatch):
    path = tmp_path / "held.duckdb"
    RunStore(path)
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import duckdb, time
        con = duckdb.connect({str(path)!r})
        print("locked", flush=True)
        time.sleep(5)
    """)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(StoreError, match=r"still held by .* after 0.3 s"):
            with read_connection(path, retry_s=0.3):
                pass
        s = check_store(path, retry_s=0.3)
        assert s.kind == "locked" and f"(PID {holder.pid})" in s.message and "SIMLAB_STORE_PATIENCE" in s.message
        monkeypatch.setenv("SIMLAB_STORE_PATIENCE", "0.2")  # a page honours the store's patience when it is set
        t0 = time.monotonic()
        assert check_store(path).kind == "locked" and "after 0.2 s" in check_store(path).message
        assert time.monotonic() - t0 < 5
        monkeypatch.setenv("SIMLAB_STORE_PATIENCE", "soon")
        bad = check_store(path)
        assert bad.kind == "config" and not bad.ok and "SIMLAB_STORE_PATIENCE='soon'" in bad.message
    finally:
        holder.kill()
        holder.wait()


# ---------------------------------------------------------------- studies and progress
def test_studies_overview_counts(filled_store):
    path, ids = filled_store
    ov = StoreReader(path).studies_overview().set_index("study_id")
    raw = _raw(path, "SELECT * FROM runs WHERE study_id = 'debt-emotions'")
    row = ov.loc[ids["study"]]
    assert row["planned"] == 37
    assert row["done"] == (raw["status"] == "done").sum() == 36
    assert row["failed"] == 1
    assert row["parse_failures"] == raw["parse_failures"].sum() > 0
    assert row["runs_with_parse_failures"] == (raw["parse_failures"] > 0).sum()
    assert set(row["models"].split(", ")) == {"scripted", "smollm2-135m-instruct"}
    assert set(row["backends"].split(", ")) == {"embedded", "scripted"}
    assert row["prompt_tokens"] == raw["prompt_tokens"].sum()
    assert math.isclose(row["run_time_s"], raw["wall_s"].sum())
    assert ov.loc[ids["live"], "done"] == 8 and ov.loc[ids["live"], "planned"] == 40


def test_study_progress_rate_and_eta(filled_store):
    path, ids = filled_store
    p = StoreReader(path).study_progress(ids["live"])
    assert p["planned"] == 40 and p["done"] == 8 and p["remaining"] == 32 and p["running"]
    assert p["runs_per_min"] > 0 and p["eta_s"] > 0
    assert math.isclose(p["eta_s"], 32 / (p["runs_per_min"] / 60))
    done = StoreReader(path).study_progress(ids["study"])
    assert done["remaining"] == 0 and done["eta_s"] == 0 and not done["running"]


# ---------------------------------------------------------------- metrics and groups
def test_metric_catalog_discovers_json_metrics(filled_store):
    path, ids = filled_store
    metrics = {m.key: m for m in StoreReader(path).metric_catalog(ids["study"])}
    for key in ("col:agreement", "col:utility_a", "col:utility_b", "col:rounds", "metrics:recovery_rate",
                "metrics:harmful_choice", "metrics:donation", "metrics:concession.collector",
                "utilities:debtor", "outcome:walk_away"):
        assert key in metrics, key
    assert "metrics:note" not in metrics  # text is not a metric
    assert metrics["metrics:escalated"].binary  # integers that are all 0 or 1 are a flag
    assert not metrics["metrics:offers_made"].binary
    assert metrics["col:agreement"].binary and metrics["metrics:harmful_choice"].binary
    assert not metrics["metrics:recovery_rate"].binary and not metrics["col:utility_a"].binary


def test_group_options_include_condition_and_agent_keys(filled_store):
    path, ids = filled_store
    keys = {g.key for g in StoreReader(path).group_options(ids["study"])}
    assert {"condition", "scenario", "backend", "agents_json", "cond:strategy", "cond:pressure",
            "agent:collector", "strategy:collector"} <= keys


def test_group_summary_matches_pandas(filled_store):
    path, ids = filled_store
    reader = StoreReader(path)
    metrics = {m.key: m for m in reader.metric_catalog(ids["study"])}
    groups = {g.key: g for g in reader.group_options(ids["study"])}
    raw = _raw(path, "SELECT * FROM runs WHERE study_id = 'debt-emotions' AND status = 'done'")
    raw["recovery"] = raw["metrics_json"].map(lambda s: json.loads(s)["recovery_rate"])
    raw["pressure"] = raw["condition_json"].map(lambda s: json.loads(s)["pressure"])
    got = reader.group_summary(ids["study"], metrics["metrics:recovery_rate"], groups["cond:pressure"]).set_index("group")
    want = raw.groupby("pressure")["recovery"].agg(["count", "mean", "std", "median"])
    assert list(got.index) == sorted(want.index)
    np.testing.assert_allclose(got["n"], want["count"])
    np.testing.assert_allclose(got["mean"], want["mean"])
    np.testing.assert_allclose(got["sd"], want["std"])
    np.testing.assert_allclose(got["median"], want["median"])
    strat = reader.group_summary(ids["study"], metrics["col:agreement"], groups["strategy:collector"])
    assert set(strat["group"]) == {"vanilla", "hmm", "bayes_orchestrator"}
    assert strat["mean"].between(0, 1).all()
    harmful = reader.group_summary(ids["study"], metrics["metrics:harmful_choice"], groups["condition"])
    assert harmful.set_index("group").loc["hmm", "mean"] == 0.0


# ---------------------------------------------------------------- statistics
def test_intervals_and_effect_sizes_known_values():
    from simlab.stats import cohens_d_from_stats, cohens_h, wilson_interval

    lo, hi = wilson_interval(8, 10)
    assert math.isclose(lo, 0.4902, abs_tol=1e-3) and math.isclose(hi, 0.9433, abs_tol=1e-3)
    d = cohens_d_from_stats(1.0, 1.0, 20, 0.5, 1.0, 20)
    assert math.isclose(d.estimate, 0.5) and d.ci_low < 0.5 < d.ci_high
    h = cohens_h(15, 30, 8, 32).estimate  # rates of 0/1 outcomes: p * n is a count
    assert math.isclose(h, 2 * math.asin(math.sqrt(0.5)) - 2 * math.asin(math.sqrt(0.25)))
    summary = pd.DataFrame({"group": ["a", "b"], "n": [10, 10], "mean": [0.5, 0.8], "sd": [0.1, 0.1],
                            "min": 0, "q1": 0, "median": 0, "q3": 0, "max": 1})
    with_ci = add_intervals(summary, binary=False)
    half = 2.2622 * 0.1 / math.sqrt(10)
    assert math.isclose(with_ci.loc[0, "ci_low"], 0.5 - half, abs_tol=1e-3)
    eff = effect_sizes_vs(summary, "a", binary=False)
    assert list(eff["group"]) == ["b"] and math.isclose(eff.loc[0, "effect"], 3.0) and eff.loc[0, "p_value"] < 1e-4
    rates = effect_sizes_vs(summary, "a", binary=True)
    assert math.isclose(rates.loc[0, "effect"], 2 * math.asin(math.sqrt(0.8)) - 2 * math.asin(math.sqrt(0.5)))


def test_effect_sizes_agree_with_simlab_stats_on_the_raw_data():
    """The page's effect sizes from group summaries equal simlab.stats on the observations themselves."""
    from scipy import stats as sps
    from statsmodels.stats.proportion import proportions_ztest

    from simlab.stats import cohens_d, cohens_h

    x = np.array([0.2, 0.5, 0.4, 0.9, 0.7, 0.3])
    y = np.array([0.1, 0.2, 0.4, 0.3, 0.2, 0.5, 0.1])
    summary = pd.DataFrame({"group": ["x", "y"], "n": [x.size, y.size], "mean": [x.mean(), y.mean()],
                            "sd": [x.std(ddof=1), y.std(ddof=1)]})
    got = effect_sizes_vs(summary, "y", binary=False).iloc[0]
    want = cohens_d(x, y)
    np.testing.assert_allclose([got["effect"], got["effect_ci_low"], got["effect_ci_high"]],
                               [want.estimate, want.ci_low, want.ci_high])
    assert got["p_value"] == pytest.approx(sps.ttest_ind(x, y, equal_var=False).pvalue) and got["note"] == ""
    rates = pd.DataFrame({"group": ["a", "b"], "n": [10, 12], "mean": [0.7, 0.25], "sd": [0.0, 0.0]})
    got = effect_sizes_vs(rates, "b", binary=True).iloc[0]
    want_h = cohens_h(7, 10, 3, 12)
    np.testing.assert_allclose([got["effect"], got["effect_ci_low"], got["effect_ci_high"]],
                               [want_h.estimate, want_h.ci_low, want_h.ci_high])
    assert got["p_value"] == pytest.approx(proportions_ztest([7, 3], [10, 12])[1])


def test_effect_sizes_say_why_a_comparison_is_missing():
    summary = pd.DataFrame({"group": ["a", "b", "c"], "n": [1, 5, 4], "mean": [0.5, 0.5, 0.5], "sd": [math.nan, 0.0, 0.0]})
    eff = effect_sizes_vs(summary, "b", binary=False).set_index("group")
    assert math.isnan(eff.loc["a", "effect"]) and "at least 2 observations" in eff.loc["a", "note"]
    assert math.isnan(eff.loc["c", "p_value"]) and "zero variance" in eff.loc["c", "note"]


# ---------------------------------------------------------------- references
RATE = Metric("metrics:harmful_choice", "harmful_choice", "x", binary=True)
DONATION = Metric("metrics:donation", "donation", "x", binary=False)
AGREEMENT = Metric("col:agreement", "agreement rate", "agreement::DOUBLE", binary=True)


def test_references_by_topic_are_drawn_only_for_their_metric():
    pytest.importorskip("simlab.stats.references")
    manip = reference_values(RATE, {}, ["manipulation-financial-v1", "health"])
    rates = manip[manip["show_as"] == "rate"]
    assert len(rates) == 6 and rates["value"].between(0, 1).all()
    assert rates["source"].str.contains("Sabour").all()
    assert set(reference_values(AGREEMENT, {}, ["manipulation-financial-v1"])["show_as"]) == {"note"}
    ive = reference_values(DONATION, {}, ["ive-donation-v1"])
    assert {"ive.llm.pooled", "ive.human.single_victim"} <= set(ive[ive["show_as"] == "effect"]["key"])
    assert (ive[ive["measure"] == "direction"]["show_as"] == "note").all()
    debt = reference_values(DONATION, {}, ["debt-collection-v1", "finance", "alternating_offers"])
    assert set(debt["measure"]) == {"direction"}  # emotion-in-negotiation findings, listed as notes
    assert reference_values(DONATION, {}, ["healthcare-advice-v1"]).empty


def test_references_named_in_the_study_config():
    pytest.importorskip("simlab.stats.references")
    refs = reference_values(DONATION, {"references": {"donation": ["ive.llm.pooled"]}}, ["debt-collection-v1"])
    assert refs.set_index("key").loc["ive.llm.pooled", "show_as"] == "effect"
    refs = reference_values(DONATION, {"references": ["ive.llm.pooled", "no.such.key"]}, [])
    assert list(refs["key"]) == ["ive.llm.pooled"] and refs.loc[0, "show_as"] == "effect"


# ---------------------------------------------------------------- one run
def test_run_helpers(filled_store):
    path, ids = filled_store
    reader = StoreReader(path)
    run = reader.run(ids["orchestrator_run"])
    turns = reader.run_turns(ids["orchestrator_run"])
    assert run["n_turns"] == len(turns) == 9 and list(turns["turn_index"]) == list(range(9))
    assert reservation_values(run["spec_json"]) == {"collector": 0.35, "debtor": 0.25}
    assert reservation_values(json.dumps({"utilities": {"a": {"reservation": 0.1}}})) == {"a": 0.1}
    assert reservation_values(None) == {} and reservation_values("not json") == {}
    traj = offer_trajectories(turns, ["collector", "debtor"])
    assert len(traj) == 2 * len(turns) and set(traj["to_role"]) == {"collector", "debtor"}
    first = turns.iloc[0]
    mine = traj[(traj.turn_index == 0) & (traj.to_role == first["role"])]["utility"].item()
    assert mine == first["utility_self"]
    beliefs = belief_frame(turns)
    assert set(beliefs["state"]) == {"cooperative", "anxious", "hostile"} and set(beliefs["role"]) == {"collector"}
    assert np.allclose(beliefs.groupby("turn_index")["prob"].sum(), 1.0, atol=1e-3)
    rel = reliability_frame(turns)
    assert set(rel["expert"]) == {"hmm", "game_theory", "coherence"}
    assert reader.run("no-such-run") is None


def test_run_filter_and_paging(filled_store):
    path, ids = filled_store
    reader = StoreReader(path)
    assert reader.count_runs(RunFilter()) == 61
    assert reader.count_runs(RunFilter(study_id=ids["study"], statuses=["failed"])) == 1
    flt = RunFilter(study_id=ids["study"], conditions=["hmm"], agreement=True, scenarios=["debt-collection-v1"])
    page = reader.list_runs(flt, limit=3)
    assert len(page) <= 3 and (page["condition"] == "hmm").all() and page["agreement"].all()
    assert reader.count_runs(RunFilter(run_id_prefix="live-")) == 8
    assert reader.count_runs(RunFilter(study_id=ids["study"], parse_failed_only=True)) > 0
    two = reader.list_runs(RunFilter(), limit=10, offset=10)
    assert len(two) == 10 and set(two["run_id"]).isdisjoint(reader.list_runs(RunFilter(), limit=10)["run_id"])


# ---------------------------------------------------------------- launch
def test_app_path_prefers_the_wheel_copy(tmp_path, monkeypatch):
    import simlab.dashboard.launch as dl

    pkg = tmp_path / "site-packages" / "simlab"
    (pkg / "_data" / "dashboard").mkdir(parents=True)
    (pkg / "_data" / "dashboard" / "app.py").write_text("# wheel copy\n")
    monkeypatch.setattr(dl, "_PKG", pkg)
    assert dl.app_path() == pkg / "_data" / "dashboard" / "app.py"
    monkeypatch.setattr(dl, "_PKG", tmp_path / "nowhere" / "simlab")
    with pytest.raises(SimlabError, match="dashboard app is missing"):
        dl.app_path()


def test_launch_rejects_a_bad_port(tmp_path):
    from simlab.dashboard.launch import launch
    from simlab.errors import ConfigError

    with pytest.raises(ConfigError, match="--port"):
        launch(tmp_path / "s.duckdb", 70000)


def test_launch_command_binds_localhost_and_passes_the_store(tmp_path):
    cmd = streamlit_command(tmp_path / "s.duckdb", 8765)
    assert cmd[1:4] == ["-m", "streamlit", "run"] and cmd[4] == str(app_path())
    assert cmd[cmd.index("--server.address") + 1] == "127.0.0.1"
    assert cmd[cmd.index("--server.port") + 1] == "8765"
    assert cmd[-3:] == ["--", "--store", str((tmp_path / "s.duckdb").resolve())]
    assert app_path().name == "app.py" and app_path().is_file()


# ---------------------------------------------------------------- conditions as columns
def test_condition_columns_are_written_from_the_spec(tournament_store):
    path, t = tournament_store
    runs = _raw(path, "SELECT * FROM runs WHERE study_id = 'tournament'")
    assert len(runs) == 32 * t["seeds"]
    assert set(runs["slot_a"]) == {"lead"} and set(runs["slot_b"]) == {"counterpart"}
    assert set(runs["role_a"]) == {"collector"} and set(runs["role_b"]) == {"debtor"}
    assert set(runs["agent_a"]) == set(t["leads"]) and set(runs["agent_b"]) == set(t["counterparts"])
    assert (runs["condition"] == runs["agent_a"] + " vs " + runs["agent_b"]).all()  # the label stays for display
    assert (runs["strategy_a"] == runs["agent_a"].str.removeprefix("lead_")).all()
    assert (runs["condition_name"] == runs["condition"]).all()


def test_group_by_lead_and_counterpart_columns(tournament_store):
    path, t = tournament_store
    reader = StoreReader(path)
    groups = {g.key: g for g in reader.group_options("tournament")}
    assert groups["agent_a"].label == "lead agent" and groups["strategy_b"].label == "counterpart strategy"
    assert list(groups)[:2] == ["condition", "agent_a"]  # the combined label stays the default
    metrics = {m.key: m for m in reader.metric_catalog("tournament")}
    got = reader.group_summary("tournament", metrics["col:utility_a"], groups["agent_a"], groups["agent_b"])
    assert len(got) == 32 and not got.duplicated(["group", "by"]).any()
    assert set(got["group"]) == set(t["leads"]) and set(got["by"]) == set(t["counterparts"])
    raw = _raw(path, "SELECT agent_a, agent_b, utility_a FROM runs WHERE study_id = 'tournament' AND status = 'done'")
    want = raw.groupby(["agent_a", "agent_b"])["utility_a"].agg(["count", "mean"])
    got = got.set_index(["group", "by"]).loc[want.index]
    np.testing.assert_allclose(got["n"], want["count"])
    np.testing.assert_allclose(got["mean"], want["mean"])
    # a JSON-path grouping as the second one: its parameter does not clash with the first's
    by_json = reader.group_summary("tournament", metrics["col:utility_a"], groups["cond:strategy"], groups["strategy:debtor"])
    assert len(by_json) == 32 and set(by_json["by"]) == {c.removeprefix("counterpart_") for c in t["counterparts"]}


def test_effect_sizes_within_each_level_of_the_second_grouping():
    summary = pd.DataFrame({"group": ["a", "b", "a", "b"], "by": ["x", "x", "y", "y"], "n": [10] * 4,
                            "mean": [0.5, 0.8, 0.5, 0.2], "sd": [0.1] * 4})
    eff = effect_sizes_vs(summary, "a", binary=False)
    assert list(eff["by"]) == ["x", "y"] and list(eff["group"]) == ["b", "b"]
    np.testing.assert_allclose(eff["effect"], [3.0, -3.0])


def test_short_labels_stay_distinct_and_short():
    from simlab.dashboard.layout import short_labels, use_horizontal

    labels = [f"lead_bayesian_orchestrator vs counterpart_{k}" for k in ("cooperative", "cheating", "threatening", "victim")]
    labels += [f"lead_{i:02d}_strategy_with_a_very_long_name_and_more vs counterpart_same_long_suffix" for i in range(30)]
    shown = short_labels(labels)
    assert len(set(shown)) == len(labels)
    assert all(len(line) <= 28 for s in shown for line in s.split("<br>")) and all(s.count("<br>") <= 1 for s in shown)
    assert use_horizontal(labels) and not use_horizontal(["vanilla", "hmm"])


def test_run_filter_by_agent_columns(tournament_store):
    path, t = tournament_store
    reader = StoreReader(path)
    values = reader.run_filter_values("tournament")
    assert values["agent_a"] == sorted(t["leads"]) and values["agent_b"] == sorted(t["counterparts"])
    flt = RunFilter(study_id="tournament", agents_a=["lead_vanilla", "lead_coherence"], agents_b=["counterpart_victim"])
    page = reader.list_runs(flt, limit=100)
    assert reader.count_runs(flt) == 2 * t["seeds"] == len(page)
    assert set(page["condition"]) == {"lead_vanilla vs counterpart_victim", "lead_coherence vs counterpart_victim"}
