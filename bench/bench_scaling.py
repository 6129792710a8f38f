"""Scaling: the same study with 1 and 2 local worker processes and with Ray on 2 CPUs, in one invocation.

Run on demand (never part of ``make test``)::

    .venv/bin/python bench/bench_scaling.py                      # scripted tournament + embedded slice
    .venv/bin/python bench/bench_scaling.py --skip-embedded      # scripted tournament only (about a minute)
    .venv/bin/python bench/bench_scaling.py --scripted-seeds 1 --embedded-leads 1 --embedded-deadline 2   # a loaded machine

Two workloads, each run three ways through `simlab.sweep.runner.run_study`
(expansion, preflight, workers, the one writer and a fresh DuckDB store each
time, so everything a researcher waits for is on the clock):

* **scripted tournament**: ``experiments/emotion_benchmark.yaml`` with the
  scripted backend (560 runs at 5 seeds; ``--scripted-seeds`` keeps the first N).
* **embedded slice**: ``experiments/emotion_benchmark_small.yaml`` with the
  embedded SmolLM2 model, no response cache (every reply decoded), the first
  ``--embedded-seeds`` seeds and the scenario deadline cut to
  ``--embedded-deadline`` rounds (and the first ``--embedded-leads`` lead agents)
  so the slice stays minutes, not hours.

The three ways, each in a fresh Python process as ``simlab run`` would be
(interpreter start and every import on the clock): ``local x1`` (the runs in
that process), ``local x2`` (two worker processes forked from simlab's fork
server, `simlab.sweep.executors.local`) and ``ray x2`` (two Ray tasks on a
local Ray cluster started with ``num_cpus=2`` on 127.0.0.1 before the clock
starts: a warm cluster, as on a real one, which each way's driver joins by its
address). Worker start-up (forking, imports, building the backend or loading
the model) is on the clock for both executors. Besides the end-to-end time the
script prints the rate after the first stored run, which leaves out the fixed
start-up (imports, preflight, loading the model) that a longer study amortises. The script prints each wall
time, runs/s, the ratios ``local x2 / local x1`` (target >= 1.8) and
``ray x2 / local x2`` (target >= 0.9), and whether the three stores hold the
same runs, outcomes and turns (they must: which worker runs a spec does not
change its result).

The ratios are measured within one invocation, so load from other processes
hits all three ways alike, but on a loaded machine they are noisy; quote the
load average with them (printed).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from simlab.config.loader import load_study  # noqa: E402
from simlab.store.store import RunStore  # noqa: E402

TIMING = ("wall_s", "finished_at", "llm_s", "latency_s")
WAYS = (("local x1", "local", 1), ("local x2", "local", 2), ("ray x2", "ray", 2))


def _contents(store: Path):
    """The store's runs and turns without timing columns, sorted, for comparing executors."""
    reader = RunStore(store, read_only=True)
    out = []
    for table, keys in (("runs", ["run_id"]), ("turns", ["run_id", "turn_index"])):
        frame = reader.query(f"SELECT * FROM {table}")
        frame = frame.drop(columns=[c for c in frame.columns if c in TIMING or c.endswith("_at")])
        out.append(frame.sort_values(keys).reset_index(drop=True))
    return out


CHILD = r"""
import json, sys, time
t_start = time.perf_counter()
sys.path.insert(0, sys.argv[1])
from pathlib import Path
from simlab.api import apply_overrides
from simlab.config.loader import load_study
from simlab.sweep.runner import run_study

def main():
    path, overrides, backend, store, executor, workers, address = json.loads(sys.argv[2])
    marks = []
    study = apply_overrides(load_study(Path(path)), overrides)
    result = run_study(study, workers=workers, backend=backend, store_path=Path(store), cache_path=None,
                       study_path=Path(path), executor=executor, address=address,
                       on_progress=lambda done, total: marks.append(time.perf_counter() - t_start))
    print(json.dumps({"ran": result.ran, "failed": result.failed, "first": marks[0] if marks else None,
                      "end": time.perf_counter() - t_start}))

if __name__ == "__main__":
    main()
"""


def _run_way(path: Path, overrides: dict, backend: str, store: Path, executor: str, workers: int,
             address: str | None) -> tuple[float, dict]:
    """One way in a fresh interpreter, as `simlab run` would be: its whole wall time (imports included) and its marks."""
    args = json.dumps([str(path), overrides, backend, str(store), executor, workers, address])
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", CHILD, str(ROOT), args], capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"{executor} x{workers} failed:\n{done.stderr[-3000:]}")
    return wall, json.loads(done.stdout.strip().splitlines()[-1])


def measure(name: str, path: Path, overrides: dict, backend: str, workdir: Path, address: str) -> None:
    """Run the study at `path` the three ways and print the times, the ratios and whether the stores agree."""
    print(f"\n{name}: {path.relative_to(ROOT)} ({backend}), overrides {overrides}", flush=True)
    walls: dict[str, float] = {}
    steady: dict[str, float] = {}
    stores: dict[str, Path] = {}
    for label, executor, workers in WAYS:
        store = workdir / f"{name}-{label.replace(' ', '')}.duckdb"
        walls[label], marks = _run_way(path, overrides, backend, store, executor, workers,
                                       address if executor == "ray" else None)
        stores[label] = store
        ran, first, end = marks["ran"], marks["first"], marks["end"]
        steady[label] = (ran - 1) / (end - first) if ran > 1 and end > first else float("nan")
        print(f"  {label:9s} {ran:5d} runs ({marks['failed']} failed) in {walls[label]:7.1f} s = "
              f"{ran / walls[label]:7.2f} runs/s; first run stored at {first:5.1f} s, then {steady[label]:7.2f} runs/s"
              f"   load {os.getloadavg()[0]:.1f}", flush=True)
    base = _contents(stores["local x1"])
    same = all(all(a.equals(b) for a, b in zip(base, _contents(stores[label]))) for label, _, _ in WAYS[1:])
    print(f"  speed-up local x2 / local x1: {walls['local x1'] / walls['local x2']:.2f}x end to end, "
          f"{steady['local x2'] / steady['local x1']:.2f}x after the first run (target >= 1.8x)")
    print(f"  ray x2 / local x2:            {walls['local x2'] / walls['ray x2']:.2f}x end to end, "
          f"{steady['ray x2'] / steady['local x2']:.2f}x after the first run (target >= 0.90x)")
    print(f"  same runs, outcomes and turns in all three stores: {'yes' if same else 'NO'}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scripted-seeds", type=int, default=5, help="first N seeds of the tournament (5: all, 560 runs)")
    ap.add_argument("--embedded-seeds", type=int, default=1, help="first N seeds of the embedded slice")
    ap.add_argument("--embedded-deadline", type=int, default=4, help="rounds per embedded negotiation")
    ap.add_argument("--embedded-leads", type=int, default=4, help="first N lead agents of the slice (4: all)")
    ap.add_argument("--skip-embedded", action="store_true")
    ap.add_argument("--skip-scripted", action="store_true")
    args = ap.parse_args()

    import ray

    info = ray.init(num_cpus=2, include_dashboard=False, _node_ip_address="127.0.0.1", logging_level="WARNING",
                    log_to_driver=False)
    address = info.address_info["gcs_address"]  # each Ray way's driver (a fresh process) joins this warm cluster
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; Ray cluster at {address}: "
          f"{ray.cluster_resources().get('CPU')} CPUs")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if not args.skip_scripted:
            tour = ROOT / "experiments" / "emotion_benchmark.yaml"
            seeds = load_study(tour).seeds
            measure("scripted tournament", tour, {"seeds": list(seeds)[: args.scripted_seeds]}, "scripted", work, address)
        if not args.skip_embedded:
            small = ROOT / "experiments" / "emotion_benchmark_small.yaml"
            seeds = load_study(small).seeds
            leads = load_study(small).agents["lead"][: args.embedded_leads]
            measure("embedded slice", small, {"seeds": list(seeds)[: args.embedded_seeds], "agents.lead": leads,
                                              "scenario_overrides.deadline": args.embedded_deadline}, "embedded", work, address)
    ray.shutdown()


if __name__ == "__main__":
    main()
