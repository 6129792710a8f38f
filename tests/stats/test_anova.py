"""Split-plot ANOVA against an independent OLS decomposition and on planted effects."""
import numpy as np
import pandas as pd
import pytest

from simlab.stats._validation import InsufficientDataError
from simlab.stats.anova import mixed_anova


def planted(rng, n_per_group=(10, 12, 9), k=3, between=(0.0, 0.5, 1.0), within=(0.0, 0.3, 0.6), inter=0.0, subj_sd=1.0):
    rows = []
    sid = 0
    for g, n in enumerate(n_per_group):
        for _ in range(n):
            s = rng.normal(0, subj_sd)
            for j in range(k):
                y = between[g] + within[j] + inter * g * j + s + rng.normal(0, 0.5)
                rows.append({"subject": f"s{sid}", "group": f"g{g}", "time": f"t{j}", "y": y})
            sid += 1
    return pd.DataFrame(rows)


def test_sums_of_squares_equal_the_nested_ols_decomposition():
    import statsmodels.formula.api as smf

    df = planted(np.random.default_rng(1))
    res = mixed_anova(df, "y", "time", "group", "subject")

    def rss(formula):
        import warnings

        with warnings.catch_warnings():  # subjects are nested in groups, so these designs are rank-deficient by construction
            warnings.simplefilter("ignore")
            return smf.ols(formula, df).fit().ssr

    # subjects are nested in groups: each split-plot term is the drop in residual SS of one nested OLS model
    total = float(((df["y"] - df["y"].mean()) ** 2).sum())
    t = res.table
    assert t.loc["group", "ss"] == pytest.approx(total - rss("y ~ C(group)"), rel=1e-9)
    assert t.loc["error_between", "ss"] == pytest.approx(rss("y ~ C(group)") - rss("y ~ C(subject)"), rel=1e-9)
    assert t.loc["time", "ss"] == pytest.approx(rss("y ~ C(subject)") - rss("y ~ C(subject) + C(time)"), rel=1e-9)
    full = rss("y ~ C(subject) + C(group):C(time)")
    assert t.loc["group x time", "ss"] == pytest.approx(rss("y ~ C(subject) + C(time)") - full, rel=1e-9)
    assert t.loc["error_within", "ss"] == pytest.approx(full, rel=1e-9)
    assert (t.loc["group", "df1"], t.loc["group", "df2"]) == (2, 28)
    assert (t.loc["time", "df1"], t.loc["time", "df2"]) == (2, 56)
    assert t.loc["time", "f"] == pytest.approx((t.loc["time", "ss"] / 2) / (full / 56), rel=1e-9)


def test_between_f_is_the_one_way_anova_of_subject_means_and_two_level_interaction_of_differences():
    from scipy import stats

    df = planted(np.random.default_rng(2), k=2, within=(0.0, 0.4), inter=0.8)
    res = mixed_anova(df, "y", "time", "group", "subject")
    means = df.groupby(["group", "subject"])["y"].mean()
    f_b = stats.f_oneway(*[means.loc[g].to_numpy() for g in sorted(df["group"].unique())]).statistic
    assert res.f("group") == pytest.approx(f_b, rel=1e-9)
    wide = df.pivot_table(index=["group", "subject"], columns="time", values="y")
    diff = wide["t1"] - wide["t0"]
    f_i = stats.f_oneway(*[diff.loc[g].to_numpy() for g in sorted(df["group"].unique())]).statistic
    assert res.f("group x time") == pytest.approx(f_i, rel=1e-9)


def test_planted_interaction_is_found_and_absent_one_is_not():
    rng = np.random.default_rng(3)
    with_effect = mixed_anova(planted(rng, n_per_group=(20, 20, 20), inter=0.6), "y", "time", "group", "subject")
    assert with_effect.p("group x time") < 1e-6 and with_effect.table.loc["group x time", "eta_p2"] > 0.3
    nulls = [mixed_anova(planted(np.random.default_rng(100 + i), inter=0.0), "y", "time", "group", "subject").p("group x time")
             for i in range(40)]
    assert np.mean(np.array(nulls) < 0.05) < 0.2  # about 5% false positives


def test_incomplete_design_and_group_switching_subject_are_errors():
    df = planted(np.random.default_rng(4))
    with pytest.raises(InsufficientDataError, match="lack a value"):
        mixed_anova(df.iloc[1:], "y", "time", "group", "subject")
    bad = df.copy()
    bad.loc[0, "group"] = "g2"
    with pytest.raises(ValueError, match="more than one 'group' group"):
        mixed_anova(bad, "y", "time", "group", "subject")
    with pytest.raises(ValueError, match="column 'nope'"):
        mixed_anova(df, "nope", "time", "group", "subject")
