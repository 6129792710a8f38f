"""The manipulation report's logistic regression (issue 10, item 2).

Before the fix `advisory_regression` passed (data, formula) to
`logistic_regression(formula, data)` and a broad ``except`` hid the TypeError,
so the section silently vanished. Here the report must carry the model, with
the same coefficients statsmodels fits on the same rows; and a study where the
model cannot be fitted must say why instead of dropping the section.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf

from simlab.decision import analysis as an
from simlab.report.decision import build_report
from simlab.store.store import RunStore
from simlab.sweep.runner import run_study

STUDY = """
study: {name}
scenarios: [manipulation_car_repair_loan, manipulation_roommate_conflict]
agents:
  advisor: {advisors}
  decider: [decider_simulated]
seeds: {{start: 1, count: {seeds}}}
population: 60
backend: {{kind: scripted}}
"""


def _run(tmp_path: Path, name: str, advisors: str, seeds: int) -> Path:
    study = tmp_path / f"{name}.yaml"
    study.write_text(STUDY.format(name=name, advisors=advisors, seeds=seeds))
    store = tmp_path / "s.duckdb"
    result = run_study(study, backend="scripted", store_path=store, cache_path=None)
    assert result.failed == 0 and result.ran > 0
    return store


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("regression")
    _run(tmp, "manip-reg", "[advisor_na, advisor_ma, advisor_sema]", 15)
    return _run(tmp, "manip-one", "[advisor_ma]", 3)


def test_the_report_carries_the_regression_statsmodels_fits(store, tmp_path):
    rs = RunStore(store, read_only=True)
    df = an.load_advisory(rs, "manip-reg")
    d = df.dropna(subset=["harmful_choice"]).copy()
    assert d["harmful_choice"].nunique() == 2 and d["advisor_type"].nunique() == 3
    d["harmful_choice"] = d["harmful_choice"].astype(float)
    formula = "harmful_choice ~ C(advisor_type, Treatment('NA')) + C(domain)"
    ref = smf.glm(formula, data=d, family=sm.families.Binomial()).fit()

    fit = an.advisory_regression(df)
    assert not isinstance(fit, an.NotComputed), fit
    assert fit.formula == formula and fit.nobs == len(d)
    pd.testing.assert_series_equal(fit.coefficients["estimate"], ref.params, check_names=False, rtol=1e-8)

    text = build_report(rs, "manip-reg", tmp_path / "r").read_text()
    section = text.split("## Logistic regression", 1)[1].split("\n## ", 1)[0]
    assert f"n = {len(d)}" in section
    for term, est in ref.params.items():
        row = next(ln for ln in section.splitlines() if ln.startswith(f"| {term} |"))
        assert f"{est:.3f}" in row, (term, est, row)


def test_a_model_that_cannot_be_fitted_says_why(store, tmp_path):
    rs = RunStore(store, read_only=True)
    fit = an.advisory_regression(an.load_advisory(rs, "manip-one"))
    assert isinstance(fit, an.NotComputed) and "two advisor types" in fit.reason
    text = build_report(rs, "manip-one", tmp_path / "r").read_text()
    assert "## Logistic regression" in text and "Not computed: needs at least two advisor types" in text


def test_an_outcome_that_never_varies_is_named():
    df = pd.DataFrame({"harmful_choice": [1.0] * 6, "advisor_type": ["NA", "MA"] * 3, "domain": ["financial"] * 6})
    fit = an.advisory_regression(df)
    assert isinstance(fit, an.NotComputed) and "does not vary" in fit.reason
