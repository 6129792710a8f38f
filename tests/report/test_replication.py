"""Pseudo-replication and summary columns (issue 10, items 3 and 6).

- A deterministic pairing under the scripted backend plays the same negotiation
  for every seed: the report must say so (n beside distinct runs, a flag, no
  interval and no test on identical rows) instead of treating them as samples.
- A scenario's `seed_varies` makes seeds vary what it declares (here the
  reservation values), the varied values land in the runs' specs, every
  condition meets the same draws, and the runs become distinct.
- The run table shows the scenario's own metrics; the report breaks results
  down by counterpart, reports Pareto and Nash distances, and draws no interval
  outside a metric's bounds.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from simlab.config.loader import load_study
from simlab.report import build_report
from simlab.report.negotiation import load_runs, summary_rows
from simlab.stats.bounded import bounded_mean_ci
from simlab.store.store import RunStore
from simlab.sweep.expand import expand_study
from simlab.sweep.runner import run_study
from simlab.sweep.summary import condition_summary, run_signatures, summary_table

STUDY = """
study: {name}
scenarios: [{scenario}]
agents:
  lead: [lead_vanilla, lead_hmm_game_theory]
  counterpart: [counterpart_cooperative, counterpart_victim]
seeds: [1, 2, 3, 4, 5, 6]
backend: {{kind: scripted}}
{extra}
"""


def _write(tmp: Path, name: str, scenario: str = "debt_collection", extra: str = "") -> Path:
    path = tmp / "experiments" / f"{name}.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(STUDY.format(name=name, scenario=scenario, extra=extra))
    return path


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("rep")
    store = tmp / "s.duckdb"
    fixed = _write(tmp, "fixed")
    varied = _write(tmp, "varied", extra="scenario_overrides: {seed_varies: {reservation_jitter: 0.08}}")
    for study in (fixed, varied):
        res = run_study(study, backend="scripted", store_path=store, cache_path=None)
        assert res.failed == 0 and res.ran == 24
    return tmp, store, varied


def test_identical_seeds_are_flagged_not_treated_as_samples(stores):
    tmp, store, _ = stores
    rs = RunStore(store, read_only=True)
    df = load_runs(rs, "fixed")
    summ = summary_rows(df, ("domain", "strategy", "counterpart"))
    # the cooperative and victim counterparts have no random draws: every seed is the same negotiation
    deterministic = summ[summ["n_distinct"] == 1]
    assert len(deterministic) >= 1 and (deterministic["n"] == 6).all()
    for r in deterministic.itertuples():
        assert math.isnan(r.lead_utility[1]) and math.isnan(r.agreement[1])  # no interval on identical rows
    text = build_report(rs, "fixed", tmp / "rep-fixed").read_text()
    assert "Replication warning" in text and "(!)" in text
    assert "not tested: " in text and "pseudo-replicates" in text


def test_seed_varies_makes_seeds_distinct_with_common_draws(stores):
    tmp, store, varied = stores
    specs = expand_study(load_study(varied), varied)
    res = {}
    for s in specs:
        res.setdefault(s.seed, set()).add(s.scenario["utilities"]["debtor"]["reservation"])
    # every condition of one seed meets the same reservation (common random numbers) ...
    assert all(len(v) == 1 for v in res.values())
    values = [next(iter(v)) for v in res.values()]
    # ... and seeds differ, within the declared jitter around the shipped 0.25
    assert len(set(values)) == len(values)
    assert all(abs(v - 0.25) <= 0.08 + 1e-12 for v in values)
    rs = RunStore(store, read_only=True)
    sig = run_signatures(rs, "varied")
    summ = summary_rows(load_runs(rs, "varied"), ("domain", "strategy", "counterpart"))
    assert (summ["n_distinct"] > 1).all(), summ[["strategy", "counterpart", "n", "n_distinct"]]
    assert len(sig) == 24 and sig["signature"].nunique() > 12


def test_the_run_table_shows_the_scenarios_own_metrics(stores):
    _, store, _ = stores
    rs = RunStore(store, read_only=True)
    df = condition_summary(rs, "fixed")
    runs = rs.query("SELECT condition, metrics_json FROM runs WHERE study_id = 'fixed' ORDER BY run_id")
    declared = list(json.loads(runs["metrics_json"].iloc[0]))
    assert declared and [c.split(":", 1)[1] for c in df.columns if c.startswith("metric:")] == declared
    for name in declared:
        want = runs.assign(v=runs["metrics_json"].map(lambda s: json.loads(s)[name])).groupby("condition")["v"].mean()
        got = df.set_index("condition")[f"metric:{name}"]
        assert np.allclose(got.loc[want.index].to_numpy(), want.to_numpy())
    table = summary_table(rs, "fixed")
    headers = [c.header for c in table.columns]
    assert "distinct" in headers and all(n in headers for n in declared)


def test_a_metric_not_named_recovery_rate_is_shown(tmp_path):
    # emergency response declares its own metrics (no recovery_rate): they must reach the table
    study = _write(tmp_path, "emerg", scenario="emergency_response")
    store = tmp_path / "e.duckdb"
    assert run_study(study, backend="scripted", store_path=store, cache_path=None).failed == 0
    df = condition_summary(RunStore(store, read_only=True), "emerg")
    cols = [c for c in df.columns if c.startswith("metric:")]
    assert cols and "metric:recovery_rate" not in cols and df[cols].notna().all().all()


def test_report_breaks_down_by_counterpart_with_pareto_and_nash(stores):
    tmp, store, _ = stores
    text = build_report(RunStore(store, read_only=True), "varied", tmp / "rep-varied").read_text()
    assert "## By counterpart" in text
    assert "| debt | lead_hmm_game_theory | counterpart_victim |" in text
    assert "Pareto distance" in text and "Nash distance" in text and "Pareto distance (reachable)" in text
    assert "## Scenario metrics" in text and "recovery_rate" in text


def test_intervals_stay_inside_the_bounds(stores):
    _, store, _ = stores
    summ = summary_rows(load_runs(RunStore(store, read_only=True), "varied"))
    for r in summ.itertuples():
        for (m, lo, hi), (low, high) in ((r.agreement, (0, 1)), (r.lead_utility, (0, 1)), (r.other_utility, (0, 1)),
                                         (r.pareto_distance, (0, math.inf)), (r.nash_distance, (0, math.inf))):
            if not math.isnan(lo):
                assert low <= lo <= m <= hi <= high


def test_bounded_mean_ci_never_leaves_the_bounds_where_a_t_interval_does():
    from simlab.stats import mean_ci

    x = np.array([1.0] * 9 + [0.2])  # a utility near its ceiling
    _, t_lo, t_hi = mean_ci(x)
    assert t_hi > 1.0  # the t interval leaves [0, 1]
    m, lo, hi = bounded_mean_ci(x, 0.0, 1.0)
    assert 0.0 <= lo <= m <= hi <= 1.0 and lo < m
    assert bounded_mean_ci(x, 0.0, 1.0) == (m, lo, hi)  # seeded: reproducible
    assert bounded_mean_ci(x[::-1], 0.0, 1.0) == (m, lo, hi)  # order of the runs does not matter
    assert math.isnan(bounded_mean_ci([0.4, 0.4, 0.4])[1])  # identical values: no interval
