"""Studies: every study with its config, run counts, models, backends, wall time and tokens."""
from __future__ import annotations

import streamlit as st

from simlab.dashboard import pages as dc

st.title("Studies")
dc.guard_store()

overview = dc.q("studies_overview")
if overview.empty:
    st.info("The store has runs tables but no studies yet.")
    st.stop()

c1, c2, c3, c4 = st.columns(4)
c1.metric("studies", len(overview))
c2.metric("runs done", dc.fmt_count(overview["done"].sum()))
c3.metric("runs failed", dc.fmt_count(overview["failed"].sum()))
c4.metric("tokens", dc.fmt_count(overview["tokens"].sum()))

table = overview.copy()
table["progress"] = (table["done"] / table["planned"].where(table["planned"] > 0)).clip(upper=1.0)
table["run time"] = table["run_time_s"].map(dc.fmt_duration)
table["elapsed"] = table["elapsed_s"].map(dc.fmt_duration)
st.dataframe(
    table,
    hide_index=True,
    key="studies_table",
    column_order=[
        "study_id", "description", "progress", "planned", "done", "failed", "runs_with_parse_failures",
        "parse_failures", "models", "backends", "scenarios", "conditions", "run time", "elapsed",
        "prompt_tokens", "completion_tokens", "last_finished",
    ],
    column_config={
        "study_id": st.column_config.TextColumn("study"),
        "progress": st.column_config.ProgressColumn("done / planned", min_value=0.0, max_value=1.0, format="percent"),
        "runs_with_parse_failures": st.column_config.NumberColumn("runs w/ parse failures"),
        "parse_failures": st.column_config.NumberColumn("parse failures (turns)"),
        "run time": st.column_config.TextColumn("run time (sum)", help="sum of per-run wall time"),
        "elapsed": st.column_config.TextColumn("elapsed", help="study created -> last run finished"),
        "prompt_tokens": st.column_config.NumberColumn("prompt tokens", format="compact"),
        "completion_tokens": st.column_config.NumberColumn("completion tokens", format="compact"),
        "last_finished": st.column_config.DatetimeColumn("last run (UTC)"),
    },
)

st.subheader("Study details")
study = dc.pick_study()
if study:
    row = overview[overview["study_id"] == study].iloc[0]
    if row["description"]:
        st.markdown(f"_{row['description']}_")
    d1, d2, d3, d4, d5 = st.columns(5)
    planned = row["planned"]
    d1.metric("done / planned", f"{int(row['done'])} / {int(planned) if planned == planned and planned is not None else '?'}")
    d2.metric("failed", int(row["failed"]))
    d3.metric("parse failures", int(row["parse_failures"]), help="turns whose reply was repaired or replaced")
    d4.metric("run time (sum)", dc.fmt_duration(row["run_time_s"]))
    d5.metric("tokens", dc.fmt_count(row["tokens"]))
    st.caption(f"models: {row['models'] or '–'} · backends: {row['backends'] or '–'}"
               + (f" · config: `{row['config_path']}`" if row["config_path"] else ""))
    detail = dc.q("study_detail", study)
    left, right = st.columns([1, 1])
    with left:
        st.markdown("**Runs by scenario, condition and status**")
        st.dataframe(detail["breakdown"], hide_index=True,
                     column_config={"agreement_rate": st.column_config.NumberColumn("agreement", format="%.2f")})
        calls = detail["llm_calls"]
        if not calls.empty:
            st.markdown("**LLM calls**")
            st.dataframe(calls, hide_index=True)
    with right:
        st.markdown("**Config**")
        config = detail["config"]
        if config:
            st.json(config, expanded=1)
        else:
            st.caption("no config stored for this study")
