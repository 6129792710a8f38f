"""`NegotiationEnv`: gymnasium's checker, seed determinism, and equality with the engine's own run."""
from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from simlab.config.loader import read_yaml
from simlab.config.models import BackendSpec
from simlab.errors import ConfigError
from simlab.learn.env import ENV_ID, NegotiationEnv
from simlab.strategies.features import feature_names, n_features
from simlab.sweep.execute import build_backend, execute_specs

ROOT = Path(__file__).resolve().parents[2]
NEGOTIATION_SCENARIOS = sorted(
    p.stem for p in (ROOT / "scenarios").glob("*.yaml") if read_yaml(p).get("protocol", "alternating_offers") == "alternating_offers"
)


def _episode(env: NegotiationEnv, seed: int, policy_seed: int = 0):
    obs, info = env.reset(seed=seed)
    rng = np.random.default_rng(policy_seed)
    observations, rewards, done = [obs], [], False
    while not done:
        obs, r, done, truncated, info = env.step(int(rng.integers(env.action_space.n)))
        observations.append(obs)
        rewards.append(r)
        assert not truncated
    return np.array(observations), np.array(rewards), info


@pytest.mark.parametrize("scenario", NEGOTIATION_SCENARIOS)
def test_check_env_passes_for_every_shipped_scenario(scenario):
    env = NegotiationEnv({"scenario": scenario, "counterparts": ["counterpart_cooperative", "counterpart_victim"],
                          "scenario_overrides": {"deadline": 6}})
    check_env(env, skip_render_check=True)
    assert env.observation_space.shape == (n_features(7),) == (len(feature_names(env.emotions)),)


def test_registered_id_builds_the_env(rigged_config):
    env = gym.make(ENV_ID, config=rigged_config)
    obs, _ = env.reset(seed=0)
    assert obs.shape == env.observation_space.shape


def test_reset_with_one_seed_gives_identical_episodes(mixed_config):
    env = NegotiationEnv(mixed_config)
    a = _episode(env, seed=11)
    b = _episode(env, seed=11)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert a[2] == b[2]
    # and another seed draws another episode (counterpart, case or messages differ)
    others = [_episode(env, seed=s) for s in (12, 13, 14)]
    assert any(o[0].shape != a[0].shape or not np.array_equal(o[0], a[0]) for o in others)


def test_an_episode_is_the_run_the_engine_makes_from_the_same_spec(mixed_config):
    env = NegotiationEnv(mixed_config)
    _episode(env, seed=3, policy_seed=7)
    spec = env.episode_spec(env.counterpart_index, env.run_spec.seed, sequence=env.actions)
    record = next(execute_specs([spec], build_backend(BackendSpec(kind="scripted"), None), population=1))
    assert record.run["status"] == "done"
    env_rows = env.session.turn_rows()
    engine_rows = [{k: v for k, v in row.items() if k != "run_id"} for row in record.turns]
    assert len(env_rows) >= 4
    assert [r["emotion"] for r in env_rows if r["role"] == env.role] == env.actions
    assert env_rows == engine_rows
    assert record.run["outcome"] == env.session.outcome
    assert record.run["utility_a"] == pytest.approx(env.session.final_utilities()["creditor"])


def test_reward_is_concession_per_step_plus_rescaled_final_utility(rigged_config):
    env = NegotiationEnv(rigged_config)
    sadness = env.emotions.index("sadness")
    obs, _ = env.reset(seed=0)
    rewards, done = [], False
    while not done:
        obs, r, done, _, info = env.step(sadness)
        rewards.append(r)
    s = env.session
    theirs = [t["utility_other"] for t in s.turns if t["role"] == "debtor" and t["action"] == "offer"]
    concessions = np.diff(theirs)
    assert np.all(concessions > 0)  # the rigged debtor concedes after every sadness
    res = s.parties["creditor"].utility.reservation
    final = (s.final_utilities()["creditor"] - res) / (1 - res) if s.agreement else 0.0
    assert sum(rewards) == pytest.approx(concessions.sum() + final)
    # shown neutral, the rigged debtor never concedes: no concession reward at all
    neutral = env.emotions.index("neutral")
    env.reset(seed=0)
    rewards, done = [], False
    while not done:
        _, r, done, _, info = env.step(neutral)
        rewards.append(r)
    assert sum(rewards[:-1]) == pytest.approx(0.0)


def test_goemotions_label_space_is_selectable(rigged_config):
    env = NegotiationEnv({**rigged_config, "emotions": "goemotions28"})
    assert env.action_space.n == 28
    check_env(env, skip_render_check=True)


def test_bad_env_config_is_one_clear_error(rigged_config):
    with pytest.raises(ConfigError, match="learner_role"):
        NegotiationEnv({**rigged_config, "learner_role": "judge"})
    with pytest.raises(ConfigError, match="unknown param"):
        NegotiationEnv({**rigged_config, "learner_params": {"ofers": "reciprocal"}})
