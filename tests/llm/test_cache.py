"""ResponseCache / CachedBackend: content-addressed, sqlite, shared across instances and processes."""
from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

from simlab.llm.cache import CachedBackend, ResponseCache, cache_key
from simlab.llm.check import check_backend, check_requests

from llm_fakes import EchoJSONBackend

ROOT = Path(__file__).resolve().parents[2]


def test_hit_returns_identical_text_and_flags_it(tmp_path):
    inner = EchoJSONBackend()
    backend = CachedBackend(inner, ResponseCache(tmp_path / "c.sqlite"))
    reqs = check_requests(3)
    first = backend.generate(reqs)
    again = backend.generate(reqs)
    assert len(inner.calls) == 1, "the second batch is served from the cache"
    for a, b in zip(first, again):
        assert not a.cache_hit and b.cache_hit
        assert b.text == a.text and b.parsed == a.parsed
        assert b.prompt_tokens == a.prompt_tokens and b.prompt_tokens_evaluated == 0
        assert b.extra["cached_latency_s"] == a.latency_s
        assert b.model == backend.model_id


def test_mixed_batch_sends_only_misses_in_order(tmp_path):
    inner = EchoJSONBackend()
    backend = CachedBackend(inner, tmp_path / "c.sqlite")
    reqs = check_requests(4)
    backend.generate([reqs[1], reqs[3]])
    out = backend.generate(reqs)
    assert inner.calls[-1] == [reqs[0], reqs[2]]
    assert [r.cache_hit for r in out] == [False, True, False, True]
    assert [r.text for r in out] == [r.text for r in EchoJSONBackend().generate(reqs)]


def test_key_covers_model_seed_and_messages(tmp_path):
    req = check_requests(1 + 1)[0]
    assert cache_key(req, "m1") != cache_key(req, "m2")
    assert cache_key(req, "m1") != cache_key(replace(req, seed=req.seed + 1), "m1")
    assert cache_key(req, "m1") == cache_key(replace(req, session="other", fallback=None), "m1")


def test_requests_without_seed_are_not_cached(tmp_path):
    inner = EchoJSONBackend()
    cache = ResponseCache(tmp_path / "c.sqlite")
    backend = CachedBackend(inner, cache)
    req = replace(check_requests(2)[0], seed=None)
    backend.generate([req])
    backend.generate([req])
    assert len(inner.calls) == 2 and len(cache) == 0


def test_second_instance_and_second_process_see_the_entry(tmp_path):
    path = tmp_path / "shared.sqlite"
    req = check_requests(2)[0]
    (orig,) = CachedBackend(EchoJSONBackend(), ResponseCache(path)).generate([req])

    other_inner = EchoJSONBackend()
    (hit,) = CachedBackend(other_inner, ResponseCache(path)).generate([req])
    assert hit.cache_hit and hit.text == orig.text and not other_inner.calls

    code = (
        "import json, sys\n"
        "from simlab.llm.cache import ResponseCache, cache_key\n"
        "from simlab.llm.check import check_requests\n"
        "c = ResponseCache(sys.argv[1])\n"
        "print(json.dumps(c.get(cache_key(check_requests(2)[0], 'fake-json'))))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, cwd=ROOT, check=True)
    stored = json.loads(proc.stdout)
    assert stored["text"] == orig.text


def test_concurrent_writer_processes(tmp_path):
    path = tmp_path / "many.sqlite"
    code = (
        "import sys\n"
        "from dataclasses import replace\n"
        "from simlab.llm.cache import CachedBackend, ResponseCache\n"
        "from simlab.llm.check import check_requests\n"
        "sys.path.insert(0, 'tests/llm')\n"
        "from llm_fakes import EchoJSONBackend\n"
        "b = CachedBackend(EchoJSONBackend(), ResponseCache(sys.argv[1]))\n"
        "base = check_requests(2)[0]\n"
        "k = int(sys.argv[2])\n"
        "for i in range(40):\n"
        "    b.generate([replace(base, seed=k * 1000 + i), replace(base, seed=i)])\n"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", code, str(path), str(k)], cwd=ROOT, stderr=subprocess.PIPE, text=True)
        for k in (1, 2, 3)
    ]
    for p in procs:
        _, err = p.communicate(timeout=60)
        assert p.returncode == 0, err
    assert len(ResponseCache(path)) == 3 * 40 + 40  # distinct seeds + the shared ones once


def test_cache_is_picklable_for_workers(tmp_path):
    import pickle

    cache = ResponseCache(tmp_path / "p.sqlite")
    CachedBackend(EchoJSONBackend(), cache).generate(check_requests(2))
    clone = pickle.loads(pickle.dumps(cache))
    assert len(clone) == 2


def test_cached_backend_passes_check_backend(tmp_path):
    check_backend(CachedBackend(EchoJSONBackend(), ResponseCache(tmp_path / "k.sqlite")))
