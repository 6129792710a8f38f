"""Multinomial logit recovers planted coefficients."""
import numpy as np
import pandas as pd
import pytest

from simlab.stats._validation import InsufficientDataError
from simlab.stats.multinomial import multinomial_logit


def test_planted_coefficients_are_recovered_and_covered():
    rng = np.random.default_rng(7)
    n = 6000
    x = rng.integers(0, 2, n)  # condition dummy
    z = rng.normal(size=n)
    # log odds vs reference 'a': b = -0.5 + 1.0 x + 0.3 z ; c = 0.2 - 0.8 x - 0.4 z
    eta = np.column_stack([np.zeros(n), -0.5 + 1.0 * x + 0.3 * z, 0.2 - 0.8 * x - 0.4 * z])
    p = np.exp(eta) / np.exp(eta).sum(1, keepdims=True)
    choice = np.array(["a", "b", "c"])[[rng.choice(3, p=row) for row in p]]
    df = pd.DataFrame({"choice": choice, "cond": np.where(x == 1, "MA", "NA"), "z": z, "pid": np.arange(n) // 3})
    fit = multinomial_logit("choice ~ C(cond, Treatment('NA')) + z", df, reference="a", cluster="pid")
    term = "C(cond, Treatment('NA'))[T.MA]"
    truth = {("b", "Intercept"): -0.5, ("b", term): 1.0, ("b", "z"): 0.3, ("c", "Intercept"): 0.2, ("c", term): -0.8, ("c", "z"): -0.4}
    for key, value in truth.items():
        row = fit.coefficients.loc[key]
        assert abs(row.estimate - value) < 0.15, key
        assert row.ci_low - 0.05 < value < row.ci_high + 0.05, key
    assert fit.levels == ("a", "b", "c") and fit.converged and fit.nobs == n


def test_one_level_outcome_is_insufficient():
    df = pd.DataFrame({"choice": ["a"] * 10, "x": range(10)})
    with pytest.raises(InsufficientDataError, match="1 level"):
        multinomial_logit("choice ~ x", df)
