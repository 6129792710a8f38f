"""simlab dashboard: a Streamlit explorer over a DuckDB run store (read-only).

Start it with ``simlab dashboard [--store PATH] [--port N]``, or directly with
``streamlit run dashboard/app.py -- --store PATH`` (``SIMLAB_STORE`` works too).

Pages (dashboard/views/): Studies, Compare conditions, Run explorer, Live
progress. Queries live in `simlab.dashboard_queries`; this folder holds only
Streamlit code and is shipped in the wheel as ``simlab/_data/dashboard``.
"""
from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:  # dash_common sits beside this file (no package: see DESIGN.md)
    sys.path.insert(0, str(HERE))

import streamlit as st  # noqa: E402

import dash_common as dc  # noqa: E402

st.set_page_config(page_title="simlab dashboard", page_icon=":material/science:", layout="wide")

VIEWS = HERE / "views"
PAGES = [
    st.Page(VIEWS / "studies.py", title="Studies", icon=":material/table_view:", url_path="studies", default=True),
    st.Page(VIEWS / "compare.py", title="Compare conditions", icon=":material/bar_chart:", url_path="compare"),
    st.Page(VIEWS / "runs.py", title="Run explorer", icon=":material/forum:", url_path="runs"),
    st.Page(VIEWS / "live.py", title="Live progress", icon=":material/monitoring:", url_path="live"),
]

page = st.navigation(PAGES)

with st.sidebar:
    st.caption(f"Store: `{dc.store_path()}` (read-only)")

dc.safe(page.run)  # a store problem or a bug shows as a message, never a traceback
