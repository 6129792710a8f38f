"""Every shipped scenario, agent and study validates, and every study runs a few runs (scripted)."""
from pathlib import Path

import pytest

from simlab.config.loader import load_study, validate_file
from simlab.llm.base import BACKENDS
from simlab.llm.scripted import ScriptedBackend
from simlab.strategies import STRATEGIES
from simlab.sweep.execute import execute_specs
from simlab.sweep.expand import expand_study

ROOT = Path(__file__).resolve().parent.parent
FILES = sorted(p for d in ("scenarios", "agents", "experiments") for p in (ROOT / d).glob("*.yaml"))
STUDIES = sorted((ROOT / "experiments").glob("*.yaml"))


@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_shipped_file_validates(path):
    kind, model, problems = validate_file(path, strategies=STRATEGIES, backends=BACKENDS)
    assert problems == [] and model is not None


@pytest.mark.parametrize("path", STUDIES, ids=lambda p: p.name)
def test_shipped_study_runs_its_first_runs_scripted(path):
    specs = expand_study(load_study(path), path, backend_kind="scripted")
    assert specs
    # one run of each distinct condition prefix, at most 4
    picked = list({s.condition: s for s in specs}.values())[:4]
    records = list(execute_specs(picked, ScriptedBackend(), population=4))
    assert len(records) == len(picked)
    assert all(r.run["status"] == "done" for r in records), [r.run.get("error") for r in records]
    assert all(r.turns for r in records)
