"""Statistics for simlab studies: effect sizes, tests, regression, power, references, plots.

Modules (one concept each):

- `effect_sizes`: `EffectSize`, `cohens_d` (and `cohens_d_from_stats`),
  `hedges_g`, `paired_d`, `cohens_h` with analytic and bootstrap (percentile, BCa) CIs.
- `intervals`: one group's CI: `wilson_interval` (a proportion), `t_interval`
  and `mean_ci` (a mean).
- `bootstrap`: generic seeded `bootstrap_ci` and the interval code.
- `hypothesis_tests`: `welch_t` (and `welch_t_from_stats`), `two_proportion_z`,
  `chi2_independence`, `fisher_exact_2x2` returning `HypothesisTestResult`; `holm` correction.

Each interval, effect size and test has exactly one implementation, here;
reports, the decision analysis and the dashboard call these.
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
    cohens_d_from_stats,
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
    two_proportion_z,
    welch_t,
    welch_t_from_stats,
)
from simlab.stats.intervals import mean_ci, t_interval, wilson_interval
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
    "cohens_d_from_stats",
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
    "mean_ci",
    "mixed_model",
    "n_two_proportions",
    "n_two_sample_t",
    "paired_d",
    "power_two_proportions",
    "power_two_sample_t",
    "select_references",
    "t_interval",
    "two_proportion_z",
    "welch_t",
    "welch_t_from_stats",
    "wilson_interval",
]
