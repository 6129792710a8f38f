"""Embedded-LLM benchmark: turns/s, share of wall time inside the model, prompt tokens per negotiation.

Runs quickstart negotiations (debt scenario, SmolLM2-135M via llama.cpp, JSON-schema constrained) through
the real engine path (NegotiationModel batches, repair wrapper, no response cache) and reports:

* turns per second and completion tokens per second;
* the share of wall time spent inside the model (the token loops: decode + sampling + grammar) against
  the whole study wall time, engine and prompt building included (target >= 95%);
* prompt tokens evaluated per negotiation against its number of turns, with per-dialogue KV reuse and,
  for comparison, with ``kv_reuse="none"`` (every prompt re-read): with reuse the growth is linear in
  turns (the fitted quadratic term is ~0), without it quadratic.

    .venv/bin/python bench/bench_embedded.py [--runs 8] [--compare-none 4] [--workers-compare]
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from simlab.config.loader import load_study
from simlab.config.models import BackendSpec
from simlab.llm.embedded import EmbeddedBackend
from simlab.llm.repair import RepairingBackend
from simlab.sweep.execute import execute_specs
from simlab.sweep.expand import expand_study

ROOT = Path(__file__).resolve().parent.parent


def specs(n: int):
    path = ROOT / "experiments" / "debt_quickstart.yaml"
    all_specs = expand_study(load_study(path), path)
    by_condition = {}
    for s in all_specs:  # spread over conditions
        by_condition.setdefault(s.condition, []).append(s)
    picked = []
    while len(picked) < n and any(by_condition.values()):
        for lst in by_condition.values():
            if lst and len(picked) < n:
                picked.append(lst.pop(0))
    return picked


def run(n: int, kv_reuse: str, population: int = 16):
    spec = BackendSpec(kind="embedded", max_tokens=96, options={"kv_reuse": kv_reuse})
    inner = EmbeddedBackend(spec)
    backend = RepairingBackend(inner)
    t0 = time.perf_counter()
    records = list(execute_specs(specs(n), backend, population=population))
    wall = time.perf_counter() - t0
    stats = inner.stats
    inner.close()
    return records, wall, stats


def per_run_tokens(records):
    turns = np.array([r.run["n_turns"] for r in records], dtype=float)
    evaluated = np.array([sum(c["prompt_tokens_evaluated"] or 0 for c in r.llm_calls) for r in records], dtype=float)
    full = np.array([sum(c["prompt_tokens"] or 0 for c in r.llm_calls) for r in records], dtype=float)
    return turns, evaluated, full


def growth(turns, tokens):
    """Least-squares fit tokens = a + b*turns + c*turns^2; returns (a, b, c)."""
    X = np.column_stack([np.ones_like(turns), turns, turns**2])
    coef, *_ = np.linalg.lstsq(X, tokens, rcond=None)
    return coef


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=8)
    ap.add_argument("--compare-none", type=int, default=4, help="runs re-read without KV reuse (0 to skip)")
    args = ap.parse_args()

    records, wall, stats = run(args.runs, "session")
    turns, evaluated, full = per_run_tokens(records)
    n_turns = int(turns.sum())
    print(f"embedded SmolLM2-135M, {len(records)} negotiations, {n_turns} turns in {wall:.1f}s")
    print(f"  turns/s {n_turns / wall:.2f}   completion tokens/s {stats.completion_tokens / wall:.1f}")
    print(f"  wall time inside the model (token loops) {stats.model_s:.1f}s = {100 * stats.model_s / wall:.1f}% of the study wall time"
          f"  (llama_decode alone {100 * stats.decode_s / wall:.1f}%, KV state swaps {100 * stats.state_s / wall:.1f}%)")
    print(f"  parse failures {sum(r.run['parse_failures'] for r in records)}")
    print("  per negotiation: turns, prompt tokens, prompt tokens evaluated")
    for t, f, e in sorted(zip(turns, full, evaluated)):
        print(f"    {int(t):3d} turns  {int(f):7d} prompt  {int(e):6d} evaluated  ({e / t:.0f}/turn)")
    a, b, c = growth(turns, evaluated)
    print(f"  fit evaluated = {a:.0f} + {b:.1f}*turns + {c:.2f}*turns^2")
    if args.compare_none:
        rec2, wall2, _ = run(args.compare_none, "none")
        t2, e2, f2 = per_run_tokens(rec2)
        a2, b2, c2 = growth(t2, e2)
        print(f"  without KV reuse ({len(rec2)} runs, {wall2:.1f}s): evaluated = {a2:.0f} + {b2:.1f}*turns + {c2:.2f}*turns^2; "
              f"{int(e2.sum())} evaluated for {int(t2.sum())} turns ({e2.sum() / t2.sum():.0f}/turn) vs "
              f"{evaluated.sum() / turns.sum():.0f}/turn with reuse")


if __name__ == "__main__":
    main()
