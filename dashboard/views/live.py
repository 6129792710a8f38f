"""Live progress: runs done vs planned, throughput and ETA of a study, refreshing while it runs."""
from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from simlab.dashboard import pages as dc

st.title("Live progress")
dc.guard_store()

c1, c2, c3 = st.columns([3, 1, 1])
with c1:
    study = dc.pick_study(prefer_running=True)
auto = c2.toggle("auto-refresh", value=True, key="live_auto")
every = c3.selectbox("every", [2, 5, 10, 30], index=1, key="live_every", format_func=lambda s: f"{s} s",
                     disabled=not auto)
if not study:
    st.stop()


@st.fragment(run_every=every if auto else None)
def progress() -> None:
    try:
        _progress()
    except Exception as exc:  # noqa: BLE001 -- a refresh must never print a traceback
        st.error(f"could not read progress: {exc}")


def _progress() -> None:
    p, series = dc.q("live_view", study)
    planned = p["planned"]
    finished = p["finished"]
    if planned:
        st.progress(min(finished / planned, 1.0),
                    text=f"{finished:,} of {planned:,} runs finished ({p['done']:,} done, {p['failed']:,} failed)")
    else:
        st.caption("This study has no planned run count; showing finished runs only.")
    m = st.columns(5)
    m[0].metric("runs done", f"{p['done']:,}", help="status = done")
    m[1].metric("failed", f"{p['failed']:,}")
    m[2].metric("remaining", "–" if p["remaining"] is None else f"{p['remaining']:,}")
    m[3].metric("throughput", "–" if not p["runs_per_min"] else f"{p['runs_per_min']:.1f} runs/min",
                help="finished runs per minute over the last 5 minutes of activity")
    m[4].metric("ETA", "done" if p["remaining"] == 0 else dc.fmt_duration(p["eta_s"]))
    if p["last_finished"] is not None:
        idle = p["idle_s"]
        state = "running" if p["running"] else "complete"
        if p["running"] and idle is not None and idle > 600:
            state = f"stalled? no run finished for {dc.fmt_duration(idle)}"
        st.caption(f"status: **{state}** · last run finished {p['last_finished']:%Y-%m-%d %H:%M:%S} UTC"
                   + (f" ({dc.fmt_duration(idle)} ago)" if idle is not None and idle >= 0 else ""))
    else:
        st.caption("No run of this study has finished yet.")
    if not series.empty:
        fig = go.Figure()
        width = [50_000] * len(series)  # ms: bars fill most of their one-minute bucket
        fig.add_bar(x=series["t"], y=series["done"], name="done", marker_color="#54a24b", width=width)
        if series["failed"].sum():
            fig.add_bar(x=series["t"], y=series["failed"], name="failed", marker_color="#e45756", width=width)
        fig.update_layout(barmode="stack", height=260, margin=dict(l=10, r=10, t=30, b=10),
                          title="runs finished per minute (UTC)", legend=dict(orientation="h", y=-0.25),
                          xaxis=dict(tickformat="%H:%M", type="date"))
        st.plotly_chart(fig, key="throughput_chart")
    if auto:
        st.caption(f"refreshing every {every} s")


progress()
