"""Compare conditions: one metric of a study's done runs per group, with 95% CIs and effect sizes.

Group by any run column or condition column (each role's agent and strategy,
the named condition), optionally split by a second one drawn as colour or
small multiples; many groups turn the bars horizontal (simlab.dashboard.charts).
"""
from __future__ import annotations

import math

import streamlit as st

from simlab.dashboard import add_intervals, effect_sizes_vs, reference_values
from simlab.dashboard import pages as dc
from simlab.dashboard.charts import compare_figure, forest_figure
from simlab.dashboard.human import N_BOOT

NO_BY = "(none)"

st.title("Compare conditions")
dc.guard_store()

study = dc.pick_study()
if not study:
    st.stop()

options = dc.q("compare_options", study)
metrics, groups = options["metrics"], options["groups"]
if not metrics:
    st.info(f"Study `{study}` has no finished runs with numeric metrics yet.")
    st.stop()

metric_keys = [m.key for m in metrics]
metric_by_key = {m.key: m for m in metrics}
group_keys = [g.key for g in groups]
group_by_key = {g.key: g for g in groups}

c1, c2, c3, c4 = st.columns([2, 2, 2, 1])
default_metric = "col:agreement" if "col:agreement" in metric_keys else metric_keys[0]
metric_key = c1.selectbox(
    "Metric", metric_keys, index=metric_keys.index(default_metric), key="metric",
    format_func=lambda k: metric_by_key[k].label + (" · rate" if metric_by_key[k].binary and not metric_by_key[k].label.endswith("(rate)") else ""),
    help="Run columns, numeric keys of metrics_json and utilities_json, and outcome rates.",
)
group_key = c2.selectbox(
    "Group by", group_keys, index=0, key="group", format_func=lambda k: group_by_key[k].label,
    help="Run columns, each role's agent and strategy, the named condition, and every key of "
         "condition_json / agents_json.",
)
by_keys = [NO_BY] + [k for k in group_keys if k != group_key]
by_key = c3.selectbox(
    "Colour / facet by", by_keys, index=0, key="by",
    format_func=lambda k: "(nothing)" if k == NO_BY else group_by_key[k].label,
    help="A second grouping: e.g. the lead strategy on the axis and the counterpart as colour or small multiples.",
)
metric = metric_by_key[metric_key]
group = group_by_key[group_key]
by = None if by_key == NO_BY else group_by_key[by_key]
kind = c4.radio("Plot", ["bar", "box"], horizontal=True, key="plot_kind",
                disabled=metric.binary, help="A rate (0/1 metric) is always drawn as bars.")
if metric.binary:
    kind = "bar"
facet = False
if by is not None:
    facet = st.radio("Show the second grouping as", ["colour", "small multiples"], horizontal=True,
                     key="by_layout") == "small multiples"

summary = dc.q("group_summary", study, metric, group, by) if by is not None else dc.q("group_summary", study, metric, group)
if summary.empty:
    st.info(f"No done run of `{study}` has a value for {metric.label}.")
    st.stop()
summary = add_intervals(summary, metric.binary)

names = list(dict.fromkeys(summary["group"].tolist()))
BASELINE_WORDS = ("baseline", "control", "vanilla", "neutral", "none")
preferred = next((g for w in BASELINE_WORDS for g in names if str(g).lower() == w), None) or next(
    (g for w in BASELINE_WORDS for g in names if w in str(g).lower()), names[0])
baseline = st.selectbox("Baseline group (effect sizes)", names, index=names.index(preferred), key="baseline")

config = options["config"]
words = options["words"] + [str(x) for x in (config.get("scenarios") or [])]
refs = reference_values(metric, config, words)
rate_refs = refs[refs["show_as"] == "rate"]
effect_refs = refs[refs["show_as"] == "effect"]

title = f"{metric.label} by {group.label}" + (f" and {by.label}" if by is not None else "") + f" · {study}"
fig = compare_figure(summary, metric_label=metric.label, group_label=group.label, title=title, binary=metric.binary,
                     kind=kind, by_label=by.label if by is not None else None, facet=facet, references=rate_refs)
st.plotly_chart(fig, key="compare_chart")
if facet and not rate_refs.empty:
    st.caption("Published reference rates are drawn in the colour layout and listed below.")

st.markdown("**Per group**")
summary_columns = ["group"] + (["by"] if by is not None else []) + ["n", "mean", "ci_low", "ci_high", "sd", "min",
                                                                    "q1", "median", "q3", "max"]
st.dataframe(
    summary[summary_columns].rename(columns={"by": by.label} if by is not None else {}),
    hide_index=True, key="summary_table",
    column_config={c: st.column_config.NumberColumn(c, format="%.3f")
                   for c in ("mean", "ci_low", "ci_high", "sd", "min", "q1", "median", "q3", "max")},
)

effects = effect_sizes_vs(summary, baseline, metric.binary)
effect_name = "Cohen's h" if metric.binary else "Cohen's d"
within = f" within each {by.label}" if by is not None else ""
st.markdown(f"**Effect sizes against `{baseline}`{within}** ({effect_name}, 95% CI)")
if effects.empty:
    st.caption("Only one group: nothing to compare against.")
else:
    effects = effects.rename(columns={"effect": effect_name})
    st.dataframe(
        effects.rename(columns={"by": by.label} if by is not None else {}), hide_index=True, key="effects_table",
        column_config={
            **{c: st.column_config.NumberColumn(c, format="%.3f")
               for c in ("mean", "baseline_mean", "difference", effect_name, "effect_ci_low", "effect_ci_high")},
            "p_value": st.column_config.NumberColumn("p", format="%.4f",
                                                     help="Welch t-test (means) or two-proportion z-test (rates)"),
            "note": st.column_config.TextColumn("note", help="why an effect size or p-value is missing"),
        },
    )
if not effects.empty or not effect_refs.empty:
    st.plotly_chart(forest_figure(effects, effect_name, baseline, effect_refs), key="forest_chart")

if not refs.empty:
    with st.expander(f"Published reference values for this study ({len(refs)})", expanded=not (rate_refs.empty and effect_refs.empty)):
        st.caption("From simlab.stats.references; drawn beside the lab's estimates, never used to compute them. "
                   "A number is drawn only next to the metric it was published for.")
        st.dataframe(refs.drop(columns=["key"]), hide_index=True,
                     column_config={"url": st.column_config.LinkColumn("link"), "show_as": "drawn as"})

notes = [f"Only runs with status `done`. CIs: {'Wilson' if metric.binary else 'Student t'} 95%.",
         "Statistics: simlab.stats (Wilson / Student t intervals, Cohen's d with Welch's t, "
         "Cohen's h with the two-proportion z test)."]
if any(isinstance(x, float) and math.isnan(x) for x in summary["ci_low"]):
    notes.append("Groups with n < 2 have no interval.")
st.caption(" ".join(notes))

# ---------------------------------------------------------------- human data beside an advisory study
beside = dc.q("human_beside", study)
if beside is not None:
    st.subheader("Human data beside the simulation")
    if not beside.datasets:
        st.caption("No imported human dataset shares a domain with this advisory study. Import one with "
                   "`simlab import human FILE --as NAME --mapping MAP.yaml` to draw human rates here.")
    else:
        st.caption(
            f"Harmful-choice rate per advisor, simulated and human ({', '.join(f'`{d}`' for d in beside.datasets)}), "
            "each computed from raw rows by the same functions (simlab.decision.analysis.advisory_summary: Wilson 95%; "
            "advisory_contrasts: Cohen's h with analytic 95% CI, Fisher's exact p, Holm). Human rates also get a "
            f"cluster bootstrap over participants ({N_BOOT} resamples): a participant's several tasks are not "
            "independent. Published literature values (simlab.stats.references) stay in their own section above, "
            "never computed from these rows."
        )
        for domain, sub in beside.rates.groupby("domain", sort=True):
            bars = sub.rename(columns={"advisor_type": "group", "source": "by", "rate": "mean"})
            st.plotly_chart(
                compare_figure(bars, metric_label="harmful choice", group_label="advisor", binary=True,
                               title=f"Harmful choice by advisor, simulated and human · {domain}", by_label="source"),
                key=f"human_chart_{domain}",
            )
        st.dataframe(beside.rates, hide_index=True, key="human_rates_table",
                     column_config={c: st.column_config.NumberColumn(c, format="%.3f")
                                    for c in ("rate", "ci_low", "ci_high", "cluster_ci_low", "cluster_ci_high")})
        st.markdown("**Cohen's h of the harmful-choice rate, simulated and human** (a vs b, 95% CI)")
        if beside.effects.empty:
            st.caption("Fewer than two advisor types on a side: no contrast.")
        else:
            st.dataframe(beside.effects, hide_index=True, key="human_effects_table",
                         column_config={c: st.column_config.NumberColumn(c, format="%.3f")
                                        for c in ("rate_a", "rate_b", "h", "h_lo", "h_hi", "p_choice", "p_choice_holm")})
    for note in beside.notes:
        st.caption(note)
