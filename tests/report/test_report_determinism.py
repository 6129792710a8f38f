"""Reports do not depend on how many workers wrote the store, nor on the order rows were written."""
from __future__ import annotations

import duckdb

from simlab.report import build_report
from simlab.store.store import RunStore
from simlab.sweep.runner import run_study


def _report(store, out):
    """The report's Markdown (without its generation time) and every CSV table it writes, full precision."""
    path = build_report(RunStore(store, read_only=True), "small", out)
    text = "\n".join(line for line in path.read_text(encoding="utf-8").splitlines() if not line.startswith("Generated "))
    tables = {f.name: f.read_bytes() for f in sorted(out.glob("*.csv"))}
    assert tables, "the report writes its tables"
    return text.replace(str(out), "OUT").replace(str(store), "STORE"), tables


STUDY = """
study: small
scenarios: [debt_collection]
agents:
  creditor: [boulware_creditor, conceder_creditor]
  debtor: [cooperative_debtor, threatening_debtor]
seeds: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]
population: 4
scenario_overrides: {seed_varies: {reservation_jitter: 0.1, weight_jitter: 0.3}}
backend: {kind: scripted}
"""


def test_one_and_two_workers_and_reversed_rows_give_byte_identical_reports(tmp_path):
    # every seed a different negotiation, 24 runs per strategy: sums and bootstrap draws see the row order
    small_study = tmp_path / "experiments" / "small.yaml"
    small_study.parent.mkdir()
    small_study.write_text(STUDY)
    one, two, rev = tmp_path / "w1.duckdb", tmp_path / "w2.duckdb", tmp_path / "rev.duckdb"
    run_study(small_study, workers=1, store_path=one, cache_path=None)
    run_study(small_study, workers=2, store_path=two, cache_path=None)
    # the same rows written in the opposite order: a load without ORDER BY would sum them differently
    RunStore(rev)
    con = duckdb.connect(str(rev))
    con.execute(f"ATTACH '{one}' AS src (READ_ONLY)")
    for table, key in (("studies", "study_id"), ("runs", "run_id"), ("turns", "run_id, turn_index"), ("llm_calls", "run_id")):
        con.execute(f"INSERT INTO {table} SELECT * FROM src.{table} ORDER BY {key} DESC")
    con.close()
    texts = [_report(s, tmp_path / f"report_{s.stem}") for s in (one, two, rev)]
    assert texts[0] == texts[1] == texts[2]
    assert any(ch.isdigit() for ch in texts[0][0])
