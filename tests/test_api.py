"""The Python API (`simlab.run_study`, `simlab.Study`, `simlab.open_store`, `simlab.report`) and the deadline sweep script."""
import importlib.util
import json
import subprocess
import sys

import pandas as pd
import pytest

import simlab
from simlab.config.loader import load_study
from simlab.errors import ConfigError, StoreError


def _study(**over):
    fields = dict(
        study="api-small", scenarios=["debt_collection"],
        agents={"creditor": ["boulware_creditor", "conceder_creditor"], "debtor": ["cooperative_debtor"]},
        seeds=[1, 2], backend={"kind": "scripted"}, population=4,
    )
    fields.update(over)
    return simlab.Study(**fields)


def test_import_simlab_stays_light():
    code = "import sys, simlab; print(any(m in sys.modules for m in ('simlab.api', 'pandas', 'simlab.sweep.runner')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "False"


def test_study_in_python_is_the_yaml_model(small_study):
    from_yaml = load_study(small_study)
    assert type(from_yaml) is simlab.Study
    built = simlab.Study(**from_yaml.model_dump())
    assert built == from_yaml
    with pytest.raises(Exception, match="colour"):
        simlab.Study(**from_yaml.model_dump(), colour="red")


def test_run_study_returns_every_run_and_resumes(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    store = tmp_path / "s.duckdb"
    runs = simlab.run_study(_study(), store=store)
    assert isinstance(runs, pd.DataFrame) and len(runs) == 4
    assert set(runs["status"]) == {"done"} and runs["run_id"].is_unique
    assert {json.loads(a)["creditor"] for a in runs["agents_json"]} == {"boulware_creditor", "conceder_creditor"}
    again = simlab.run_study(_study(), store=store)
    pd.testing.assert_frame_equal(runs.drop(columns=["finished_at"]), again.drop(columns=["finished_at"]))
    assert (runs["finished_at"] == again["finished_at"]).all()  # nothing re-ran: the stored rows came back
    more = simlab.run_study(_study(), store=store, overrides={"seeds": [1, 2, 3], "scenario_overrides.deadline": 4})
    assert len(more) == 6 and set(more["seed"]) == {1, 2, 3}
    assert (more["rounds"] <= 4).all() and not set(more["run_id"]) & set(runs["run_id"])


def test_run_study_refuses_bad_arguments_before_running(tmp_path):
    store = tmp_path / "s.duckdb"
    with pytest.raises(ConfigError, match="--workers"):
        simlab.run_study(_study(), store=store, workers=10**6)
    with pytest.raises(ConfigError, match="overrides"):
        simlab.run_study(_study(), store=store, overrides={"seeds": []})
    with pytest.raises(ConfigError, match="unknown backend"):
        simlab.run_study(_study(), store=store, backend="gpt9")
    assert not store.exists()


def test_store_reader(tmp_path, monkeypatch, small_study):
    monkeypatch.chdir(tmp_path)
    store = tmp_path / "s.duckdb"
    simlab.run_study(small_study, store=store)
    reader = simlab.open_store(store)
    assert list(reader.studies()["study_id"]) == ["small"]
    runs = reader.runs("small")
    assert len(runs) == 8 and any(c.startswith("metric.") for c in runs.columns)
    turns = reader.turns(runs["run_id"][0][:10])
    assert len(turns) == runs["n_turns"][0] and list(turns["turn_index"]) == list(range(len(turns)))
    with pytest.raises(StoreError, match="study 'nope' is not in"):
        reader.runs("nope")
    with pytest.raises(StoreError, match="no run"):
        reader.turns("zzzz")
    human = reader.human_trials()
    assert isinstance(human, pd.DataFrame) and human.empty
    path = simlab.report("small", store=store, out=tmp_path / "rep")
    assert path == tmp_path / "rep" / "report.md" and "small" in path.read_text()
    with pytest.raises(ConfigError, match="--baseline"):
        simlab.report("small", store=store, out=tmp_path / "rep", baseline="nobody")


@pytest.mark.slow
def test_sweep_deadline_script_plots_outcome_against_deadline(tmp_path, root):
    spec = importlib.util.spec_from_file_location("sweep_deadline", root / "experiments" / "sweep_deadline.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    png = tmp_path / "sweep.png"
    summary = mod.main(["--deadlines", "1", "3", "12", "--seeds", "2", "--store", str(tmp_path / "s.duckdb"), "--out", str(png)])
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    assert sorted(set(summary["deadline"])) == [1, 3, 12] and (summary["n"] == 2).all()
    # the override reached the runs: no negotiation outlasts its deadline, and a longer one is used
    assert (summary["rounds"] <= summary["deadline"]).all()
    assert summary.groupby("deadline")["rounds"].mean().is_monotonic_increasing
    assert summary["agreement_rate"].between(0, 1).all()
    # a one-round deadline leaves the creditor its reservation at best; a longer one lets Boulware hold out for more
    by = summary.set_index(["creditor", "deadline"])["creditor_utility"]
    assert by["boulware_creditor", 3] > by["boulware_creditor", 1]


def test_human_trials_reader_reads_an_imported_dataset(tmp_path):
    from simlab.store.human import HumanMapping, import_human
    from simlab.store.store import RunStore

    rows = [
        {"pid": f"p{i}", "task": "t1", "cond": c, "pre_a": 3, "pre_b": 4, "post_a": 3, "post_b": 6, "picked": pick, "harmful": "B"}
        for i, (c, pick) in enumerate([("NA", "A"), ("MA", "B"), ("MA", "B")])
    ]
    data = tmp_path / "trials.csv"
    pd.DataFrame(rows).to_csv(data, index=False)
    mapping = HumanMapping.model_validate({
        "participant": "pid", "task": "task", "domain_value": "finance", "conditions": {"advisor_type": "cond"}, "options": ["A", "B"],
        "ratings_before": {"A": "pre_a", "B": "pre_b"}, "ratings_after": {"A": "post_a", "B": "post_b"},
        "choice": "picked", "harmful_column": "harmful",
    })
    store = tmp_path / "h.duckdb"
    import_human(RunStore(store), data, "pilot", mapping)
    reader = simlab.open_store(store)
    one = reader.human_trials("pilot")
    assert len(one) == 3 and list(one["advisor_type"]) == ["NA", "MA", "MA"]
    assert len(reader.human_trials()) == 3
    with pytest.raises(StoreError, match="no human dataset 'other'"):
        reader.human_trials("other")


def test_a_store_supplied_study_id_cannot_write_outside_reports_or_exports(tmp_path, monkeypatch):
    from simlab.store.store import RunStore

    work = tmp_path / "a" / "b"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    store = work / "s.duckdb"
    RunStore(store).upsert_study("../../x", "crafted", {}, "", 0)
    with pytest.raises(ConfigError, match="not a plain name"):
        simlab.report("../../x", store=store)
    r = subprocess.run([sys.executable, "-m", "simlab.cli", "export", "../../x", "--store", str(store)],
                       capture_output=True, text=True, cwd=work)
    assert r.returncode == 2 and "not a plain name" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a"]  # nothing written beside or above
