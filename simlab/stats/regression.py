"""Regression models over run-store DataFrames: logistic GLM and linear mixed models.

Defines `RegressionFit`, `logistic_regression` (statsmodels GLM, Binomial
family, logit link) and `mixed_model` (statsmodels MixedLM, random intercepts
and optional random slopes per group).

Both take a pandas DataFrame and a patsy formula, e.g.
``"harmful ~ C(agent, Treatment('neutral')) + C(domain)"``. Rows with missing
values in the model's columns are dropped by patsy (the fit reports `nobs`).
Warnings from the optimiser (non-convergence, perfect separation, a singular
random-effects covariance) are caught and kept in `RegressionFit.warnings`
instead of being printed, and `converged` says whether the fit converged, so a
report can flag a doubtful model rather than hide it.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Optional

import numpy as np
import pandas as pd

from simlab.stats._validation import InsufficientDataError, check_confidence

__all__ = ["RegressionFit", "logistic_regression", "mixed_model"]


@dataclass(frozen=True)
class RegressionFit:
    """A fitted model's coefficient table and diagnostics.

    Attributes:
        model: "logistic" or "mixed_linear".
        formula: the patsy formula fitted.
        coefficients: one row per fixed-effect term with columns estimate, se,
            z, p_value, ci_low, ci_high (and odds_ratio, or_ci_low, or_ci_high
            for logistic models).
        nobs: observations used.
        converged: whether the optimiser reported convergence.
        warnings: messages of warnings raised while fitting.
        extras: model-specific values (log-likelihood, AIC, group variance ...).
        result: the statsmodels results object, for anything else.
    """

    model: str
    formula: str
    coefficients: pd.DataFrame
    nobs: int
    converged: bool
    warnings: tuple[str, ...]
    extras: dict[str, float]
    result: Any

    @property
    def ok(self) -> bool:
        """Converged without any warning (e.g. no perfect separation)."""
        return self.converged and not self.warnings

    def coef(self, term: str) -> float:
        """Estimate of one term."""
        return float(self.coefficients.loc[term, "estimate"])


def _check_data(data: pd.DataFrame) -> None:
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    if len(data) == 0:
        raise InsufficientDataError("the DataFrame is empty")


def _messages(caught: list[warnings.WarningMessage]) -> tuple[str, ...]:
    """Distinct warning messages, in first-seen order."""
    return tuple(dict.fromkeys(f"{w.category.__name__}: {w.message}" for w in caught))


def _table(params: pd.Series, bse: pd.Series, z: pd.Series, p: pd.Series, ci: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame(
        {
            "estimate": params,
            "se": bse,
            "z": z,
            "p_value": p,
            "ci_low": ci.iloc[:, 0],
            "ci_high": ci.iloc[:, 1],
        }
    )
    out.index.name = "term"
    return out


def logistic_regression(
    formula: str,
    data: pd.DataFrame,
    *,
    cluster: Optional[str] = None,
    confidence: float = 0.95,
) -> RegressionFit:
    """Logistic regression (GLM, Binomial family, logit link) from a formula.

    Args:
        formula: patsy formula with a 0/1 (or boolean) outcome on the left.
        data: one row per observation.
        cluster: optional column name; standard errors become cluster-robust
            by that column (e.g. scenario or seed block), coefficients unchanged.
        confidence: coverage of the coefficient CIs.

    Coefficients are log odds; `odds_ratio` columns exponentiate them.
    """
    import statsmodels.api as sm
    import statsmodels.formula.api as smf

    _check_data(data)
    confidence = check_confidence(confidence)
    alpha = 1.0 - confidence
    model = smf.glm(formula, data=data, family=sm.families.Binomial())
    fit_kwargs: dict[str, Any] = {}
    if cluster is not None:
        if cluster not in data.columns:
            raise ValueError(f"cluster column {cluster!r} is not in the data")
        groups = data.loc[model.data.row_labels, cluster]
        fit_kwargs = {"cov_type": "cluster", "cov_kwds": {"groups": pd.factorize(groups)[0]}}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = model.fit(**fit_kwargs)
    ci = res.conf_int(alpha=alpha)
    table = _table(res.params, res.bse, res.tvalues, res.pvalues, ci)
    with np.errstate(over="ignore"):  # separated fits have huge log odds; inf is the honest OR
        table["odds_ratio"] = np.exp(table["estimate"])
        table["or_ci_low"] = np.exp(table["ci_low"])
        table["or_ci_high"] = np.exp(table["ci_high"])
    converged = bool(getattr(res, "converged", True))
    return RegressionFit(
        model="logistic",
        formula=formula,
        coefficients=table,
        nobs=int(res.nobs),
        converged=converged,
        warnings=_messages(caught),
        extras={"llf": float(res.llf), "aic": float(res.aic), "deviance": float(res.deviance)},
        result=res,
    )


def mixed_model(
    formula: str,
    data: pd.DataFrame,
    groups: str,
    *,
    re_formula: Optional[str] = None,
    reml: bool = True,
    confidence: float = 0.95,
) -> RegressionFit:
    """Linear mixed model (statsmodels MixedLM) with random effects by `groups`.

    Args:
        formula: patsy formula for the fixed effects, continuous outcome.
        data: one row per observation.
        groups: column naming the grouping factor (e.g. scenario, model, seed).
        re_formula: random-effects formula; None gives random intercepts,
            ``"~x"`` random intercepts and slopes for x.
        reml: restricted maximum likelihood (default) or ML (needed to compare
            fixed-effect structures by likelihood).
        confidence: coverage of the fixed-effect CIs (Wald).

    `extras` holds the log-likelihood, the random-intercept variance
    ("group_var") and the residual variance ("scale").
    """
    import statsmodels.formula.api as smf

    _check_data(data)
    confidence = check_confidence(confidence)
    if groups not in data.columns:
        raise ValueError(f"groups column {groups!r} is not in the data")
    if data[groups].nunique() < 2:
        raise InsufficientDataError(f"a mixed model needs at least 2 levels of {groups!r}")
    model = smf.mixedlm(formula, data=data, groups=data[groups], re_formula=re_formula)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = model.fit(reml=reml)
    fe = res.fe_params.index
    ci = res.conf_int(alpha=1.0 - confidence).loc[fe]
    table = _table(res.fe_params, res.bse_fe, res.tvalues.loc[fe], res.pvalues.loc[fe], ci)
    cov_re = np.asarray(res.cov_re)
    return RegressionFit(
        model="mixed_linear",
        formula=formula,
        coefficients=table,
        nobs=int(res.nobs),
        converged=bool(res.converged),
        warnings=_messages(caught),
        extras={
            "llf": float(res.llf),
            "group_var": float(cov_re[0, 0]) if cov_re.size else 0.0,
            "scale": float(res.scale),
        },
        result=res,
    )
