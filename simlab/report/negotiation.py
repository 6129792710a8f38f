"""The negotiation report: per domain and strategy, with CIs and tests against a baseline.

For each domain and lead strategy: agreement rate (Wilson 95% CI), lead-side
utility, the domain's first scenario metric (recovery rate for debt), rounds
and ethics violations per run (t-based 95% CIs). Each strategy is tested
against the baseline (the vanilla LLM by default) within its domain: Welch t
and Hedges' g for lead utility, Fisher's exact test and Cohen's h for
agreement, with Holm correction over all comparisons of a metric. Plots are
PNG bar charts with CI whiskers.
"""
from __future__ import annotations

import json
import math
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from simlab.stats import cohens_h, fisher_exact_2x2, hedges_g, holm, mean_ci, welch_t, wilson_interval
from simlab.stats._validation import InsufficientDataError
from simlab.store.store import RunStore


def load_runs(store: RunStore, study_id: str) -> pd.DataFrame:
    df = store.query(
        "SELECT run_id, scenario, domain, condition_json, agents_json, agreement, utility_a, utility_b, rounds, "
        "ethics_violations, parse_failures, metrics_json, model, is_llm, spec_json FROM runs "
        "WHERE study_id = ? AND status = 'done'",
        [study_id],
    )
    cond = df["condition_json"].map(json.loads)
    first_spec = json.loads(df["spec_json"].iloc[0])
    keys = [k for k in cond.iloc[0] if k not in ("scenario", "condition")]
    df["strategy"] = cond.map(lambda c: c.get("lead", c.get(keys[0])))
    df["counterpart"] = cond.map(lambda c: c.get("counterpart", c.get(keys[1]) if len(keys) > 1 else ""))
    metrics = df["metrics_json"].map(lambda s: json.loads(s) if s else {})
    df["metric_name"] = metrics.map(lambda m: next(iter(m), None))
    df["metric"] = metrics.map(lambda m: next(iter(m.values()), math.nan) if m else math.nan)
    df["agreement"] = df["agreement"].astype(float)
    df.attrs["roles"] = first_spec["scenario"]["roles"]
    return df


def _fmt_ci(m: float, lo: float, hi: float, digits: int = 3) -> str:
    if math.isnan(m):
        return "-"
    if math.isnan(lo):
        return f"{m:.{digits}f}"
    return f"{m:.{digits}f} [{lo:.{digits}f}, {hi:.{digits}f}]"


def summary_rows(df: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for (domain, strategy), g in df.groupby(["domain", "strategy"], sort=True):
        k, n = int(g["agreement"].sum()), len(g)
        lo, hi = wilson_interval(k, n)
        rows.append(
            {
                "domain": domain,
                "strategy": strategy,
                "n": n,
                "agreement": (k / n, lo, hi),
                "lead_utility": mean_ci(g["utility_a"].to_numpy()),
                "metric_name": g["metric_name"].dropna().iloc[0] if g["metric_name"].notna().any() else "",
                "metric": mean_ci(g["metric"].to_numpy()),
                "rounds": mean_ci(g["rounds"].to_numpy()),
                "ethics": mean_ci(g["ethics_violations"].to_numpy()),
                "parse_failures": int(g["parse_failures"].sum()),
            }
        )
    return pd.DataFrame(rows)


def comparisons(df: pd.DataFrame, baseline: str) -> pd.DataFrame:
    rows = []
    for domain, gd in df.groupby("domain", sort=True):
        base = gd[gd["strategy"] == baseline]
        if base.empty:
            continue
        for strategy, g in gd.groupby("strategy", sort=True):
            if strategy == baseline:
                continue
            row = {"domain": domain, "strategy": strategy, "n": len(g), "n_baseline": len(base)}
            try:
                t = welch_t(g["utility_a"], base["utility_a"])
                es = hedges_g(g["utility_a"], base["utility_a"], ci="analytic")
                row.update(g=es.estimate, g_lo=es.ci_low, g_hi=es.ci_high, p_utility=t.p_value)
            except (InsufficientDataError, ValueError, ZeroDivisionError):
                row.update(g=math.nan, g_lo=math.nan, g_hi=math.nan, p_utility=math.nan)
            k1, n1 = int(g["agreement"].sum()), len(g)
            k2, n2 = int(base["agreement"].sum()), len(base)
            h = cohens_h(k1, n1, k2, n2, ci="analytic")
            f = fisher_exact_2x2([[k1, n1 - k1], [k2, n2 - k2]])
            row.update(h=h.estimate, h_lo=h.ci_low, h_hi=h.ci_high, p_agreement=f.p_value)
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
    ax.set_title(f"{ylabel} by domain and strategy (95% CI)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def build_negotiation_report(store: RunStore, study_id: str, out: Path, baseline: str | None = None) -> Path:
    df = load_runs(store, study_id)
    out.mkdir(parents=True, exist_ok=True)
    strategies = sorted(df["strategy"].unique())
    if baseline is None:
        baseline = next((s for s in strategies if "vanilla" in s), strategies[0])
    summ = summary_rows(df)
    comp = comparisons(df, baseline)
    lead_role, other_role = df.attrs["roles"][0], df.attrs["roles"][1]
    model = df["model"].iloc[0]
    llm_note = "" if bool(df["is_llm"].iloc[0]) else " — scripted templates, **not an LLM**"
    lines = [
        f"# {study_id}",
        "",
        "| domain | strategy | n | agreement rate | lead utility | domain metric | rounds | ethics violations / run | parse failures |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in summ.itertuples():
        metric = f"{r.metric_name}: {_fmt_ci(*r.metric)}" if r.metric_name else "-"
        lines.append(
            f"| {r.domain} | {r.strategy} | {r.n} | {_fmt_ci(*r.agreement, digits=2)} | {_fmt_ci(*r.lead_utility)} | "
            f"{metric} | {_fmt_ci(*r.rounds, digits=1)} | {_fmt_ci(*r.ethics, digits=2)} | {r.parse_failures} |"
        )
    lines += [
        "",
        f"Model: {model}{llm_note}. {len(df)} finished runs. 95% confidence intervals: Wilson for rates, t for means. "
        f"Lead utility is the first role's discounted utility (e.g. {lead_role}; reservation value when there is no agreement); "
        f"the counterpart role in the first scenario is {other_role}.",
        f"Generated {datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}.",
        "",
        f"## Each strategy against `{baseline}`",
        "",
        "| domain | strategy | Hedges' g (lead utility) [95% CI] | p (Welch) | p Holm | Cohen's h (agreement) [95% CI] | p (Fisher) | p Holm |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in comp.itertuples():
        lines.append(
            f"| {r.domain} | {r.strategy} | {_fmt_ci(r.g, r.g_lo, r.g_hi, 2)} | {r.p_utility:.3g} | {r.p_utility_holm:.3g} | "
            f"{_fmt_ci(r.h, r.h_lo, r.h_hi, 2)} | {r.p_agreement:.3g} | {r.p_agreement_holm:.3g} |"
        )
    _bar_plot(summ, "lead_utility", "lead utility", out / "lead_utility.png")
    _bar_plot(summ, "agreement", "agreement rate", out / "agreement.png")
    _bar_plot(summ, "ethics", "ethics violations per run", out / "ethics.png")
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
    summ.assign(
        **{c: summ[c].map(lambda t: t[0]) for c in ("agreement", "lead_utility", "metric", "rounds", "ethics")}
    ).to_csv(out / "summary.csv", index=False)
    comp.to_csv(out / "comparisons.csv", index=False)
    return path
