"""The pre-flight gate: every template of every role and every strategy's params, before the first run."""
import subprocess
import sys

import pytest

from simlab.config.loader import load_study
from simlab.errors import ConfigError
from simlab.sweep.expand import expand_study
from simlab.sweep.gate import check_specs
from simlab.sweep.runner import run_study


def _project(tmp_path, debtor_persona):
    (tmp_path / "agents").mkdir()
    (tmp_path / "agents" / "odd_debtor.yaml").write_text(
        "id: odd_debtor\nrole: debtor\nbehaviour: cooperative\n"
        f"persona: '{debtor_persona}'\nstrategy: {{name: debtor_behaviour, params: {{behaviour: cooperative}}}}\n"
    )
    study = tmp_path / "experiments" / "g.yaml"
    study.parent.mkdir()
    study.write_text("study: g\nscenarios: [debt_collection]\nagents: {creditor: [boulware_creditor], debtor: [odd_debtor]}\n"
                     "seeds: [1, 2]\nbackend: {kind: scripted}\n")
    return study


@pytest.mark.parametrize("persona, needle", [
    ("You earn {salary} a month.", "uses {salary} but the scenario has no such fact"),
    ("You owe {balance dollars.", "expected '}' before end of string"),
])
def test_second_speaker_templates_are_checked_before_any_run(tmp_path, persona, needle):
    study = _project(tmp_path, persona)
    problems = check_specs(expand_study(load_study(study), study))
    assert len(problems) == 1 and needle in problems[0] and "odd_debtor" in problems[0] and "(debtor)" in problems[0]
    r = subprocess.run([sys.executable, "-m", "simlab.cli", "validate", str(study)], capture_output=True, text=True)
    assert r.returncode == 1 and needle in r.stderr and "Traceback" not in r.stderr
    store = tmp_path / "s.duckdb"
    with pytest.raises(ConfigError, match="odd_debtor"):
        run_study(study, store_path=store, cache_path=None)
    if store.exists():
        import duckdb

        with duckdb.connect(str(store), read_only=True) as con:
            assert con.execute("SELECT count(*) FROM runs").fetchone()[0] == 0


def test_a_good_study_passes_the_gate(tmp_path):
    study = _project(tmp_path, "You owe ${balance} and earn ${monthly_income}.")
    assert check_specs(expand_study(load_study(study), study)) == []
