"""Fuzz: 10,000+ generated hostile replies through the real wrapper stack (retry, repair, cache) and the engine.

Asserts: no exception escapes a run; every bad reply is flagged (``parse_failed``), every altered one is
flagged (``sanitized``), no clean one is; no offer is out of its issue's range; every row is storable in a
real DuckDB store. Seeded: the same replies every time.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from simlab.config.loader import load_study
from simlab.llm.cache import CachedBackend, ResponseCache
from simlab.llm.repair import RepairingBackend
from simlab.llm.retry import RetryingBackend
from simlab.store.store import RunStore
from simlab.sweep.execute import execute_specs
from simlab.sweep.expand import expand_study

from reply_fuzz import FuzzBackend, Recorder

MIN_REPLIES = 10_000
SEEDS = 300
PAIRINGS = [("vanilla_creditor", "threatening_debtor"), ("boulware_creditor", "cooperative_debtor")]

STUDY = """
study: reply_fuzz_{creditor}
scenarios: [debt_collection]
agents:
  creditor: [{creditor}]
  debtor: [{debtor}]
seeds: [{seeds}]
population: 32
detector: null
backend: {{kind: openai}}
"""


@pytest.mark.slow
def test_ten_thousand_hostile_replies(tmp_path):
    # two pairings with different first speakers, so no two runs send the same request (the cache would
    # answer the second one: common random numbers give equal seeds across pairings)
    specs = []
    for i, (creditor, debtor) in enumerate(PAIRINGS):
        path = tmp_path / "experiments" / f"fuzz_{i}.yaml"
        path.parent.mkdir(exist_ok=True)
        path.write_text(STUDY.format(creditor=creditor, debtor=debtor, seeds=", ".join(str(s) for s in range(SEEDS))))
        specs += expand_study(load_study(path), path)
    fuzz = FuzzBackend()
    recorder = Recorder(CachedBackend(fuzz, ResponseCache(tmp_path / "cache.sqlite")))
    backend = RetryingBackend(RepairingBackend(recorder), sleep=lambda s: None)
    records = list(execute_specs(specs, backend, population=32))  # nothing may escape

    assert len(fuzz.served) >= MIN_REPLIES, f"only {len(fuzz.served)} replies generated"
    assert len(records) == len(specs) and {r.run["run_id"] for r in records} == {s.run_id for s in specs}
    poisoned = {run for run, seeds in recorder.log.items() if any("poison" in a.values() for a in seeds.values())}
    for rec in records:
        if rec.run["run_id"] in poisoned:
            # a request the backend raised on fails its own run, with the error named; nothing else fails
            if rec.run["status"] == "failed":
                assert "non-JSON body" in rec.run["error"], rec.run["error"]
            continue
        assert rec.run["status"] == "done", rec.run.get("error")

    issues = {i["name"]: tuple(i["range"]) for i in specs[0].scenario["issues"]}
    kinds = {"good": 0, "sanitize": 0, "bad": 0}
    for rec in records:
        if rec.run["status"] != "done":
            continue
        order = list(recorder.log[rec.run["run_id"]].values())  # the k-th seed a run asked with is its turn k
        assert len(order) == len(rec.turns)
        for turn in rec.turns:
            offer = json.loads(turn["offer_json"])
            for name, value in offer.items():
                lo, hi = issues[name]
                assert lo <= value <= hi, (name, value)
            assert set(offer) == set(issues)
        calls = {(c["turn_index"], c["attempt"]): c for c in rec.llm_calls}
        for k, served in enumerate(order):
            for attempt, kind in served.items():
                call = calls[(k, attempt)]
                kinds[kind] += 1
                if kind == "bad":
                    assert call["parse_failed"], (kind, call)
                elif kind == "sanitize":
                    assert call["sanitized"] and not call["parse_failed"], (kind, call)
                else:
                    assert not call["parse_failed"] and not call["sanitized"], (kind, call)
            last = served[max(served)]
            assert rec.turns[k]["parse_failed"] == (last == "bad"), (k, served)
    assert min(kinds.values()) > 500, kinds

    store = RunStore(tmp_path / "fuzz.duckdb")
    assert store.write_runs(records) == [], "every row is storable"
    n = store.query("SELECT (SELECT count(*) FROM runs) AS runs, (SELECT count(*) FROM turns) AS turns")
    assert n["runs"][0] == len(records) and n["turns"][0] == sum(len(r.turns) for r in records)
    longest = store.query("SELECT max(length(message)) AS m FROM turns WHERE NOT parse_failed")["m"][0]
    assert longest <= 120, "a model's message longer than the schema allows was stored"
