"""Tables and effect sizes of decision studies, computed from the run store.

Defines the loaders `load_advisory` (one row per advisory run) and
`load_trials` (one row per vignette trial), the summaries
`advisory_summary`, `advisory_contrasts`, `vignette_summary`,
`vignette_contrasts`, `vignette_trends`, `pooled` (inverse-variance fixed-effect
combination of contrasts that share a pool label) and `parse_failure_table`;
intervals, effect sizes and tests come from `simlab.stats`. `simlab.report.decision` renders them.

Rules: unparseable judgements are kept in every table as counts and left out
of the estimates (their stored value is null); literature values are only
attached as display columns, never used in a computation; intervals stay
inside what the quantity can be (Wilson for rates, the seeded percentile
bootstrap of `simlab.stats.bounded` for means of ratings and amounts), and a
model that cannot be fitted is a `NotComputed` with its reason.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import stats as sps

from simlab.errors import SimlabError
from simlab.stats import cohens_d, cohens_h, fisher_exact_2x2, hedges_g, holm, welch_t, wilson_interval
from simlab.stats._validation import InsufficientDataError
from simlab.stats.bounded import bounded_mean_ci
from simlab.store.store import RunStore

if TYPE_CHECKING:
    from simlab.stats.regression import RegressionFit

Z95 = 1.959963984540054
ADVISOR_ORDER = ("NA", "MA", "SEMA")


# --------------------------------------------------------------------------- helpers
def _holm_column(p: pd.Series) -> pd.Series:
    vals = p.to_numpy(dtype=float)
    out = np.full_like(vals, np.nan)
    ok = ~np.isnan(vals)
    if ok.any():
        out[ok] = holm(vals[ok]).p_adjusted
    return pd.Series(out, index=p.index)


def _loads(s: Any) -> Any:
    return json.loads(s) if isinstance(s, str) and s else {}


def _group_label(agents: dict[str, str], cond: dict[str, Any], role: str) -> str:
    label = agents.get(role, "?")
    if cond.get("condition"):
        label += f" | {cond['condition']}"
    return label


def scenario_specs(store: RunStore, study_id: str) -> dict[str, dict[str, Any]]:
    """Scenario id -> the resolved scenario mapping of one of its runs, in the study's scenario order."""
    df = store.query(
        "SELECT scenario, arg_min(spec_json, run_id) AS spec FROM runs WHERE study_id = ? AND status = 'done' "
        "GROUP BY scenario ORDER BY scenario",
        [study_id],
    )
    specs = {r.scenario: json.loads(r.spec)["scenario"] for r in df.itertuples()}
    files = _study_scenarios(store, study_id)
    order = list(files)
    ranked = sorted(specs, key=lambda k: (order.index(k) if k in order else len(order), k))
    out = {}
    for k in ranked:
        spec = specs[k]
        arm_order = files.get(k, [])
        if arm_order and isinstance(spec.get("arms"), dict):  # stored JSON has sorted keys; restore the file's order
            arms = spec["arms"]
            spec = {**spec, "arms": {a: arms[a] for a in [*arm_order, *sorted(arms)] if a in arms}}
        out[k] = spec
    return out


def scenario_order(store: RunStore, study_id: str) -> list[str]:
    """Scenario ids in the order the study file lists them (empty when the files cannot be resolved)."""
    return list(_study_scenarios(store, study_id))


def _study_scenarios(store: RunStore, study_id: str) -> dict[str, list[str]]:
    """Scenario id -> its arm ids in file order, for the scenarios the study file names, in its order."""
    from pathlib import Path

    from simlab.config.loader import load_scenario

    df = store.query("SELECT config_json, config_path FROM studies WHERE study_id = ?", [study_id])
    if df.empty:
        return {}
    cfg = _loads(df["config_json"].iloc[0])
    near = Path(df["config_path"].iloc[0]) if df["config_path"].iloc[0] else None
    out: dict[str, list[str]] = {}
    for name in cfg.get("scenarios", []):
        try:
            sc = load_scenario(name, near=near)
        except (SimlabError, OSError):  # the file moved or no longer loads: order is cosmetic, it sorts last
            continue
        out[sc.id] = list(getattr(sc, "arms", {}) or {})
    return out


def scenario_labels(specs: dict[str, dict[str, Any]]) -> dict[str, str]:
    """Scenario id -> its paradigm, with the domain added where several scenarios share a paradigm."""
    counts: dict[str, int] = {}
    for sp in specs.values():
        counts[sp.get("paradigm", "")] = counts.get(sp.get("paradigm", ""), 0) + 1
    return {
        k: (sp.get("paradigm", k) if counts[sp.get("paradigm", "")] == 1 else f"{sp.get('paradigm', k)} ({sp.get('domain', '')})")
        for k, sp in specs.items()
    }


def _in_order(trials: pd.DataFrame, specs: dict[str, dict[str, Any]]) -> pd.DataFrame:
    rank = {k: i for i, k in enumerate(specs)}
    t = trials.assign(_rank=trials["scenario"].map(lambda s: rank.get(s, len(rank))))
    return t.sort_values(["_rank", "group", "run_id", "turn_index"], kind="stable").drop(columns="_rank")


# --------------------------------------------------------------------------- advisory
def load_advisory(store: RunStore, study_id: str) -> pd.DataFrame:
    """One row per finished advisory run with its outcomes."""
    df = store.query(
        "SELECT run_id, scenario, domain, seed, replicate, condition_json, agents_json, metrics_json, parse_failures, "
        "model, is_llm FROM runs WHERE study_id = ? AND status = 'done' AND protocol = 'advisory' ORDER BY run_id",
        [study_id],
    )
    if df.empty:
        return df
    m = df["metrics_json"].map(_loads)
    agents = df["agents_json"].map(_loads)
    cond = df["condition_json"].map(_loads)
    df["advisor"] = agents.map(lambda a: a.get("advisor"))
    df["group"] = [_group_label(a, c, "decider") for a, c in zip(agents, cond)]
    df["advisor_type"] = m.map(lambda x: x.get("advisor_type"))
    df["decider_kind"] = m.map(lambda x: x.get("decider"))
    df["choice_parse_failed"] = m.map(lambda x: bool(x.get("choice_parse_failed")))
    df["ratings_parse_failed"] = m.map(lambda x: bool(x.get("ratings_parse_failed")))
    df["harmful_choice"] = [
        math.nan if f else float(x.get("harmful_choice", math.nan)) for x, f in zip(m, df["choice_parse_failed"])
    ]
    df["shifted_toward_harmful"] = [
        math.nan if f or x.get("shifted_toward_harmful") is None else float(x["shifted_toward_harmful"])
        for x, f in zip(m, df["ratings_parse_failed"])
    ]
    df["harmful_rating_shift"] = [
        math.nan if f or x.get("harmful_rating_shift") is None else float(x["harmful_rating_shift"])
        for x, f in zip(m, df["ratings_parse_failed"])
    ]
    df["n_tactic_uses"] = m.map(lambda x: int(x.get("n_tactic_uses", 0)))
    df["tactics_used"] = m.map(lambda x: x.get("tactics_used", {}))
    return df


def _advisor_key(t: str) -> tuple[int, str]:
    return (ADVISOR_ORDER.index(t) if t in ADVISOR_ORDER else len(ADVISOR_ORDER), str(t))


def advisory_summary(df: pd.DataFrame) -> pd.DataFrame:
    """Per (group, domain, advisor type): n, harmful-choice rate, shift rate, mean harmful rating shift, tactics, failures."""
    rows = []
    for (group, domain), gd in df.groupby(["group", "domain"], sort=True):
        for adv in sorted(gd["advisor_type"].unique(), key=_advisor_key):
            g = gd[gd["advisor_type"] == adv]
            hc = g["harmful_choice"].dropna()
            k, n = int(hc.sum()), int(hc.size)
            st = g["shifted_toward_harmful"].dropna()
            ks, ns = int(st.sum()), int(st.size)
            rows.append(
                {
                    "group": group,
                    "domain": domain,
                    "advisor_type": adv,
                    "runs": len(g),
                    "n": n,
                    "harmful": k,
                    "harmful_rate": k / n if n else math.nan,
                    "harmful_ci": wilson_interval(k, n),
                    "shifted": ks,
                    "shift_n": ns,
                    "shifted_rate": ks / ns if ns else math.nan,
                    "shifted_ci": wilson_interval(ks, ns),
                    # ratings are on a 1-7 scale, so a shift lies in [-6, 6]
                    "harmful_rating_shift": bounded_mean_ci(g["harmful_rating_shift"], -6.0, 6.0),
                    "tactics_per_run": float(g["n_tactic_uses"].mean()),
                    "parse_failures": int(g["parse_failures"].sum()),
                    "choice_parse_failed": int(g["choice_parse_failed"].sum()),
                }
            )
    return pd.DataFrame(rows)


def advisory_contrasts(df: pd.DataFrame) -> pd.DataFrame:
    """MA vs NA, SEMA vs NA and SEMA vs MA within each (group, domain).

    Harmful-choice rate: Cohen's h (analytic 95% CI) and Fisher's exact p;
    harmful-option rating shift: Cohen's d (analytic CI) and Welch p. Holm
    correction over all rows, separately per outcome.
    """
    rows = []
    pairs = (("MA", "NA"), ("SEMA", "NA"), ("SEMA", "MA"))
    for (group, domain), gd in df.groupby(["group", "domain"], sort=True):
        for a, b in pairs:
            ga, gb = gd[gd["advisor_type"] == a], gd[gd["advisor_type"] == b]
            if ga.empty or gb.empty:
                continue
            xa, xb = ga["harmful_choice"].dropna(), gb["harmful_choice"].dropna()
            row: dict[str, Any] = {"group": group, "domain": domain, "a": a, "b": b, "n_a": int(xa.size), "n_b": int(xb.size)}
            if xa.size and xb.size:
                k1, n1, k2, n2 = int(xa.sum()), int(xa.size), int(xb.sum()), int(xb.size)
                h = cohens_h(k1, n1, k2, n2, ci="analytic")
                f = fisher_exact_2x2([[k1, n1 - k1], [k2, n2 - k2]])
                row.update(rate_a=k1 / n1, rate_b=k2 / n2, h=h.estimate, h_lo=h.ci_low, h_hi=h.ci_high, p_choice=f.p_value)
            else:
                row.update(rate_a=math.nan, rate_b=math.nan, h=math.nan, h_lo=math.nan, h_hi=math.nan, p_choice=math.nan)
            sa, sb = ga["harmful_rating_shift"].dropna(), gb["harmful_rating_shift"].dropna()
            try:
                d = cohens_d(sa, sb, ci="analytic")
                t = welch_t(sa, sb)
                row.update(d_shift=d.estimate, d_lo=d.ci_low, d_hi=d.ci_high, p_shift=t.p_value)
            except (InsufficientDataError, ValueError, ZeroDivisionError):
                row.update(d_shift=math.nan, d_lo=math.nan, d_hi=math.nan, p_shift=math.nan)
            rows.append(row)
    out = pd.DataFrame(rows)
    if len(out):
        out["p_choice_holm"] = _holm_column(out["p_choice"])
        out["p_shift_holm"] = _holm_column(out["p_shift"])
    return out


def tactic_counts(df: pd.DataFrame) -> pd.DataFrame:
    """Per advisor type: runs, and uses of each detected tactic (summed over runs)."""
    rows = []
    for adv in sorted(df["advisor_type"].unique(), key=_advisor_key):
        g = df[df["advisor_type"] == adv]
        counts: dict[str, int] = {}
        for d in g["tactics_used"]:
            for k, v in d.items():
                counts[k] = counts.get(k, 0) + int(v)
        rows.append({"advisor_type": adv, "runs": len(g), **counts})
    return pd.DataFrame(rows).fillna(0)


@dataclass(frozen=True)
class NotComputed:
    """A result that could not be computed, and why (reports print the reason where the result would be)."""

    reason: str

    def __bool__(self) -> bool:  # `if fit:` reads as "was it computed"
        return False


def advisory_regression(df: pd.DataFrame) -> "RegressionFit | NotComputed":
    """Logistic regression harmful_choice ~ advisor type (NA baseline) + domain.

    Returns the fit, or `NotComputed` saying why there is none (a single advisor
    type, an outcome that never varies, too little data, a singular design).
    """
    from patsy import PatsyError

    from simlab.stats import logistic_regression

    d = df.dropna(subset=["harmful_choice"]).copy()
    if d["advisor_type"].nunique() < 2:
        return NotComputed(f"needs at least two advisor types with parsed choices; found {sorted(d['advisor_type'].unique())}")
    if d["harmful_choice"].nunique() < 2:
        value = "harmful" if len(d) and bool(d["harmful_choice"].iloc[0]) else "not harmful"
        return NotComputed(f"every one of the {len(d)} parsed choices is {value}: the outcome does not vary")
    d["harmful_choice"] = d["harmful_choice"].astype(float)
    base = "NA" if "NA" in set(d["advisor_type"]) else sorted(d["advisor_type"].unique())[0]
    formula = f"harmful_choice ~ C(advisor_type, Treatment('{base}'))"
    if d["domain"].nunique() > 1:
        formula += " + C(domain)"
    try:
        return logistic_regression(formula, d)
    except (InsufficientDataError, ValueError, np.linalg.LinAlgError, PatsyError) as exc:
        return NotComputed(f"the model `{formula}` could not be fitted: {type(exc).__name__}: {exc}")


# --------------------------------------------------------------------------- vignette
def load_trials(store: RunStore, study_id: str) -> pd.DataFrame:
    """One row per vignette trial (unparseable ones included, with a null value)."""
    df = store.query(
        "SELECT r.run_id, r.scenario, r.domain, r.seed, r.condition_json, r.agents_json, r.model, r.is_llm, "
        "t.turn_index, t.parse_failed, t.decision_json FROM turns t JOIN runs r USING (run_id) "
        "WHERE r.study_id = ? AND r.status = 'done' AND r.protocol = 'vignette' ORDER BY r.run_id, t.turn_index",
        [study_id],
    )
    if df.empty:
        return df
    dec = df["decision_json"].map(_loads)
    agents = df["agents_json"].map(_loads)
    cond = df["condition_json"].map(_loads)
    df["group"] = [_group_label(a, c, "decider") for a, c in zip(agents, cond)]
    for key in ("paradigm", "item", "arm", "prompting", "kind", "answer"):
        df[key] = dec.map(lambda d, k=key: d.get(k))
    for key in ("value", "correct", "pulled"):
        df[key] = dec.map(lambda d, k=key: math.nan if d.get(k) is None else float(d[k]))
    df["features"] = dec.map(lambda d: d.get("features", {}))
    df["parse_failed"] = df["parse_failed"].astype(bool)
    return df.drop(columns=["decision_json"])


def vignette_summary(trials: pd.DataFrame, specs: dict[str, dict[str, Any]]) -> pd.DataFrame:
    """Per (group, scenario, arm), in the scenario's arm order: trials, parsed n, mean / rate with CI, SD, failures."""
    rows = []
    labels = scenario_labels(specs)
    for (group, scenario), gs in _in_order(trials, specs).groupby(["group", "scenario"], sort=False):
        spec = specs.get(scenario, {})
        arm_order = list(spec.get("arms", {})) or list(dict.fromkeys(gs["arm"]))
        kind = spec.get("judgement", {}).get("kind", gs["kind"].iloc[0])
        for arm in arm_order:
            g = gs[gs["arm"] == arm]
            if g.empty:
                continue
            v = g["value"].dropna()
            row = {
                "group": group,
                "scenario": scenario,
                "paradigm": labels.get(scenario, g["paradigm"].iloc[0]),
                "domain": g["domain"].iloc[0],
                "arm": arm,
                "kind": kind,
                "trials": len(g),
                "n": int(v.size),
                "parse_failed": int(g["parse_failed"].sum()),
                "sd": float(v.std(ddof=1)) if v.size > 1 else math.nan,
            }
            if kind == "yes_no":
                k = int(v.sum())
                row["mean"] = (k / v.size if v.size else math.nan, *wilson_interval(k, int(v.size)))
            else:  # a bounded interval: never outside the judgement's [min, max]
                judgement = (specs.get(scenario) or {}).get("judgement") or {}
                row["mean"] = bounded_mean_ci(v, judgement.get("min"), judgement.get("max"))
            for col in ("correct", "pulled"):
                c = g[col].dropna()
                row[col] = (float(c.mean()), *wilson_interval(int(c.sum()), int(c.size))) if c.size else (math.nan, math.nan, math.nan)
            rows.append(row)
    return pd.DataFrame(rows)


def _contrast(xa: pd.Series, xb: pd.Series, binary: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"n_a": int(xa.size), "n_b": int(xb.size), "mean_a": float(xa.mean()) if xa.size else math.nan,
                           "mean_b": float(xb.mean()) if xb.size else math.nan}
    nan = {"estimate": math.nan, "ci_low": math.nan, "ci_high": math.nan, "se": math.nan, "p": math.nan, "test": ""}
    if binary:
        if not (xa.size and xb.size):
            return {**out, **nan, "measure": "cohen_h"}
        k1, n1, k2, n2 = int(xa.sum()), int(xa.size), int(xb.sum()), int(xb.size)
        h = cohens_h(k1, n1, k2, n2, ci="analytic")
        f = fisher_exact_2x2([[k1, n1 - k1], [k2, n2 - k2]])
        return {**out, "measure": "cohen_h", "estimate": h.estimate, "ci_low": h.ci_low, "ci_high": h.ci_high,
                "se": h.se, "p": f.p_value, "test": "Fisher exact"}
    try:
        d = cohens_d(xa, xb, ci="analytic")
        g = hedges_g(xa, xb, ci=None)
        t = welch_t(xa, xb)
    except (InsufficientDataError, ValueError, ZeroDivisionError):
        return {**out, **nan, "measure": "cohen_d", "hedges_g": math.nan}
    if not math.isfinite(d.estimate):
        return {**out, **nan, "measure": "cohen_d", "hedges_g": math.nan}
    return {**out, "measure": "cohen_d", "estimate": d.estimate, "ci_low": d.ci_low, "ci_high": d.ci_high, "se": d.se,
            "hedges_g": g.estimate, "p": t.p_value, "test": "Welch t"}


def vignette_contrasts(trials: pd.DataFrame, specs: dict[str, dict[str, Any]]) -> pd.DataFrame:
    """Every contrast the scenarios declare, per group: Cohen's d (amounts) or h (yes/no, pulled, correct).

    Parsed judgements only. Holm correction over all rows.
    """
    rows = []
    labels = scenario_labels(specs)
    for (group, scenario), gs in _in_order(trials, specs).groupby(["group", "scenario"], sort=False):
        spec = specs.get(scenario, {})
        kind = spec.get("judgement", {}).get("kind", "amount")
        for c in spec.get("contrasts", []):
            col = c.get("outcome", "value")
            xa = gs.loc[gs["arm"] == c["a"], col].dropna()
            xb = gs.loc[gs["arm"] == c["b"], col].dropna()
            binary = kind == "yes_no" or col != "value"
            rows.append(
                {
                    "group": group,
                    "scenario": scenario,
                    "paradigm": labels.get(scenario, spec.get("paradigm", "")),
                    "label": c["label"],
                    "a": c["a"],
                    "b": c["b"],
                    "outcome": col,
                    "references": list(c.get("references", [])),
                    "pool": c.get("pool"),
                    **_contrast(xa, xb, binary),
                }
            )
    out = pd.DataFrame(rows)
    if len(out):
        out["p_holm"] = _holm_column(out["p"])
    return out


def pooled(contrasts: pd.DataFrame) -> pd.DataFrame:
    """Inverse-variance fixed-effect combination of the contrasts sharing a pool label (per group and measure).

    estimate = sum(w_i e_i) / sum(w_i), w_i = 1 / se_i^2; SE = 1 / sqrt(sum w_i);
    95% CI estimate +- 1.96 SE; two-sided z test p. Also Cochran's Q and I^2.
    """
    rows = []
    if contrasts.empty or "pool" not in contrasts:
        return pd.DataFrame(rows)
    ok = contrasts.dropna(subset=["pool", "estimate", "se"])
    ok = ok[ok["se"] > 0]
    for (group, pool, measure), g in ok.groupby(["group", "pool", "measure"], sort=True):
        w = 1.0 / g["se"].to_numpy() ** 2
        e = g["estimate"].to_numpy()
        est = float((w * e).sum() / w.sum())
        se = float(1.0 / math.sqrt(w.sum()))
        q = float((w * (e - est) ** 2).sum())
        k = len(g)
        i2 = max(0.0, (q - (k - 1)) / q) if q > 0 and k > 1 else 0.0
        refs = sorted({r for rs in g["references"] for r in rs})
        rows.append(
            {
                "group": group,
                "pool": pool,
                "measure": measure,
                "k": k,
                "estimate": est,
                "ci_low": est - Z95 * se,
                "ci_high": est + Z95 * se,
                "se": se,
                "p": float(2 * sps.norm.sf(abs(est / se))),
                "Q": q,
                "I2": i2,
                "n": int(g["n_a"].sum() + g["n_b"].sum()),
                "references": refs,
            }
        )
    return pd.DataFrame(rows)


def vignette_trends(trials: pd.DataFrame, specs: dict[str, dict[str, Any]]) -> pd.DataFrame:
    """Per scenario with a `trend` feature: OLS slope of the value on it (parsed trials), with 95% CI and p.

    The slope is also given in SD units of the value (slope / SD), comparable to d per unit of the feature.
    """
    rows = []
    labels = scenario_labels(specs)
    for (group, scenario), gs in _in_order(trials, specs).groupby(["group", "scenario"], sort=False):
        feat = specs.get(scenario, {}).get("trend")
        if not feat:
            continue
        g = gs.dropna(subset=["value"])
        x = g["features"].map(lambda f: float(f.get(feat, math.nan))).to_numpy()
        y = g["value"].to_numpy(dtype=float)
        keep = ~np.isnan(x)
        x, y = x[keep], y[keep]
        if x.size < 3 or np.unique(x).size < 2:
            continue
        res = sps.linregress(x, y)
        tq = float(sps.t.ppf(0.975, x.size - 2))
        sd = float(np.std(y, ddof=1)) if y.size > 1 else math.nan
        rows.append(
            {
                "group": group,
                "scenario": scenario,
                "paradigm": labels.get(scenario, ""),
                "feature": feat,
                "n": int(x.size),
                "slope": float(res.slope),
                "ci_low": float(res.slope - tq * res.stderr),
                "ci_high": float(res.slope + tq * res.stderr),
                "p": float(res.pvalue),
                "slope_sd": float(res.slope / sd) if sd and sd > 0 else math.nan,
            }
        )
    return pd.DataFrame(rows)


def parse_failure_table(trials: pd.DataFrame, specs: dict[str, dict[str, Any]] | None = None) -> pd.DataFrame:
    """Per (group, scenario, arm): trials and unparseable judgements (counted, never dropped)."""
    if trials.empty:
        return pd.DataFrame(columns=["group", "scenario", "arm", "trials", "parse_failed"])
    g = (_in_order(trials, specs) if specs else trials).groupby(["group", "scenario", "arm"], sort=False)
    return g.agg(trials=("parse_failed", "size"), parse_failed=("parse_failed", "sum")).reset_index()


def repair_count(store: RunStore, study_id: str) -> int:
    """Replies that needed the repair retry (second attempts in llm_calls)."""
    df = store.query(
        "SELECT count(*) AS n FROM llm_calls c JOIN runs r USING (run_id) WHERE r.study_id = ? AND c.attempt >= 1",
        [study_id],
    )
    return int(df["n"].iloc[0]) if len(df) else 0
