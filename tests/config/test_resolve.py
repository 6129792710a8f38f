"""Names in a study resolve beside the study file first and never leave their folders (issue 10.5, issue 9 Security)."""
import os

import pytest

from simlab.config.loader import load_scenario, load_study, validate_file
from simlab.config.resolve import check_name, output_dir, resolve_name, search_roots
from simlab.errors import ConfigError

AGENT = "id: {id}\nrole: creditor\npersona: '{persona}'\nstrategy: {{name: vanilla}}\n"


def _study(folder, agents="[mine]"):
    p = folder / "study.yaml"
    p.write_text(f"study: s\nscenarios: [debt_collection]\nagents: {{creditor: {agents}, debtor: [cooperative_debtor]}}\n"
                 "seeds: [1]\nbackend: {kind: scripted}\n")
    return p


def test_the_study_folder_wins_over_the_folder_beside_it_and_the_current_directory(tmp_path, monkeypatch):
    proj = tmp_path / "proj"
    (proj / "experiments" / "agents").mkdir(parents=True)
    (proj / "agents").mkdir()
    (proj / "experiments" / "mine.yaml").write_text(AGENT.format(id="in_study_dir", persona="a"))
    (proj / "experiments" / "agents" / "mine.yaml").write_text(AGENT.format(id="in_agents_beside", persona="b"))
    (proj / "agents" / "mine.yaml").write_text(AGENT.format(id="in_project_agents", persona="c"))
    cwd = tmp_path / "elsewhere"
    (cwd / "agents").mkdir(parents=True)
    (cwd / "agents" / "mine.yaml").write_text(AGENT.format(id="in_cwd", persona="d"))
    monkeypatch.chdir(cwd)
    study = _study(proj / "experiments")
    order = []
    for f in [proj / "experiments" / "mine.yaml", proj / "experiments" / "agents" / "mine.yaml", proj / "agents" / "mine.yaml"]:
        found = resolve_name("agent", "mine", near=study)
        order.append(found)
        f.unlink()
    assert order == [proj / "experiments" / "mine.yaml", proj / "experiments" / "agents" / "mine.yaml", proj / "agents" / "mine.yaml"]
    # with no study file the current directory takes its place
    assert resolve_name("agent", "mine") == cwd / "agents" / "mine.yaml"
    # built-ins are last
    assert resolve_name("scenario", "debt_collection", near=study).name == "debt_collection.yaml"


def test_not_found_lists_every_place_it_looked(tmp_path):
    study = _study(tmp_path)
    with pytest.raises(ConfigError) as info:
        resolve_name("agent", "ghost", near=study)
    msg = str(info.value)
    for place in search_roots("agent", study):
        assert str(place) in msg
    assert str(tmp_path) in msg and str(tmp_path / "agents") in msg and "\n" not in msg


@pytest.mark.parametrize("name", ["../../../../etc/shadow", "/etc/shadow", "a/../../b", "~/.ssh/x", "x y", "", "x" * 300, "a\\b"])
def test_names_that_leave_their_folder_are_refused(tmp_path, name):
    with pytest.raises(ConfigError, match="name"):
        check_name("agent", name)


def test_validate_never_reads_a_file_outside_the_folders(tmp_path):
    secret = tmp_path / "secret.yaml"
    secret.write_text("password: hunter2\n")
    folder = tmp_path / "a" / "b"
    folder.mkdir(parents=True)
    study = _study(folder, agents="[../../secret]")
    kind, _, problems = validate_file(study)
    assert kind == "study" and problems
    assert not any("hunter2" in p or "password" in p for p in problems)
    assert any("leaves its folder" in p for p in problems)


def test_a_symlink_out_of_the_folder_is_refused(tmp_path):
    outside = tmp_path / "outside.yaml"
    outside.write_text(AGENT.format(id="x", persona="y"))
    (tmp_path / "proj" / "agents").mkdir(parents=True)
    os.symlink(outside, tmp_path / "proj" / "agents" / "link.yaml")
    study = _study(tmp_path / "proj", agents="[link]")
    with pytest.raises(ConfigError, match="points outside"):
        resolve_name("agent", "link", near=study)


def test_case_bank_path_stays_beside_its_scenario(tmp_path, root):
    text = (root / "scenarios" / "debt_collection_cases.yaml").read_text()
    (tmp_path / "scenarios").mkdir()
    (tmp_path / "scenarios" / "evil.yaml").write_text(text.replace("path: cases/debt_cases.csv", "path: ../../etc/passwd"))
    with pytest.raises(ConfigError, match="case_bank.path"):
        load_scenario("evil", near=tmp_path / "study.yaml")


def test_study_ids_from_a_store_cannot_name_folders_outside(tmp_path):
    assert output_dir("reports", "my-study.v2") == output_dir("reports", "my-study.v2", None)
    for sid in ["../../x", "/abs", "a/b", "..", ""]:
        with pytest.raises(ConfigError, match="pass --out"):
            output_dir("reports", sid)
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(ConfigError, match="is a file"):
        output_dir("reports", "ok", f)
    with pytest.raises(ConfigError, match="which is a file"):
        output_dir("reports", "ok", f / "sub")


def test_study_seed_and_listing_rules(tmp_path):
    base = "study: s\nscenarios: [debt_collection]\nagents: {creditor: [boulware_creditor], debtor: [cooperative_debtor]}\n"
    for extra, needle in [
        ("seeds: [1180591620717411303424]\n", "beyond 64 bits"),
        ("seeds: [9223372036854775807, -1]\n", "outside [0, 2**63-1]"),
        ("seeds: {start: 0, count: 1000000000}\n", "count must be between 1 and"),
        ("seeds: [1]\nreplicates: 100000000\n", "replicates"),
    ]:
        p = tmp_path / "s.yaml"
        p.write_text(base + extra)
        with pytest.raises(ConfigError, match=needle.replace("[", r"\[").replace("*", r"\*")):
            load_study(p)
    p.write_text(base.replace("[boulware_creditor]", "[boulware_creditor, boulware_creditor]") + "seeds: [1]\n")
    with pytest.raises(ConfigError, match="boulware_creditor listed more than once"):
        load_study(p)
    p.write_text(base.replace("[debt_collection]", "[debt_collection, debt_collection]") + "seeds: [1]\n")
    with pytest.raises(ConfigError, match="debt_collection listed more than once"):
        load_study(p)
