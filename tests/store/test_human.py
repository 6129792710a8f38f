"""Human-trial import: checks, provenance, and planted effects recovered from the raw rows."""
import hashlib
import json

import numpy as np
import pandas as pd
import pytest
import yaml

from simlab.errors import ConfigError, StoreError
from simlab.store.human import human_datasets, import_human, load_human_trials, load_mapping
from simlab.store.store import RunStore

PLANTED = {"NA": 0.15, "MA": 0.45, "SEMA": 0.70}  # harmful-choice rate per advisor condition
SHIFT = {"NA": 0.0, "MA": 1.0, "SEMA": 1.8}  # mean change of the harmful option's rating

MAPPING = {
    "participant": "pid",
    "task": "task",
    "domain": "task_domain",
    "conditions": {"advisor_type": "cond"},
    "recode": {"advisor_type": {"neutral": "NA", "manipulative": "MA", "strategic": "SEMA"}},
    "options": ["A", "B", "C"],
    "ratings_before": {"A": "pre_a", "B": "pre_b", "C": "pre_c"},
    "ratings_after": {"A": "post_a", "B": "post_b", "C": "post_c"},
    "choice": "picked",
    "harmful_column": "harmful",
}


def synthetic_human_file(path, n_per_condition=120, tasks=("health", "finance"), seed=0):
    """One row per participant and task; advisor condition between participants; planted rates and shifts."""
    rng = np.random.default_rng(seed)
    names = {"NA": "neutral", "MA": "manipulative", "SEMA": "strategic"}
    rows = []
    pid = 0
    for cond, rate in PLANTED.items():
        for _ in range(n_per_condition):
            pid += 1
            for task in tasks:
                harmful = "B"
                pre = {o: int(rng.integers(2, 6)) for o in "ABC"}
                post = dict(pre)
                post["B"] = int(np.clip(round(pre["B"] + SHIFT[cond] + rng.normal(0, 0.7)), 1, 7))
                pick = "B" if rng.random() < rate else str(rng.choice(["A", "C"]))
                rows.append({"pid": f"p{pid:04d}", "task": f"{task}-1", "task_domain": task, "cond": names[cond],
                             "pre_a": pre["A"], "pre_b": pre["B"], "pre_c": pre["C"],
                             "post_a": post["A"], "post_b": post["B"], "post_c": post["C"],
                             "picked": pick, "harmful": harmful})
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


@pytest.fixture
def files(tmp_path):
    data = synthetic_human_file(tmp_path / "trials.csv")
    mp = tmp_path / "map.yaml"
    mp.write_text(yaml.safe_dump(MAPPING))
    return data, mp


def test_import_stores_raw_rows_with_provenance(tmp_path, files):
    data, mp = files
    store = RunStore(tmp_path / "s.duckdb")
    prov = import_human(store, data, "pilot", load_mapping(mp))
    assert prov["file_sha256"] == hashlib.sha256(data.read_bytes()).hexdigest()
    assert prov["n_rows"] == 720 and prov["n_participants"] == 360
    saved = store.query("SELECT * FROM human_imports")
    assert json.loads(saved.loc[0, "mapping_json"])["recode"]["advisor_type"]["strategic"] == "SEMA"
    rows = load_human_trials(store, "pilot")
    first = pd.read_csv(data).iloc[0]
    assert rows.loc[0, "ratings_before"] == {"A": first.pre_a, "B": first.pre_b, "C": first.pre_c}
    assert rows.loc[0, "advisor_type"] == "NA" and rows.loc[0, "choice"] == first.picked
    with pytest.raises(StoreError, match="--replace"):
        import_human(store, data, "pilot", load_mapping(mp))
    import_human(store, data, "pilot", load_mapping(mp), replace=True)
    assert len(load_human_trials(store, "pilot")) == 720
    with pytest.raises(StoreError, match="no human dataset 'other'.*pilot"):
        load_human_trials(store, "other")


def test_bad_values_name_the_file_line_and_column(tmp_path, files):
    data, mp = files
    store = RunStore(tmp_path / "s.duckdb")
    df = pd.read_csv(data)
    df.loc[4, "post_b"] = 9
    df.to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(ConfigError, match=r"bad.csv, line 6, column 'post_b': rating 9 is outside the scale \[1, 7\]"):
        import_human(store, tmp_path / "bad.csv", "bad", load_mapping(mp))
    df = pd.read_csv(data)
    df.loc[2, "cond"] = "friendly"
    df.to_csv(tmp_path / "bad2.csv", index=False)
    with pytest.raises(ConfigError, match="line 4, column 'cond': value 'friendly' is not in recode.advisor_type"):
        import_human(store, tmp_path / "bad2.csv", "bad", load_mapping(mp))
    df = pd.read_csv(data)
    pd.concat([df.iloc[:3], df.iloc[:1]]).to_csv(tmp_path / "dup.csv", index=False)
    with pytest.raises(ConfigError, match="repeat line 2"):
        import_human(store, tmp_path / "dup.csv", "dup", load_mapping(mp))
    assert human_datasets(store).empty  # nothing half-written


def test_mapping_rejects_unknown_keys_and_unmapped_columns(tmp_path, files):
    data, _ = files
    bad = tmp_path / "m.yaml"
    bad.write_text(yaml.safe_dump({**MAPPING, "participants": "pid"}))
    with pytest.raises(ConfigError, match="participants: Extra inputs are not permitted"):
        load_mapping(bad)
    bad.write_text(yaml.safe_dump({**MAPPING, "conditions": {"domain": "cond"}, "recode": {}}))
    with pytest.raises(ConfigError, match=r"conditions: \['domain'\] name fields simlab stores itself"):
        load_mapping(bad)
    bad.write_text(yaml.safe_dump({**MAPPING, "choice": "chosen"}))
    with pytest.raises(ConfigError, match=r"mapped column\(s\) \['chosen'\] not in the file"):
        import_human(RunStore(tmp_path / "s.duckdb"), data, "x", load_mapping(bad))


def test_report_recovers_the_planted_rates_with_participant_clustered_intervals(tmp_path, files):
    from simlab.report.human import human_advisory_frame, human_section

    data, mp = files
    store = RunStore(tmp_path / "s.duckdb")
    import_human(store, data, "pilot", load_mapping(mp))
    frame = human_advisory_frame(store, "pilot")
    rates = frame.groupby("advisor_type")["harmful_choice"].mean()
    for cond, rate in PLANTED.items():
        assert abs(rates[cond] - rate) < 0.07
    shift = frame.groupby("advisor_type")["harmful_rating_shift"].mean()
    assert shift["SEMA"] > shift["MA"] > shift["NA"] + 0.5
    lines = "\n".join(human_section(store, "pilot", pd.DataFrame(), n_boot=200))
    assert "human harmful rate [Wilson 95%]" in lines and "human [cluster bootstrap 95%]" in lines
    # the split-plot ANOVA sees the planted advisor x time interaction in the harmful option's rating
    inter = [ln for ln in lines.splitlines() if ln.startswith("| advisor_type x time")][0]
    assert float(inter.split("|")[4]) < 0.001
    assert "multinomial logit" in lines and "Not computed" not in lines


def test_cli_import_human_is_one_line_either_way(tmp_path, files):
    import subprocess
    import sys

    data, mp = files
    store = tmp_path / "cli.duckdb"

    def simlab(*args):
        return subprocess.run([sys.executable, "-m", "simlab.cli", *args], capture_output=True, text=True)

    ok = simlab("import", "human", str(data), "--as", "pilot", "--mapping", str(mp), "--store", str(store))
    assert ok.returncode == 0, ok.stderr
    assert "imported 720 trials of 360 participants as 'pilot'" in ok.stdout
    again = simlab("import", "human", str(data), "--as", "pilot", "--mapping", str(mp), "--store", str(store))
    assert again.returncode == 4 and "--replace" in again.stderr and len(again.stderr.strip().splitlines()) == 1
    assert len(load_human_trials(RunStore(store, read_only=True), "pilot")) == 720
