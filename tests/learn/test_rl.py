"""Online RL (stable-baselines3) in NegotiationEnv: the rigged counterpart's known answer, determinism, rl_policy."""
from __future__ import annotations

import numpy as np
import pytest
import yaml

from simlab.config.models import BackendSpec
from simlab.learn.env import NegotiationEnv
from simlab.learn.rl import RLConfig, bandit_baseline, evaluate_policy_fn, train_rl
from simlab.learn.train import run_train
from simlab.strategies.check import check_strategy
from simlab.strategies.learned import RLPolicyStrategy, load_policy
from simlab.sweep.execute import build_backend, execute_specs

PPO_FAST = {"n_steps": 128, "batch_size": 64, "n_epochs": 4, "learning_rate": 3e-3, "ent_coef": 0.0}


@pytest.mark.slow
def test_ppo_learns_to_show_the_emotion_the_rigged_counterpart_concedes_to(rigged_config):
    model, env, summary = train_rl(rigged_config, RLConfig(algo="ppo", timesteps=5000, seed=0, hyperparams=PPO_FAST,
                                                           eval_episodes=10))
    share = summary["evaluation"]["emotion_share"]
    assert share["sadness"] >= 0.9, share
    bandit = bandit_baseline(NegotiationEnv(rigged_config), episodes=60, seed=0)
    # the learned policy earns at least what the bandit does once the bandit has learned for 30 episodes
    assert summary["evaluation"]["mean_return"] >= bandit["mean_return"] - 1e-9
    assert bandit["emotion_share"]["sadness"] > 1 / 7  # the bandit finds it too, more slowly


@pytest.mark.slow
def test_dqn_learns_the_rigged_emotion(rigged_config):
    hp = {"learning_starts": 200, "train_freq": 1, "target_update_interval": 200, "exploration_fraction": 0.5,
          "learning_rate": 1e-3, "buffer_size": 5000, "batch_size": 64}
    _, _, summary = train_rl(rigged_config, RLConfig(algo="dqn", timesteps=5000, seed=0, hyperparams=hp, eval_episodes=10))
    assert summary["evaluation"]["emotion_share"]["sadness"] >= 0.9, summary["evaluation"]["emotion_share"]


def test_training_twice_with_one_seed_gives_the_same_evaluation_returns(rigged_config, mixed_config):
    cfg = RLConfig(algo="ppo", timesteps=256, seed=3, hyperparams={**PPO_FAST, "n_steps": 64}, eval_episodes=4)
    a = train_rl(mixed_config, cfg)[2]["evaluation"]
    b = train_rl(mixed_config, cfg)[2]["evaluation"]
    assert a["returns"] == b["returns"]
    c = train_rl(mixed_config, cfg.model_copy(update={"seed": 4}))[2]["evaluation"]
    assert isinstance(c["returns"], list)


def test_train_rl_command_saves_a_model_that_rl_policy_plays_in_the_engine(tmp_path, rigged_config):
    config = {"kind": "rl", "env": rigged_config, "out": str(tmp_path / "models"),
              "rl": {"algo": "ppo", "timesteps": 256, "seed": 0, "hyperparams": {**PPO_FAST, "n_steps": 64},
                     "eval_episodes": 2}}
    path = tmp_path / "rl.yaml"
    path.write_text(yaml.safe_dump(config))
    first = run_train(path)
    assert not first.skipped and (first.folder / "model.zip").is_file() and (first.folder / "learning_curve.png").is_file()
    again = run_train(path)
    assert again.skipped and again.model_id == first.model_id
    check_strategy(RLPolicyStrategy, {"model": str(first.folder)}, seed=2)
    # plays it in a negotiation the engine runs, showing the policy's greedy choice at each turn
    env = NegotiationEnv(rigged_config)
    learner = {"id": "rl", "role": "creditor", "persona": "", "behaviour": None, "backend": None,
               "strategy": {"name": "rl_policy", "params": {"model": str(first.folder / "model.zip")}}}
    spec = env.episode_spec(0, 5, learner=learner)
    record = next(execute_specs([spec], build_backend(BackendSpec(kind="scripted"), None), population=1))
    assert record.run["status"] == "done", record.run.get("error")
    policy = load_policy(first.folder)
    env.reset(seed=0, options={"counterpart": 0, "run_seed": 5})
    shown = [t["emotion"] for t in record.turns if t["role"] == "creditor"]
    expected = []
    obs, done = env._obs(), False
    while not done:
        a = int(np.argmax(policy.probs(obs)))
        expected.append(env.emotions[a])
        obs, _, done, _, _ = env.step(a)
    assert shown == expected
