"""Mixed (split-plot) ANOVA: one between-subjects and one within-subjects factor.

Defines `MixedAnova` and `mixed_anova`. A human trial where each participant
(subject) sits in one between condition and sees every level of a within
factor (e.g. rating before and after advice, or several tasks) is a split-plot
design; treating its rows as independent inflates n. The sums of squares are
the classical ones (Kirk 1995, *Experimental Design*, ch. 12; the same table
pingouin's ``mixed_anova`` prints):

- between: SS_B = k * sum_g n_g (mean_g - grand)^2, error SS_S(B) = k * sum (subject mean - group mean)^2
- within: SS_W = N * sum_j (mean_j - grand)^2, interaction SS_BxW from the cell means,
  error SS_WxS(B) = what remains of the within-subject variation.

The design must be complete (each subject has exactly one value per within
level; several rows of a subject in a cell are averaged first, and reported).
Partial eta squared = SS_effect / (SS_effect + SS_error) of the effect's own error term.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from simlab.stats._validation import InsufficientDataError

__all__ = ["MixedAnova", "mixed_anova"]


@dataclass(frozen=True)
class MixedAnova:
    """A split-plot ANOVA table.

    Attributes:
        table: one row per source (between factor, within factor,
            interaction) with columns ss, df1, df2, ms, f, p_value, eta_p2;
            plus the two error rows (``error_between``, ``error_within``) with ss, df1 and ms.
        n_subjects: subjects in the complete design.
        n_levels: levels of the within factor.
        averaged_cells: subject x within cells that had several rows (averaged).
    """

    table: pd.DataFrame
    n_subjects: int
    n_levels: int
    averaged_cells: int

    def f(self, source: str) -> float:
        return float(self.table.loc[source, "f"])

    def p(self, source: str) -> float:
        return float(self.table.loc[source, "p_value"])


def mixed_anova(data: pd.DataFrame, dv: str, within: str, between: str, subject: str) -> MixedAnova:
    """Split-plot ANOVA of `dv` by `between` (subject-level) and `within` (repeated) factors.

    Args:
        data: long table, one row per subject x within level (repeats are averaged).
        dv: the numeric outcome column.
        within: the repeated factor's column.
        between: the between-subjects factor's column (constant within a subject).
        subject: the participant id column.

    Raises:
        InsufficientDataError: fewer than 2 levels of a factor, a subject
            missing a within level, or no error degrees of freedom.
        ValueError: a column is missing, or a subject sits in two between groups.
    """
    for col in (dv, within, between, subject):
        if col not in data.columns:
            raise ValueError(f"mixed_anova: column {col!r} is not in the data (columns: {', '.join(map(str, data.columns))})")
    df = data[[subject, between, within, dv]].dropna()
    groups_per_subject = df.groupby(subject)[between].nunique()
    if (groups_per_subject > 1).any():
        bad = groups_per_subject[groups_per_subject > 1].index[0]
        raise ValueError(f"mixed_anova: subject {bad!r} appears in more than one '{between}' group; between is a subject-level factor")
    counts = df.groupby([subject, within]).size()
    averaged = int((counts > 1).sum())
    cell = df.groupby([subject, within], observed=True)[dv].mean().unstack(within)
    levels = list(cell.columns)
    k = len(levels)
    if k < 2:
        raise InsufficientDataError(f"mixed_anova: the within factor '{within}' has {k} level(s); at least 2 are needed")
    incomplete = cell.index[cell.isna().any(axis=1)]
    if len(incomplete):
        raise InsufficientDataError(
            f"mixed_anova: {len(incomplete)} subject(s) lack a value for some '{within}' level (e.g. {incomplete[0]!r}); "
            "the design must be complete: drop them or use a mixed model"
        )
    group_of = df.groupby(subject)[between].first().loc[cell.index]
    glevels = list(pd.unique(group_of))
    if len(glevels) < 2:
        raise InsufficientDataError(f"mixed_anova: the between factor '{between}' has {len(glevels)} level(s); at least 2 are needed")
    y = cell.to_numpy(dtype=float)  # (N, k)
    g = group_of.to_numpy()
    n_sub = y.shape[0]
    grand = y.mean()
    subj_mean = y.mean(axis=1)
    level_mean = y.mean(axis=0)
    ss_total = float(((y - grand) ** 2).sum())
    ss_subjects = float(k * ((subj_mean - grand) ** 2).sum())
    ss_b = 0.0
    ss_cells = 0.0
    for lvl in glevels:
        rows = y[g == lvl]
        ss_b += k * rows.shape[0] * (rows.mean() - grand) ** 2
        ss_cells += rows.shape[0] * float(((rows.mean(axis=0) - grand) ** 2).sum())
    ss_err_b = ss_subjects - ss_b
    ss_w = float(n_sub * ((level_mean - grand) ** 2).sum())
    ss_bw = ss_cells - ss_b - ss_w
    ss_err_w = ss_total - ss_subjects - ss_w - ss_bw
    a = len(glevels)
    df_b, df_err_b = a - 1, n_sub - a
    df_w, df_bw, df_err_w = k - 1, (a - 1) * (k - 1), (n_sub - a) * (k - 1)
    if df_err_b <= 0:
        raise InsufficientDataError("mixed_anova: no error degrees of freedom (need more subjects than between groups)")
    ms_err_b, ms_err_w = ss_err_b / df_err_b, ss_err_w / df_err_w

    def row(ss: float, d1: int, ms_err: float, d2: int, ss_err: float) -> dict[str, float]:
        ms = ss / d1
        f = ms / ms_err if ms_err > 0 else float("inf")
        return {
            "ss": ss, "df1": d1, "df2": d2, "ms": ms, "f": f,
            "p_value": float(stats.f.sf(f, d1, d2)), "eta_p2": ss / (ss + ss_err) if ss + ss_err > 0 else float("nan"),
        }

    nan = float("nan")
    table = pd.DataFrame(
        {
            between: row(ss_b, df_b, ms_err_b, df_err_b, ss_err_b),
            within: row(ss_w, df_w, ms_err_w, df_err_w, ss_err_w),
            f"{between} x {within}": row(ss_bw, df_bw, ms_err_w, df_err_w, ss_err_w),
            "error_between": {"ss": ss_err_b, "df1": df_err_b, "df2": nan, "ms": ms_err_b, "f": nan, "p_value": nan, "eta_p2": nan},
            "error_within": {"ss": ss_err_w, "df1": df_err_w, "df2": nan, "ms": ms_err_w, "f": nan, "p_value": nan, "eta_p2": nan},
        }
    ).T
    table.index.name = "source"
    return MixedAnova(table=table, n_subjects=n_sub, n_levels=k, averaged_cells=averaged)
