"""Compare conditions: one metric of a study's done runs per group, with 95% CIs and effect sizes."""
from __future__ import annotations

import math

import plotly.graph_objects as go
import streamlit as st

import dash_common as dc
from simlab.dashboard_queries import add_intervals, effect_sizes_vs, reference_values, stats_backend

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

c1, c2, c3 = st.columns([2, 2, 1])
default_metric = "col:agreement" if "col:agreement" in metric_keys else metric_keys[0]
metric_key = c1.selectbox(
    "Metric", metric_keys, index=metric_keys.index(default_metric), key="metric",
    format_func=lambda k: metric_by_key[k].label + (" · rate" if metric_by_key[k].binary and not metric_by_key[k].label.endswith("(rate)") else ""),
    help="Run columns, numeric keys of metrics_json and utilities_json, and outcome rates.",
)
group_key = c2.selectbox(
    "Group by", group_keys, index=0, key="group", format_func=lambda k: group_by_key[k].label,
    help="Run columns and every key of condition_json / agents_json.",
)
metric = metric_by_key[metric_key]
group = group_by_key[group_key]
kind = c3.radio("Plot", ["bar", "box"], horizontal=True, key="plot_kind",
                disabled=metric.binary, help="A rate (0/1 metric) is always drawn as bars.")
if metric.binary:
    kind = "bar"

summary = dc.q("group_summary", study, metric, group)
if summary.empty:
    st.info(f"No done run of `{study}` has a value for {metric.label}.")
    st.stop()
summary = add_intervals(summary, metric.binary)

names = summary["group"].tolist()
BASELINE_WORDS = ("baseline", "control", "vanilla", "neutral", "none")
preferred = next((g for w in BASELINE_WORDS for g in names if str(g).lower() == w), None) or next(
    (g for w in BASELINE_WORDS for g in names if w in str(g).lower()), names[0])
baseline = st.selectbox("Baseline group (effect sizes)", names, index=names.index(preferred), key="baseline")

config = options["config"]
words = options["words"] + [str(x) for x in (config.get("scenarios") or [])]
refs = reference_values(metric, config, words)
rate_refs = refs[refs["show_as"] == "rate"]
effect_refs = refs[refs["show_as"] == "effect"]

shown = [dc.wrap(g) for g in summary["group"]]  # long condition names break over lines on the axis
fig = go.Figure()
if kind == "bar":
    fig.add_bar(
        x=shown, y=summary["mean"], name="this lab: mean (95% CI)",
        error_y=dict(type="data", symmetric=False, array=(summary["ci_high"] - summary["mean"]).fillna(0),
                     arrayminus=(summary["mean"] - summary["ci_low"]).fillna(0)),
        text=[f"n={n}" for n in summary["n"]], textposition="inside", insidetextanchor="start", marker_color="#4c78a8",
    )
else:
    for row in summary.itertuples(index=False):
        fig.add_trace(go.Box(
            x=[dc.wrap(row.group)], q1=[row.q1], median=[row.median], q3=[row.q3], lowerfence=[row.min],
            upperfence=[row.max], name=str(row.group), marker_color="#4c78a8", showlegend=False,
        ))
    fig.add_scatter(
        x=shown, y=summary["mean"], mode="markers", name="mean (95% CI)",
        marker=dict(symbol="diamond", size=9, color="#e45756"),
        error_y=dict(type="data", symmetric=False, array=(summary["ci_high"] - summary["mean"]).fillna(0),
                     arrayminus=(summary["mean"] - summary["ci_low"]).fillna(0)),
    )
if not rate_refs.empty:
    fig.add_bar(x=[dc.wrap(label) for label in rate_refs["label"]], y=rate_refs["value"], name="published reference",
                marker_color="#f58518", marker_pattern_shape="/", hovertext=rate_refs["source"])
fig.update_layout(
    height=420, margin=dict(l=10, r=10, t=40, b=10), title=f"{metric.label} by {group.label} · {study}",
    yaxis_title=metric.label + (" (rate)" if metric.binary else ""), xaxis_title=group.label,
    xaxis_type="category", legend=dict(orientation="h", y=1.02, x=1, xanchor="right", yanchor="bottom"),
)
if metric.binary:
    fig.update_yaxes(range=[0, 1.05])
st.plotly_chart(fig, key="compare_chart")

st.markdown("**Per group**")
st.dataframe(
    summary[["group", "n", "mean", "ci_low", "ci_high", "sd", "min", "q1", "median", "q3", "max"]],
    hide_index=True, key="summary_table",
    column_config={c: st.column_config.NumberColumn(c, format="%.3f")
                   for c in ("mean", "ci_low", "ci_high", "sd", "min", "q1", "median", "q3", "max")},
)

effects = effect_sizes_vs(summary, baseline, metric.binary)
effect_name = "Cohen's h" if metric.binary else "Cohen's d"
st.markdown(f"**Effect sizes against `{baseline}`** ({effect_name}, 95% CI)")
if effects.empty:
    st.caption("Only one group: nothing to compare against.")
else:
    effects = effects.rename(columns={"effect": effect_name})
    st.dataframe(
        effects, hide_index=True, key="effects_table",
        column_config={
            **{c: st.column_config.NumberColumn(c, format="%.3f")
               for c in ("mean", "baseline_mean", "difference", effect_name, "effect_ci_low", "effect_ci_high")},
            "p_value": st.column_config.NumberColumn("p", format="%.4f",
                                                     help="Welch t-test (means) or two-proportion z-test (rates)"),
        },
    )
if not effects.empty or not effect_refs.empty:
    forest = go.Figure()
    if not effects.empty:
        forest.add_scatter(
            x=effects[effect_name], y=[dc.wrap(g, 40) for g in effects["group"]], mode="markers",
            name=f"this lab ({effect_name}, 95% CI)", marker=dict(size=10, color="#4c78a8"),
            error_x=dict(type="data", symmetric=False,
                         array=(effects["effect_ci_high"] - effects[effect_name]).fillna(0),
                         arrayminus=(effects[effect_name] - effects["effect_ci_low"]).fillna(0)),
        )
    if not effect_refs.empty:
        point = effect_refs["value"].fillna((effect_refs["low"] + effect_refs["high"]) / 2)
        forest.add_scatter(
            x=point, y=[dc.wrap(label, 40) for label in effect_refs["label"]], mode="markers", name="published reference",
            marker=dict(size=11, symbol="star", color="#f58518"), hovertext=effect_refs["source"],
            error_x=dict(type="data", symmetric=False, array=(effect_refs["high"] - point).fillna(0),
                         arrayminus=(point - effect_refs["low"]).fillna(0)),
        )
    forest.add_vline(x=0, line_dash="dot", line_color="gray")
    forest.update_layout(height=120 + 34 * (len(effects) + len(effect_refs)), margin=dict(l=10, r=10, t=30, b=10),
                         xaxis_title=effect_name, title=f"{effect_name} against {baseline}",
                         legend=dict(orientation="h", y=-0.35))
    st.plotly_chart(forest, key="forest_chart")

if not refs.empty:
    with st.expander(f"Published reference values for this study ({len(refs)})", expanded=not (rate_refs.empty and effect_refs.empty)):
        st.caption("From simlab.stats.references; drawn beside the lab's estimates, never used to compute them. "
                   "A number is drawn only next to the metric it was published for.")
        st.dataframe(refs.drop(columns=["key"]), hide_index=True,
                     column_config={"url": st.column_config.LinkColumn("link"), "show_as": "drawn as"})

notes = [f"Only runs with status `done`. CIs: {'Wilson' if metric.binary else 'Student t'} 95%.",
         f"Statistics: {stats_backend()}."]
if any(isinstance(x, float) and math.isnan(x) for x in summary["ci_low"]):
    notes.append("Groups with n < 2 have no interval.")
st.caption(" ".join(notes))
