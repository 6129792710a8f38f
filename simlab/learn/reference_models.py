"""Rebuild the two tiny reference models shipped for `check_strategy` (``model: builtin:NAME``).

``check_ppo``: PPO (hidden [8]) trained 256 steps in NegotiationEnv against the rigged counterpart;
``check_iql``: discrete IQL (hidden 8) trained 300 steps on 20 uniform-random episodes of the same env.
They exist so the ``rl_policy`` and ``iql_selector`` strategies can be contract-checked in any checkout
(the suite runs `check_strategy` over every registered strategy); they are not useful policies.

They live in ``simlab/strategies/reference_models/``; this builder lives in the learn layer because
it trains them with it (strategies sit below learn and may not import it). Run
``python -m simlab.learn.reference_models`` from the repository root.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent / "strategies" / "reference_models"
ENV = {"scenario": "debt_collection", "counterparts": ["rigged_sadness_counterpart"],
       "scenario_overrides": {"deadline": 6}, "detector": None}


def main() -> None:
    from simlab.learn.dataset import dataset_from_env
    from simlab.learn.env import NegotiationEnv
    from simlab.learn.iql import IQLConfig, train_iql
    from simlab.learn.rl import RLConfig, train_rl

    model, env, _ = train_rl(ENV, RLConfig(algo="ppo", timesteps=256, seed=0, net_arch=[8], eval_episodes=1,
                                           hyperparams={"n_steps": 128, "batch_size": 64, "n_epochs": 2}))
    ppo = HERE / "check_ppo"
    shutil.rmtree(ppo, ignore_errors=True)
    ppo.mkdir()
    model.save(str(ppo / "model.zip"))
    (ppo / "meta.json").write_text(json.dumps({"kind": "ppo", "model_id": "check_ppo", "emotions": list(env.emotions),
                                               "n_features": int(env.observation_space.shape[0]), "env": ENV},
                                              indent=1, sort_keys=True), encoding="utf-8")
    data = dataset_from_env(NegotiationEnv(ENV), episodes=20, seed=0)
    learner = train_iql(data, IQLConfig(steps=300, hidden=8, batch_size=64))
    iql = HERE / "check_iql"
    shutil.rmtree(iql, ignore_errors=True)
    learner.save(iql, {"model_id": "check_iql", "emotions": list(data.emotions), "dataset": "20 uniform-random episodes",
                       "env": ENV})


if __name__ == "__main__":
    main()
