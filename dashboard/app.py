"""simlab dashboard: a Streamlit explorer over a DuckDB run store (read-only).

Start it with ``simlab dashboard [--store PATH] [--port N]``, or directly with
``streamlit run dashboard/app.py -- --store PATH`` (``SIMLAB_STORE`` works too).

Pages (dashboard/views/): Studies, Compare conditions, Run explorer, Live
progress. Queries and shared page helpers live in `simlab.dashboard`; this
folder holds only the Streamlit pages and is shipped in the wheel as
``simlab/_data/dashboard``.
"""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from simlab.dashboard import pages as dc

HERE = Path(__file__).resolve().parent

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
