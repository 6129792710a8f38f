"""The negotiation report: per domain, strategy and counterpart, with bounded CIs and tests against a baseline.

`build_negotiation_report(store, study_id, out)` writes ``out/report.md``, PNG
bar charts, ``summary.csv`` and ``comparisons.csv``. Sections:

- the headline table per domain and lead strategy: runs, *distinct* runs,
  agreement rate, lead and counterpart utility, distance to the Pareto frontier
  and to the Nash point, rounds, ethics violations and parse failures;
- every metric the domain's scenarios declare (not only the first);
- the same by counterpart (the strategy x counterpart cells);
- each strategy tested against the baseline (the vanilla LLM by default) within
  its domain: Welch t and Hedges' g for lead utility, Fisher's exact test and
  Cohen's h for agreement, Holm correction over all comparisons of a metric.

Intervals never leave a metric's bounds: Wilson for rates
(`simlab.stats.wilson_interval`), the percentile bootstrap of the mean for
everything else (`simlab.stats.bounded.bounded_mean_ci`: utilities in [0, 1],
distances and counts >= 0, metrics within their observed range).

Replication. Runs whose outcome and moves are identical (same
`simlab.sweep.summary.run_signatures` hash) are not independent samples: a cell
whose runs are all identical gets no interval and no test, and the tables show
``n`` beside the number of distinct runs and flag cells that repeat runs.
Whatever cannot be computed says why in the place of the number.
"""
from __future__ import annotations

import json
import math
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simlab.stats import cohens_h, fisher_exact_2x2, hedges_g, holm, welch_t, wilson_interval
from simlab.stats._validation import InsufficientDataError
from simlab.stats.bounded import bounded_mean_ci
from simlab.report.frontiers import frontier_section
from simlab.store.store import RunStore
from simlab.sweep.summary import run_signatures

FLAG = "(!)"
"""Marks a cell some of whose runs repeat another run move for move."""


def load_runs(store: RunStore, study_id: str) -> pd.DataFrame:
    """One row per finished run, with strategy, counterpart, every metric (``metric:NAME``) and its signature."""
    df = store.query(
        "SELECT run_id, scenario, domain, condition_json, agents_json, agreement, utility_a, utility_b, rounds, "
        "pareto_distance, nash_distance, utilities_json, ethics_violations, parse_failures, metrics_json, model, "
        "is_llm, spec_json "
        "FROM runs WHERE study_id = ? AND status = 'done' ORDER BY run_id",  # the same order whatever wrote the store
        [study_id],
    )
    cond = df["condition_json"].map(json.loads)
    first_spec = json.loads(df["spec_json"].iloc[0])
    keys = [k for k in cond.iloc[0] if k not in ("scenario", "condition")]
    df["strategy"] = cond.map(lambda c: c.get("lead", c.get(keys[0])))
    df["counterpart"] = cond.map(lambda c: c.get("counterpart", c.get(keys[1]) if len(keys) > 1 else ""))
    metrics = df["metrics_json"].map(lambda s: json.loads(s) if s else {})
    names: dict[str, list[str]] = {}
    for domain, m in zip(df["domain"], metrics):
        for k in m:
            if k not in names.setdefault(domain, []):
                names[domain].append(k)
    for k in dict.fromkeys(k for ks in names.values() for k in ks):
        df[f"metric:{k}"] = metrics.map(lambda m, k=k: _num(m.get(k)))
    df["agreement"] = df["agreement"].astype(float)
    for col in ("pareto_distance", "nash_distance"):
        df[col] = pd.to_numeric(df[col], errors="coerce").astype(float)
    # the same distances to the frontier of the outcomes a negotiation can reach (stored in utilities_json)
    reach = df["utilities_json"].map(lambda s: (json.loads(s) or {}).get("reachable") or {} if s else {})
    for col in ("pareto_distance", "nash_distance"):
        df[f"{col}_reachable"] = reach.map(lambda r, c=col: _num(r.get(c)))
    df = df.merge(run_signatures(store, study_id), on="run_id", how="left")
    # a condition (scenario x pairing x condition) whose seeds all played one run is one observation
    df["cond_key"] = df["scenario"].astype(str) + "\x1f" + df["condition_json"].astype(str)
    sizes = df.groupby("cond_key")["signature"].agg(["size", "nunique"])
    degenerate = set(sizes.index[(sizes["size"] > 1) & (sizes["nunique"] == 1)])
    df["degenerate"] = df["cond_key"].isin(degenerate)
    df.attrs["roles"] = first_spec["scenario"]["roles"]
    df.attrs["metrics"] = names
    return df


def _num(v: Any) -> float:
    if isinstance(v, bool):
        return float(v)
    return float(v) if isinstance(v, (int, float)) else math.nan


def _fmt_ci(m: float, lo: float, hi: float, digits: int = 3) -> str:
    if m is None or math.isnan(m):
        return "-"
    if lo is None or math.isnan(lo):
        return f"{m:.{digits}f}"
    return f"{m:.{digits}f} [{lo:.{digits}f}, {hi:.{digits}f}]"


def _distinct(g: pd.DataFrame) -> int:
    return int(g["signature"].nunique()) if "signature" in g else len(g)


def _sampled(g: pd.DataFrame) -> int:
    """`_distinct(g)`, or 0 when a condition in `g` repeated one run for every seed (no sampling to speak of)."""
    if "degenerate" in g and bool(g["degenerate"].any()):
        return 0
    return _distinct(g)


def _rate(x: pd.Series, distinct: int) -> tuple[float, float, float]:
    """Mean of a 0/1 column with its Wilson interval (no interval when every run is the same run)."""
    k, n = float(x.sum()), int(x.notna().sum())
    if n == 0:
        return (math.nan, math.nan, math.nan)
    if distinct < 2:
        return (k / n, math.nan, math.nan)
    lo, hi = wilson_interval(k, n)
    return (k / n, lo, hi)


def _mean(x: pd.Series, distinct: int, low: float | None = None, high: float | None = None) -> tuple[float, float, float]:
    """Mean with a bootstrap interval inside [low, high] (no interval when every run is the same run)."""
    m, lo, hi = bounded_mean_ci(x.to_numpy(dtype=float), low, high)
    return (m, math.nan, math.nan) if distinct < 2 else (m, lo, hi)


def cell_stats(g: pd.DataFrame) -> dict[str, Any]:
    """The headline statistics of one group of runs."""
    d = _sampled(g)
    return {
        "n": len(g),
        "n_distinct": _distinct(g),
        "repeated_conditions": int(g.loc[g["degenerate"], "cond_key"].nunique()) if "degenerate" in g else 0,
        "agreement": _rate(g["agreement"], d),
        "lead_utility": _mean(g["utility_a"], d, 0.0, 1.0),
        "other_utility": _mean(g["utility_b"], d, 0.0, 1.0),
        "pareto_distance": _mean(g["pareto_distance"], d, 0.0, None),
        "nash_distance": _mean(g["nash_distance"], d, 0.0, None),
        "pareto_distance_reachable": _mean(g["pareto_distance_reachable"], d, 0.0, None),
        "nash_distance_reachable": _mean(g["nash_distance_reachable"], d, 0.0, None),
        "rounds": _mean(g["rounds"], d, 0.0, None),
        "ethics": _mean(g["ethics_violations"], d, 0.0, None),
        "parse_failures": int(g["parse_failures"].sum()),
    }


def summary_rows(df: pd.DataFrame, by: tuple[str, ...] = ("domain", "strategy")) -> pd.DataFrame:
    """One row of `cell_stats` per group of `by` (plus the domain's metrics)."""
    rows = []
    names = df.attrs.get("metrics", {})
    for key, g in df.groupby(list(by), sort=True):
        key = key if isinstance(key, tuple) else (key,)
        row: dict[str, Any] = dict(zip(by, key))
        row.update(cell_stats(g))
        for m in names.get(row.get("domain"), []):
            row[f"metric:{m}"] = _mean(g[f"metric:{m}"], row["n_distinct"])
        rows.append(row)
    return pd.DataFrame(rows)


def _not_tested(strategy: str, g: pd.DataFrame, baseline: str, base: pd.DataFrame) -> str | None:
    for name, grp in ((strategy, g), (baseline, base)):
        if "degenerate" in grp and bool(grp["degenerate"].any()):
            k = int(grp.loc[grp["degenerate"], "cond_key"].nunique())
            return f"not tested: {k} condition(s) of {name} repeat one run for every seed (pseudo-replicates)"
        if _distinct(grp) < 2:
            return f"not tested: all {len(grp)} runs of {name} are one distinct run"
    return None


def comparisons(df: pd.DataFrame, baseline: str) -> pd.DataFrame:
    """Each strategy against `baseline` within its domain (see the module docstring); `note` says why a test is missing."""
    rows = []
    for domain, gd in df.groupby("domain", sort=True):
        base = gd[gd["strategy"] == baseline]
        for strategy, g in gd.groupby("strategy", sort=True):
            if strategy == baseline:
                continue
            row: dict[str, Any] = {"domain": domain, "strategy": strategy, "n": len(g), "n_baseline": len(base),
                                   "g": math.nan, "g_lo": math.nan, "g_hi": math.nan, "p_utility": math.nan,
                                   "h": math.nan, "h_lo": math.nan, "h_hi": math.nan, "p_agreement": math.nan,
                                   "note": ""}
            if base.empty:
                row["note"] = f"not tested: no `{baseline}` runs in domain {domain}"
                rows.append(row)
                continue
            reason = _not_tested(strategy, g, baseline, base)
            if reason:
                row["note"] = reason
                rows.append(row)
                continue
            try:
                t = welch_t(g["utility_a"], base["utility_a"])
                es = hedges_g(g["utility_a"], base["utility_a"], ci="analytic")
                row.update(g=es.estimate, g_lo=es.ci_low, g_hi=es.ci_high, p_utility=t.p_value)
            except (InsufficientDataError, ValueError, ZeroDivisionError) as exc:
                row["note"] = f"utility not tested: {exc}"
            k1, n1 = int(g["agreement"].sum()), len(g)
            k2, n2 = int(base["agreement"].sum()), len(base)
            try:
                h = cohens_h(k1, n1, k2, n2, ci="analytic")
                f = fisher_exact_2x2([[k1, n1 - k1], [k2, n2 - k2]])
                row.update(h=h.estimate, h_lo=h.ci_low, h_hi=h.ci_high, p_agreement=f.p_value)
            except (InsufficientDataError, ValueError, ZeroDivisionError) as exc:
                row["note"] = (row["note"] + "; " if row["note"] else "") + f"agreement not tested: {exc}"
            rows.append(row)
    out = pd.DataFrame(rows)
    for col in ("p_utility", "p_agreement"):
        if len(out):
            p = out[col].to_numpy(dtype=float)
            adj = np.full_like(p, np.nan)
            ok = ~np.isnan(p)
            if ok.any():
                adj[ok] = holm(p[ok]).p_adjusted
            out[col + "_holm"] = adj
    return out


def _bar_plot(summary: pd.DataFrame, column: str, ylabel: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    domains = list(dict.fromkeys(summary["domain"]))
    strategies = list(dict.fromkeys(summary["strategy"]))
    fig, ax = plt.subplots(figsize=(max(6, 1.6 * len(domains) * max(1, len(strategies)) / 3), 4))
    width = 0.8 / max(1, len(strategies))
    for j, s in enumerate(strategies):
        xs, ys, lo, hi = [], [], [], []
        for i, d in enumerate(domains):
            r = summary[(summary["domain"] == d) & (summary["strategy"] == s)]
            if r.empty:
                continue
            m, l, h = r.iloc[0][column]
            xs.append(i + j * width)
            ys.append(m)
            lo.append(0 if math.isnan(l) else m - l)
            hi.append(0 if math.isnan(h) else h - m)
        ax.bar(xs, ys, width, yerr=[lo, hi], capsize=2, label=s)
    ax.set_xticks([i + 0.4 - width / 2 for i in range(len(domains))], domains)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=7, ncol=2)
    ax.set_title(f"{ylabel} by domain and strategy (95% CI; none where all runs are one run)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _p(p: float) -> str:
    return "-" if p is None or math.isnan(p) else f"{p:.3g}"


def _n(r: Any) -> str:
    flag = f" {FLAG}" if r.n_distinct < r.n else ""
    return f"{r.n} | {r.n_distinct}{flag}"


def _repeats(summ: pd.DataFrame) -> pd.DataFrame:
    return summ[summ["n_distinct"] < summ["n"]]


def build_negotiation_report(store: RunStore, study_id: str, out: Path, baseline: str | None = None) -> Path:
    df = load_runs(store, study_id)
    out.mkdir(parents=True, exist_ok=True)
    strategies = sorted(df["strategy"].unique())
    if baseline is None:
        baseline = next((s for s in strategies if "vanilla" in s), strategies[0])
    summ = summary_rows(df)
    by_counterpart = summary_rows(df, ("domain", "strategy", "counterpart"))
    comp = comparisons(df, baseline)
    lead_role, other_role = df.attrs["roles"][0], df.attrs["roles"][1]
    model = df["model"].iloc[0]
    llm_note = "" if bool(df["is_llm"].iloc[0]) else " — scripted templates, **not an LLM**"
    lines = [
        f"# {study_id}",
        "",
        "| domain | strategy | n | distinct runs | agreement rate | lead utility | counterpart utility | "
        "Pareto distance | Nash distance | rounds | ethics violations / run | parse failures |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in summ.itertuples():
        lines.append(
            f"| {r.domain} | {r.strategy} | {_n(r)} | {_fmt_ci(*r.agreement, digits=2)} | {_fmt_ci(*r.lead_utility)} | "
            f"{_fmt_ci(*r.other_utility)} | {_fmt_ci(*r.pareto_distance)} | {_fmt_ci(*r.nash_distance)} | "
            f"{_fmt_ci(*r.rounds, digits=1)} | {_fmt_ci(*r.ethics, digits=2)} | {r.parse_failures} |"
        )
    repeated = _repeats(summ)
    identical = summ[summ["repeated_conditions"] > 0]
    lines += [
        "",
        f"Model: {model}{llm_note}. {len(df)} finished runs, {int(df['signature'].nunique())} distinct. "
        "95% confidence intervals: Wilson for rates, percentile bootstrap of the mean for everything else "
        "(both stay inside the metric's bounds). "
        f"Lead utility is the first role's discounted utility (e.g. {lead_role}; reservation value when there is no "
        f"agreement); the counterpart role in the first scenario is {other_role}. Pareto and Nash distances are the "
        "agreement's (or no deal's) Euclidean distance, in undiscounted utilities, to the convex hull's frontier and "
        "Nash point (the reachable outcomes' are in their own section).",
    ]
    if len(repeated):
        lines += [
            "",
            f"**Replication warning** {FLAG}: in {len(repeated)} of {len(summ)} cells some runs repeat another run move for "
            f"move (same outcome and transcript hash); in {len(identical)} a condition repeats one run for every seed, so "
            "those cells have no interval and no test. Seeds that change nothing are not independent samples: declare what a seed varies "
            "in the scenario (`seed_varies: {reservation_jitter: 0.05}`, a case bank) or use a stochastic backend.",
        ]
    lines += [f"Generated {datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}.", ""]

    names = df.attrs.get("metrics", {})
    lines += ["## Scenario metrics", ""]
    if not any(names.values()):
        lines += ["(the study's scenarios declare no metrics)", ""]
    for domain, ms in names.items():
        if not ms:
            continue
        lines += [f"| domain | strategy | n | distinct runs | " + " | ".join(ms) + " |",
                  "|---|---|---|---|" + "---|" * len(ms)]
        for _, r in summ[summ["domain"] == domain].iterrows():
            cells = [_fmt_ci(*r[f"metric:{m}"]) if isinstance(r.get(f"metric:{m}"), tuple) else "-" for m in ms]
            lines.append(f"| {domain} | {r['strategy']} | {_n(r)} | " + " | ".join(cells) + " |")
        lines.append("")

    lines += [
        "## Distances to the Pareto frontier and the Nash point",
        "",
        "Hull: the frontier of the convex hull of the utility space (the `pareto_distance` / `nash_distance` columns "
        "of the store). Reachable: the frontier of the outcomes a negotiation can actually agree on (integer and "
        "discrete issues, each role's own ranges). Both in undiscounted utilities; '-' where the run stored no reachable frontier.",
        "",
        "| domain | strategy | n | distinct runs | Pareto distance (hull) | Pareto distance (reachable) | "
        "Nash distance (hull) | Nash distance (reachable) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in summ.itertuples():
        lines.append(
            f"| {r.domain} | {r.strategy} | {_n(r)} | {_fmt_ci(*r.pareto_distance)} | {_fmt_ci(*r.pareto_distance_reachable)} | "
            f"{_fmt_ci(*r.nash_distance)} | {_fmt_ci(*r.nash_distance_reachable)} |"
        )
    lines += [
        "",
        "## By counterpart",
        "",
        "| domain | strategy | counterpart | n | distinct runs | agreement rate | lead utility | Pareto distance | Nash distance |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in by_counterpart.itertuples():
        lines.append(
            f"| {r.domain} | {r.strategy} | {r.counterpart} | {_n(r)} | {_fmt_ci(*r.agreement, digits=2)} | "
            f"{_fmt_ci(*r.lead_utility)} | {_fmt_ci(*r.pareto_distance)} | {_fmt_ci(*r.nash_distance)} |"
        )
    lines += [
        "",
        f"## Each strategy against `{baseline}`",
        "",
        "| domain | strategy | Hedges' g (lead utility) [95% CI] | p (Welch) | p Holm | Cohen's h (agreement) [95% CI] "
        "| p (Fisher) | p Holm | note |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in comp.itertuples():
        lines.append(
            f"| {r.domain} | {r.strategy} | {_fmt_ci(r.g, r.g_lo, r.g_hi, 2)} | {_p(r.p_utility)} | {_p(r.p_utility_holm)} | "
            f"{_fmt_ci(r.h, r.h_lo, r.h_hi, 2)} | {_p(r.p_agreement)} | {_p(r.p_agreement_holm)} | {r.note or ''} |"
        )
    if comp.empty:
        lines.append(f"(no strategy besides `{baseline}` to compare)")
    _bar_plot(summ, "lead_utility", "lead utility", out / "lead_utility.png")
    _bar_plot(summ, "agreement", "agreement rate", out / "agreement.png")
    _bar_plot(summ, "ethics", "ethics violations per run", out / "ethics.png")
    # both frontiers (convex hull and the outcomes a negotiation can reach), each column named
    lines += [""] + frontier_section(store, study_id, df.set_index("run_id")["strategy"])
    lines += [
        "",
        "## Plots",
        "",
        "![lead utility](lead_utility.png)",
        "![agreement rate](agreement.png)",
        "![ethics violations](ethics.png)",
        "",
    ]
    path = out / "report.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    tuple_cols = [c for c in summ.columns if summ[c].map(lambda v: isinstance(v, tuple)).any()]
    flat = summ.copy()
    for c in tuple_cols:
        flat[c] = summ[c].map(lambda t: t[0] if isinstance(t, tuple) else math.nan)
        flat[c + "_ci_low"] = summ[c].map(lambda t: t[1] if isinstance(t, tuple) else math.nan)
        flat[c + "_ci_high"] = summ[c].map(lambda t: t[2] if isinstance(t, tuple) else math.nan)
    flat.to_csv(out / "summary.csv", index=False)
    comp.to_csv(out / "comparisons.csv", index=False)
    return path
