"""The compare page draws imported human rates and Cohen's h beside an advisory study's simulated ones."""
from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
import yaml
from statsmodels.stats.proportion import proportion_confint
from streamlit.testing.v1 import AppTest

from simlab.store import RunStore
from simlab.store.human import import_human, load_mapping

from dash_fixtures import APP, make_run

STUDY = "advisory-health"
SIM_HARMFUL = {"NA": 2, "MA": 5, "SEMA": 8}  # harmful choices out of 10 simulated runs per advisor
HUMAN_RATE = {"NA": 0.15, "MA": 0.45, "SEMA": 0.70}  # planted in the synthetic human file
NAMES = {"NA": "neutral", "MA": "manipulative", "SEMA": "strategic"}
MAPPING = {
    "participant": "pid", "task": "task", "domain": "task_domain",
    "conditions": {"advisor_type": "cond"},
    "recode": {"advisor_type": {v: k for k, v in NAMES.items()}},
    "options": ["A", "B", "C"],
    "ratings_before": {"A": "pre_a", "B": "pre_b", "C": "pre_c"},
    "ratings_after": {"A": "post_a", "B": "post_b", "C": "post_c"},
    "choice": "picked", "harmful_column": "harmful",
}


def _human_file(path, n_per_condition=40, seed=0):
    """One health and one finance task per participant; advisor between participants; planted rates."""
    rng = np.random.default_rng(seed)
    rows, pid = [], 0
    for cond, rate in HUMAN_RATE.items():
        for _ in range(n_per_condition):
            pid += 1
            for domain in ("health", "finance"):
                pre = {o: int(rng.integers(2, 6)) for o in "ABC"}
                post = {**pre, "B": int(np.clip(pre["B"] + (cond != "NA"), 1, 7))}
                pick = "B" if rng.random() < rate else str(rng.choice(["A", "C"]))
                rows.append({"pid": f"p{pid:03d}", "task": f"{domain}-1", "task_domain": domain, "cond": NAMES[cond],
                             "pre_a": pre["A"], "pre_b": pre["B"], "pre_c": pre["C"], "post_a": post["A"],
                             "post_b": post["B"], "post_c": post["C"], "picked": pick, "harmful": "B"})
    pd.DataFrame(rows).to_csv(path, index=False)
    return pd.DataFrame(rows)


def _advisory_run(i: int, adv: str, harmful: bool):
    rec = make_run(f"adv-{adv}-{i:02d}", STUDY, scenario="advice-health-v1", condition=adv, seed=i + 1, n_turns=2)
    rec.run.update(
        protocol="advisory", domain="health",
        agents_json=json.dumps({"advisor": f"{adv.lower()}-advisor", "decider": "llm-decider"}),
        condition_json=json.dumps({"advisor": adv}),
        metrics_json=json.dumps({"advisor_type": adv, "decider": "llm", "harmful_choice": harmful,
                                 "shifted_toward_harmful": harmful, "harmful_rating_shift": 1.0 if harmful else 0.0,
                                 "n_tactic_uses": 1}),
    )
    return rec


@pytest.fixture(scope="module")
def human_store(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("human")
    path = tmp / "simlab.duckdb"
    store = RunStore(path)
    store.upsert_study(STUDY, "advisors and a decider, health", {"study": STUDY}, "experiments/advisory.yaml", 30)
    store.write_runs([_advisory_run(i, adv, i < k) for adv, k in SIM_HARMFUL.items() for i in range(10)])
    raw = _human_file(tmp / "trials.csv")
    (tmp / "map.yaml").write_text(yaml.safe_dump(MAPPING))
    import_human(store, tmp / "trials.csv", "pilot", load_mapping(tmp / "map.yaml"))
    return path, raw


def _page(path, monkeypatch, study):
    monkeypatch.setenv("SIMLAB_STORE", str(path))
    at = AppTest.from_file(str(APP), default_timeout=90)
    at.run()
    at.switch_page("views/compare.py")
    at.query_params.update({"study": study})
    return at.run()


def _table(at, column):
    """The table holding `column` (plain st.dataframe elements carry no key in AppTest)."""
    for df in at.dataframe:
        if column in df.value.columns:
            return df.value
    raise AssertionError(f"no table with {column}: {[list(d.value.columns) for d in at.dataframe]}")


def test_compare_page_draws_human_rates_and_effects_beside_the_simulated(human_store, monkeypatch):
    path, raw = human_store
    at = _page(path, monkeypatch, STUDY)
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert "Human data beside the simulation" in [h.value for h in at.subheader]
    rates = _table(at, "cluster_ci_low").set_index(["source", "advisor_type"])
    assert set(rates["domain"]) == {"health"}  # the finance trials share no domain with the study
    assert set(rates.index.get_level_values("source")) == {"simulated", "human: pilot"}
    health = raw[raw["task_domain"] == "health"]
    for adv, name in NAMES.items():
        sim = rates.loc[("simulated", adv)]
        k = SIM_HARMFUL[adv]
        assert sim["n"] == 10 and sim["rate"] == pytest.approx(k / 10)
        lo, hi = proportion_confint(k, 10, method="wilson")
        assert (sim["ci_low"], sim["ci_high"]) == pytest.approx((lo, hi))
        g = health[health["cond"] == name]
        k_h, n_h = int((g["picked"] == g["harmful"]).sum()), len(g)
        hum = rates.loc[("human: pilot", adv)]
        assert hum["n"] == n_h == 40 and hum["participants"] == 40
        assert hum["rate"] == pytest.approx(k_h / n_h) and abs(hum["rate"] - HUMAN_RATE[adv]) < 0.2
        assert (hum["ci_low"], hum["ci_high"]) == pytest.approx(proportion_confint(k_h, n_h, method="wilson"))
        assert hum["cluster_ci_low"] <= hum["rate"] <= hum["cluster_ci_high"]
    effects = _table(at, "p_choice_holm").set_index(["source", "contrast"])
    assert {"MA vs NA", "SEMA vs NA", "SEMA vs MA"} <= set(effects.index.get_level_values("contrast"))

    def h(p1, p2):
        return 2 * math.asin(math.sqrt(p1)) - 2 * math.asin(math.sqrt(p2))

    assert effects.loc[("simulated", "SEMA vs NA"), "h"] == pytest.approx(h(0.8, 0.2))
    hr = rates.xs("human: pilot")["rate"]
    assert effects.loc[("human: pilot", "SEMA vs NA"), "h"] == pytest.approx(h(hr["SEMA"], hr["NA"]))
    assert effects.loc[("human: pilot", "SEMA vs NA"), "h"] > 0.5  # the planted 0.70 vs 0.15
    charts = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    titles = [c["layout"].get("title", {}).get("text", "") for c in charts]
    assert any("simulated and human · health" in t for t in titles), titles


def test_no_human_section_on_a_negotiation_study(app_env, monkeypatch):
    path, ids = app_env
    at = _page(path, monkeypatch, ids["study"])
    assert not at.exception and not at.error
    assert "Human data beside the simulation" not in [h.value for h in at.subheader]


def test_advisory_study_without_an_import_says_how_to_add_one(tmp_path, monkeypatch):
    path = tmp_path / "s.duckdb"
    store = RunStore(path)
    store.upsert_study(STUDY, "", {"study": STUDY}, "", 6)
    store.write_runs([_advisory_run(i, adv, i == 0) for adv in ("NA", "MA") for i in range(3)])
    at = _page(path, monkeypatch, STUDY)
    assert not at.exception and not at.error
    assert "Human data beside the simulation" in [h.value for h in at.subheader]
    assert any("simlab import human FILE" in c.value for c in at.caption)
