"""`launch`: start the Streamlit dashboard over a run store (``simlab dashboard``).

The app file is ``dashboard/app.py`` in a source checkout and
``simlab/_data/dashboard/app.py`` in an installed wheel; `app_path` finds
whichever exists. The store path reaches the app both as ``--store PATH`` after
``--`` on the streamlit command line and as ``SIMLAB_STORE``. The server binds
127.0.0.1 only and never opens a browser or phones home.
"""
from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

from simlab.errors import ConfigError, SimlabError
from simlab.store.store import DEFAULT_STORE

_PKG = Path(__file__).resolve().parents[1]
"""The simlab package folder (the wheel's package data lies under it)."""


def app_path() -> Path:
    """The dashboard's Streamlit entry point (installed package data first, then the repo)."""
    for candidate in (_PKG / "_data" / "dashboard" / "app.py", _PKG.parent / "dashboard" / "app.py"):
        if candidate.is_file():
            return candidate
    raise SimlabError(
        "the dashboard app is missing: expected simlab/_data/dashboard/app.py (wheel) or dashboard/app.py "
        "(source checkout); reinstall simlab"
    )


def streamlit_command(store_path: str | Path, port: int, app: Path | None = None) -> list[str]:
    """The ``python -m streamlit run ...`` command line `launch` runs."""
    store = Path(store_path).expanduser().resolve()
    return [
        sys.executable, "-m", "streamlit", "run", str(app or app_path()),
        "--server.address", "127.0.0.1",
        "--server.port", str(int(port)),
        "--server.headless", "true",
        "--browser.gatherUsageStats", "false",
        "--server.fileWatcherType", "none",
        "--server.runOnSave", "false",
        "--client.toolbarMode", "minimal",
        "--", "--store", str(store),
    ]


def launch(store_path: str | Path = DEFAULT_STORE, port: int = 8501, *, wait: bool = True) -> int | subprocess.Popen:
    """Serve the dashboard for `store_path` on http://127.0.0.1:`port`.

    A missing or old store is not an error here: the page itself says what is
    wrong, and picks the store up once a study creates it.

    Args:
        store_path: the DuckDB run store (read-only; a running study may write it).
        port: the TCP port on 127.0.0.1.
        wait: block until the server exits (Ctrl+C stops it) and return its exit
            code; False returns the running `subprocess.Popen`.

    Raises:
        SimlabError: streamlit is not installed (``pip install 'simlab[dashboard]'``).
        ConfigError: the port is out of range.
    """
    if not 0 < int(port) < 65536:
        raise ConfigError(f"--port must be between 1 and 65535, not {port}")
    if importlib.util.find_spec("streamlit") is None:
        raise SimlabError("the dashboard needs streamlit: pip install 'simlab[dashboard]'")
    cmd = streamlit_command(store_path, port)
    env = {**os.environ, "SIMLAB_STORE": str(Path(store_path).expanduser().resolve()),
           "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false"}
    proc = subprocess.Popen(cmd, env=env)
    if not wait:
        return proc
    try:
        return proc.wait()
    except KeyboardInterrupt:
        proc.terminate()
        try:
            return proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            return proc.wait()
