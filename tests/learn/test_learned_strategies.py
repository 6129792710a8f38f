"""The strategies that play chosen or learned selectors pass check_strategy; bad model inputs are one clear error."""
from __future__ import annotations

import subprocess
import sys

import pytest
import yaml

from simlab.errors import ConfigError
from simlab.learn.dataset import build_dataset, write_dataset
from simlab.learn.train import run_train
from simlab.strategies.base import STRATEGIES
from simlab.strategies.check import check_strategy, param_sets
from simlab.strategies.learned import IQLSelectorStrategy, RLPolicyStrategy, load_policy
from simlab.sweep.runner import run_study


@pytest.mark.parametrize("name", ["emotion_script", "exploring_selector", "rigged_counterpart"])
def test_modelless_strategies_pass_check_strategy(name):
    cls = STRATEGIES.get(name)
    for params in param_sets(cls):
        check_strategy(cls, params, seed=1)


@pytest.fixture
def iql_model(tmp_path):
    study = {"study": "collect", "scenarios": ["debt_collection"], "scenario_overrides": {"deadline": 6},
             "agents": {"lead": ["lead_exploring_selector"], "counterpart": ["rigged_sadness_counterpart"]},
             "seeds": [1, 2, 3, 4], "backend": {"kind": "scripted"}, "detector": None}
    (tmp_path / "collect.yaml").write_text(yaml.safe_dump(study))
    run_study(tmp_path / "collect.yaml", store_path=tmp_path / "runs.duckdb", cache_path=None)
    rows, meta = build_dataset(tmp_path / "runs.duckdb", "collect")
    write_dataset(rows, meta, tmp_path / "collect.parquet")
    cfg = {"kind": "iql", "dataset": "collect.parquet", "out": str(tmp_path / "models"),
           "iql": {"steps": 200, "hidden": 16, "batch_size": 32}}
    (tmp_path / "iql.yaml").write_text(yaml.safe_dump(cfg))
    return tmp_path / "iql.yaml"


def test_train_iql_is_skipped_when_config_and_data_are_unchanged(iql_model):
    first = run_train(iql_model)
    assert not first.skipped and (first.folder / "iql.pt").is_file()
    assert run_train(iql_model).skipped
    cfg = yaml.safe_load(iql_model.read_text())
    cfg["iql"]["expectile"] = 0.8
    iql_model.write_text(yaml.safe_dump(cfg))
    changed = run_train(iql_model)
    assert not changed.skipped and changed.model_id != first.model_id


def test_the_model_id_hashes_the_iql_implementation_and_only_training_needs_torchrl(iql_model, monkeypatch):
    default = run_train(iql_model)  # torchrl's losses (the default)
    cfg = yaml.safe_load(iql_model.read_text())
    cfg["iql"]["implementation"] = "simlab"
    iql_model.write_text(yaml.safe_dump(cfg))
    ours = run_train(iql_model)
    assert not ours.skipped and ours.model_id != default.model_id
    cfg["iql"]["implementation"] = "torchrl"
    iql_model.write_text(yaml.safe_dump(cfg))
    monkeypatch.setitem(sys.modules, "torchrl", None)  # `import torchrl` now raises ImportError
    again = run_train(iql_model)
    assert again.skipped and again.model_id == default.model_id  # a trained model is found without torchrl
    cfg["iql"]["seed"] = 1
    iql_model.write_text(yaml.safe_dump(cfg))
    with pytest.raises(ConfigError, match=r"needs torchrl.*pip install -e '\.\[learn\]' \(or `make install`\)"):
        run_train(iql_model)


@pytest.mark.slow  # a CLI subprocess, about 6 s
def test_without_torchrl_simlab_train_iql_is_one_line(iql_model):
    """The CLI as a user runs it, with torchrl unimportable: one line on stderr, exit 2, no traceback."""
    code = ("import sys; sys.modules['torchrl'] = None; from simlab.cli import main; "
            f"sys.argv = ['simlab', 'train', 'iql', {str(iql_model)!r}]; main()")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert "pip install -e '.[learn]'" in r.stderr and "implementation: simlab" in r.stderr


def test_iql_selector_passes_check_strategy(iql_model):
    folder = run_train(iql_model).folder
    for selection in ("argmax", "sample", "q"):
        check_strategy(IQLSelectorStrategy, {"model": str(folder), "selection": selection}, seed=0)


def test_bad_model_inputs_are_one_clear_error(iql_model, tmp_path):
    folder = run_train(iql_model).folder
    with pytest.raises(ConfigError, match="not found"):
        IQLSelectorStrategy(model=str(tmp_path / "nope"))
    with pytest.raises(ConfigError, match="is a iql model"):
        RLPolicyStrategy(model=str(folder))
    (tmp_path / "plain").mkdir()
    with pytest.raises(ConfigError, match="no meta.json"):
        load_policy(tmp_path / "plain")
    with pytest.raises(ConfigError, match="unknown param"):
        IQLSelectorStrategy(model=str(folder), selecton="q")
    bad = yaml.safe_load(iql_model.read_text())
    bad["iql"]["expectil"] = 0.9
    iql_model.write_text(yaml.safe_dump(bad))
    with pytest.raises(ConfigError, match="expectil"):
        run_train(iql_model)


@pytest.mark.parametrize("expert", ["iql:builtin:check_iql", "rl_policy:builtin:check_ppo"])
def test_orchestrator_takes_a_learned_rl_expert(expert):
    from simlab.strategies.orchestrator import BayesianOrchestratorStrategy

    check_strategy(BayesianOrchestratorStrategy, {"rl_expert": expert}, seed=4)
    s = BayesianOrchestratorStrategy(rl_expert=expert)
    assert type(s.experts["rl"]).__name__ == "LearnedExpert"


def test_orchestrator_rejects_a_malformed_rl_expert():
    from simlab.strategies.orchestrator import BayesianOrchestratorStrategy

    with pytest.raises(ConfigError, match="rl_expert"):
        BayesianOrchestratorStrategy(rl_expert="ppo:models/x")
    with pytest.raises(ConfigError, match="not found"):
        BayesianOrchestratorStrategy(rl_expert="iql:models/missing")
