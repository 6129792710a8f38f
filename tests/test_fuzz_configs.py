"""Fuzzed configs through the real CLI entry (issue 9, item 4b): hostile YAML is one line, never a traceback.

A seeded generator writes 300 mutated study, scenario and agent files (keys
deleted or misspelled, wrong types, huge and non-finite numbers, deep nesting,
alias bombs, names that leave their folder, unicode, lone template braces,
duplicates, non-UTF-8 bytes, FIFOs ...). Each goes through ``simlab validate``
and ``simlab run --backend scripted`` by calling `simlab.cli.main` in-process,
and the test asserts, over all of them:

- no traceback: every exit is a `SystemExit` with a code, stderr holds no
  "Traceback", and an error is one line;
- no exit 0 for a mutation that is invalid by construction (each mutation kind
  below says whether it always breaks the file);
- validate is a gate: when it accepts a study, `run` does not then fail on the
  configuration (exit 2);
- every command finishes within 20 s (an alarm stops a hang).
"""
from __future__ import annotations

import contextlib
import io
import os
import random
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
N_CASES = 300
CPU_BUDGET_S = 60  # CPU seconds for all of them (wall time depends on what else the machine runs)
TIME_LIMIT_S = 20

STUDY = {
    "study": "fz",
    "scenarios": ["fz_scenario"],
    "agents": {"creditor": ["fz_creditor"], "debtor": ["fz_debtor"]},
    "seeds": [1],
    "scenario_overrides": {"deadline": 3},
    "backend": {"kind": "scripted"},
    "population": 2,
}
# top-level keys whose deletion makes each kind invalid
REQUIRED = {
    "study": ["study", "scenarios", "agents", "seeds"],
    "scenario": ["id", "domain", "roles", "issues", "utilities"],
    "agent": ["id", "role"],
}
BAD_NAMES = [
    "../../../../etc/passwd", "/etc/passwd", "..", "a/../../b", "x" * 300, "name with spaces", "ñame",
    "nope_missing", "~/.ssh/id_rsa", "C:/windows", "sub\\..\\x", "", "emoji_\U0001f600", "a\x00b",
]
UNICODE = ["\U0001f600\U0001f4b8", "\u202eevil", "Ωmega ünïcödé", "\u0000", "\ud7ff", "\ufeffbom", "a\u0301"]


class _Timeout(BaseException):
    """Raised by the alarm: a command ran past TIME_LIMIT_S (a BaseException so nothing catches it)."""


@dataclass
class Case:
    index: int
    kind: str  # which file was mutated: study, scenario or agent
    mutation: str
    invalid: bool  # invalid by construction: exit 0 is a failure
    study_path: Path


def _mutate_value(rng: random.Random, value):
    """A value of another type than `value` that no pydantic lax-mode coercion turns back into it."""
    if isinstance(value, bool):
        return {"not": "a bool"}
    if isinstance(value, (int, float)):
        return rng.choice(["not-a-number", [1, 2], {"x": 1}])
    if isinstance(value, str):
        return rng.choice([{"a": [1]}, [value, value]])
    if isinstance(value, list):
        return rng.choice(["oops", 17])
    if isinstance(value, dict):
        return rng.choice([[1, 2, 3], "oops"])
    return [value]


def _numeric_paths(data, prefix=()):
    if isinstance(data, bool):
        return []
    if isinstance(data, (int, float)):
        return [prefix]
    out = []
    if isinstance(data, dict):
        for k, v in data.items():
            out += _numeric_paths(v, prefix + (k,))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            out += _numeric_paths(v, prefix + (i,))
    return out


def _set(data, path, value):
    node = data
    for p in path[:-1]:
        node = node[p]
    node[path[-1]] = value


def _dump(data) -> str:
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


def _mutations(rng: random.Random, kind: str, data: dict) -> tuple[str, bool, str | bytes | None]:
    """(name, invalid by construction, new file content; None for a FIFO) of one random mutation."""
    data = yaml.safe_load(_dump(data))
    op = rng.choice([
        "delete_required", "delete_any", "rename", "wrong_type", "huge", "nonfinite", "deep", "alias_bomb",
        "unicode", "truncate", "not_utf8", "empty", "not_mapping", "brace", "extra_param", "bad_name",
        "duplicate", "seeds", "cycle", "long_string", "tag",
    ])
    applies = {"brace": ("scenario", "agent"), "extra_param": ("agent",), "duplicate": ("study",), "seeds": ("study",),
               "bad_name": ("study", "scenario")}
    if kind not in applies.get(op, (kind,)):
        op = "rename"  # the drawn mutation has nothing to act on in this kind of file
    keys = list(data)
    if op == "delete_required":
        k = rng.choice(REQUIRED[kind])
        data.pop(k, None)
        return f"delete {k}", True, _dump(data)
    if op == "delete_any":
        k = rng.choice(keys)
        data.pop(k)
        return f"delete {k}", k in REQUIRED[kind], _dump(data)
    if op == "rename":
        k = rng.choice(keys)
        data[k[:-1] + rng.choice("xyzq") + "_"] = data.pop(k)
        return f"rename {k}", True, _dump(data)
    if op == "wrong_type":
        k = rng.choice(keys)
        data[k] = _mutate_value(rng, data[k])
        return f"wrong type {k}", True, _dump(data)
    if op in ("huge", "nonfinite"):
        paths = _numeric_paths(data)
        if not paths:
            return "huge (none)", False, _dump(data)
        path = rng.choice(paths)
        if op == "huge":
            text = _dump(data)
            value = rng.choice(["1180591620717411303424", "9" * 5000, "1e999", "-1180591620717411303424"])
            _set(data, path, "__HUGE__")
            return f"huge {'.'.join(map(str, path))}", True, _dump(data).replace("__HUGE__", value)
        _set(data, path, rng.choice([float("nan"), float("inf"), float("-inf")]))
        return f"nonfinite {'.'.join(map(str, path))}", True, _dump(data)
    if op == "deep":
        k = rng.choice(keys)
        depth = rng.choice([45, 200, 3000])
        text = _dump({kk: vv for kk, vv in data.items() if kk != k})
        return f"deep {k}", True, text + f"{k}: " + "[" * depth + "]" * depth + "\n"
    if op == "alias_bomb":
        lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
        for i in range(1, 9):
            prev, cur = chr(96 + i), chr(97 + i)
            lines.append(f"{cur}: &{cur} [" + ",".join([f"*{prev}"] * 9) + "]")
        return "alias bomb", True, _dump(data) + "\n".join(lines) + "\n"
    if op == "unicode":
        strs = [p for p in _all_str_paths(data)]
        if not strs:
            return "unicode (none)", False, _dump(data)
        path = rng.choice(strs)
        _set(data, path, rng.choice(UNICODE) + str(rng.random()))
        return f"unicode {'.'.join(map(str, path))}", False, _dump(data)
    if op == "truncate":
        text = _dump(data)
        return "truncate", False, text[: rng.randrange(1, max(2, len(text)))]
    if op == "not_utf8":
        return "not utf-8", True, _dump(data).encode() + b"\nnote: \xff\xfe\xc3\x28\n"
    if op == "empty":
        return "empty", True, rng.choice(["", "   \n", "# only a comment\n", "---\n"])
    if op == "not_mapping":
        return "not a mapping", True, rng.choice(["[1, 2, 3]\n", "just text\n", "42\n", "null\n"])
    if op == "tag":
        return "python tag", True, _dump(data) + "evil: !!python/object/apply:os.system ['echo pwned']\n"
    if op == "cycle":
        return "recursive alias", True, _dump(data) + "loop: &loop [1, *loop]\n"
    if op == "long_string":
        k = rng.choice(keys)
        data[k] = "x" * 60_000
        return f"long string {k}", True, _dump(data)
    if op == "brace":
        if kind == "scenario":
            data["context"] = "The call is {about settling"
        elif kind == "agent":
            data["persona"] = rng.choice(["Recover {balance", "a lone { brace", "bad }{ order", "{0.attr}"])
        return "lone brace", True, _dump(data)
    if op == "extra_param":
        data.setdefault("strategy", {}).setdefault("params", {})[rng.choice(["reservaton", "E", "speed_"])] = 0.9
        return "unknown strategy param", True, _dump(data)
    if kind == "scenario":  # bad_name
        data["id"] = rng.choice(BAD_NAMES[:3])
        return "bad id", True, _dump(data)
    if op == "bad_name":
        name = rng.choice(BAD_NAMES)
        if rng.random() < 0.5:
            data["scenarios"] = [name]
        else:
            data["agents"]["creditor"] = [name]
        return f"bad name {name[:20]!r}", True, _dump(data)
    if op == "duplicate":
        if rng.random() < 0.5:
            data["scenarios"] = data["scenarios"] * 2
        else:
            data["agents"]["debtor"] = data["agents"]["debtor"] * 2
        return "listed twice", True, _dump(data)
    # seeds
    data["seeds"] = rng.choice([
        [2**70], [-1], {"start": 0, "count": 10**9}, {"start": 0}, [1, 1], [], {"start": "a", "count": 2},
        {"start": 2**63 - 1, "count": 5}, [1.5], ["one"],
    ])
    return f"seeds {str(data['seeds'])[:30]}", True, _dump(data)


def _all_str_paths(data, prefix=()):
    if isinstance(data, str):
        return [prefix]
    out = []
    if isinstance(data, dict):
        for k, v in data.items():
            out += _all_str_paths(v, prefix + (k,))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            out += _all_str_paths(v, prefix + (i,))
    return out


def _base_files(root: Path) -> dict[str, tuple[Path, dict]]:
    scenario = yaml.safe_load((ROOT / "scenarios" / "debt_collection.yaml").read_text())
    creditor = yaml.safe_load((ROOT / "agents" / "boulware_creditor.yaml").read_text())
    debtor = yaml.safe_load((ROOT / "agents" / "cooperative_debtor.yaml").read_text())
    files = {
        "study": (root / "experiments" / "fz.yaml", STUDY),
        "scenario": (root / "scenarios" / "fz_scenario.yaml", scenario),
        "agent": (root / "agents" / "fz_creditor.yaml", creditor),
        "debtor": (root / "agents" / "fz_debtor.yaml", debtor),
    }
    for path, data in files.values():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(_dump(data), encoding="utf-8")
    return files


def _call(args: list[str]) -> tuple[int | str, str, float]:
    """Run `simlab ARGS` through `simlab.cli.main` in this process: (exit code or failure, stderr, seconds)."""
    from simlab.cli import main

    err, out = io.StringIO(), io.StringIO()
    old_argv = sys.argv
    sys.argv = ["simlab", *args]

    def _alarm(signum, frame):
        raise _Timeout()

    previous = signal.signal(signal.SIGALRM, _alarm)
    outer = signal.alarm(TIME_LIMIT_S)  # seconds left on an alarm someone else set (pytest-timeout), restored below
    t0 = time.perf_counter()
    code: int | str
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
            main()
        code = "returned without SystemExit"
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else f"exit {exc.code!r}")
    except _Timeout:
        code = f"timeout after {TIME_LIMIT_S}s"
    except BaseException as exc:  # noqa: BLE001 - the property under test: any escape is a recorded failure
        code = f"traceback: {type(exc).__name__}: {str(exc)[:200]}"
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
        if outer:
            signal.alarm(max(1, outer - int(time.perf_counter() - t0)))
        sys.argv = old_argv
    return code, err.getvalue(), time.perf_counter() - t0


def _generate(root: Path, seed: int, n: int):
    rng = random.Random(seed)
    files = _base_files(root)
    originals = {k: p.read_bytes() for k, (p, _) in files.items()}
    for i in range(n):
        for k, (p, _) in files.items():  # restore the valid set, then mutate one file
            if p.is_fifo() or p.is_dir():
                p.rmdir() if p.is_dir() else p.unlink()
            p.write_bytes(originals[k])
        kind = rng.choices(["study", "scenario", "agent"], weights=[5, 3, 2])[0]
        path, data = files[kind]
        if rng.random() < 0.03:  # the file is not a regular file at all
            path.unlink()
            if rng.random() < 0.5:
                os.mkfifo(path)
                yield Case(i, kind, "fifo", True, files["study"][0])
            else:
                path.mkdir()
                yield Case(i, kind, "directory", True, files["study"][0])
            continue
        name, invalid, content = _mutations(rng, kind, data)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8", errors="surrogatepass")
        yield Case(i, kind, name, invalid, files["study"][0])
    for k, (p, _) in files.items():
        if p.is_fifo() or p.is_dir():
            p.rmdir() if p.is_dir() else p.unlink()
        p.write_bytes(originals[k])


@pytest.mark.slow
def test_mutated_configs_never_traceback_and_invalid_ones_never_pass(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    root = tmp_path / "proj"
    store = tmp_path / "fz.duckdb"
    failures: list[str] = []
    slowest = 0.0
    counts = {"invalid": 0, "valid_accepted": 0}
    cpu_start = time.process_time()
    for case in _generate(root, seed=20261202, n=N_CASES):
        target = {"study": case.study_path, "scenario": root / "scenarios" / "fz_scenario.yaml",
                  "agent": root / "agents" / "fz_creditor.yaml"}[case.kind]
        results = {}
        for label, args in (
            ("validate", ["validate", str(target)]),
            ("validate study", ["validate", str(case.study_path)]),
            ("run", ["run", str(case.study_path), "--backend", "scripted", "--store", str(store), "--no-cache"]),
        ):
            if label == "validate study" and case.kind == "study":
                continue
            code, err, secs = _call(args)
            slowest = max(slowest, secs)
            results[label] = code
            where = f"case {case.index} ({case.kind}: {case.mutation}) {label}"
            if not isinstance(code, int):
                failures.append(f"{where}: {code}")
                continue
            if "Traceback" in err:
                failures.append(f"{where}: traceback on stderr: {err[-300:]}")
            if code != 0 and label == "run" and code == 2 and len(err.strip().splitlines()) != 1:
                failures.append(f"{where}: a config error of {len(err.strip().splitlines())} lines: {err[:300]}")
            if secs > TIME_LIMIT_S:
                failures.append(f"{where}: {secs:.1f}s")
            if case.invalid and code == 0:
                failures.append(f"{where}: exit 0 on invalid input")
        if case.invalid:
            counts["invalid"] += 1
        gate = results.get("validate study", results.get("validate"))
        if gate == 0 and results.get("run") == 2:
            failures.append(f"case {case.index} ({case.kind}: {case.mutation}): validate accepted the study but run refused its config")
        if gate == 0:
            counts["valid_accepted"] += 1
    cpu = time.process_time() - cpu_start
    assert not failures, f"{len(failures)} failures of {N_CASES} cases:\n" + "\n".join(failures[:40])
    assert counts["invalid"] >= 200, counts  # the generator mostly makes broken files
    assert counts["valid_accepted"] >= 5, counts  # ... and some that stay valid and really run
    assert slowest < TIME_LIMIT_S and cpu < CPU_BUDGET_S, (slowest, cpu)
    print(f"{N_CASES} mutated files, {counts}, slowest command {slowest:.2f}s, {cpu:.1f} CPU s")


def test_one_line_errors_for_the_cases_issue_9_names(tmp_path, monkeypatch, small_study):
    """The hostile commands of issue 9, each as a one-line error with a non-zero exit."""
    monkeypatch.chdir(tmp_path)
    store = tmp_path / "s.duckdb"
    code, err, _ = _call(["run", str(small_study), "--store", str(store)])
    assert code == 0, err
    afile = tmp_path / "afile"
    afile.write_text("x")
    cases = [
        (["runs", "small", "--store", str(store), "--limit", "-1"], 2, "--limit"),
        (["runs", "nope", "--store", str(store)], 4, "study 'nope' is not in"),
        (["summary", "nope", "--store", str(store)], 4, "study 'nope' is not in"),
        (["report", "small", "--store", str(store), "--out", str(afile)], 2, "is a file"),
        (["report", "small", "--store", str(store), "--baseline", "nobody"], 2, "--baseline: no lead agent 'nobody'"),
        (["fit", "hmm", "--study", "small", "--states", "0", "--store", str(store)], 2, "--states"),
        (["run", str(small_study), "--workers", "100000", "--store", str(store)], 2, "--workers 100000 is more than"),
        (["run", str(small_study), "--store", str(afile / "s.duckdb")], 2, "is a file"),
        (["validate"], 2, "Missing argument"),
        (["run", str(small_study), "--colour", "red"], 2, "No such option"),
        (["nosuchcommand"], 2, "No such command"),
        (["validate", str(tmp_path / ("x" * 5000 + ".yaml"))], 2, "File name too long"),
    ]
    for args, want, needle in cases:
        code, err, _ = _call(args)
        lines = err.strip().splitlines()
        assert code == want and needle in err and len(lines) == 1, (args, code, err)
    quote = tmp_path / "it's here"
    code, err, _ = _call(["export", "small", "--store", str(store), "--out", str(quote)])
    assert code == 0, err
    assert sorted(p.name for p in quote.iterdir()) == ["llm_calls.parquet", "runs.parquet", "turns.parquet"]
