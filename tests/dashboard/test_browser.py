"""End to end: `simlab dashboard`'s streamlit server in headless Chromium (Playwright).

Starts the app with the command `simlab.dashboard.launch.launch` runs, on a
free 127.0.0.1 port over the test store, opens the run explorer, picks a run
and checks its transcript renders. The screenshot goes to tmp_path and to
docs/run_explorer.png (shown in the README).
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from simlab.dashboard.launch import streamlit_command

CHROMIUM = Path("/usr/bin/chromium")
DOCS = Path(__file__).resolve().parents[2] / "docs"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_healthy(url: str, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with {proc.returncode}: {proc.stdout.read() if proc.stdout else ''}")
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"streamlit did not answer on {url} within {timeout} s")


@pytest.fixture
def server(filled_store, tmp_path):
    path, ids = filled_store
    port = _free_port()
    env = {**os.environ, "SIMLAB_STORE": str(path)}
    proc = subprocess.Popen(streamlit_command(path, port), env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, cwd=tmp_path)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc)
        yield url, ids
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium (apt-get install -y chromium)")
def test_run_explorer_in_chromium(server, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api", reason="needs playwright (pip install 'simlab[dev]')")
    url, ids = server
    run_id = ids["orchestrator_run"]
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 1250})
            page.goto(url, wait_until="domcontentloaded")
            page.get_by_role("heading", name="Studies").wait_for(timeout=30_000)

            # the sidebar navigation takes us to the run explorer
            page.get_by_role("link", name="Run explorer").click()
            page.get_by_role("heading", name="Run explorer").wait_for(timeout=30_000)
            page.get_by_text("61 runs match").wait_for(timeout=30_000)

            # open one run from the "Open run" picker
            # (retried: on a loaded machine the dropdown can open after the keystrokes were sent)
            picker = page.get_by_test_id("stSelectbox").filter(has_text="Open run")
            for attempt in range(3):
                try:
                    picker.click()
                    page.get_by_role("listbox").wait_for(timeout=10_000)
                    page.keyboard.type("orchestrator-03")
                    page.get_by_role("option", name=run_id).first.click(timeout=10_000)
                    break
                except sync_api.TimeoutError:
                    if attempt == 2:
                        raise
                    page.keyboard.press("Escape")
                    page.wait_for_timeout(500)

            page.get_by_role("heading", name="Transcript").wait_for(timeout=30_000)
            chats = page.get_by_test_id("stChatMessage")
            chats.first.wait_for(timeout=30_000)
            assert chats.count() == 9
            assert "round 1" in chats.first.inner_text()
            page.get_by_text("Belief of collector about its counterpart (HMM)").wait_for(timeout=30_000)
            assert f"run={run_id}" in page.url
            # plotly.js draws client-side: 20-25 s on a 2-core machine at load 10 (old and new code alike)
            page.locator(".js-plotly-plot").first.wait_for(timeout=90_000)
            page.wait_for_timeout(1500)  # let plotly finish drawing
            page.evaluate("document.activeElement && document.activeElement.blur()")
            page.wait_for_timeout(300)
            shot = tmp_path / "run_explorer.png"
            page.screenshot(path=str(shot), full_page=False)
        finally:
            browser.close()
    assert shot.stat().st_size > 20_000
    DOCS.mkdir(exist_ok=True)
    shutil.copyfile(shot, DOCS / "run_explorer.png")


def test_launch_serves_the_app_on_localhost(filled_store):
    """`launch` (what `simlab dashboard` calls) starts a server that answers on 127.0.0.1."""
    from simlab.dashboard.launch import launch

    path, _ = filled_store
    port = _free_port()
    proc = launch(path, port, wait=False)
    try:
        _wait_healthy(f"http://127.0.0.1:{port}", proc)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as r:
            assert r.status == 200 and b"<html" in r.read().lower()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
