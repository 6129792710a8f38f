"""Dashboard speed over a large run store (target: a page over 1M stored turns in < 2 s).

Fills a store with `--turns` turns (default 1,000,000: 50,000 done runs x 20
turns plus 252 failed runs without turns, one LLM call per turn, realistic JSON
columns incl. beliefs and expert reliabilities) straight through DuckDB SQL,
then times

1. every query each page runs (`simlab.dashboard.StoreReader`), each on
   its own fresh read-only connection, as the dashboard does;
2. every page rendered server-side with `streamlit.testing.v1.AppTest`, cold
   (query cache cleared) and warm (a rerun, as after a widget change);
3. with ``--browser``, each page in headless Chromium from navigation until its
   content is visible (needs /usr/bin/chromium and playwright).

Usage::

    .venv/bin/python bench/bench_dashboard.py [--turns 1000000] [--store PATH] [--browser]

Results are printed and written to bench/results/dashboard.json.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from simlab.dashboard import RunFilter, StoreReader, check_store  # noqa: E402
from simlab.store import RunStore  # noqa: E402

TURNS_PER_RUN = 20
STUDIES = 5
TARGET_S = 2.0


def _failed(n_runs: int) -> int:
    """How many of runs 0..n_runs-1 the fill marks failed (r % 200 == 7)."""
    return 0 if n_runs <= 7 else (n_runs - 8) // 200 + 1


def fill(path: Path, n_turns: int) -> dict:
    """Create a store at `path` with about `n_turns` turns; return what the timings open."""
    n_runs = max(n_turns // TURNS_PER_RUN, STUDIES)
    while (n_runs - _failed(n_runs)) * TURNS_PER_RUN < n_turns:  # failed runs (1 in 200) log no turns
        n_runs += 1
    RunStore(path)  # schema + meta through the real writer
    t0 = time.perf_counter()
    con = duckdb.connect(str(path))
    con.execute("SET preserve_insertion_order = false")
    for s in range(STUDIES):
        con.execute(
            "INSERT INTO studies VALUES (?, ?, ?, ?, ?, now()::TIMESTAMP - INTERVAL 2 HOUR, now()::TIMESTAMP)",
            [f"study-{s}", f"benchmark study {s}",
             json.dumps({"study": f"study-{s}", "scenarios": ["debt-collection-v1", "healthcare-advice-v1", "manipulation-financial-v1"],
                         "conditions": {"vanilla": {}, "hmm": {}, "orchestrator": {}, "game_theory": {}}}),
             f"experiments/study_{s}.yaml", n_runs // STUDIES + (500 if s == STUDIES - 1 else 0)],
        )
    spec = json.dumps({"scenario": {"id": "debt-collection-v1", "roles": ["collector", "debtor"],
                                    "utilities": {"collector": {"reservation": 0.35}, "debtor": {"reservation": 0.25}}}})
    con.execute(
        f"""
        INSERT INTO runs BY NAME
        SELECT 'run-' || lpad(r::VARCHAR, 7, '0') AS run_id,
               'study-' || (r % {STUDIES})::VARCHAR AS study_id,
               ['debt-collection-v1', 'healthcare-advice-v1', 'manipulation-financial-v1'][1 + (r // 5) % 3] AS scenario,
               ['finance', 'health', 'finance'][1 + (r // 5) % 3] AS domain,
               'alternating_offers' AS protocol,
               ['vanilla', 'hmm', 'orchestrator', 'game_theory'][1 + (r // 15) % 4] AS condition,
               '{{"strategy": "' || ['vanilla', 'hmm', 'orchestrator', 'game_theory'][1 + (r // 15) % 4]
                   || '", "pressure": "' || CASE WHEN r % 2 = 0 THEN 'high' ELSE 'low' END || '"}}' AS condition_json,
               r % 97 AS seed, 0 AS replicate,
               CASE WHEN r % 3 = 0 THEN 'embedded' ELSE 'scripted' END AS backend,
               CASE WHEN r % 3 = 0 THEN 'smollm2-135m-instruct' ELSE 'scripted' END AS model,
               r % 3 = 0 AS is_llm,
               '{{"collector": {{"id": "c", "strategy": {{"name": "hmm"}}}}, "debtor": {{"id": "d", "strategy": {{"name": "vanilla"}}}}}}' AS agents_json,
               CASE WHEN r % 200 = 7 THEN 'failed' ELSE 'done' END AS status,
               NULL AS error,
               CASE WHEN hash(r) % 10 < 7 THEN 'agreement' ELSE 'walk_away' END AS outcome,
               hash(r) % 10 < 7 AS agreement,
               '{{"amount": 7000, "months": 12}}' AS agreed_offer_json,
               '{{"collector": 0.6, "debtor": 0.4}}' AS utilities_json,
               (hash(r, 1) % 1000) / 1000.0 AS utility_a, (hash(r, 2) % 1000) / 1000.0 AS utility_b,
               {TURNS_PER_RUN // 2} AS rounds, {TURNS_PER_RUN} AS n_turns,
               1.0 AS social_welfare, 0.1 AS pareto_distance, 0.2 AS nash_distance,
               '{{"recovery_rate": ' || ((hash(r, 3) % 1000) / 1000.0)::VARCHAR || ', "harmful_choice": '
                   || CASE WHEN hash(r, 4) % 5 = 0 THEN 'true' ELSE 'false' END || ', "donation": '
                   || (hash(r, 5) % 100)::VARCHAR || '}}' AS metrics_json,
               0 AS ethics_violations, (hash(r, 6) % 3 = 0)::INTEGER AS parse_failures,
               {TURNS_PER_RUN * 400} AS prompt_tokens, {TURNS_PER_RUN * 45} AS completion_tokens,
               2.5 AS wall_s, 2.2 AS llm_s, ? AS spec_json,
               now()::TIMESTAMP - INTERVAL 2 HOUR + to_milliseconds(r * 140) AS finished_at,
               'collector' AS role_a, 'lead' AS slot_a,
               'lead_' || ['vanilla', 'hmm', 'orchestrator', 'game_theory'][1 + (r // 15) % 4] AS agent_a,
               ['vanilla', 'hmm', 'orchestrator', 'game_theory'][1 + (r // 15) % 4] AS strategy_a,
               'debtor' AS role_b, 'counterpart' AS slot_b,
               'counterpart_' || ['cooperative', 'cheating', 'threatening', 'victim'][1 + r % 4] AS agent_b,
               ['cooperative', 'cheating', 'threatening', 'victim'][1 + r % 4] AS strategy_b,
               NULL AS condition_name
        FROM range({n_runs}) t(r)
        """,
        [spec],
    )
    con.execute(
        f"""
        INSERT INTO turns (run_id, turn_index, round, speaker, role, action, offer_json, emotion, message,
                           parse_failed, utility_self, utility_other, decision_json, ethics_json, detected_json,
                           belief_json, experts_json)
        SELECT 'run-' || lpad(r::VARCHAR, 7, '0'), t, t // 2 + 1,
               CASE WHEN t % 2 = 0 THEN 'collector-agent' ELSE 'debtor-agent' END,
               CASE WHEN t % 2 = 0 THEN 'collector' ELSE 'debtor' END,
               CASE WHEN t = {TURNS_PER_RUN - 1} THEN 'accept' ELSE 'offer' END,
               '{{"amount": ' || (9000 - 250 * t + (hash(r, t) % 100)::BIGINT)::VARCHAR || ', "months": ' || (6 + t)::VARCHAR || '}}',
               ['neutral', 'joy', 'sadness', 'anger', 'fear', 'surprise', 'disgust'][1 + (hash(r, t, 1) % 7)::BIGINT],
               'I hear you, and I want to find a plan that works for both of us. Could we settle at this amount '
                   || 'over the months I proposed? That is as far as I can go this round.',
               hash(r, t, 2) % 50 = 0,
               0.95 - 0.02 * t, 0.15 + 0.02 * t,
               '{{"rationale": "concede slowly", "strategy": "hmm"}}', '[]', '{{"neutral": 0.6, "anger": 0.4}}',
               CASE WHEN t % 2 = 0 AND (r // 15) % 4 IN (1, 2) THEN
                   '{{"cooperative": 0.5, "anxious": ' || ((hash(r, t, 3) % 40) / 100.0)::VARCHAR
                   || ', "hostile": ' || (0.5 - (hash(r, t, 3) % 40) / 100.0)::VARCHAR || '}}' END,
               CASE WHEN t % 2 = 0 AND (r // 15) % 4 = 2 THEN
                   '{{"reliabilities": {{"hmm": 0.4, "game_theory": 0.35, "coherence": 0.25}}, "proposals": {{"hmm": "joy"}}}}' END
        FROM range({n_runs}) a(r), range({TURNS_PER_RUN}) b(t)
        WHERE r % 200 <> 7
        """
    )
    con.execute(
        f"""
        INSERT INTO llm_calls (run_id, turn_index, attempt, backend, model, is_llm, prompt_tokens,
                               prompt_tokens_evaluated, completion_tokens, latency_s, cache_hit, parse_failed)
        SELECT run_id, turn_index, 0, CASE WHEN hash(run_id) % 3 = 0 THEN 'embedded' ELSE 'scripted' END,
               'smollm2-135m-instruct', TRUE, 400, 80, 45, 0.11, hash(run_id, turn_index) % 4 = 0, parse_failed
        FROM turns
        """
    )
    con.execute("CHECKPOINT")
    n_t = con.execute("SELECT count(*) FROM turns").fetchone()[0]
    n_r = con.execute("SELECT count(*) FROM runs").fetchone()[0]
    open_run = con.execute(
        "SELECT run_id FROM runs WHERE condition = 'orchestrator' AND status = 'done' ORDER BY run_id DESC LIMIT 1"
    ).fetchone()[0]
    con.close()
    return {"turns": n_t, "runs": n_r, "fill_s": time.perf_counter() - t0, "open_run": open_run,
            "size_mb": path.stat().st_size / 2**20}


def _time(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def time_queries(path: Path, open_run: str) -> dict[str, dict[str, float]]:
    """Median seconds of each request a page makes, each on its own brief connection (as the pages run them)."""
    r = StoreReader(path)
    study = "study-0"
    metrics = {m.key: m for m in r.metric_catalog(study)}
    groups = {g.key: g for g in r.group_options(study)}
    flt = RunFilter()
    pages = {
        "store check": {"check_store": lambda: check_store(path)},
        "Studies": {
            "studies_overview": r.studies_overview,
            "study_ids": r.study_ids,
            "study_detail (config, breakdown, llm calls)": lambda: r.study_detail(study),
        },
        "Compare conditions": {
            "study_ids": r.study_ids,
            "compare_options (metrics, groups, config)": lambda: r.compare_options(study),
            "group_summary agreement x condition": lambda: r.group_summary(study, metrics["col:agreement"], groups["condition"]),
            "group_summary recovery_rate x cond:pressure": lambda: r.group_summary(
                study, metrics["metrics:recovery_rate"], groups["cond:pressure"]),
            "group_summary agreement x lead agent by counterpart agent": lambda: r.group_summary(
                study, metrics["col:agreement"], groups["agent_a"], groups["agent_b"]),
        },
        "Run explorer": {
            "study_ids": r.study_ids,
            "run_filter_values": lambda: r.run_filter_values(None),
            "runs_page (count + 100 newest)": lambda: r.runs_page(flt, 100, 0),
            "runs_page filtered": lambda: r.runs_page(RunFilter(study_id=study, conditions=["hmm"], agreement=True), 100, 0),
            "run_detail (run + turns)": lambda: r.run_detail(open_run),
        },
        "Live progress": {
            "study_ids": r.study_ids,
            "studies_overview": r.studies_overview,
            "live_view (progress + throughput)": lambda: r.live_view(f"study-{STUDIES - 1}"),
        },
    }
    return {page: {name: _time(fn) for name, fn in queries.items()} for page, queries in pages.items()}


def _touch(path: Path) -> None:
    st_ = path.stat()
    os.utime(path, ns=(st_.st_atime_ns, st_.st_mtime_ns + 1_000_000))


def time_pages(path: Path, open_run: str) -> dict[str, dict[str, float]]:
    """Server-side render time of every page (AppTest): cold (query cache cleared) and warm (rerun).

    Each page runs once untimed first, so one-off module imports of a fresh
    server process are not counted; "cold" then means every query goes to DuckDB.
    """
    from streamlit.testing.v1 import AppTest

    os.environ["SIMLAB_STORE"] = str(path)
    app = ROOT / "dashboard" / "app.py"
    out = {}
    for title, page, query in (
        ("Studies", None, {}),
        ("Compare conditions", "views/compare.py", {"study": "study-0"}),
        ("Run explorer (list)", "views/runs.py", {}),
        ("Run explorer (run open)", "views/runs.py", {"run": open_run}),
        ("Live progress", "views/live.py", {}),
    ):
        at = AppTest.from_file(str(app), default_timeout=120)
        at.run()
        if page:
            at.switch_page(page)
        at.query_params.update(query)
        at.run()  # untimed: imports (plotly, scipy) happen once per server process
        _touch(path)  # a new store fingerprint: every cached query misses, as after a writer's commit
        t = time.perf_counter()
        at.run()
        cold = time.perf_counter() - t
        if at.exception or at.error:
            raise RuntimeError(f"{title}: {[e.value for e in at.exception] + [e.value for e in at.error]}")
        t = time.perf_counter()
        at.run()
        warm = time.perf_counter() - t
        out[title] = {"cold_s": cold, "warm_s": warm}
    return out


def time_browser(path: Path, open_run: str) -> dict[str, dict[str, float]]:
    """Seconds until each page's content is visible in headless Chromium, query cache cold.

    ``in_app``: clicking the page in the sidebar (how a user moves between
    pages: no reload); ``full_load``: typing the URL (a fresh page load, which
    also boots Streamlit's frontend and opens its websocket).
    """
    import socket
    import subprocess
    import urllib.request

    from playwright.sync_api import sync_playwright

    from simlab.dashboard.launch import streamlit_command

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(streamlit_command(path, port), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    out: dict[str, dict[str, float]] = {"in_app": {}, "full_load": {}}
    pages = (
        ("Studies", "Studies", "/", "Study details"),
        ("Compare conditions", "Compare conditions", "/compare?study=study-0", "Per group"),
        ("Run explorer (list)", "Run explorer", "/runs", "runs match"),
        ("Live progress", "Live progress", "/live", "runs finished per minute"),
    )
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(url + "/_stcore/health", timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=[
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync"])
            page = browser.new_page(viewport={"width": 1600, "height": 1100})
            # warm-up: every page once (frontend bundles, plotly.js, server-side imports)
            for _, _, route, marker in pages:
                page.goto(url + route)
                page.get_by_text(marker).first.wait_for(timeout=60_000)
            for title, link, _, marker in pages:
                page.goto(url + ("/compare" if title == "Studies" else "/"))
                page.get_by_role("heading").first.wait_for(timeout=60_000)
                page.wait_for_timeout(500)
                _touch(path)
                t = time.perf_counter()
                page.get_by_role("link", name=link).click()
                page.get_by_text(marker).first.wait_for(timeout=60_000)
                out["in_app"][title] = time.perf_counter() - t
            # open one run from the explorer's picker
            page.get_by_role("link", name="Run explorer").click()
            page.get_by_text("runs match").first.wait_for(timeout=60_000)
            page.get_by_test_id("stSelectbox").filter(has_text="Open run").click()
            page.keyboard.type(open_run)
            option = page.get_by_role("option", name=open_run).first
            option.wait_for(timeout=60_000)
            _touch(path)
            t = time.perf_counter()  # from the click on the run, not the typing
            option.click()
            page.get_by_text("Expert reliabilities of collector").first.wait_for(timeout=60_000)
            out["in_app"]["Run explorer (open a run)"] = time.perf_counter() - t
            for title, _, route, marker in pages + (("Run explorer (run open)", "", f"/runs?run={open_run}",
                                                      "Expert reliabilities of collector"),):
                _touch(path)
                t = time.perf_counter()
                page.goto(url + route)
                page.get_by_text(marker).first.wait_for(timeout=60_000)
                out["full_load"][title] = time.perf_counter() - t
            browser.close()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--turns", type=int, default=1_000_000)
    ap.add_argument("--store", type=Path, default=None, help="keep the filled store here (default: a temp dir)")
    ap.add_argument("--browser", action="store_true", help="also time pages in headless Chromium")
    args = ap.parse_args()

    tmp = tempfile.TemporaryDirectory() if args.store is None else None
    path = args.store or Path(tmp.name) / "bench.duckdb"
    if path.exists():
        path.unlink()
    info = fill(path, args.turns)
    print(f"filled {info['turns']:,} turns / {info['runs']:,} runs / {info['turns']:,} llm calls "
          f"in {info['fill_s']:.1f} s ({info['size_mb']:.0f} MiB)")

    queries = time_queries(path, info["open_run"])
    print("\nrequests per page (median of 3, each on its own fresh read-only connection):")
    page_sums = {}
    for page, qs in queries.items():
        page_sums[page] = sum(qs.values())
        print(f"  {page}: {page_sums[page] * 1000:.0f} ms in all")
        for name, s in qs.items():
            print(f"      {name:<45} {s * 1000:7.1f} ms")

    pages = time_pages(path, info["open_run"])
    print("\npages rendered server-side (AppTest), cold cache / warm rerun:")
    for title, t in pages.items():
        print(f"  {title:<28} {t['cold_s']:.2f} s / {t['warm_s']:.2f} s")

    browser = {}
    if args.browser:
        browser = time_browser(path, info["open_run"])
        print("\npages in headless Chromium, query cache cold (sidebar click / URL load -> content visible):")
        for title in browser["full_load"]:
            click = browser["in_app"].get(title)
            print(f"  {title:<28} {'-' if click is None else f'{click:.2f} s':>7} / {browser['full_load'][title]:.2f} s")
        opened = browser["in_app"]["Run explorer (open a run)"]
        print(f"  {'Run explorer (open a run)':<28} {opened:.2f} s (pick a run in the explorer)")

    worst = max(t["cold_s"] for t in pages.values())
    verdict = "PASS" if worst < TARGET_S else "FAIL"
    print(f"\nslowest page (cold, server-side): {worst:.2f} s -> {verdict} (target < {TARGET_S} s)")
    results = {"store": info, "queries_s": queries, "page_query_sums_s": page_sums, "pages_s": pages,
               "browser_s": browser, "slowest_page_cold_s": worst, "target_s": TARGET_S, "verdict": verdict}
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "dashboard.json").write_text(json.dumps(results, indent=2, default=str))
    if tmp is not None:
        tmp.cleanup()


if __name__ == "__main__":
    main()
