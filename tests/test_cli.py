"""The command line as a user runs it: one-line errors, exit codes, no tracebacks."""
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def simlab(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "simlab.cli", *args], capture_output=True, text=True, cwd=cwd or ROOT)


def test_validate_reports_every_problem_with_file_field_and_hint(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("study: x\nscenarios: [debt_collection]\nagents: {creditor: [a]}\nseeds: []\ncolour: red\n")
    r = simlab("validate", str(bad))
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    assert any("seeds: give at least one seed" in l for l in lines)
    assert any("colour: Extra inputs are not permitted (remove it or check its spelling)" in l for l in lines)
    assert all(l.startswith(str(bad)) for l in lines)
    assert "Traceback" not in r.stderr


def test_validate_study_resolves_names_and_counts_runs():
    r = simlab("validate", "experiments/debt_quickstart.yaml")
    assert r.returncode == 0, r.stderr
    assert "valid study" in r.stdout and "39 runs in 13 conditions" in r.stdout


def test_validate_finds_unknown_agents_and_strategies(tmp_path):
    agent = tmp_path / "agents" / "odd.yaml"
    agent.parent.mkdir()
    agent.write_text("id: odd\nrole: creditor\nstrategy: {name: telepathy}\n")
    r = simlab("validate", str(agent))
    assert r.returncode == 1 and "unknown strategy 'telepathy'" in r.stderr


@pytest.mark.parametrize(
    "args, needle, code",
    [
        (["run", "nope.yaml"], "study 'nope.yaml' not found", 2),
        (["run", "experiments/debt_quickstart.yaml", "--backend", "gpt9"], "unknown backend 'gpt9'", 2),
        (["show", "abc", "--store", "/nonexistent/s.duckdb"], "does not exist", 4),
        (["run", "experiments/debt_quickstart.yaml", "--workers", "0", "--backend", "scripted", "--store", "STORE"], "--workers must be at least 1", 2),
    ],
)
def test_user_errors_are_one_line(args, needle, code, tmp_path):
    args = [str(tmp_path / "s.duckdb") if a == "STORE" else a for a in args]
    r = simlab(*args)
    assert r.returncode == code, r.stderr
    assert needle in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr


def test_run_then_show_then_rerun(tmp_path, small_study):
    store = tmp_path / "s.duckdb"
    r = simlab("run", str(small_study), "--store", str(store))
    assert r.returncode == 0, r.stderr
    assert "8 ran (0 failed)" in r.stdout and "not an LLM" in r.stdout
    assert "boulware_creditor vs cooperative_debtor" in r.stdout
    from simlab.store.store import RunStore

    run_id = RunStore(store, read_only=True).query("SELECT run_id FROM runs LIMIT 1")["run_id"][0]
    shown = simlab("show", run_id[:8], "--store", str(store))
    assert shown.returncode == 0, shown.stderr
    assert "outcome" in shown.stdout and "creditor" in shown.stdout and "I propose" in shown.stdout
    again = simlab("run", str(small_study), "--store", str(store))
    assert "8 already stored, 0 ran" in again.stdout
