"""`simlab dataset`, `simlab train`, `simlab ope` as a user runs them: results, and one-line errors."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def simlab(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "simlab.cli", *args], capture_output=True, text=True, cwd=cwd or ROOT)


def test_dataset_train_ope_from_the_command_line(tmp_path):
    study = {"study": "cli-collect", "scenarios": ["debt_collection"], "scenario_overrides": {"deadline": 6},
             "agents": {"lead": ["lead_exploring_selector"], "counterpart": ["rigged_sadness_counterpart"]},
             "seeds": [1, 2, 3, 4, 5, 6], "backend": {"kind": "scripted"}, "detector": None}
    (tmp_path / "collect.yaml").write_text(yaml.safe_dump(study))
    store = str(tmp_path / "runs.duckdb")
    r = simlab("run", str(tmp_path / "collect.yaml"), "--store", store)
    assert r.returncode == 0, r.stderr
    r = simlab("dataset", "cli-collect", "--out", str(tmp_path / "d.parquet"), "--store", store)
    assert r.returncode == 0, r.stderr
    assert "every decision has its propensity" in r.stdout
    cfg = {"kind": "iql", "dataset": "d.parquet", "out": str(tmp_path / "models"), "name": "sel",
           "iql": {"steps": 100, "hidden": 16, "batch_size": 32}}
    (tmp_path / "iql.yaml").write_text(yaml.safe_dump(cfg))
    r = simlab("train", "iql", str(tmp_path / "iql.yaml"))
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "models" / "sel" / "iql.pt").is_file()
    r = simlab("train", "iql", str(tmp_path / "iql.yaml"))
    assert "skipped" in r.stdout
    r = simlab("ope", "--policy", str(tmp_path / "models" / "sel"), "--dataset", str(tmp_path / "d.parquet"),
               "--boot", "20", "--online", "3", "--out", str(tmp_path / "ope.json"))
    assert r.returncode == 0, r.stderr
    res = json.loads((tmp_path / "ope.json").read_text())
    for k in ("pdwis", "dr", "fqe", "online"):
        assert res[k]["ci_low"] <= res[k]["estimate"] <= res[k]["ci_high"], k
    assert "effective sample size" in r.stdout


def test_bad_inputs_are_one_line_errors(tmp_path):
    r = simlab("ope", "--policy", str(tmp_path / "none"), "--dataset", str(tmp_path / "none.parquet"))
    assert r.returncode != 0 and "not found" in r.stderr and "Traceback" not in r.stderr
    (tmp_path / "t.yaml").write_text("kind: iql\ndataset: x.parquet\niql: {expectil: 0.7}\n")
    r = simlab("train", "iql", str(tmp_path / "t.yaml"))
    assert r.returncode == 2 and "expectil" in r.stderr and "Traceback" not in r.stderr
    r = simlab("dataset", "no-such-study", "--out", str(tmp_path / "x.parquet"), "--store", str(tmp_path / "s.duckdb"))
    assert r.returncode != 0 and "Traceback" not in r.stderr
