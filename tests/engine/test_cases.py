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


# ---- what a case varies: columns and expressions over them (issue 10 item 7) ----------------

ONE_ISSUE = """id: {id}
domain: debt
roles: [creditor, debtor]
deadline: 10
issues:
  - {{name: days, type: integer, range: [1, 400], unit: days}}
utilities:
  creditor: {{weights: {{days: 1}}, prefer: {{days: low}}}}
  debtor: {{weights: {{days: 1}}, prefer: {{days: high}}}}
behaviours:
  victim: {{description: plays the victim}}
case_bank:
  path: cases/bank.csv
  id_column: case_id
  columns: {{creditor_target: creditor_target, debtor_reservation: utilities.debtor.reservation}}
  set:
    utilities.creditor.ranges.days: ["max(1, creditor_target - 10)", "creditor_target + 30"]
    utilities.creditor.target.days: creditor_target
    utilities.creditor.reservation_at.days: creditor_target + 20
    utilities.debtor.ranges.days.low: "max(1, debtor_target - 30)"
    utilities.debtor.ranges.days.high: debtor_target + 60
    deadline: "round(messages / 2)"
"""


def bank_study(tmp_path, csv_text, scenario_text=None, seeds="[0, 1, 2]"):
    sc = tmp_path / "scenarios" / "bank_cases.yaml"
    (tmp_path / "scenarios" / "cases").mkdir(parents=True, exist_ok=True)
    sc.write_text(scenario_text or ONE_ISSUE.format(id="bank-cases-v1"))
    (tmp_path / "scenarios" / "cases" / "bank.csv").write_text(csv_text)
    return study_file(tmp_path, seeds=seeds, scenario="bank_cases")


GOOD = ("case_id,creditor_target,debtor_target,debtor_reservation,messages\n"
        "a,5,40,0.1,30\n"
        "b,20,150,0.2,24\n"
        "c,12,30,0.0,9\n")


def test_expressions_set_role_ranges_targets_and_reservations_in_issue_units(tmp_path):
    from simlab.config.models import Scenario
    from simlab.strategies.utility import utility_of

    p = bank_study(tmp_path, GOOD)
    specs = expand_study(load_study(p), p)
    a, b, c = (s.scenario for s in specs)
    # creditor range [max(1, t_c - 10), t_c + 30]: t_c = 5 -> [1, 35]; t_c = 20 -> [10, 50]
    assert a["utilities"]["creditor"]["ranges"]["days"] == (1.0, 35.0)
    assert b["utilities"]["creditor"]["ranges"]["days"] == (10.0, 50.0)
    # debtor range [max(1, t_d - 30), t_d + 60]: t_d = 30 -> [1, 90]
    assert c["utilities"]["debtor"]["ranges"]["days"] == (1.0, 90.0)
    assert b["utilities"]["creditor"]["target"] == {"days": 20.0}
    assert (a["deadline"], b["deadline"], c["deadline"]) == (15, 12, 4)  # round(9 / 2) = 4 (banker's rounding)
    assert b["utilities"]["debtor"]["reservation"] == pytest.approx(0.2)
    # the utility runs over the role's own range; reservation_at 40 days in [10, 50] (low is good) -> 0.25
    u = utility_of(Scenario.model_validate(b), "creditor")
    assert u.undiscounted({"days": 10}) == pytest.approx(1.0) and u.undiscounted({"days": 50}) == pytest.approx(0.0)
    assert u.reservation == pytest.approx(0.25)


def test_an_out_of_range_value_fails_only_its_own_run_naming_file_row_and_column(tmp_path):
    bad = GOOD.replace("b,20,150,0.2,24", "b,20,150,1.7,24")
    p = bank_study(tmp_path, bad)
    specs = expand_study(load_study(p), p)  # the study still expands
    assert len(specs) == 3
    err = specs[1].scenario["case_bank"]["error"]
    assert "bank.csv" in err and "row 2" in err and "line 3" in err and "column 'debtor_reservation'" in err
    from simlab.engine.cases import CaseError

    with pytest.raises(CaseError, match="column 'debtor_reservation'"):
        specs[1].scenario_model()
    specs[0].scenario_model()  # the other cases are fine
    assert "case_bank" not in specs[2].scenario or specs[2].scenario["case_bank"] is None


def test_an_expression_out_of_the_issue_range_names_the_expression(tmp_path):
    bad = GOOD.replace("b,20,150,0.2,24", "b,20,390,0.2,24")  # debtor high = 450 > 400
    p = bank_study(tmp_path, bad)
    err = expand_study(load_study(p), p)[1].scenario["case_bank"]["error"]
    assert "row 2" in err and "debtor_target + 60" in err and "issue's range" in err


def test_a_malformed_csv_row_is_an_error_naming_file_and_line(tmp_path):
    from simlab.engine.cases import load_cases

    path = tmp_path / "broken.csv"
    path.write_text("case_id,a,b\nx,1,2\ny,1,2,3\n")
    with pytest.raises(ConfigError, match=r"broken.csv line 3: 4 fields, but the header names 3"):
        load_cases(str(path))
    path2 = tmp_path / "short.csv"
    path2.write_text('case_id,a,b\n"x, quoted",1,2\ny,1\n')
    with pytest.raises(ConfigError, match="short.csv line 3: 2 fields"):
        load_cases(str(path2))


def test_unknown_columns_and_targets_are_errors_for_the_whole_study(tmp_path):
    text = ONE_ISSUE.format(id="bank-cases-v1").replace("creditor_target + 30", "creditor_targt + 30")
    p = bank_study(tmp_path, GOOD, text)
    with pytest.raises(ConfigError, match="unknown column.*creditor_targt"):
        expand_study(load_study(p), p)
    text = ONE_ISSUE.format(id="bank-cases-v1").replace("utilities.creditor.target.days", "utilities.lender.target.days")
    p = bank_study(tmp_path, GOOD, text)
    with pytest.raises(ConfigError, match="unknown role 'lender'"):
        expand_study(load_study(p), p)


@pytest.mark.parametrize("expr,value", [
    ("max(1, t - 10)", 1.0), ("t + 30", 35.0), ("t * 2 if t > 3 else 0", 10.0), ("round(t / 2)", 2.0),
    ("-t ** 2", -25.0), ("min(t, 4) % 3", 1.0), (7, 7.0),
])
def test_expression_known_answers(expr, value):
    from simlab.engine.cases import evaluate

    assert evaluate(expr, {"t": 5}) == value


@pytest.mark.parametrize("expr", [
    "__import__('os').system('true')", "t.__class__", "(lambda: 1)()", "[1, 2]", "open('x')", "t / 0",
    "name", "'text'", "2 ** 1000",
])
def test_expressions_run_no_other_code(expr):
    from simlab.engine.cases import evaluate

    with pytest.raises(ValueError):
        evaluate(expr, {"t": 5, "name": "alice"})


def test_a_study_with_a_bad_first_case_runs_the_others(tmp_path):
    from simlab.sweep.runner import run_study

    bad = GOOD.replace("a,5,40,0.1,30", "a,5,40,1.5,30")  # seed 0: the first run of its cell
    p = bank_study(tmp_path, bad)
    result = run_study(p, store_path=tmp_path / "store.duckdb", cache_path=None)
    assert (result.planned, result.ran, result.failed) == (3, 3, 1)
    assert len(result.errors) == 1 and "CaseError" in result.errors[0] and "row 1 (line 2, case a)" in result.errors[0]
    assert "column 'debtor_reservation'" in result.errors[0]


def test_expressions_set_weights_facts_issue_ranges_and_discounts(tmp_path):
    text = ONE_ISSUE.format(id="bank-cases-v1").replace(
        '    deadline: "round(messages / 2)"\n',
        '    deadline: "round(messages / 2)"\n'
        '    facts.half_target: creditor_target / 2\n'
        '    utilities.debtor.weights.days: "2 if debtor_target > 100 else 1"\n'
        '    utilities.creditor.discount: "0.99 if messages > 20 else 0.95"\n'
        '    issues.days.range.high: "max(300, debtor_target + 60)"\n')
    p = bank_study(tmp_path, GOOD, text)
    a, b, c = (s.scenario for s in expand_study(load_study(p), p))
    assert (a["facts"]["half_target"], b["facts"]["half_target"]) == (2.5, 10.0)
    assert (a["utilities"]["debtor"]["weights"]["days"], b["utilities"]["debtor"]["weights"]["days"]) == (1.0, 2.0)
    assert (a["utilities"]["creditor"]["discount"], c["utilities"]["creditor"]["discount"]) == (0.99, 0.95)
    assert a["issues"][0]["range"] == (1.0, 300.0) and b["issues"][0]["range"] == (1.0, 300.0)
