"""Online RL in `NegotiationEnv` with stable-baselines3: `RLConfig`, `train_rl`, `evaluate_policy_fn`, `bandit_baseline`.

PPO (Schulman et al. 2017) or DQN (Mnih et al. 2015) from stable-baselines3
learn which emotion to show against the env's counterparts. `train_rl` trains
with a progress bar, records every training episode's return (SB3 ``Monitor``)
for the learning curve, saves ``model.zip`` and ``meta.json`` (the folder the
``rl_policy`` strategy loads) and evaluates the greedy policy on seeded
episodes.

Randomness: SB3 seeds python, numpy and torch's global generators from `seed`
(its own design, ``set_random_seed``); the environment draws from its own
generator, seeded through ``reset(seed=...)``. Training twice with one seed
gives the same model and evaluation returns (tested, after SB3's own
``test_deterministic.py``).
"""
from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from simlab.errors import ConfigError
from simlab.learn.env import EnvConfig, NegotiationEnv
from simlab.strategies.bandit import BetaThompson, turn_reward


class RLConfig(BaseModel):
    """An online-RL training run (YAML ``kind: rl``; unknown keys rejected)."""

    model_config = ConfigDict(extra="forbid")

    algo: Literal["ppo", "dqn"] = "ppo"
    timesteps: int = Field(20_000, ge=1, description="environment steps of training")
    seed: int = 0
    hyperparams: dict[str, Any] = Field(default_factory=dict, description="keyword arguments of the SB3 algorithm")
    net_arch: list[int] = Field(default_factory=lambda: [64, 64], description="hidden layers of the policy / Q network")
    eval_episodes: int = Field(20, ge=1)
    eval_seed: int = Field(10_000, description="first reset seed of the evaluation episodes")


def make_model(env: NegotiationEnv, config: RLConfig) -> Any:
    """The SB3 algorithm for `config` on `env` (CPU)."""
    import stable_baselines3 as sb3

    cls = {"ppo": sb3.PPO, "dqn": sb3.DQN}[config.algo]
    kwargs = {"policy_kwargs": {"net_arch": list(config.net_arch)}, **config.hyperparams}
    try:
        return cls("MlpPolicy", env, seed=config.seed, device="cpu", verbose=0, **kwargs)
    except TypeError as exc:
        raise ConfigError(f"rl: hyperparams {sorted(config.hyperparams)} are not all {cls.__name__} arguments ({exc})") from None


def evaluate_policy_fn(
    env: NegotiationEnv, act: Callable[[np.ndarray], int], episodes: int, seed: int
) -> dict[str, Any]:
    """Returns, utilities, agreements and emotion shares of `act` over `episodes` seeded episodes."""
    returns, utilities, agreements, rounds = [], [], [], []
    counts = np.zeros(env.action_space.n)
    for k in range(episodes):
        obs, info = env.reset(seed=seed + k)
        done, total = False, 0.0
        while not done:
            a = int(act(obs))
            counts[a] += 1
            obs, r, done, _, info = env.step(a)
            total += r
        returns.append(total)
        utilities.append(info["utility"])
        agreements.append(bool(info["agreement"]))
        rounds.append(info["rounds"])
    share = counts / max(counts.sum(), 1)
    return {
        "returns": [float(x) for x in returns],
        "mean_return": float(np.mean(returns)),
        "mean_utility": float(np.mean(utilities)),
        "agreement_rate": float(np.mean(agreements)),
        "mean_rounds": float(np.mean(rounds)),
        "emotion_share": {e: float(p) for e, p in zip(env.emotions, share)},
    }


class _Progress:
    """SB3 callback: a rich progress bar and each finished episode's return."""

    def __init__(self, total: int, show: bool) -> None:
        from stable_baselines3.common.callbacks import BaseCallback

        outer = self
        self.total = total
        self.show = show
        self.episodes: list[tuple[int, float]] = []

        class _CB(BaseCallback):
            def _on_training_start(self) -> None:
                outer.start()

            def _on_step(self) -> bool:
                for info in self.locals.get("infos", []):
                    ep = info.get("episode")
                    if ep is not None:
                        outer.episodes.append((int(self.num_timesteps), float(ep["r"])))
                outer.advance(int(self.num_timesteps))
                return True

            def _on_training_end(self) -> None:
                outer.stop()

        self.callback = _CB()
        self._bar: Any = None

    def start(self) -> None:
        if self.show:
            from rich.progress import BarColumn, Progress, TimeRemainingColumn

            self._bar = Progress("[progress.description]{task.description}", BarColumn(),
                                 "{task.completed}/{task.total} steps", TimeRemainingColumn())
            self._bar.start()
            self._task = self._bar.add_task("training", total=self.total)

    def advance(self, n: int) -> None:
        if self._bar is not None:
            self._bar.update(self._task, completed=n)

    def stop(self) -> None:
        if self._bar is not None:
            self._bar.stop()


def train_rl(env_config: EnvConfig, config: RLConfig, near: Path | None = None,
             progress: bool = False) -> tuple[Any, NegotiationEnv, dict[str, Any]]:
    """(SB3 model, its env, summary with the learning curve and evaluation)."""
    from stable_baselines3.common.monitor import Monitor

    env = NegotiationEnv(env_config, near=near)
    monitored = Monitor(env)
    model = make_model(monitored, config)  # type: ignore[arg-type]
    bar = _Progress(config.timesteps, progress)
    t0 = time.perf_counter()
    model.learn(total_timesteps=config.timesteps, callback=bar.callback)
    train_s = time.perf_counter() - t0

    def act(obs: np.ndarray) -> int:
        a, _ = model.predict(obs, deterministic=True)
        return int(a)

    evaluation = evaluate_policy_fn(env, act, config.eval_episodes, config.eval_seed)
    summary = {"train_s": train_s, "curve": bar.episodes, "evaluation": evaluation}
    return model, env, summary


def learning_curve_png(curve: list[tuple[int, float]], path: Path, title: str, window: int = 20) -> Path:
    """Episode returns against training steps, with a moving average, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    if curve:
        steps = np.array([c[0] for c in curve])
        returns = np.array([c[1] for c in curve])
        ax.plot(steps, returns, ".", alpha=0.3, label="episode return")
        if len(returns) >= window:
            ma = np.convolve(returns, np.ones(window) / window, mode="valid")
            ax.plot(steps[window - 1:], ma, "-", label=f"mean of {window}")
        ax.legend(loc="lower right")
    ax.set_xlabel("environment steps")
    ax.set_ylabel("return")
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def bandit_baseline(env: NegotiationEnv, episodes: int, seed: int, concession_scale: float = 5.0) -> dict[str, Any]:
    """Thompson sampling over emotions (the orchestrator's RL expert) learning across `episodes` env episodes.

    Its per-turn reward is `simlab.strategies.bandit.turn_reward` of the step's
    concession reward, as in the ``thompson_bandit`` strategy; returns the share
    of each emotion over the last half of the episodes and the mean return there.
    """
    bandit = BetaThompson(env.emotions)
    rng = np.random.default_rng(seed)
    counts = np.zeros(len(env.emotions))
    returns = []
    for k in range(episodes):
        env.reset(seed=seed + k)
        done, total = False, 0.0
        while not done:
            a = env.emotions.index(bandit.sample(rng))
            _, r, done, _, _ = env.step(a)
            total += r
            if not done:
                bandit.update(env.emotions[a], turn_reward(r, concession_scale) or 0.5)
            if k >= episodes // 2:
                counts[a] += 1
        if k >= episodes // 2:
            returns.append(total)
    share = counts / max(counts.sum(), 1)
    return {"emotion_share": {e: float(p) for e, p in zip(env.emotions, share)}, "mean_return": float(np.mean(returns))}
