"""Statistics for simlab studies: effect sizes, tests, regression, power, references, plots.

Modules (one concept each):

- `effect_sizes`: `EffectSize`, `cohens_d`, `hedges_g`, `paired_d`, `cohens_h`
  with analytic and bootstrap (percentile, BCa) CIs.
- `bootstrap`: generic seeded `bootstrap_ci` and the interval code.
- `hypothesis_tests`: `welch_t`, `chi2_independence`, `fisher_exact_2x2`
  returning `HypothesisTestResult`; `holm` correction.
- `regression`: `logistic_regression` (GLM Binomial) and `mixed_model` (MixedLM).
- `power`: `n_two_sample_t`, `n_two_proportions` and their power functions.
- `references`: literature values with sources, drawn beside estimates only.
- `forest`: `forest_plot` to PNG.

Randomness only ever comes from a `numpy.random.Generator` passed in.
"""
from __future__ import annotations

from simlab.stats._validation import InsufficientDataError
from simlab.stats.bootstrap import bootstrap_ci
from simlab.stats.effect_sizes import (
    EffectSize,
    cohens_d,
    cohens_h,
    d_from_stats,
    d_variance,
    dz_variance,
    h_from_proportions,
    hedges_g,
    hedges_j,
    paired_d,
)
from simlab.stats.forest import ForestRow, forest_plot
from simlab.stats.hypothesis_tests import (
    HolmResult,
    HypothesisTestResult,
    chi2_independence,
    fisher_exact_2x2,
    holm,
    welch_t,
)
from simlab.stats.power import (
    SampleSizePlan,
    n_two_proportions,
    n_two_sample_t,
    power_two_proportions,
    power_two_sample_t,
)
from simlab.stats.references import REFERENCES, ReferenceValue, Source, get_reference, select_references
from simlab.stats.regression import RegressionFit, logistic_regression, mixed_model

__all__ = [
    "REFERENCES",
    "EffectSize",
    "ForestRow",
    "HolmResult",
    "HypothesisTestResult",
    "InsufficientDataError",
    "ReferenceValue",
    "RegressionFit",
    "SampleSizePlan",
    "Source",
    "bootstrap_ci",
    "chi2_independence",
    "cohens_d",
    "cohens_h",
    "d_from_stats",
    "d_variance",
    "dz_variance",
    "fisher_exact_2x2",
    "forest_plot",
    "get_reference",
    "h_from_proportions",
    "hedges_g",
    "hedges_j",
    "holm",
    "logistic_regression",
    "mixed_model",
    "n_two_proportions",
    "n_two_sample_t",
    "paired_d",
    "power_two_proportions",
    "power_two_sample_t",
    "select_references",
    "welch_t",
]
