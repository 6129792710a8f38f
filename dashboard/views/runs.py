"""Run explorer: filter runs, open one as a chat transcript with its offer, emotion, belief and expert trajectories."""
from __future__ import annotations

import json

import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from simlab.dashboard import (
    RunFilter,
    belief_frame,
    format_offer,
    offer_trajectories,
    reliability_frame,
    reservation_values,
    roles_of,
)
from simlab.dashboard import pages as dc
from simlab.emotion.labels import EKMAN7

PAGE_SIZE = 100
ROLE_COLOURS = ("#4c78a8", "#e45756", "#54a24b", "#b279a2")

st.title("Run explorer")
dc.guard_store()

# ------------------------------------------------------------------ filters
studies = dc.q("study_ids")
linked_run = st.query_params.get("run")
with st.expander("Filters", expanded=False):
    f1, f2, f3 = st.columns(3)
    wanted = st.query_params.get("study")
    study = f1.selectbox("Study", ["(all)"] + studies,
                         index=(studies.index(wanted) + 1) if wanted in studies else 0,
                         key="runs_study", on_change=dc.remember_study, args=("runs_study",))
    study_id = None if study == "(all)" else study
    values = dc.q("run_filter_values", study_id)
    scenarios = f2.multiselect("Scenario", values["scenario"], key="f_scenario")
    conditions = f3.multiselect("Condition", values["condition"], key="f_condition")
    h1, h2 = st.columns(2)
    agents_a = h1.multiselect("Agent A", values["agent_a"], key="f_agent_a",
                              help="The agent in the scenario's first role (e.g. the lead strategy).")
    agents_b = h2.multiselect("Agent B", values["agent_b"], key="f_agent_b",
                              help="The agent in the scenario's second role (e.g. the counterpart).")
    g1, g2, g3, g4 = st.columns(4)
    statuses = g1.multiselect("Status", values["status"], key="f_status")
    backends = g2.multiselect("Backend", values["backend"], key="f_backend")
    agreement = g3.selectbox("Agreement", ["any", "yes", "no"], key="f_agreement")
    prefix = g4.text_input("run_id starts with", key="f_prefix")
    parse_only = st.checkbox("only runs with parse failures", key="f_parse")

flt = RunFilter(
    study_id=study_id, scenarios=scenarios, conditions=conditions, statuses=statuses, backends=backends,
    agents_a=agents_a, agents_b=agents_b, agreement=None if agreement == "any" else agreement == "yes", parse_failed_only=parse_only, run_id_prefix=prefix,
)


def _run_picked() -> None:
    """Picking a run folds the list away (it stays one click from view); clearing the pick unfolds it."""
    st.session_state["runs_list"] = st.session_state.get("run_pick") is None


def _row_clicked() -> None:
    rows = st.session_state.get("runs_table", {}).get("selection", {}).get("rows", [])
    ids = st.session_state.get("_page_run_ids", [])
    if rows and rows[0] < len(ids):
        st.session_state["run_pick"] = ids[rows[0]]
        st.session_state["runs_list"] = False


if linked_run and "run_pick" not in st.session_state:  # a shared link ?run=ID opens that run
    st.session_state["run_pick"] = linked_run
page_no = max(int(st.session_state.get("runs_page", 1)), 1)
total, runs = dc.q("runs_page", flt, PAGE_SIZE, (page_no - 1) * PAGE_SIZE)
pages = max(1, -(-total // PAGE_SIZE))
if page_no > pages:  # the filters shrank the list under the current page
    page_no = pages
    total, runs = dc.q("runs_page", flt, PAGE_SIZE, (page_no - 1) * PAGE_SIZE)
st.session_state["_page_run_ids"] = runs["run_id"].tolist()

listing = st.expander(f"Runs: {total:,} match", expanded=not linked_run, key="runs_list", on_change="rerun")
if listing.open is not False:  # the table is only built while the list is unfolded
    with listing:
        p1, p2 = st.columns([1, 4])
        p1.number_input("Page", min_value=1, max_value=pages, value=page_no, step=1, key="runs_page")
        p2.caption(f"{total:,} runs match · page {page_no} of {pages} · newest first · click a row to open it")
        st.dataframe(
            runs, hide_index=True, key="runs_table", on_select=_row_clicked, selection_mode="single-row", height=300,
            column_config={
                "utility_a": st.column_config.NumberColumn(format="%.3f"),
                "utility_b": st.column_config.NumberColumn(format="%.3f"),
                "finished_at": st.column_config.DatetimeColumn("finished (UTC)"),
            },
        )

# ------------------------------------------------------------------ which run
options = runs["run_id"].tolist()
labels = {r.run_id: f"{r.run_id} · {r.scenario} · {r.condition} · seed {r.seed} · {r.outcome or r.status}"
          for r in runs.itertuples(index=False)}
current = st.session_state.get("run_pick")
if current and current not in options:  # opened from a link, or from another page of the list
    options = [current] + options
run_id = st.selectbox("Open run", options, index=None, key="run_pick", on_change=_run_picked,
                      placeholder="pick a run (or click a row in the list)", format_func=lambda r: labels.get(r, r))
if run_id is None:
    if linked_run:
        st.query_params.pop("run", None)
    st.caption("Pick a run to see its transcript, offers, emotions, beliefs and expert reliabilities.")
    st.stop()
if st.query_params.get("run") != run_id:
    st.query_params["run"] = run_id

run, turns = dc.q("run_detail", run_id)
if run is None:
    st.warning(f"Run `{run_id}` is not in the store.")
    st.stop()
roles = roles_of(turns, run.get("spec_json"))
role_colour = {r: ROLE_COLOURS[i % len(ROLE_COLOURS)] for i, r in enumerate(roles)}
role_avatar = {r: dc.ROLE_AVATARS[i % len(dc.ROLE_AVATARS)] for i, r in enumerate(roles)}

# ------------------------------------------------------------------ header
st.subheader(f"Run `{run_id}`")
st.caption(" · ".join(str(x) for x in (
    run.get("study_id"), run.get("scenario"), f"condition {run.get('condition')}", f"seed {run.get('seed')}",
    f"replicate {run.get('replicate')}", f"{run.get('backend')}/{run.get('model')}") if x is not None))
m = st.columns(6)
m[0].metric("status", run.get("status") or "–")
m[1].metric("outcome", run.get("outcome") or "–")
m[2].metric("agreement", {True: "yes", False: "no"}.get(run.get("agreement"), "–"))
m[3].metric("utility A / B", " / ".join("–" if run.get(k) is None else f"{run[k]:.2f}" for k in ("utility_a", "utility_b")))
m[4].metric("rounds", run.get("rounds") if run.get("rounds") is not None else "–")
m[5].metric("parse failures", run.get("parse_failures") or 0)
if run.get("error"):
    st.error(f"run error: {run['error']}")

left, right = st.columns([1, 1], gap="large")

# ------------------------------------------------------------------ transcript
with left:
    st.markdown("#### Transcript")
    if turns.empty:
        st.info("This run logged no turns.")
    box = st.container(height=760, border=False, autoscroll=False) if len(turns) > 8 else st.container()
    with box:
        for t in turns.itertuples(index=False):
            role = str(t.role or t.speaker)
            with st.chat_message(role, avatar=role_avatar.get(role, ":material/chat:")):
                head = f"**{t.speaker or role}** · round {t.round} · _{t.action or '?'}_"
                if t.emotion:
                    head += f" · emotion **{t.emotion}**"
                st.markdown(head)
                if t.message:
                    st.write(t.message)
                bits = []
                offer = format_offer(t.offer_json)
                if offer:
                    bits.append(f"offer: {offer}")
                if t.utility_self is not None and not pd.isna(t.utility_self):
                    bits.append(f"u(self) {t.utility_self:.2f}")
                if t.utility_other is not None and not pd.isna(t.utility_other):
                    bits.append(f"u(other) {t.utility_other:.2f}")
                if bits:
                    st.caption(" · ".join(bits))
                if t.parse_failed:
                    st.caption(":orange[reply did not parse: replaced by the strategy's own move]")
                ethics = t.ethics_json
                if ethics and ethics not in ("[]", "{}", "null"):
                    st.caption(f":red[ethics: {ethics}]")

# ------------------------------------------------------------------ trajectories
with right:
    st.markdown("#### Offers")
    traj = offer_trajectories(turns, roles)
    reservations = reservation_values(run.get("spec_json"))
    if traj.empty:
        st.caption("No per-turn utilities logged.")
    else:
        shown = [r for r in roles if r in set(traj["to_role"])] or sorted(set(traj["to_role"]))
        fig = make_subplots(rows=1, cols=len(shown), shared_yaxes=True,
                            subplot_titles=[f"utility to {r}" for r in shown])
        for ci, to_role in enumerate(shown, start=1):
            part = traj[traj["to_role"] == to_role]
            for proposer, g in part.groupby("proposer", sort=False):
                fig.add_scatter(x=g["turn_index"], y=g["utility"], mode="lines+markers", row=1, col=ci,
                                name=f"offers by {proposer}", legendgroup=proposer, showlegend=ci == 1,
                                line=dict(color=role_colour.get(proposer)))
            if to_role in reservations:
                fig.add_hline(y=reservations[to_role], line_dash="dash", line_color=role_colour.get(to_role, "gray"),
                              annotation_text=f"reservation {to_role}", row=1, col=ci)
        fig.update_layout(height=300, margin=dict(l=10, r=10, t=30, b=10), legend=dict(orientation="h", y=-0.2))
        fig.update_xaxes(title_text="turn")
        fig.update_yaxes(range=[0, 1.05])
        st.plotly_chart(fig, key="offers_chart")
        if not reservations:
            st.caption("No reservation values in this run's spec_json.")

    st.markdown("#### Emotions")
    emo = turns[turns["emotion"].notna()]
    if emo.empty:
        st.caption("No emotions logged.")
    else:
        fig = go.Figure()
        for role, g in emo.groupby("role", sort=False):
            fig.add_scatter(x=g["turn_index"], y=g["emotion"], mode="lines+markers", name=str(role),
                            line=dict(color=role_colour.get(str(role)), shape="hv"), marker=dict(size=9))
        seen = list(pd.unique(emo["emotion"]))
        order = [e for e in EKMAN7 if e in seen] + sorted(e for e in seen if e not in EKMAN7)
        fig.update_layout(height=250, margin=dict(l=10, r=10, t=10, b=10), xaxis_title="turn",
                          yaxis=dict(type="category", categoryorder="array", categoryarray=order),
                          legend=dict(orientation="h", y=-0.3))
        st.plotly_chart(fig, key="emotion_chart")

    beliefs = belief_frame(turns)
    if not beliefs.empty:
        for role, g in beliefs.groupby("role", sort=False):
            st.markdown(f"#### Belief of {role} about its counterpart (HMM)")
            grid = g.pivot_table(index="state", columns="turn_index", values="prob", aggfunc="last")
            fig = go.Figure(go.Heatmap(z=grid.values, x=[str(c) for c in grid.columns], y=list(grid.index),
                                       colorscale="Blues", zmin=0, zmax=1, colorbar=dict(title="p")))
            fig.update_layout(height=220, margin=dict(l=10, r=10, t=10, b=10), xaxis_title="turn",
                              xaxis_type="category")
            st.plotly_chart(fig, key=f"belief_chart_{role}")
    experts = reliability_frame(turns)
    if not experts.empty:
        for role, g in experts.groupby("role", sort=False):
            st.markdown(f"#### Expert reliabilities of {role} (orchestrator)")
            fig = go.Figure()
            for expert, e in g.groupby("expert", sort=False):
                fig.add_scatter(x=e["turn_index"], y=e["weight"], mode="lines+markers", name=expert)
            fig.update_layout(height=240, margin=dict(l=10, r=10, t=10, b=10), xaxis_title="turn",
                              yaxis_title="reliability", legend=dict(orientation="h", y=-0.3))
            st.plotly_chart(fig, key=f"experts_chart_{role}")
    if beliefs.empty and experts.empty:
        st.caption("This run's strategies logged no belief or expert reliabilities.")

with st.expander("Run record (runs row and spec)"):
    record = {k: v for k, v in run.items() if not k.endswith("_json")}
    st.json(json.loads(json.dumps(record, default=str)), expanded=False)
    for col in ("condition_json", "agents_json", "metrics_json", "utilities_json", "agreed_offer_json", "spec_json"):
        if run.get(col):
            st.markdown(f"`{col}`")
            try:
                st.json(json.loads(run[col]), expanded=False)
            except (TypeError, ValueError):
                st.code(str(run[col]))
