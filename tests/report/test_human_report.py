"""The advisory report sets imported human trials beside the simulated runs of the same domain."""
from pathlib import Path

import yaml

from simlab.report.decision import build_report
from simlab.store.human import import_human, load_mapping
from simlab.store.store import RunStore
from simlab.sweep.runner import run_study

ROOT = Path(__file__).resolve().parents[2]


import pytest


@pytest.mark.slow
def test_report_shows_human_and_simulated_rates_side_by_side(tmp_path):
    import sys

    sys.path.insert(0, str(ROOT / "tests" / "store"))
    from test_human import MAPPING, synthetic_human_file

    store_path = tmp_path / "s.duckdb"
    result = run_study(ROOT / "experiments" / "manipulation.yaml", backend="scripted", store_path=store_path, cache_path=None)
    assert result.failed == 0
    data = synthetic_human_file(tmp_path / "h.csv", n_per_condition=40, tasks=("financial",))
    mapping = {**{k: v for k, v in MAPPING.items() if k != "domain"}, "domain_value": "financial"}
    (tmp_path / "m.yaml").write_text(yaml.safe_dump(mapping))
    import_human(RunStore(store_path), data, "pilot", load_mapping(tmp_path / "m.yaml"))
    text = build_report(RunStore(store_path, read_only=True), "manipulation", tmp_path / "r").read_text()
    section = text[text.index("## Human data beside the simulation: `pilot`"):]
    rows = [ln for ln in section.splitlines() if ln.startswith("| financial | ")]
    assert {r.split("|")[2].strip() for r in rows[:3]} == {"NA", "MA", "SEMA"}
    for r in rows[:3]:
        cells = [c.strip() for c in r.split("|")]
        assert cells[3] != "-" and "(n 40)" in cells[4] and "[" in cells[5]  # simulated, human Wilson, human cluster bootstrap
    assert "## Published values" in text.split("## Human data beside the simulation")[1]  # literature kept separate
