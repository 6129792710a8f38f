"""Streamlit helpers shared by the dashboard pages: the store path, cached read-only queries, guards, formatting.

Every query goes through `q(...)`, cached per store fingerprint (mtime, size,
WAL size): while a study writes, each committed batch changes the fingerprint
and the next rerun reads fresh data; otherwise reruns from widget changes are
served from the cache. Nothing here holds a DuckDB connection. The pages
import this module as ``from simlab.dashboard import pages as dc``.
"""
from __future__ import annotations

import argparse
import os
import sys
import traceback
from pathlib import Path
from typing import Any, Callable

import streamlit as st

from simlab.dashboard.connection import StoreStatus, check_store, store_fingerprint
from simlab.dashboard.reader import StoreReader
from simlab.errors import StoreError
from simlab.store.store import DEFAULT_STORE

ROLE_AVATARS = (":material/support_agent:", ":material/person:", ":material/smart_toy:", ":material/psychology:")
"""Chat avatars per role, in speaking order (Material icons: no emoji font needed)."""


def store_path() -> Path:
    """The store: ``--store PATH`` after ``--`` on the streamlit command line, else $SIMLAB_STORE, else the default."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--store", default=None)
    args, _ = parser.parse_known_args(sys.argv[1:])
    chosen = args.store or os.environ.get("SIMLAB_STORE") or str(DEFAULT_STORE)
    return Path(chosen).expanduser()


@st.cache_data(ttl=3600, show_spinner=False, max_entries=512)
def _cached(path: str, fingerprint: tuple, method: str, args: tuple) -> Any:
    return getattr(StoreReader(path), method)(*args)


def q(method: str, *args: Any) -> Any:
    """Call `StoreReader(path).<method>(*args)`, cached until the store file changes."""
    path = store_path()
    return _cached(str(path), store_fingerprint(path), method, args)


def status() -> StoreStatus:
    path = store_path()
    return _cached_status(str(path), store_fingerprint(path))


@st.cache_data(ttl=5, show_spinner=False, max_entries=16)
def _cached_status(path: str, fingerprint: tuple) -> StoreStatus:
    return check_store(path)


def guard_store() -> StoreStatus:
    """Show a clear message and stop the page unless the store can be queried and has data."""
    s = status()
    if s.kind == "ok":
        return s
    if s.kind == "empty":
        st.info(s.message, icon=":material/inbox:")
    elif s.kind == "locked":
        st.warning(s.message, icon=":material/lock:")
    else:
        st.error(s.message, icon=":material/error:")
    _watch_until_changed(s)
    st.stop()
    return s  # unreachable


def _watch_until_changed(s: StoreStatus) -> None:
    """Re-check the store every few seconds; rerun the app once it becomes usable."""

    @st.fragment(run_every=5)
    def _watch() -> None:
        now = check_store(store_path())
        if now.kind != s.kind:
            st.rerun(scope="app")

    _watch()


def safe(render: Callable[[], None]) -> None:
    """Run a page body; a store problem or an unexpected error becomes a message, not a traceback."""
    try:
        render()
    except StoreError as exc:
        st.error(str(exc), icon=":material/error:")
    except Exception as exc:  # noqa: BLE001 -- the page must never show a raw traceback
        st.error(f"This page hit an unexpected error: {type(exc).__name__}: {exc}", icon=":material/bug_report:")
        with st.expander("details for a bug report"):
            st.code("".join(traceback.format_exception(exc)), language="text")


def fmt_duration(seconds: float | None) -> str:
    """'1 h 02 min', '3 min 10 s', '12.5 s' or '–'."""
    if seconds is None or seconds != seconds:
        return "–"
    seconds = float(seconds)
    if seconds < 60:
        return f"{seconds:.1f} s"
    if seconds < 3600:
        return f"{int(seconds // 60)} min {int(seconds % 60):02d} s"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h {int(seconds % 3600 // 60):02d} min"
    return f"{int(seconds // 86400)} d {int(seconds % 86400 // 3600):02d} h"


def fmt_count(n: Any) -> str:
    try:
        n = float(n)
    except (TypeError, ValueError):
        return "–"
    if n != n:
        return "–"
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(n) >= scale:
            return f"{n / scale:.1f}{unit}"
    return f"{n:.0f}"


def pick_study(label: str = "Study", key: str = "study", prefer_running: bool = False) -> str | None:
    """A study selectbox shared by pages (the choice carries across pages through ?study=)."""
    ids = q("study_ids")
    if not ids:
        st.info("No studies in this store yet.")
        return None
    wanted = st.query_params.get("study")
    index = ids.index(wanted) if wanted in ids else 0
    if prefer_running and wanted not in ids:
        overview = q("studies_overview")
        running = overview[(overview["planned"].notna()) & (overview["done"] + overview["failed"] < overview["planned"])]
        if not running.empty:
            index = ids.index(running.iloc[0]["study_id"])
    return st.selectbox(label, ids, index=index, key=key, on_change=remember_study, args=(key,))


def remember_study(key: str) -> None:
    """A study the user picks goes into the URL (?study=), so a reload or a shared link keeps it."""
    value = st.session_state.get(key)
    if value and value != "(all)":
        st.query_params["study"] = value
    else:
        st.query_params.pop("study", None)
