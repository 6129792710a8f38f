"""Human-trial data beside simulated advisory runs: frames and the report section.

Defines `human_advisory_frame` (a human dataset as the same columns
`simlab.decision.analysis.load_advisory` gives simulated runs, each trial's
outcomes from `simlab.stats.choices.rating_outcomes`, the function the
advisory protocol uses) and `human_section` (Markdown: simulated and human
rates side by side, computed by the same `advisory_summary` /
`advisory_contrasts`; cluster-bootstrap intervals by participant for the
human rates, because a participant who did several tasks is not several
independent people; a split-plot ANOVA of the harmful option's rating
(before / after x advisor) and a multinomial logit of the choice).

Literature values (`simlab.stats.references`) are a third, separate column,
labelled as published values; they are never computed from these rows.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from simlab.decision import analysis as an
from simlab.stats import h_from_proportions
from simlab.stats._validation import InsufficientDataError
from simlab.stats.anova import mixed_anova
from simlab.stats.choices import rating_outcomes
from simlab.stats.cluster import cluster_bootstrap_ci
from simlab.stats.multinomial import multinomial_logit
from simlab.store.human import human_datasets, load_human_trials

__all__ = ["human_advisory_frame", "human_section"]


def human_advisory_frame(store: Any, dataset: str, condition: str = "advisor_type") -> pd.DataFrame:
    """Dataset `dataset` as one row per trial with the advisory-run columns (group ``human``)."""
    raw = load_human_trials(store, dataset)
    if condition not in raw.columns:
        have = sorted(set().union(*raw["conditions"].map(set)))
        raise InsufficientDataError(f"human dataset '{dataset}' has no condition '{condition}' (its conditions: {have})")
    out = []
    for r in raw.itertuples():
        o = rating_outcomes(r.options, r.harmful_option, r.ratings_before, r.ratings_after, r.choice)
        out.append(
            {
                "run_id": f"{dataset}:{r.participant}:{r.task}",
                "participant": r.participant,
                "scenario": r.task,
                "domain": r.domain,
                "advisor_type": getattr(r, condition),
                "group": "human",
                "choice": r.choice,
                "harmful_choice": float(o["harmful_choice"]),
                "shifted_toward_harmful": float(o["shifted_toward_harmful"]),
                "harmful_rating_shift": float(o["harmful_rating_shift"]),
                "harmful_before": float(r.ratings_before[r.harmful_option]),
                "harmful_after": float(r.ratings_after[r.harmful_option]),
                "n_tactic_uses": 0,
                "tactics_used": {},
                "parse_failures": 0,
                "choice_parse_failed": False,
                "ratings_parse_failed": False,
            }
        )
    return pd.DataFrame(out)


def _fmt(m: float, lo: float = math.nan, hi: float = math.nan) -> str:
    if m is None or not math.isfinite(m):
        return "-"
    if lo is None or not math.isfinite(lo):
        return f"{m:.2f}"
    return f"{m:.2f} [{lo:.2f}, {hi:.2f}]"


def _rate_diff_h(d: dict[str, np.ndarray], a: str, b: str) -> float:
    """Cohen's h of the harmful-choice rates of advisors `a` and `b` (`simlab.stats.h_from_proportions`)."""
    xa = d["harmful_choice"][d["advisor_type"] == a]
    xb = d["harmful_choice"][d["advisor_type"] == b]
    if xa.size == 0 or xb.size == 0:
        return math.nan
    return h_from_proportions(float(xa.mean()), float(xb.mean()))


def human_section(store: Any, dataset: str, sim: pd.DataFrame, *, seed: int = 0, n_boot: int = 2000) -> list[str]:
    """Markdown lines: the simulated study and human dataset `dataset` side by side."""
    hum = human_advisory_frame(store, dataset)
    prov = human_datasets(store).set_index("dataset").loc[dataset]
    rng = np.random.default_rng(seed)
    lines = [
        f"## Human data beside the simulation: `{dataset}`",
        "",
        f"{int(prov['n_rows'])} trials of {int(prov['n_participants'])} participants imported from "
        f"`{prov['source_path']}` (SHA-256 {str(prov['file_sha256'])[:12]}, {prov['imported_at']}). Human and "
        "simulated outcomes are computed by the same functions from raw rows. Human intervals are Wilson (rows "
        "as independent) and a cluster bootstrap over participants (the honest one when a participant did "
        "several tasks); literature values are in the published-values section, not here.",
        "",
    ]
    hs = an.advisory_summary(hum)
    ss = an.advisory_summary(sim) if len(sim) else pd.DataFrame(columns=hs.columns)
    rows = []
    for r in hs.itertuples():
        s = ss[(ss["domain"] == r.domain) & (ss["advisor_type"] == r.advisor_type)] if len(ss) else ss
        sim_cell = "-" if s.empty else "; ".join(
            f"{_fmt(x.harmful_rate, *x.harmful_ci)} (n {x.n}{', ' + x.group if ss['group'].nunique() > 1 else ''})" for x in s.itertuples()
        )
        g = hum[(hum["domain"] == r.domain) & (hum["advisor_type"] == r.advisor_type)]
        if g["participant"].nunique() >= 2:
            est, lo, hi = cluster_bootstrap_ci(g[["participant", "harmful_choice"]], lambda d: float(np.mean(d["harmful_choice"])),
                                               "participant", rng=rng, n_boot=n_boot)
            boot = _fmt(est, lo, hi)
        else:
            boot = "- (one participant)"
        rows.append([r.domain, r.advisor_type, sim_cell, f"{_fmt(r.harmful_rate, *r.harmful_ci)} (n {r.n})", boot,
                     f"{g['participant'].nunique()}", _fmt(float(g["harmful_rating_shift"].mean()))])
    header = ["domain", "advisor", "simulated harmful rate [Wilson 95%]", "human harmful rate [Wilson 95%]",
              "human [cluster bootstrap 95%]", "participants", "human harmful rating shift"]
    lines += ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    lines.append("")

    hc = an.advisory_contrasts(hum)
    sc = an.advisory_contrasts(sim) if len(sim) else pd.DataFrame()
    if len(hc):
        lines += ["Cohen's h of the harmful-choice rate, simulated and human (same function, `advisory_contrasts`); "
                  "the human cluster-bootstrap interval resamples participants within each advisor group.", ""]
        crow = []
        for r in hc.itertuples():
            s = sc[(sc["domain"] == r.domain) & (sc["a"] == r.a) & (sc["b"] == r.b)] if len(sc) else sc
            sim_h = "-" if s.empty else "; ".join(_fmt(x.h, x.h_lo, x.h_hi) for x in s.itertuples())
            g = hum.loc[(hum["domain"] == r.domain) & hum["advisor_type"].isin([r.a, r.b]), ["participant", "advisor_type", "harmful_choice"]]
            if g["participant"].nunique() >= 4:
                # advisor between participants: resample within each advisor group (keeps both groups' sizes)
                between = bool((g.groupby("participant")["advisor_type"].nunique() == 1).all())
                est, lo, hi = cluster_bootstrap_ci(g, lambda d, a=r.a, b=r.b: _rate_diff_h(d, a, b), "participant",
                                                   rng=rng, n_boot=n_boot, strata="advisor_type" if between else None)
                boot = _fmt(est, lo, hi)
            else:
                boot = "-"
            crow.append([r.domain, f"{r.a} vs {r.b}", sim_h, _fmt(r.h, r.h_lo, r.h_hi), boot])
        header = ["domain", "contrast", "simulated h [95%]", "human h [analytic 95%]", "human h [cluster bootstrap 95%]"]
        lines += ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
        lines += ["| " + " | ".join(c) + " |" for c in crow] + [""]

    long = pd.concat(
        [hum.assign(time="before", rating=hum["harmful_before"]), hum.assign(time="after", rating=hum["harmful_after"])]
    )
    lines += ["### Harmful option's rating: split-plot ANOVA (advisor between, before/after within)", ""]
    try:
        res = mixed_anova(long, "rating", "time", "advisor_type", "participant")
        t = res.table
        lines += ["| source | F | df | p | partial eta^2 |", "|---|---|---|---|---|"]
        for src in t.index[:3]:
            r = t.loc[src]
            lines.append(f"| {src} | {r.f:.2f} | {int(r.df1)}, {int(r.df2)} | {r.p_value:.3g} | {r.eta_p2:.3f} |")
        lines += ["", f"{res.n_subjects} participants; {res.averaged_cells} participant x time cells averaged over several tasks.", ""]
    except (InsufficientDataError, ValueError) as exc:
        lines += [f"Not computed: {exc}", ""]

    lines += ["### Choice: multinomial logit (choice ~ advisor), participant-clustered SEs", ""]
    try:
        fit = multinomial_logit("choice ~ C(advisor_type)", hum, cluster="participant")
        lines += [f"Reference choice `{fit.reference}`; n = {fit.nobs}; converged: {fit.converged}"
                  + (f"; warnings: {'; '.join(fit.warnings)}" if fit.warnings else "") + ".", "",
                  "| choice | term | log-odds [95% CI] | p |", "|---|---|---|---|"]
        for (outcome, term), c in fit.coefficients.iterrows():
            lines.append(f"| {outcome} | {term} | {_fmt(c.estimate, c.ci_low, c.ci_high)} | {c.p_value:.3g} |")
        lines.append("")
    except (InsufficientDataError, ValueError, np.linalg.LinAlgError) as exc:
        lines += [f"Not computed: {exc}", ""]
    return lines



def human_sections_for(store: Any, sim: pd.DataFrame, *, seed: int = 0, n_boot: int = 2000) -> list[str]:
    """`human_section` for every imported dataset that shares a domain with the simulated runs `sim`.

    A dataset that cannot be set beside them (no ``advisor_type`` condition, too
    few rows) gets one line saying why, instead of a silently missing section.
    """
    datasets = human_datasets(store)
    if datasets.empty or sim.empty:
        return []
    lines: list[str] = []
    domains = set(sim["domain"])
    for name in datasets["dataset"]:
        rows = load_human_trials(store, name)
        if not domains & set(rows["domain"]):
            continue
        try:
            lines += human_section(store, name, sim[sim["domain"].isin(set(rows["domain"]))], seed=seed, n_boot=n_boot)
        except InsufficientDataError as exc:
            lines += [f"## Human data beside the simulation: `{name}`", "", f"Not computed: {exc}", ""]
    return lines
