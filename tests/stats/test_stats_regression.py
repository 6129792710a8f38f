"""Logistic regression and mixed models recover known coefficients from simulated data."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from simlab.stats import InsufficientDataError, logistic_regression, mixed_model


@pytest.fixture(scope="module")
def binary_data():
    rng = np.random.default_rng(77)
    n = 4000
    df = pd.DataFrame(
        {
            "x": rng.normal(size=n),
            "agent": rng.choice(["neutral", "manipulative"], size=n),
            "scenario": rng.integers(0, 25, size=n),
        }
    )
    eta = -0.5 + 1.0 * df["x"] + 0.8 * (df["agent"] == "manipulative")
    df["harmful"] = (rng.uniform(size=n) < 1 / (1 + np.exp(-eta))).astype(int)
    return df


def test_logistic_recovers_known_coefficients(binary_data):
    fit = logistic_regression("harmful ~ x + C(agent, Treatment('neutral'))", binary_data)
    tab = fit.coefficients
    agent = "C(agent, Treatment('neutral'))[T.manipulative]"
    for term, truth in (("Intercept", -0.5), ("x", 1.0), (agent, 0.8)):
        assert tab.loc[term, "ci_low"] <= truth <= tab.loc[term, "ci_high"], (term, tab.loc[term].to_dict())
        assert abs(tab.loc[term, "estimate"] - truth) < 4 * tab.loc[term, "se"]
    assert fit.coef("x") == pytest.approx(1.0, abs=0.15)
    assert tab.loc["x", "odds_ratio"] == pytest.approx(np.exp(tab.loc["x", "estimate"]))
    assert fit.ok and fit.nobs == len(binary_data) and fit.model == "logistic"


def test_logistic_agrees_with_an_independent_logit_fit(binary_data):
    fit = logistic_regression("harmful ~ x", binary_data)
    X = sm.add_constant(binary_data[["x"]])
    ref = sm.Logit(binary_data["harmful"], X).fit(disp=0)
    np.testing.assert_allclose(fit.coefficients["estimate"].to_numpy(), ref.params.to_numpy(), atol=1e-6)
    np.testing.assert_allclose(fit.coefficients["se"].to_numpy(), ref.bse.to_numpy(), rtol=1e-5)


def test_cluster_robust_changes_se_not_estimates(binary_data):
    plain = logistic_regression("harmful ~ x", binary_data)
    clustered = logistic_regression("harmful ~ x", binary_data, cluster="scenario")
    np.testing.assert_allclose(plain.coefficients["estimate"], clustered.coefficients["estimate"], atol=1e-12)
    assert not np.allclose(plain.coefficients["se"], clustered.coefficients["se"])


def test_missing_rows_are_dropped_and_counted(binary_data):
    df = binary_data.copy()
    df.loc[:9, "x"] = np.nan
    fit = logistic_regression("harmful ~ x", df, cluster="scenario")
    assert fit.nobs == len(df) - 10


def test_perfect_separation_is_reported_not_hidden():
    df = pd.DataFrame({"x": np.arange(20.0), "y": (np.arange(20) >= 10).astype(int)})
    fit = logistic_regression("y ~ x", df)
    assert not fit.ok
    assert any("separation" in w.lower() for w in fit.warnings)


def test_mixed_model_recovers_fixed_slope_and_group_variance():
    rng = np.random.default_rng(5)
    groups, per = 40, 30
    g = np.repeat(np.arange(groups), per)
    u = rng.normal(0.0, 1.0, groups)[g]
    x = rng.normal(size=groups * per)
    y = 2.0 + 0.5 * x + u + rng.normal(0.0, 1.0, groups * per)
    df = pd.DataFrame({"y": y, "x": x, "scenario": g})
    fit = mixed_model("y ~ x", df, groups="scenario")
    tab = fit.coefficients
    assert tab.loc["x", "ci_low"] <= 0.5 <= tab.loc["x", "ci_high"]
    assert fit.coef("x") == pytest.approx(0.5, abs=0.1)
    assert fit.coef("Intercept") == pytest.approx(2.0, abs=0.5)
    assert fit.extras["group_var"] == pytest.approx(1.0, abs=0.5)
    assert fit.extras["scale"] == pytest.approx(1.0, abs=0.15)
    assert fit.converged and fit.model == "mixed_linear"
    assert list(tab.index) == ["Intercept", "x"]


def test_mixed_model_random_slopes_runs():
    rng = np.random.default_rng(6)
    g = np.repeat(np.arange(15), 20)
    x = rng.normal(size=g.size)
    slope = 0.7 + rng.normal(0, 0.3, 15)[g]
    df = pd.DataFrame({"y": slope * x + rng.normal(0, 1, g.size), "x": x, "model": g})
    fit = mixed_model("y ~ x", df, groups="model", re_formula="~x")
    assert fit.coef("x") == pytest.approx(0.7, abs=0.3)


def test_regression_input_errors(binary_data):
    with pytest.raises(ValueError):
        logistic_regression("harmful ~ x", binary_data, cluster="nope")
    with pytest.raises(InsufficientDataError):
        mixed_model("harmful ~ x", binary_data.assign(one=1), groups="one")
    with pytest.raises(TypeError):
        logistic_regression("y ~ x", {"y": [0, 1], "x": [1, 2]})  # type: ignore[arg-type]
