"""Case banks: each run's facts and utility parameters come from its case."""
import json

import pytest

from simlab.config.loader import load_study
from simlab.engine.cases import load_cases
from simlab.errors import ConfigError
from simlab.sweep.expand import expand_study


def study_file(tmp_path, seeds="{start: 0, count: 100}", scenario="debt_collection_cases"):
    p = tmp_path / "experiments" / "cases.yaml"
    p.parent.mkdir(exist_ok=True)
    p.write_text(f"study: cases\nscenarios: [{scenario}]\nagents: {{creditor: [boulware_creditor], debtor: [victim_debtor]}}\n"
                 f"seeds: {seeds}\nbackend: {{kind: scripted}}\n")
    return p


def test_hundred_seeds_cover_the_hundred_cases_with_their_values(tmp_path, root):
    p = study_file(tmp_path)
    specs = expand_study(load_study(p), p)
    rows = load_cases(str(root / "scenarios" / "cases" / "debt_cases.csv"))
    assert len(specs) == 100
    assert {s.scenario["facts"]["case_id"] for s in specs} == {r["case_id"] for r in rows}
    s = specs[7]
    row = rows[7]
    assert s.scenario["facts"]["balance"] == row["balance"]
    assert s.scenario["deadline"] == row["deadline_rounds"]
    assert s.scenario["utilities"]["debtor"]["reservation"] == pytest.approx(row["debtor_reservation"])
    assert "case_bank" not in json.dumps(s.to_json()).replace('"case_bank": null', "")


def test_case_facts_reach_the_prompt(tmp_path):
    from simlab.sweep.execute import make_session

    p = study_file(tmp_path, seeds="[3]")
    spec = expand_study(load_study(p), p)[0]
    req = make_session(spec).next_request()
    assert f"${spec.scenario['facts']['balance']}" in req.messages[0]["content"]


def test_bad_column_is_a_config_error(tmp_path, root):
    text = (root / "scenarios" / "debt_collection_cases.yaml").read_text().replace("balance: balance", "balanse: balance")
    sc = tmp_path / "scenarios" / "odd_cases.yaml"
    sc.parent.mkdir()
    (tmp_path / "scenarios" / "cases").mkdir()
    (tmp_path / "scenarios" / "cases" / "debt_cases.csv").write_text((root / "scenarios" / "cases" / "debt_cases.csv").read_text())
    sc.write_text(text.replace("debt-collection-cases-v1", "odd-cases-v1"))
    p = study_file(tmp_path, seeds="[1]", scenario="odd_cases")
    with pytest.raises(ConfigError, match="no column 'balanse'"):
        expand_study(load_study(p), p)
