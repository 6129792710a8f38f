"""Multinomial logistic regression of a choice among several options.

Defines `MultinomialFit` and `multinomial_logit` (statsmodels ``MNLogit``).
A participant choosing one of three options (follow the advice, the
alternative, the default) is a multinomial outcome; one logit per non-reference
option against the reference option. Standard errors can be cluster-robust by
participant when each contributes several trials.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Optional

import numpy as np
import pandas as pd

from simlab.stats._validation import InsufficientDataError, check_confidence

__all__ = ["MultinomialFit", "multinomial_logit"]


@dataclass(frozen=True)
class MultinomialFit:
    """A fitted multinomial logit.

    Attributes:
        formula: the patsy formula (outcome ~ predictors).
        reference: the outcome level every other level is compared with.
        coefficients: long table indexed by (outcome, term) with estimate, se,
            z, p_value, ci_low, ci_high (log odds of `outcome` vs `reference`).
        levels: outcome levels in model order (reference first).
        nobs, converged, warnings: as in `RegressionFit`.
        result: the statsmodels results object.
    """

    formula: str
    reference: str
    coefficients: pd.DataFrame
    levels: tuple[str, ...]
    nobs: int
    converged: bool
    warnings: tuple[str, ...]
    result: Any

    @property
    def ok(self) -> bool:
        return self.converged and not self.warnings

    def coef(self, outcome: str, term: str) -> float:
        return float(self.coefficients.loc[(outcome, term), "estimate"])


def multinomial_logit(
    formula: str,
    data: pd.DataFrame,
    *,
    reference: Optional[str] = None,
    cluster: Optional[str] = None,
    confidence: float = 0.95,
) -> MultinomialFit:
    """Fit ``outcome ~ predictors`` with statsmodels MNLogit.

    Args:
        formula: patsy formula; the left side is a categorical column.
        data: one row per choice.
        reference: the outcome level to compare against (default: the first in sorted order).
        cluster: optional column (participant id) for cluster-robust standard errors.
        confidence: coverage of the Wald CIs.
    """
    import patsy
    import statsmodels.api as sm

    if not isinstance(data, pd.DataFrame) or len(data) == 0:
        raise InsufficientDataError("multinomial_logit: the data is empty")
    confidence = check_confidence(confidence)
    lhs, _, rhs = formula.partition("~")
    outcome = lhs.strip()
    if not rhs.strip() or outcome not in data.columns:
        raise ValueError(f"multinomial_logit: formula {formula!r} must be 'column ~ predictors' with a column of the data")
    x = patsy.dmatrix(rhs, data, return_type="dataframe")
    y_raw = data.loc[x.index, outcome].astype(str)
    levels = sorted(y_raw.unique())
    if len(levels) < 2:
        raise InsufficientDataError(f"multinomial_logit: '{outcome}' has {len(levels)} level(s); at least 2 are needed")
    if reference is None:
        reference = levels[0]
    if reference not in levels:
        raise ValueError(f"multinomial_logit: reference {reference!r} is not a level of '{outcome}' ({levels})")
    order = [reference] + [lv for lv in levels if lv != reference]
    y = pd.Series(pd.Categorical(y_raw, categories=order).codes, index=x.index)
    fit_kwargs: dict[str, Any] = {"disp": 0, "maxiter": 200}
    if cluster is not None:
        if cluster not in data.columns:
            raise ValueError(f"cluster column {cluster!r} is not in the data")
        fit_kwargs.update(cov_type="cluster", cov_kwds={"groups": pd.factorize(data.loc[x.index, cluster])[0]})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = sm.MNLogit(y, x).fit(**fit_kwargs)
    alpha = 1.0 - confidence
    params = np.asarray(res.params)
    bse = np.asarray(res.bse)
    z = params / bse
    from scipy import stats

    p = 2 * stats.norm.sf(np.abs(z))
    crit = stats.norm.ppf(1 - alpha / 2)
    rows = []
    for j, lv in enumerate(order[1:]):
        for i, term in enumerate(x.columns):
            rows.append(
                {"outcome": lv, "term": term, "estimate": params[i, j], "se": bse[i, j], "z": z[i, j], "p_value": p[i, j],
                 "ci_low": params[i, j] - crit * bse[i, j], "ci_high": params[i, j] + crit * bse[i, j]}
            )
    table = pd.DataFrame(rows).set_index(["outcome", "term"])
    converged = bool(res.mle_retvals.get("converged", True))
    msgs = tuple(dict.fromkeys(f"{w.category.__name__}: {w.message}" for w in caught))
    return MultinomialFit(formula, reference, table, tuple(order), int(res.nobs), converged, msgs, res)
