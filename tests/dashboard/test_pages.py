"""Every dashboard page driven with `streamlit.testing.v1.AppTest` over a store the tests fill."""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from simlab.store import RunStore
from simlab.store.schema import SCHEMA_VERSION

from dash_fixtures import APP, make_run

PAGES = ("views/studies.py", "views/compare.py", "views/runs.py", "views/live.py")
TITLES = {"views/studies.py": "Studies", "views/compare.py": "Compare conditions",
          "views/runs.py": "Run explorer", "views/live.py": "Live progress"}


def open_page(page: str, query: dict | None = None) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.run()
    if page != "views/studies.py":
        at.switch_page(page)
    if query:
        at.query_params.update(query)
    return at.run()


def frame(at: AppTest, *columns: str):
    """The first table on the page holding all `columns` (plain st.dataframe elements carry no key)."""
    for df in at.dataframe:
        value = df.value
        if all(c in value.columns for c in columns):
            return value
    raise AssertionError(f"no table with columns {columns}: {[list(d.value.columns) for d in at.dataframe]}")


def assert_clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


# ---------------------------------------------------------------- Studies
def test_studies_page(app_env):
    _, ids = app_env
    at = open_page("views/studies.py")
    assert_clean(at)
    assert at.title[0].value == "Studies"
    table = frame(at, "study_id", "planned", "done").set_index("study_id")
    assert set(table.index) == {ids["study"], ids["live"], ids["manipulation"]}
    assert table.loc[ids["study"], "done"] == 36 and table.loc[ids["study"], "failed"] == 1
    assert table.loc[ids["study"], "parse_failures"] > 0
    assert "smollm2-135m-instruct" in table.loc[ids["study"], "models"]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["studies"] == "3" and metrics["runs failed"] == "1"

    at.selectbox(key="study").select(ids["study"]).run()
    assert_clean(at)
    assert at.json, "the study's config is shown"
    assert "debt_emotions.yaml" in " ".join(c.value for c in at.caption)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["done / planned"] == "36 / 37" and metrics["failed"] == "1"


# ---------------------------------------------------------------- Compare conditions
def test_compare_page_default_is_agreement_by_condition(app_env):
    _, ids = app_env
    at = open_page("views/compare.py", {"study": ids["study"]})
    assert_clean(at)
    assert at.selectbox(key="metric").value == "col:agreement"
    summary = frame(at, "group", "ci_low", "q1")
    assert set(summary["group"]) == {"vanilla", "hmm", "orchestrator"}
    assert (summary["ci_low"] <= summary["mean"]).all() and (summary["mean"] <= summary["ci_high"]).all()
    effects = frame(at, "baseline_mean")
    assert "Cohen's h" in effects.columns and len(effects) == 2  # baseline 'vanilla' chosen by name
    assert at.selectbox(key="baseline").value == "vanilla"


def test_compare_page_json_metric_box_plot_and_condition_key(app_env):
    _, ids = app_env
    at = open_page("views/compare.py", {"study": ids["study"]})
    metric_options = at.selectbox(key="metric").options
    assert any("recovery_rate" in o for o in metric_options)
    assert any("harmful_choice" in o for o in metric_options)
    assert any("donation" in o for o in metric_options)
    assert at.radio(key="plot_kind").disabled  # agreement is a rate: bars only
    at.selectbox(key="metric").select("metrics:recovery_rate")
    at.selectbox(key="group").select("cond:pressure")
    at.run()
    at.radio(key="plot_kind").set_value("box").run()
    assert_clean(at)
    summary = frame(at, "group", "ci_low", "q1")
    assert set(summary["group"]) == {"high", "low"}
    effects = frame(at, "baseline_mean")
    assert "Cohen's d" in effects.columns and len(effects) == 1
    at.selectbox(key="group").select("strategy:collector").run()
    assert_clean(at)
    assert set(frame(at, "group", "ci_low", "q1")["group"]) == {"vanilla", "hmm", "bayes_orchestrator"}


def test_compare_page_draws_published_references(app_env):
    pytest.importorskip("simlab.stats.references")
    _, ids = app_env
    at = open_page("views/compare.py", {"study": ids["manipulation"]})
    at.selectbox(key="metric").select("metrics:harmful_choice").run()
    assert_clean(at)
    refs = frame(at, "label", "measure", "show_as")
    drawn = refs[refs["show_as"] == "rate"]
    assert len(drawn) == 6 and drawn["source"].str.contains("Sabour").all()
    assert at.selectbox(key="baseline").value == "neutral"
    assert len(frame(at, "baseline_mean")) == 1


# ---------------------------------------------------------------- Run explorer
def test_run_explorer_opens_a_run(app_env):
    path, ids = app_env
    at = open_page("views/runs.py")
    assert_clean(at)
    assert "61 runs match" in " ".join(c.value for c in at.caption)
    assert len(at.dataframe(key="runs_table").value) == 61
    at.selectbox(key="runs_study").select(ids["study"]).run()
    at.selectbox(key="run_pick").select(ids["orchestrator_run"]).run()
    assert_clean(at)
    with duckdb.connect(str(path), read_only=True) as con:
        n_turns, emotions = con.execute(
            "SELECT count(*), list(emotion ORDER BY turn_index) FROM turns WHERE run_id = ?", [ids["orchestrator_run"]]
        ).fetchone()
    chats = at.chat_message
    assert len(chats) == n_turns == 9
    assert [c.name for c in chats[:2]] == ["collector", "debtor"]
    first_head = chats[0].markdown[0].value
    assert "round 1" in first_head and emotions[0] in first_head
    assert "offer: amount=" in chats[0].caption[0].value and "u(self)" in chats[0].caption[0].value
    headings = [m.value for m in at.markdown]
    for h in ("#### Transcript", "#### Offers", "#### Emotions",
              "#### Belief of collector about its counterpart (HMM)", "#### Expert reliabilities of collector (orchestrator)"):
        assert h in headings
    assert at.query_params.get("run") == ids["orchestrator_run"]
    assert {m.label: m.value for m in at.metric}["parse failures"] == "1"


def test_run_explorer_deep_link_and_failed_run(app_env):
    _, ids = app_env
    at = open_page("views/runs.py", {"run": ids["failed_run"]})
    assert not at.exception  # st.error shows the run's own error on purpose
    assert any("model file missing" in e.value for e in at.error)
    assert any("logged no turns" in i.value for i in at.info)
    at = open_page("views/runs.py")
    at.multiselect(key="f_status").select("failed").run()
    assert_clean(at)
    assert at.dataframe(key="runs_table").value["run_id"].tolist() == [ids["failed_run"]]


def test_run_explorer_vanilla_run_without_beliefs(app_env):
    _, ids = app_env
    at = open_page("views/runs.py", {"run": "run-debt-vanilla-02"})
    assert_clean(at)
    assert len(at.chat_message) == 8
    assert any("no belief or expert" in c.value for c in at.caption)


# ---------------------------------------------------------------- Live progress
def test_live_page_shows_progress_of_the_running_study(app_env):
    _, ids = app_env
    at = open_page("views/live.py")
    assert_clean(at)
    assert at.selectbox(key="study").value == ids["live"]  # a running study is preferred
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["runs done"] == "8" and metrics["remaining"] == "32"
    assert metrics["throughput"].endswith("runs/min") and metrics["ETA"] not in ("–", "done")
    assert any("refreshing every" in c.value for c in at.caption)


def test_live_page_picks_up_new_runs(tmp_path, monkeypatch):
    path = tmp_path / "live.duckdb"
    store = RunStore(path)
    store.upsert_study("s1", "", {}, "", 10)
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    store.write_runs([make_run(f"r{i}", "s1", seed=i + 1, finished_at=now - timedelta(seconds=10 - i)) for i in range(3)])
    monkeypatch.setenv("SIMLAB_STORE", str(path))
    at = open_page("views/live.py")
    assert {m.label: m.value for m in at.metric}["runs done"] == "3"
    store.write_runs([make_run(f"r{i}", "s1", seed=i + 1, finished_at=now) for i in range(3, 10)])
    at.run()
    assert_clean(at)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["runs done"] == "10" and metrics["ETA"] == "done"


# ---------------------------------------------------------------- broken or empty stores
def _old_schema(path):
    RunStore(path)
    with duckdb.connect(str(path)) as con:
        con.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", [str(SCHEMA_VERSION - 1)])


def _junk(path):
    path.write_bytes(b"not a duckdb file " * 64)


def _sqlite(path):
    import sqlite3

    con = sqlite3.connect(path)
    con.execute("CREATE TABLE runs (run_id TEXT)")
    con.commit()
    con.close()


def _truncated(path):
    RunStore(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 1000])


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("case, make, kind, needle", [
    ("missing", lambda p: None, "error", "No run store at"),
    ("empty", lambda p: RunStore(p), "info", "is empty"),
    ("old schema", _old_schema, "error", "older simlab"),
    # foreign and damaged files: the store layer's own one-line errors (simlab.store.store.inspect_file)
    ("text file", _junk, "error", "is not a DuckDB file (no DuckDB header); pass the right --store"),
    ("sqlite", _sqlite, "error", "is a SQLite database, not a simlab (DuckDB) store"),
    ("truncated", _truncated, "error", "is truncated or damaged"),
])
def test_pages_explain_a_store_they_cannot_show(tmp_path, monkeypatch, page, case, make, kind, needle):
    path = tmp_path / "store.duckdb"
    make(path)
    monkeypatch.setenv("SIMLAB_STORE", str(path))
    t0 = time.monotonic()
    at = open_page(page)
    assert time.monotonic() - t0 < 20, "the page must not hang on a foreign file"
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == TITLES[page]
    messages = [m.value for m in getattr(at, kind)]
    assert any(needle in m for m in messages), messages
    assert all("\n" not in m and "Traceback" not in m for m in messages), messages
    assert not at.expander, "no bug-report traceback expander"
    assert not at.dataframe and not at.chat_message


def test_store_passed_as_script_argument(filled_store, monkeypatch):
    """`streamlit run app.py -- --store PATH` (what `launch` runs) wins over $SIMLAB_STORE."""
    import sys

    path, _ = filled_store
    monkeypatch.setenv("SIMLAB_STORE", "/nonexistent/elsewhere.duckdb")
    monkeypatch.setattr(sys, "argv", ["app.py", "--store", str(path)])
    at = open_page("views/studies.py")
    assert_clean(at)
    assert len(frame(at, "study_id", "planned", "done")) == 3


def test_app_runs_from_the_wheel_location(app_env, tmp_path, monkeypatch):
    """The wheel ships dashboard/ as simlab/_data/dashboard: the app must not depend on the repo layout."""
    import shutil
    import sys

    copy = tmp_path / "simlab" / "_data" / "dashboard"
    shutil.copytree(APP.parent, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(sys, "path", [p for p in sys.path if Path(p).resolve() != APP.parent.resolve()])
    at = AppTest.from_file(str(copy / "app.py"), default_timeout=60).run()
    assert_clean(at)
    assert at.title[0].value == "Studies"
    at.switch_page("views/runs.py").run()
    assert_clean(at)
    assert at.title[0].value == "Run explorer"
    assert "dash_common" not in sys.modules  # the pages import simlab.dashboard, not a module beside them
    assert not any(p and Path(p).resolve() == copy.resolve() for p in sys.path)  # no sys.path edits


# ---------------------------------------------------------------- many conditions
def _chart(at: AppTest, key: str) -> dict:
    """The plotly figure (as JSON) of the chart with `key`."""
    import json

    for el in at.get("plotly_chart"):
        spec = json.loads(el.proto.spec)
        if key in el.proto.id or el.proto.id.endswith(key):
            return spec
    charts = at.get("plotly_chart")
    assert charts, "no plotly chart on the page"
    return json.loads(charts[0].proto.spec)


def test_compare_page_with_32_conditions_stays_readable(tournament_store, monkeypatch):
    path, t = tournament_store
    monkeypatch.setenv("SIMLAB_STORE", str(path))
    at = open_page("views/compare.py", {"study": t["study"]})
    assert_clean(at)
    summary = frame(at, "group", "ci_low", "q1")
    assert len(summary) == 32 and summary["group"].is_unique
    fig = _chart(at, "compare_chart")
    bars = fig["data"][0]
    assert bars["orientation"] == "h" and len(set(bars["y"])) == 32  # one distinct row per condition
    assert all(len(line) <= 28 for label in bars["y"] for line in label.split("<br>"))
    assert fig["layout"]["height"] >= 32 * 22

    # lead agent on the axis, counterpart as colour: 4 traces of 8 bars, 32 distinct (lead, counterpart) rows
    at.selectbox(key="group").select("agent_a").run()
    at.selectbox(key="by").select("agent_b").run()
    assert_clean(at)
    summary = frame(at, "group", "counterpart agent", "ci_low")
    assert len(summary) == 32 and not summary.duplicated(["group", "counterpart agent"]).any()
    fig = _chart(at, "compare_chart")
    assert sorted(tr["name"] for tr in fig["data"]) == sorted(t["counterparts"])
    assert all(len(set(tr["y"])) == 8 for tr in fig["data"])
    effects = frame(at, "baseline_mean", "counterpart agent")
    assert len(effects) == 7 * 4 and set(effects["counterpart agent"]) == set(t["counterparts"])
    assert at.selectbox(key="baseline").value == "lead_vanilla"

    at.radio(key="by_layout").set_value("small multiples").run()
    assert_clean(at)
    fig = _chart(at, "compare_chart")
    assert {"xaxis4", "yaxis4"} <= set(fig["layout"]) and len(fig["data"]) == 4
    titles = {a["text"] for a in fig["layout"]["annotations"]}
    assert titles == {f"counterpart agent: {c}" for c in t["counterparts"]}


def test_run_explorer_filters_by_agent(tournament_store, monkeypatch):
    path, t = tournament_store
    monkeypatch.setenv("SIMLAB_STORE", str(path))
    at = open_page("views/runs.py")
    at.multiselect(key="f_agent_a").select("lead_hmm_game_theory").run()
    at.multiselect(key="f_agent_b").select("counterpart_cheating").run()
    assert_clean(at)
    listed = at.dataframe(key="runs_table").value
    assert set(listed["condition"]) == {"lead_hmm_game_theory vs counterpart_cheating"} and len(listed) == t["seeds"]
