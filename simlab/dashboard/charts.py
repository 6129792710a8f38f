"""The compare page's plotly figures: `compare_figure` (bars or boxes per group) and `forest_figure`.

`compare_figure` draws a `group_summary` frame (with ``ci_low`` / ``ci_high``
from `add_intervals`). With a ``by`` column (a second grouping, e.g. the
counterpart while the lead strategy is on the axis) each ``by`` level is a
colour, or, with ``facet=True``, its own panel (small multiples sharing one
axis). Past a few groups, or with long labels, the bars turn horizontal, with
labels from `simlab.dashboard.layout.short_labels` (wrapped, shortened in the
middle, always distinct; the full label is on hover) and a height that gives
every group its own readable row.

Needs plotly (the ``dashboard`` extra); nothing imports this module except the
Streamlit pages.
"""
from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go
from plotly.colors import qualitative
from plotly.subplots import make_subplots

from simlab.dashboard.layout import chart_height, facet_grid, short_labels, use_horizontal

LAB_COLOUR = "#4c78a8"
REFERENCE_COLOUR = "#f58518"
PALETTE = qualitative.T10 + qualitative.Safe


def _errors(frame: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    return (frame["ci_high"] - frame["mean"]).fillna(0), (frame["mean"] - frame["ci_low"]).fillna(0)


def _lab_traces(frame: pd.DataFrame, labels: dict[str, str], kind: str, horizontal: bool, name: str,
                colour: str, showlegend: bool) -> list[Any]:
    cats = [labels[str(g)] for g in frame["group"]]
    hover = [str(g) for g in frame["group"]]
    up, down = _errors(frame)
    err = dict(type="data", symmetric=False, array=up, arrayminus=down)
    cat_axis, val_axis = ("y", "x") if horizontal else ("x", "y")
    if kind == "bar":
        return [go.Bar(
            **{cat_axis: cats, val_axis: frame["mean"], f"error_{val_axis}": err},
            orientation="h" if horizontal else "v", name=name, marker_color=colour, legendgroup=name,
            showlegend=showlegend, text=[f"n={n}" for n in frame["n"]], textposition="inside",
            insidetextanchor="start", textangle=0, hovertext=hover,
            hovertemplate="%{hovertext}<br>mean %{" + val_axis + ":.3f}<extra>" + name + "</extra>",
        )]
    box = go.Box(
        **{cat_axis: cats}, q1=frame["q1"], median=frame["median"], q3=frame["q3"], lowerfence=frame["min"],
        upperfence=frame["max"], orientation="h" if horizontal else "v", name=name, marker_color=colour,
        legendgroup=name, showlegend=showlegend, hovertext=hover,
    )
    means = go.Scatter(
        **{cat_axis: cats, val_axis: frame["mean"], f"error_{val_axis}": err}, mode="markers",
        name=f"{name}: mean (95% CI)", legendgroup=name, showlegend=False,
        marker=dict(symbol="diamond", size=8, color="#e45756", line=dict(width=1, color=colour)), hovertext=hover,
    )
    return [box, means]


def compare_figure(
    summary: pd.DataFrame,
    *,
    metric_label: str,
    group_label: str,
    title: str,
    binary: bool,
    kind: str = "bar",
    by_label: str | None = None,
    facet: bool = False,
    references: pd.DataFrame | None = None,
) -> go.Figure:
    """Bars (means with 95% CIs) or boxes of `metric` per group, coloured or faceted by ``by`` when present.

    `references` (rows with label / value / source, drawn as rates) become
    patterned bars beside the lab's; they are left out of small multiples,
    where no panel is theirs.
    """
    groups = list(dict.fromkeys(str(g) for g in summary["group"]))
    shown = short_labels(groups)
    labels = dict(zip(groups, shown))
    refs = references if references is not None and not references.empty else None
    ref_labels = short_labels([str(x) for x in refs["label"]]) if refs is not None else []
    has_by = "by" in summary.columns
    levels = list(dict.fromkeys(str(v) for v in summary["by"])) if has_by else [None]
    facet = facet and has_by and len(levels) > 1
    # small multiples are always horizontal: every grid row then shows the labels on its first panel
    horizontal = facet or use_horizontal(groups + ref_labels, bars=len(groups) * len(levels))
    two_lines = any("<br>" in x for x in shown + ref_labels)
    order = shown + ([] if facet else ref_labels)
    value_title = metric_label + (" (rate)" if binary else "")
    if facet:
        rows, cols = facet_grid(len(levels))
        fig = make_subplots(rows=rows, cols=cols, shared_yaxes=True,
                            subplot_titles=[f"{by_label}: {v}" for v in levels],
                            horizontal_spacing=0.03, vertical_spacing=min(0.12, 0.6 / rows))
        for i, level in enumerate(levels):
            sub = summary[summary["by"].astype(str) == level]
            for trace in _lab_traces(sub, labels, kind, horizontal, "this lab: mean (95% CI)", LAB_COLOUR, False):
                fig.add_trace(trace, row=i // cols + 1, col=i % cols + 1)
        fig.update_xaxes(matches="x", showticklabels=True)  # one value scale, readable under every panel
        panel = chart_height(len(groups), per_row=36 if two_lines else 24, base=90, minimum=220)
        height = 60 + rows * panel
    else:
        fig = go.Figure()
        for i, level in enumerate(levels):
            sub = summary if level is None else summary[summary["by"].astype(str) == level]
            name = "this lab: mean (95% CI)" if level is None else f"{level}"
            colour = LAB_COLOUR if level is None else PALETTE[i % len(PALETTE)]
            for trace in _lab_traces(sub, labels, kind, horizontal, name, colour, True):
                fig.add_trace(trace)
        if refs is not None:
            cat_axis, val_axis = ("y", "x") if horizontal else ("x", "y")
            fig.add_bar(**{cat_axis: ref_labels, val_axis: refs["value"]}, orientation="h" if horizontal else "v",
                        name="published reference", marker_color=REFERENCE_COLOUR, marker_pattern_shape="/",
                        hovertext=refs["source"])
        per_group = max(36 if two_lines else 24, 15 * len(levels) if (has_by and kind == "bar") else 0)
        height = chart_height(len(order), per_row=per_group) if horizontal else 440
        if has_by:
            fig.update_layout(barmode="group", boxmode="group", legend_title_text=by_label)
    fig.update_layout(
        height=height, margin=dict(l=10, r=10, t=60, b=10), title=title,
        legend=dict(orientation="h", y=1.0, x=1, xanchor="right", yanchor="bottom"),
    )
    category = dict(type="category", categoryorder="array", categoryarray=order)
    if horizontal:
        fig.update_yaxes(**category, autorange="reversed", automargin=True)
        if facet:
            for i in range(len(levels)):  # the value title under the lowest panel of each column
                if i + cols >= len(levels):
                    fig.update_xaxes(title_text=value_title, row=i // cols + 1, col=i % cols + 1)
        else:
            fig.update_xaxes(title_text=value_title)
        if binary:
            fig.update_xaxes(range=[0, 1.05])
    else:
        fig.update_xaxes(**category, automargin=True, title_text=group_label)
        fig.update_yaxes(title_text=value_title)
        if binary:
            fig.update_yaxes(range=[0, 1.05])
    return fig


def forest_figure(effects: pd.DataFrame, effect_name: str, baseline: str, references: pd.DataFrame | None = None) -> go.Figure:
    """Effect sizes with 95% CIs against `baseline`, one row per group (and ``by`` level), beside published values."""
    fig = go.Figure()
    n_rows = 0
    if not effects.empty:
        names = [str(g) if "by" not in effects.columns else f"{g} · {b}" for g, b in
                 zip(effects["group"], effects["by"] if "by" in effects.columns else effects["group"])]
        shown = short_labels(names, width=40)
        fig.add_scatter(
            x=effects[effect_name], y=shown, mode="markers", name=f"this lab ({effect_name}, 95% CI)",
            marker=dict(size=10, color=LAB_COLOUR), hovertext=names,
            error_x=dict(type="data", symmetric=False, array=(effects["effect_ci_high"] - effects[effect_name]).fillna(0),
                         arrayminus=(effects[effect_name] - effects["effect_ci_low"]).fillna(0)),
        )
        n_rows += len(shown)
    if references is not None and not references.empty:
        point = references["value"].fillna((references["low"] + references["high"]) / 2)
        fig.add_scatter(
            x=point, y=short_labels([str(x) for x in references["label"]], width=40), mode="markers",
            name="published reference", marker=dict(size=11, symbol="star", color=REFERENCE_COLOUR),
            hovertext=references["source"],
            error_x=dict(type="data", symmetric=False, array=(references["high"] - point).fillna(0),
                         arrayminus=(point - references["low"]).fillna(0)),
        )
        n_rows += len(references)
    fig.add_vline(x=0, line_dash="dot", line_color="gray")
    fig.update_layout(height=chart_height(n_rows, per_row=34, base=120, minimum=180), margin=dict(l=10, r=10, t=30, b=10),
                      xaxis_title=effect_name, title=f"{effect_name} against {baseline}",
                      legend=dict(orientation="h", y=-0.35))
    fig.update_yaxes(autorange="reversed", automargin=True)
    return fig
