"""The negotiation report and `simlab fit hmm` on a small scripted tournament."""
import subprocess
import sys

import numpy as np
import pytest
from statsmodels.stats.proportion import proportion_confint

from simlab.report import build_report
from simlab.stats import mean_ci
from simlab.stats import wilson_interval as wilson
from simlab.store.store import RunStore
from simlab.sweep.runner import run_study


@pytest.fixture(scope="module")
def tournament(tmp_path_factory):
    d = tmp_path_factory.mktemp("t")
    study = d / "experiments" / "t.yaml"
    study.parent.mkdir()
    study.write_text(
        "study: mini-tournament\nscenarios: [debt_collection, emergency_response]\n"
        "agents:\n  lead: [lead_vanilla, lead_hmm_game_theory]\n  counterpart: [counterpart_cooperative, counterpart_threatening]\n"
        "seeds: [1, 2, 3]\nbackend: {kind: scripted}\n"
    )
    store = d / "s.duckdb"
    res = run_study(study, store_path=store, cache_path=None)
    assert res.failed == 0
    return d, store


@pytest.mark.parametrize("k, n", [(0, 10), (3, 10), (10, 10), (37, 80)])
def test_wilson_matches_statsmodels(k, n):
    assert wilson(k, n) == pytest.approx(proportion_confint(k, n, method="wilson"), abs=1e-12)


def test_mean_ci_matches_scipy():
    from scipy import stats

    x = np.array([0.2, 0.5, 0.4, 0.9, 0.3])
    m, lo, hi = mean_ci(x)
    ref = stats.t.interval(0.95, len(x) - 1, loc=x.mean(), scale=stats.sem(x))
    assert (lo, hi) == pytest.approx(ref, abs=1e-12) and m == pytest.approx(x.mean())


def test_report_opens_with_a_table_and_tests_against_vanilla(tournament):
    d, store = tournament
    path = build_report(RunStore(store, read_only=True), "mini-tournament", d / "rep")
    text = path.read_text()
    lines = text.splitlines()
    assert lines[0] == "# mini-tournament"
    assert lines[2].startswith("| domain | strategy | n | distinct runs | agreement rate")
    assert sum(1 for l in lines if l.startswith("| debt |") or l.startswith("| emergency |")) >= 4 + 2
    assert "Each strategy against `lead_vanilla`" in text and "| debt | lead_hmm_game_theory |" in text
    assert "not an LLM" in text
    for png in ("lead_utility.png", "agreement.png", "ethics.png"):
        assert (d / "rep" / png).read_bytes()[:4] == b"\x89PNG"


def test_fit_hmm_cli_writes_parameters_a_strategy_can_load(tournament, tmp_path):
    d, store = tournament
    out = tmp_path / "hmm.json"
    r = subprocess.run([sys.executable, "-m", "simlab.cli", "fit", "hmm", "--study", "mini-tournament",
                        "--store", str(store), "--out", str(out)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    from simlab.strategies.hmm_tracker import load_params

    params = load_params(out)
    assert np.allclose(np.asarray(params.transmat).sum(axis=1), 1.0)
    study = tmp_path / "experiments" / "fitted.yaml"
    study.parent.mkdir()
    (tmp_path / "agents").mkdir()
    (tmp_path / "agents" / "lead_fitted.yaml").write_text(
        f"id: lead_fitted\nrole: lead\nstrategy: {{name: hmm_game_theory, params: {{hmm: {out}}}}}\n"
    )
    study.write_text("study: fitted\nscenarios: [debt_collection]\nagents: {lead: [lead_fitted], counterpart: [counterpart_victim]}\n"
                     "seeds: [1]\nbackend: {kind: scripted}\n")
    res = run_study(study, store_path=tmp_path / "f.duckdb", cache_path=None)
    assert (res.ran, res.failed) == (1, 0)
    beliefs = RunStore(tmp_path / "f.duckdb", read_only=True).query(
        "SELECT belief_json FROM turns WHERE belief_json IS NOT NULL")
    assert len(beliefs) > 0
