"""Batched against sequential embedded decoding: completion tokens per second at population 1, 4, 8, 16.

Each population is P dialogues' first turns (the debt turn schema, JSON grammar, seeded sampling),
answered by one `generate` call on a backend with ``decode: sequential`` (one request after another)
and on one with ``decode: batched`` (one llama_decode per generated position for all P sequences).
Both run on one thread. Prints completion tokens per wall second and per CPU second of this process
(the CPU figure is the one to read on a shared, loaded machine), the batched/sequential ratio, and
whether the replies are identical (they must be: see `EmbeddedBackend`).

    .venv/bin/python bench/bench_batched_decode.py [--populations 1 4 8 16] [--max-tokens 48]
"""
from __future__ import annotations

import argparse
import time

from simlab.config.models import BackendSpec
from simlab.llm.base import ChatRequest
from simlab.llm.embedded import EmbeddedBackend

SYSTEM = (
    "You are a debt collector negotiating a repayment plan. Issues: amount (1000-5000 dollars) and months "
    "(1-24). Answer every turn with one JSON object: action, offer, emotion, message."
)


def requests(population: int, max_tokens: int, schema: dict) -> list[ChatRequest]:
    return [
        ChatRequest(
            ({"role": "system", "content": SYSTEM},
             {"role": "user", "content": f"Debtor {i}: I can pay {1100 + 53 * i} over {6 + i % 18} months."}),
            json_schema=schema, max_tokens=max_tokens, seed=1000 + i, temperature=0.7, session=f"p{population}-{i}",
        )
        for i in range(population)
    ]  # fmt: skip


def measure(backend: EmbeddedBackend, reqs: list[ChatRequest]) -> tuple[list[str], int, float, float]:
    w0, c0 = time.perf_counter(), time.process_time()
    out = backend.generate(reqs)
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    return [r.text for r in out], sum(r.completion_tokens for r in out), wall, cpu


def main() -> None:
    from simlab.engine.turn_schema import turn_schema

    ap = argparse.ArgumentParser()
    ap.add_argument("--populations", type=int, nargs="+", default=[1, 4, 8, 16])
    ap.add_argument("--max-tokens", type=int, default=48)
    args = ap.parse_args()
    schema = turn_schema({"amount": (1000, 5000), "months": (1, 24)}, ("neutral", "anger", "joy", "sadness"))
    opts = {"n_threads": 1}
    seq = EmbeddedBackend(BackendSpec(n_ctx=1024, options={**opts, "decode": "sequential"}))
    bat = EmbeddedBackend(BackendSpec(n_ctx=1024, options={**opts, "decode": "batched", "slots": max(args.populations)}))
    measure(seq, requests(1, 8, schema)), measure(bat, requests(1, 8, schema))  # warm up both contexts
    print("population  sequential tok/s (wall, cpu)  batched tok/s (wall, cpu)  ratio (wall, cpu)  same replies")
    for p in args.populations:
        reqs = requests(p, args.max_tokens, schema)
        t_seq, n_seq, w_seq, c_seq = measure(seq, reqs)
        t_bat, n_bat, w_bat, c_bat = measure(bat, reqs)
        print(f"{p:10d}  {n_seq / w_seq:10.1f} {n_seq / c_seq:8.1f}          {n_bat / w_bat:10.1f} {n_bat / c_bat:8.1f}"
              f"        {w_seq / w_bat * n_bat / n_seq:5.2f} {c_seq / c_bat * n_bat / n_seq:5.2f}        {t_seq == t_bat}")
    seq.close()
    bat.close()


if __name__ == "__main__":
    main()
