"""A digest of everything a fixed batch of scripted runs stores, to prove an engine change leaves it identical.

Run on demand (never part of ``make test``)::

    .venv/bin/python bench/engine_digest.py                   # digest of this checkout
    .venv/bin/python bench/engine_digest.py --against HEAD~3  # this checkout against a commit (byte-identical?)
    .venv/bin/python bench/engine_digest.py --tree /tmp/mine --against HEAD   # another source tree against a commit

The batch goes through the real engine path with the scripted backend
(`build_backend`: `RetryingBackend(ScriptedBackend)`, `execute_specs`, one
`NegotiationModel` per group):

* ``experiments/emotion_benchmark.yaml`` at seed 1 (seven lead strategies x four
  domains x four counterpart types, ethics checks, the lexicon detector);
* ``experiments/emomas_benchmark.yaml`` at seeds 0-1 (messages-mode rounds, the
  EmoMAS settlement rule, an LLM-decided counterpart);
* ``experiments/manipulation.yaml`` and ``experiments/identifiable_victim.yaml``
  at their first seeds (the advisory and vignette protocols);
* the two domains of ``bench/bench_engine.py`` (debt and neutral, Boulware vs
  conceder, drawn reservation values), 40 negotiations each.

Study files, scenarios, agents and ``bench/bench_engine.py`` are read from this
checkout on both sides; only the ``simlab`` package comes from ``--tree``.

For every run it hashes the stored ``runs`` row, its ``turns`` rows and its
``llm_calls`` rows (timing columns left out: ``wall_s``, ``finished_at``,
``llm_s``, ``latency_s``) and every reply the backend gave (``text``, ``parsed``
and the accounting fields), and prints one digest per group and one overall.
``--against REF`` exports ``REF`` (``git archive``) to a temporary folder, runs
this same script there, and compares run by run, naming the first runs that
differ; the exit status is 1 when anything differs.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TIMING = ("wall_s", "finished_at", "llm_s", "latency_s")


def _canon(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=repr)


def _digest(value: Any) -> str:
    return hashlib.sha256(_canon(value).encode()).hexdigest()


class Recorder:
    """Wraps a backend and keeps, per dialogue (``request.session``), every reply it returned, in order."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.model_id = inner.model_id
        self.is_llm = inner.is_llm
        self.needs_messages = bool(getattr(inner, "needs_messages", True))
        self.replies: dict[str, list[Any]] = {}

    def generate(self, requests: list[Any]) -> list[Any]:
        out = self.inner.generate(requests)
        for req, resp in zip(requests, out):
            self.replies.setdefault(str(req.session), []).append(
                [req.seed, resp.text, resp.parsed, resp.model, resp.is_llm, resp.parse_failed, resp.sanitized,
                 resp.prompt_tokens, resp.completion_tokens, resp.cache_hit, resp.attempt,
                 {k: v for k, v in resp.extra.items() if k not in TIMING}]
            )
        return out

    def close(self) -> None:
        self.inner.close()


def _record_rows(record: Any) -> dict[str, Any]:
    strip = lambda row: {k: v for k, v in row.items() if k not in TIMING}  # noqa: E731
    return {"run": strip(record.run), "turns": [strip(t) for t in record.turns],
            "llm_calls": [strip(c) for c in record.llm_calls]}


def study_group(path: Path, overrides: dict[str, Any]) -> dict[str, Any]:
    """run_id -> digest of the stored rows and the replies of each run of the study (scripted backend)."""
    from simlab.api import apply_overrides
    from simlab.config.loader import load_study
    from simlab.config.models import BackendSpec
    from simlab.sweep.execute import build_backend, execute_specs
    from simlab.sweep.expand import expand_study

    study = apply_overrides(load_study(path), overrides)
    specs = expand_study(study, study_path=path, backend_kind="scripted")
    backend = Recorder(build_backend(BackendSpec(kind="scripted"), cache_path=None))
    rows = {r.run["run_id"]: _record_rows(r) for r in execute_specs(specs, backend, population=study.population)}
    out = {}
    for run_id, data in rows.items():
        data["replies"] = {k: v for k, v in backend.replies.items() if k == run_id or k.startswith(run_id + ":")}
        out[run_id] = _digest(data)
    return out


def bench_group(domain: str, n: int) -> dict[str, Any]:
    """The negotiations of bench/bench_engine.py's `domain` (first `n`), as the store would hold them."""
    import numpy as np

    sys.path.insert(1, str(ROOT / "bench"))
    import bench_engine as be
    from simlab.engine.model import NegotiationModel
    from simlab.engine.protocols.alternating import AlternatingOffers
    from simlab.llm.scripted import ScriptedBackend

    scenarios = [be.DOMAINS[domain](r) for r in be.draw_reservations(n, 0)]
    profs = be.profiles(scenarios[0])
    backend = Recorder(ScriptedBackend())
    model = NegotiationModel(backend, seed=0)
    for k, sc in enumerate(scenarios):
        model.add_session(AlternatingOffers(f"bench-{domain}-{k}", sc, profs, np.random.default_rng([0, k])))
    out = {}
    while model.sessions:
        model.step()
        for s in model.just_finished:
            if s.error is not None:
                raise RuntimeError(f"{s.run_id} failed: {s.error}")
            data = {"run": s.run_fields(), "turns": s.turn_rows(),
                    "llm_calls": [{k: v for k, v in c.items() if k not in TIMING} for c in s.calls],
                    "replies": {k: v for k, v in backend.replies.items() if k.startswith(s.run_id + ":")}}
            out[s.run_id] = _digest(data)
    return out


GROUPS = {
    "emotion_benchmark seed 1": lambda: study_group(ROOT / "experiments" / "emotion_benchmark.yaml", {"seeds": [1]}),
    "emomas_benchmark seeds 0-1": lambda: study_group(ROOT / "experiments" / "emomas_benchmark.yaml", {"seeds": [0, 1]}),
    "manipulation (advisory)": lambda: study_group(ROOT / "experiments" / "manipulation.yaml", {"seeds": [1]}),
    "identifiable_victim (vignette)": lambda: study_group(ROOT / "experiments" / "identifiable_victim.yaml", {"seeds": [1]}),
    "bench debt": lambda: bench_group("debt", 40),
    "bench neutral": lambda: bench_group("neutral", 40),
}


def compute(tree: Path) -> dict[str, dict[str, str]]:
    """Every group's per-run digests, with `tree`'s simlab package."""
    sys.path.insert(0, str(tree))
    import simlab

    if Path(simlab.__file__).resolve().parent != (tree / "simlab").resolve():
        raise SystemExit(f"simlab was imported from {simlab.__file__}, not from {tree}")
    import warnings

    warnings.filterwarnings("ignore")
    return {name: make() for name, make in GROUPS.items()}


def summarise(result: dict[str, dict[str, str]]) -> None:
    for name, runs in result.items():
        print(f"  {name:32s} {len(runs):4d} runs  {_digest(sorted(runs.items()))[:16]}")
    print(f"  {'all':32s} {sum(map(len, result.values())):4d} runs  {_digest(result)[:16]}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tree", type=Path, default=ROOT, help="the source tree whose simlab package runs (default: this checkout)")
    ap.add_argument("--out", type=Path, default=None, help="write the per-run digests to this JSON file")
    ap.add_argument("--against", default=None, help="a git ref: also run the batch on it and compare run by run")
    args = ap.parse_args(argv)
    if args.against:
        with tempfile.TemporaryDirectory() as tmp:
            base = Path(tmp)
            archive = subprocess.run(["git", "-C", str(ROOT), "archive", args.against], check=True, capture_output=True).stdout
            subprocess.run(["tar", "-x", "-C", str(base)], input=archive, check=True)
            ref_out = base / "digest.json"
            subprocess.run([sys.executable, __file__, "--tree", str(base), "--out", str(ref_out)], check=True)
            ref = json.loads(ref_out.read_text())
        print(f"{args.tree}:")
        mine = compute(args.tree)
        summarise(mine)
        bad = [(g, r) for g in ref for r in ref[g] if mine.get(g, {}).get(r) != ref[g][r]]
        bad += [(g, r) for g in mine for r in mine[g] if r not in ref.get(g, {})]
        if bad:
            print(f"DIFFERENT from {args.against}: {len(bad)} runs, e.g. {bad[:5]}")
            return 1
        print(f"identical to {args.against}: every run's stored rows and replies")
        return 0
    print(f"{args.tree}:")
    result = compute(args.tree)
    summarise(result)
    if args.out:
        args.out.write_text(json.dumps(result, sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
