"""Reports of decision studies (advisory manipulation, vignette judgements): `build_report`.

`build_report(store, study_id, out_dir)` writes ``out_dir/report.md`` and its
forest plot(s) as PNG, and returns the Markdown path. The file *opens with its
headline table*:

- advisory studies: harmful-choice rate per domain and advisor (NA / MA /
  SEMA) with Wilson 95% CIs, the share of deciders whose ratings shifted toward
  the harmful option, the harmful option's mean rating shift, tactics per run,
  parse failures, and the published human rate beside it (Sabour et al. 2025);
- vignette studies: per paradigm and arm, judged n, unparseable count, mean
  amount or yes-rate with 95% CI, SD, and the rule-correct and toward-the-pull
  rates where the items define them.

Then effect sizes with CIs and p-values (Cohen's h / d, Fisher / Welch, Holm
correction), pooled estimates, trends, a logistic regression (advisory), the
forest plot with literature values drawn beside (never used in any
computation), the references with sources, and a count of unparseable replies.

`summary_table(store, study_id)` is the short per-condition table `simlab run`
can print for decision studies (a rich `Table`).
"""
from __future__ import annotations

import math
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable

import pandas as pd

from simlab.decision import analysis as an
from simlab.errors import StoreError
from simlab.stats import ForestRow, forest_plot, h_from_proportions, wilson_interval
from simlab.stats.references import REFERENCES, ReferenceValue, Source, get_reference
from simlab.store.store import RunStore

__all__ = ["build_report", "summary_table"]


# --------------------------------------------------------------------------- formatting
def _f(x: Any, digits: int = 3) -> str:
    if x is None:
        return "-"
    try:
        if isinstance(x, float) and math.isnan(x):
            return "-"
    except TypeError:
        pass
    if isinstance(x, float):
        return f"{x:.{digits}f}"
    return str(x)


def _ci(m: float, lo: float, hi: float, digits: int = 3) -> str:
    if m is None or (isinstance(m, float) and math.isnan(m)):
        return "-"
    if lo is None or (isinstance(lo, float) and math.isnan(lo)):
        return f"{m:.{digits}f}"
    return f"{m:.{digits}f} [{lo:.{digits}f}, {hi:.{digits}f}]"


def _p(p: Any) -> str:
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return "-"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def _table(header: list[str], rows: Iterable[list[Any]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for r in rows:
        out.append("| " + " | ".join(str(c).replace("|", "/") for c in r) + " |")
    return out


def _ref_value(r: ReferenceValue) -> str:
    sym = {"cohen_d": "d", "cohen_h": "h", "proportion": "", "direction": ""}.get(r.measure, "")
    if r.value is not None:
        return f"{sym} = {r.value:g}".strip(" =") if sym else f"{r.value:g}"
    if r.low is not None and r.high is not None:
        return f"{sym} {r.low:g} to {r.high:g}".strip()
    return "direction only"


def _ref_short(key: str) -> str:
    try:
        r = get_reference(key)
    except KeyError:
        return f"{key} (unknown)"
    return f"{_ref_value(r)} ({r.label})"


def _reference_section(keys: Iterable[str], extra: Iterable[ReferenceValue] = ()) -> list[str]:
    refs: list[ReferenceValue] = []
    seen = set()
    for k in keys:
        if k in seen:
            continue
        seen.add(k)
        try:
            refs.append(get_reference(k))
        except KeyError:
            continue
    refs += list(extra)
    if not refs:
        return []
    lines = ["## Published values (for comparison only)", "",
             "Drawn beside the lab's estimates; never used to compute them.", ""]
    rows = [[r.key, r.population, r.measure, _ref_value(r), r.description,
             r.source.citation + (f" {r.source.url}" if r.source.url else "")] for r in refs]
    lines += _table(["key", "population", "measure", "value", "what", "source"], rows)
    return lines + [""]


def _model_line(df: pd.DataFrame) -> str:
    models = sorted({str(m) for m in df["model"].dropna()})
    llm = bool(df["is_llm"].fillna(False).all()) if len(df) else False
    note = "" if llm else " (scripted policy moves and simulated participants, **not an LLM**)"
    return f"Model: {', '.join(models) or '?'}{note}."


def _study_row(store: RunStore, study_id: str) -> dict[str, Any]:
    df = store.query("SELECT description, n_runs_planned FROM studies WHERE study_id = ?", [study_id])
    return df.iloc[0].to_dict() if len(df) else {}


def _forest(rows: list[ForestRow], refs: list[ReferenceValue], path: Path, xlabel: str, title: str) -> Path | None:
    rows = [r for r in rows if r.estimate is not None and math.isfinite(r.estimate)]
    if not rows:
        return None
    return forest_plot(rows, path, references=[r for r in refs if r.has_number], xlabel=xlabel, title=title)


# --------------------------------------------------------------------------- advisory
def _human_rate(domain: str, adv: str) -> ReferenceValue | None:
    try:
        return get_reference(f"manipulation.{domain}.{adv.lower()}")
    except KeyError:
        return None


def _derived_h_refs(pairs: Iterable[tuple[str, str, str]]) -> list[ReferenceValue]:
    """Cohen's h between published human rates (display only: a transformation of the literature values)."""
    out = []
    for domain, a, b in pairs:
        ra, rb = _human_rate(domain, a), _human_rate(domain, b)
        if ra is None or rb is None or ra.value is None or rb.value is None:
            continue
        out.append(
            ReferenceValue(
                key=f"derived.manipulation.{domain}.{a.lower()}_vs_{b.lower()}",
                topic="manipulation",
                label=f"humans, {domain}, {a} vs {b} (h of Sabour 2025 rates)",
                measure="cohen_h",
                population="human",
                value=round(h_from_proportions(ra.value, rb.value), 3),
                description=f"Cohen's h computed here from the published rates {ra.value:g} ({a}) and {rb.value:g} ({b}); display only.",
                source=Source(ra.source.citation, ra.source.url),
            )
        )
    return out


def _advisory_report(store: RunStore, study_id: str, out: Path) -> list[str]:
    df = an.load_advisory(store, study_id)
    summ = an.advisory_summary(df)
    comp = an.advisory_contrasts(df)
    multi = df["group"].nunique() > 1
    header = ["domain", "advisor"] + (["decider"] if multi else []) + [
        "n", "harmful choice [95% CI]", "humans (Sabour 2025)", "shifted toward harmful [95% CI]",
        "harmful-option rating shift [95% CI]", "tactics / run", "unparseable replies",
    ]
    rows = []
    for r in summ.itertuples():
        ref = _human_rate(r.domain, r.advisor_type)
        rows.append(
            [r.domain, r.advisor_type] + ([r.group] if multi else []) + [
                r.n, _ci(r.harmful_rate, *r.harmful_ci, digits=2), _f(ref.value, 3) if ref else "-",
                _ci(r.shifted_rate, *r.shifted_ci, digits=2), _ci(*r.harmful_rating_shift, digits=2),
                _f(r.tactics_per_run, 2), r.parse_failures,
            ]
        )
    lines = _table(header, rows)
    info = _study_row(store, study_id)
    lines += [
        "",
        f"*Table 1. {study_id}: harmful-choice rate per domain and advisor (NA neutral, MA manipulative, SEMA "
        f"strategy-enhanced manipulative). {_model_line(df)} {len(df)} finished runs; 95% Wilson intervals for "
        f"rates, t intervals for means. The human column is the published rate of the matching condition "
        f"(Sabour et al. 2025), shown for comparison only.*",
        "",
        f"# {study_id}",
        "",
        info.get("description") or "",
        "",
        f"Generated {datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}. A run is one decider: ratings of "
        "every option (1-7) before and after a conversation with the advisor, then a choice.",
        "",
        "## Effect sizes",
        "",
        "Each manipulative advisor against the neutral one (and SEMA against MA), within domain. Harmful choice: "
        "Cohen's h with its analytic 95% CI and Fisher's exact test; harmful-option rating shift: Cohen's d and "
        "Welch's t. Holm correction over all rows of each outcome. A dash marks an estimate that is undefined "
        "(e.g. no variance in either group).",
        "",
    ]
    pairs = [(r.domain, r.a, r.b) for r in comp.itertuples()] if len(comp) else []
    derived = {(ref.key.split(".")[2], ref.key.split(".")[3]): ref for ref in _derived_h_refs(pairs)}
    crow = []
    for r in comp.itertuples():
        dref = derived.get((r.domain, f"{r.a.lower()}_vs_{r.b.lower()}"))
        crow.append(
            [r.domain, f"{r.a} vs {r.b}"] + ([r.group] if multi else []) + [
                f"{_f(r.rate_a, 2)} vs {_f(r.rate_b, 2)} (n {r.n_a} / {r.n_b})", _ci(r.h, r.h_lo, r.h_hi),
                _p(r.p_choice), _p(r.p_choice_holm), _f(dref.value, 3) if dref else "-",
                _ci(r.d_shift, r.d_lo, r.d_hi), _p(r.p_shift), _p(r.p_shift_holm),
            ]
        )
    lines += _table(
        ["domain", "contrast"] + (["decider"] if multi else []) + [
            "harmful rate", "Cohen's h [95% CI]", "p (Fisher)", "p (Holm)", "humans h (from published rates)",
            "rating shift Cohen's d [95% CI]", "p (Welch)", "p (Holm)",
        ],
        crow,
    ) if crow else ["(no contrasts: the study needs NA and MA/SEMA advisors in the same domain)"]
    lines.append("")
    forest_rows = [
        ForestRow(f"{r.domain}: {r.a} vs {r.b}" + (f" ({r.group})" if multi else ""), r.h, r.h_lo, r.h_hi)
        for r in comp.itertuples()
    ] if len(comp) else []
    png = _forest(forest_rows, list(derived.values()), out / "forest.png", "Cohen's h (harmful-choice rate)",
                  f"{study_id}: harmful choice by advisor")
    if png:
        lines += [f"![forest plot]({png.name})", "",
                  "*Squares: lab estimates with 95% CIs. Red diamonds: h between the published human rates.*", ""]
    fit = an.advisory_regression(df)
    if isinstance(fit, an.NotComputed):  # the section stays, saying why it has no model
        lines += ["## Logistic regression", "", f"Not computed: {fit.reason}.", ""]
    else:
        coefs = fit.coefficients
        lines += ["## Logistic regression", "", f"`{fit.formula}` (n = {fit.nobs}, converged: {fit.converged}"
                  + (f"; warnings: {'; '.join(fit.warnings)}" if fit.warnings else "") + ")", ""]
        rows = []
        for term, c in coefs.iterrows():
            rows.append([term, _f(c.get("estimate")), _ci(c.get("odds_ratio", math.nan), c.get("or_ci_low", math.nan),
                                                          c.get("or_ci_high", math.nan), digits=2), _p(c.get("p_value"))])
        lines += _table(["term", "log-odds", "odds ratio [95% CI]", "p"], rows) + [""]
    tac = an.tactic_counts(df)
    if len(tac) and len(tac.columns) > 2:
        cols = [c for c in tac.columns if c not in ("advisor_type", "runs")]
        lines += ["## Tactics detected in advisor messages", "",
                  "Uses summed over runs (lexical patterns of `simlab.decision.tactics`, one count per message and tactic).", ""]
        lines += _table(["advisor", "runs"] + cols, [[r["advisor_type"], r["runs"]] + [int(r[c]) for c in cols]
                                                     for _, r in tac.iterrows()]) + [""]
    per = []
    order = {k: i for i, k in enumerate(an.scenario_specs(store, study_id))}
    keyed = df.assign(_s=df["scenario"].map(lambda x: order.get(x, len(order))),
                      _a=df["advisor_type"].map(lambda x: an._advisor_key(x)[0]))
    for (_, _, scenario, adv), g in keyed.groupby(["_s", "_a", "scenario", "advisor_type"], sort=True):
        hc = g["harmful_choice"].dropna()
        per.append([scenario, adv, int(hc.size), _ci(hc.mean() if hc.size else math.nan, *wilson_interval(int(hc.sum()), int(hc.size)), digits=2),
                    _f(float(g["harmful_rating_shift"].mean()), 2)])
    lines += ["## Per scenario", ""] + _table(["scenario", "advisor", "n", "harmful choice [95% CI]", "mean harmful rating shift"], per) + [""]
    n_fail = int(df["parse_failures"].sum())
    lines += [
        "## Unparseable replies",
        "",
        f"{n_fail} replies could not be parsed (after {an.repair_count(store, study_id)} repair retries) and were "
        f"replaced by the policy's own move, flagged in the turns table. {int(df['choice_parse_failed'].sum())} runs "
        f"with an unparseable choice and {int(df['ratings_parse_failed'].sum())} with unparseable ratings are counted "
        "in the tables and left out of the rates and shifts they affect.",
        "",
    ]
    # imported human trials of the same domains, computed from their raw rows by the same functions
    from simlab.report.human import human_sections_for

    lines += human_sections_for(store, df)
    lines += _reference_section([r.key for r in REFERENCES if r.topic == "manipulation"], derived.values())
    return lines


# --------------------------------------------------------------------------- vignette
def _vignette_report(store: RunStore, study_id: str, out: Path) -> list[str]:
    trials = an.load_trials(store, study_id)
    specs = an.scenario_specs(store, study_id)
    summ = an.vignette_summary(trials, specs)
    comp = an.vignette_contrasts(trials, specs)
    pool = an.pooled(comp)
    trends = an.vignette_trends(trials, specs)
    multi = trials["group"].nunique() > 1
    has_rules = summ["correct"].map(lambda t: not math.isnan(t[0])).any()
    header = ["paradigm", "arm"] + (["respondent"] if multi else []) + ["n judged", "unparseable",
                                                                         "mean / yes-rate [95% CI]", "SD"]
    if has_rules:
        header += ["rule-correct [95% CI]", "toward the framing's pull [95% CI]"]
    rows = []
    for r in summ.itertuples():
        row = [r.paradigm, r.arm] + ([r.group] if multi else []) + [r.n, r.parse_failed, _ci(*r.mean, digits=3), _f(r.sd, 3)]
        if has_rules:
            row += [_ci(*r.correct, digits=2), _ci(*r.pulled, digits=2)]
        rows.append(row)
    lines = _table(header, rows)
    info = _study_row(store, study_id)
    total_fail = int(trials["parse_failed"].sum())
    lines += [
        "",
        f"*Table 1. {study_id}: judgements per paradigm and arm. {_model_line(trials)} {trials['run_id'].nunique()} "
        f"runs, {len(trials)} trials, {total_fail} unparseable (counted, left out of the estimates). Amounts are "
        f"means with t 95% CIs; yes/no judgements are yes-rates with Wilson 95% CIs.*",
        "",
        f"# {study_id}",
        "",
        info.get("description") or "",
        "",
        f"Generated {datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}. Every trial is a fresh prompt "
        "(one item in one arm) with one judgement constrained to a JSON schema.",
        "",
        "## Effect sizes",
        "",
        "Arm a minus arm b on parsed judgements: Cohen's d (pooled SD, analytic 95% CI; Hedges' g beside it) "
        "with Welch's t for amounts, Cohen's h (analytic 95% CI) with Fisher's exact test for yes/no outcomes. "
        "Holm correction over all contrasts. A dash marks an estimate that is undefined (e.g. no variance).",
        "",
    ]
    crow = []
    for r in comp.itertuples():
        sym = "d" if r.measure == "cohen_d" else "h"
        extra = f"; g = {_f(getattr(r, 'hedges_g', math.nan), 3)}" if r.measure == "cohen_d" else ""
        crow.append(
            [r.paradigm, r.label] + ([r.group] if multi else []) + [
                f"{_f(r.mean_a, 3)} vs {_f(r.mean_b, 3)}", f"{r.n_a} / {r.n_b}",
                f"{sym} = {_ci(r.estimate, r.ci_low, r.ci_high)}{extra}", _p(r.p), _p(r.p_holm),
                "; ".join(_ref_short(k) for k in r.references) or "-",
            ]
        )
    lines += _table(["paradigm", "contrast"] + (["respondent"] if multi else []) +
                    ["means (a vs b)", "n a / b", "effect [95% CI]", "p", "p (Holm)", "published"], crow) if crow else ["(no contrasts declared)"]
    lines.append("")
    if len(pool):
        lines += ["## Pooled estimates", "",
                  "Inverse-variance fixed-effect combination of the contrasts sharing a pool label; I^2 is the "
                  "share of variation beyond chance.", ""]
        lines += _table(["pool"] + (["respondent"] if multi else []) + ["k", "estimate [95% CI]", "p", "I^2", "published"], [
            [r.pool] + ([r.group] if multi else []) + [r.k, f"{'d' if r.measure == 'cohen_d' else 'h'} = {_ci(r.estimate, r.ci_low, r.ci_high)}",
                                                        _p(r.p), _f(r.I2, 2), "; ".join(_ref_short(k) for k in r.references) or "-"]
            for r in pool.itertuples()
        ]) + [""]
    if len(trends):
        lines += ["## Trends", "", "OLS slope of the judgement on the paradigm's design feature (parsed trials).", ""]
        lines += _table(["paradigm", "feature", "n", "slope [95% CI]", "slope / SD", "p"], [
            [r.paradigm, r.feature, r.n, _ci(r.slope, r.ci_low, r.ci_high), _f(r.slope_sd, 3), _p(r.p)] for r in trends.itertuples()
        ]) + [""]
    # forest plots, one per measure (d beside d, h beside h)
    measures = [m for m in ("cohen_d", "cohen_h") if len(comp) and (comp["measure"] == m).any()]
    if measures:
        measures.sort(key=lambda m: -int((comp["measure"] == m).sum()))
    for i, m in enumerate(measures):
        cm = comp[comp["measure"] == m]
        rows_f = [ForestRow(f"{r.paradigm}: {r.label}" + (f" ({r.group})" if multi else ""), r.estimate, r.ci_low, r.ci_high)
                  for r in cm.itertuples()]
        pm = pool[pool["measure"] == m] if len(pool) else pool
        rows_f += [ForestRow(f"pooled: {r.pool}" + (f" ({r.group})" if multi else ""), r.estimate, r.ci_low, r.ci_high)
                   for r in pm.itertuples()] if len(pm) else []
        keys = sorted({k for ks in cm["references"] for k in ks})
        refs = []
        for k in keys:
            try:
                ref = get_reference(k)
            except KeyError:
                continue
            if ref.measure == m:
                refs.append(ref)
        name = "forest.png" if i == 0 else f"forest_{m}.png"
        png = _forest(rows_f, refs, out / name, "Cohen's d" if m == "cohen_d" else "Cohen's h",
                      f"{study_id}: {'Cohen' + chr(39) + 's d' if m == 'cohen_d' else 'Cohen' + chr(39) + 's h'}")
        if png:
            lines += [f"![forest plot, {m}]({png.name})", ""]
    if measures:
        lines += ["*Squares: lab estimates with 95% CIs. Red diamonds and bands: published values (display only).*", ""]
    pf = an.parse_failure_table(trials, specs)
    lines += [
        "## Unparseable judgements",
        "",
        f"{total_fail} of {len(trials)} judgements could not be parsed ({an.repair_count(store, study_id)} replies "
        "needed the repair retry). They are stored with a null value and the fallback judgement beside it, counted "
        "here and in Table 1, and left out of every estimate.",
        "",
    ]
    lines += _table(["scenario", "arm"] + (["respondent"] if multi else []) + ["trials", "unparseable"], [
        [r.scenario, r.arm] + ([r.group] if multi else []) + [r.trials, int(r.parse_failed)] for r in pf.itertuples()
    ]) + [""]
    keys = [k for ks in comp["references"] for k in ks] if len(comp) else []
    topics = {t for t in ("ive", "framing") if any(k.startswith(t + ".") for k in keys)}
    keys += [r.key for r in REFERENCES if r.topic in topics]
    lines += _reference_section(keys)
    return lines


# --------------------------------------------------------------------------- entry points
def build_report(store: RunStore | str | Path, study_id: str, out_dir: str | Path | None = None) -> Path:
    """Write ``out_dir/report.md`` (default ``reports/<study_id>``) for an advisory or vignette study.

    Returns the Markdown path. Raises StoreError when the study has no finished
    decision runs.
    """
    st = store if isinstance(store, RunStore) else RunStore(store, read_only=True)
    out = Path(out_dir) if out_dir is not None else Path("reports") / study_id
    kinds = set(st.query("SELECT DISTINCT protocol FROM runs WHERE study_id = ? AND status = 'done'", [study_id])["protocol"])
    if not kinds & {"advisory", "vignette"}:
        raise StoreError(
            f"study '{study_id}' has no finished advisory or vignette runs in {st.path}; run it first or check the id"
        )
    out.mkdir(parents=True, exist_ok=True)
    lines: list[str] = []
    if "advisory" in kinds:
        lines += _advisory_report(st, study_id, out)
    if "vignette" in kinds:
        if lines:
            lines += ["", "---", ""]
        lines += _vignette_report(st, study_id, out)
    path = out / "report.md"
    path.write_text("\n".join(lines).rstrip() + "\n", encoding="utf-8")
    return path


def summary_table(store: RunStore, study_id: str):
    """A rich Table per condition for `simlab run` / `simlab summary` on decision studies."""
    from rich.table import Table

    kinds = set(store.query("SELECT DISTINCT protocol FROM runs WHERE study_id = ? AND status = 'done'", [study_id])["protocol"])
    table = Table(title=f"{study_id}")
    if "advisory" in kinds:
        df = an.load_advisory(store, study_id)
        s = an.advisory_summary(df)
        table.title = f"{study_id}: {df['model'].iloc[0]}"
        for col in ("domain", "advisor", "decider", "n", "harmful choice", "shifted", "rating shift", "parse fail"):
            table.add_column(col, justify="left" if col in ("domain", "advisor", "decider") else "right")
        for r in s.itertuples():
            table.add_row(r.domain, r.advisor_type, r.group, str(r.n), _f(r.harmful_rate, 2), _f(r.shifted_rate, 2),
                          _f(r.harmful_rating_shift[0], 2), str(r.parse_failures))
        return table
    trials = an.load_trials(store, study_id)
    if trials.empty:
        return table
    s = an.vignette_summary(trials, an.scenario_specs(store, study_id))
    table.title = f"{study_id}: {trials['model'].iloc[0]}"
    for col in ("paradigm", "arm", "respondent", "n", "mean / yes-rate", "unparseable"):
        table.add_column(col, justify="left" if col in ("paradigm", "arm", "respondent") else "right")
    for r in s.itertuples():
        table.add_row(r.paradigm, r.arm, r.group, str(r.n), _f(r.mean[0], 3), str(r.parse_failed))
    return table
