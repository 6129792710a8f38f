"""Discrete Implicit Q-Learning: `IQLConfig`, `train_iql`, `IQLLearner`, `SimlabIQLUpdate`.

Implicit Q-Learning (Kostrikov, Nair & Levine 2022, "Offline Reinforcement
Learning with Implicit Q-Learning") learns from logged transitions only, never
querying actions outside the data:

- value: V(s) fits min(Q1', Q2')(s, a) of the *logged* actions (the target
  networks) by expectile regression, loss |tau - 1(u < 0)| u^2 with
  u = Q'(s, a) - V(s); expectile tau = 0.5 gives the behaviour policy's value
  (SARSA), tau -> 1 the best in-support action's (Q-learning without
  out-of-data maximisation);
- Q: each Qi(s, a) regresses r + discount (1 - done) V(s') by squared error,
  through the current V (IQL keeps no target V);
- policy extraction (advantage-weighted regression): the actor maximises
  exp(beta (Q'(s, a) - V(s))), clipped at `max_weight`, x log pi(a | s);
- the target Q' tracks Q by Polyak averaging (rate `polyak`).

Each gradient step updates V first, then Q and the actor against the new V,
then the targets: the reference implementation's order.

Two implementations of the losses, the same networks and algorithm
(`IQLConfig.implementation`):

- ``torchrl`` (default): torchrl's ``DiscreteIQLLoss`` computes the three
  losses (`simlab.learn.iql_torchrl`; the extra ``learn``). Its definitions are
  the ones above, with three settings we fix: ``loss_function="l2"`` (its
  default is smooth L1, which is not IQL's Q loss), indices as actions
  (``action_space="categorical"``), done = terminated for TD(0). Where it
  differs we keep the reference's choice: its ``forward`` computes all three
  losses before any step (Q and the actor would see the old V), so we call its
  ``value_loss``, ``qvalue_loss``, ``actor_loss`` one after another, each
  followed by its step; its exp-advantage clip is fixed at 100 (the published
  value), so another `max_weight` is refused with it.
- ``simlab``: our own few lines (`SimlabIQLUpdate`), with no dependency
  beyond torch.

On one batch from the same weights the two give the same losses, and after
many steps the same parameters to float rounding (tests/learn/test_iql_torchrl.py);
both are proven on tabular MDPs whose answers are computed exactly
(tests/learn/test_iql.py).

Defaults are the published EmoDistill selector's: expectile 0.7, inverse
temperature 3.0, discount 0.99, hidden width 256, learning rate 3e-4, 20,000
gradient steps, batch 256, Polyak 0.005, exp-advantage clipped at 100, rewards
rescaled (/work/shared/reference/published_systems.md). The networks (two
hidden ReLU layers, `simlab.strategies.learned.mlp`) are the ones the
``iql_selector`` strategy loads, whichever implementation trained them.

Randomness: network initialisation under a forked torch generator seeded from
`seed`, minibatches from a numpy generator of the same seed; the same config
and dataset train the same model (bit for bit, with either implementation).
"""
from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from simlab.learn.dataset import Dataset
from simlab.strategies.learned import mlp


class IQLConfig(BaseModel):
    """Hyper-parameters of discrete IQL (YAML ``iql:`` of a train config; unknown keys rejected)."""

    model_config = ConfigDict(extra="forbid")

    expectile: float = Field(0.7, gt=0.0, lt=1.0)
    beta: float = Field(3.0, gt=0.0, description="inverse temperature of advantage-weighted policy extraction")
    discount: float = Field(0.99, ge=0.0, le=1.0)
    hidden: int = Field(256, ge=1)
    lr: float = Field(3e-4, gt=0.0)
    steps: int = Field(20_000, ge=1)
    batch_size: int = Field(256, ge=1)
    polyak: float = Field(0.005, gt=0.0, le=1.0, description="target-network averaging rate (tau)")
    max_weight: float = Field(100.0, gt=0.0, description="clip of exp(beta x advantage)")
    reward_scale: float | Literal["std"] = Field(
        "std", description="rewards are multiplied by this before training; 'std' divides them by their standard "
        "deviation in the dataset (the published selector rescales rewards; beta acts on advantages in those units)")
    seed: int = 0
    implementation: Literal["torchrl", "simlab"] = Field(
        "torchrl", description="whose IQL losses train the networks: torchrl's DiscreteIQLLoss (the extra 'learn') "
        "or simlab's own; the same networks, update order and defaults either way")

    @model_validator(mode="after")
    def _torchrl_clip_is_fixed(self) -> "IQLConfig":
        if self.implementation == "torchrl" and self.max_weight != 100.0:
            raise ValueError(f"max_weight {self.max_weight}: torchrl's DiscreteIQLLoss clips exp(beta x advantage) "
                             "at 100 (fixed); set implementation: simlab for another clip")
        return self


class SimlabIQLUpdate:
    """simlab's own IQL losses and gradient steps over the learner's networks (``implementation: simlab``)."""

    def __init__(self, nets: dict[str, Any], config: IQLConfig) -> None:
        import torch

        self.nets, self.config = nets, config
        lr = config.lr
        # foreach: one fused update per optimiser instead of one per tensor (several times faster on CPU here)
        self.opt_q = torch.optim.Adam([*nets["q1"].parameters(), *nets["q2"].parameters()], lr=lr, foreach=True)
        self.opt_v = torch.optim.Adam(nets["v"].parameters(), lr=lr, foreach=True)
        self.opt_actor = torch.optim.Adam(nets["actor"].parameters(), lr=lr, foreach=True)

    def target_q(self, s: Any, a: Any) -> Any:
        """min(Q1', Q2') of the logged actions (no gradient)."""
        import torch

        n = self.nets
        with torch.no_grad():
            return torch.minimum(n["q1_target"](s), n["q2_target"](s)).gather(1, a[:, None]).squeeze(1)

    def value_loss(self, s: Any, q_t: Any) -> Any:
        """Expectile regression of V(s) towards the target Q of the logged action."""
        import torch

        v = self.nets["v"](s).squeeze(1)
        u = q_t - v
        weight = torch.abs(self.config.expectile - (u < 0).float())
        return (weight * u.pow(2)).mean()

    def q_loss(self, s: Any, a: Any, r: Any, s2: Any, done: Any) -> Any:
        """Both Qs' squared error to the one-step backup through V of the next state."""
        import torch
        import torch.nn.functional as F

        c, n = self.config, self.nets
        with torch.no_grad():
            target = r + c.discount * (1.0 - done) * n["v"](s2).squeeze(1)
        q1 = n["q1"](s).gather(1, a[:, None]).squeeze(1)
        q2 = n["q2"](s).gather(1, a[:, None]).squeeze(1)
        return F.mse_loss(q1, target) + F.mse_loss(q2, target)

    def actor_loss(self, s: Any, a: Any, q_t: Any) -> Any:
        """Advantage-weighted regression: -exp(beta (Q' - V)) clipped at max_weight, x log pi(a | s)."""
        import torch

        c, n = self.config, self.nets
        with torch.no_grad():
            adv = q_t - n["v"](s).squeeze(1)
            w = torch.exp(c.beta * adv).clamp(max=c.max_weight)
        logp = torch.log_softmax(n["actor"](s), dim=-1).gather(1, a[:, None]).squeeze(1)
        return -(w * logp).mean()

    def losses(self, s: Any, a: Any, r: Any, s2: Any, done: Any) -> dict[str, Any]:
        """The three losses on one batch at the current parameters (no step)."""
        q_t = self.target_q(s, a)
        return {"v_loss": self.value_loss(s, q_t), "q_loss": self.q_loss(s, a, r, s2, done),
                "actor_loss": self.actor_loss(s, a, q_t)}

    def update(self, s: Any, a: Any, r: Any, s2: Any, done: Any) -> dict[str, float]:
        """One step on each loss (V, then Q and the actor against the new V), then the Polyak target update."""
        import torch

        q_t = self.target_q(s, a)
        v_loss = self.value_loss(s, q_t)
        self.opt_v.zero_grad()
        v_loss.backward()
        self.opt_v.step()
        q_loss = self.q_loss(s, a, r, s2, done)
        self.opt_q.zero_grad()
        q_loss.backward()
        self.opt_q.step()
        actor_loss = self.actor_loss(s, a, q_t)
        self.opt_actor.zero_grad()
        actor_loss.backward()
        self.opt_actor.step()
        with torch.no_grad():
            for name in ("q1", "q2"):
                src, dst = list(self.nets[name].parameters()), list(self.nets[f"{name}_target"].parameters())
                torch._foreach_lerp_(dst, src, self.config.polyak)
        return {"v_loss": v_loss.item(), "q_loss": q_loss.item(), "actor_loss": actor_loss.item()}

    def sync(self) -> None:
        """The networks are trained in place."""


@dataclass
class IQLLearner:
    """The six networks (actor, V, twin Q and their targets) and the update of the configured implementation."""

    n_features: int
    n_actions: int
    config: IQLConfig
    nets: dict[str, Any] = field(default_factory=dict)
    history: list[dict[str, float]] = field(default_factory=list)
    updater: Any = None

    def __post_init__(self) -> None:
        import torch

        if self.config.implementation == "torchrl":
            from simlab.learn.iql_torchrl import require_torchrl

            require_torchrl()  # before any work: one line saying how to install it
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.config.seed)
            h = self.config.hidden
            for name in ("q1", "q2", "actor"):
                self.nets[name] = mlp(self.n_features, h, self.n_actions)
            self.nets["v"] = mlp(self.n_features, h, 1)
            for name in ("q1", "q2"):
                target = mlp(self.n_features, h, self.n_actions)
                target.load_state_dict(self.nets[name].state_dict())
                for p in target.parameters():
                    p.requires_grad_(False)
                self.nets[f"{name}_target"] = target
        if self.config.implementation == "torchrl":
            from simlab.learn.iql_torchrl import TorchRLIQLUpdate

            self.updater = TorchRLIQLUpdate(self.nets, self.config)
        else:
            self.updater = SimlabIQLUpdate(self.nets, self.config)

    def update(self, s: Any, a: Any, r: Any, s2: Any, done: Any) -> dict[str, float]:
        """One gradient step on each loss; returns the losses."""
        return self.updater.update(s, a, r, s2, done)

    def losses(self, s: Any, a: Any, r: Any, s2: Any, done: Any) -> dict[str, Any]:
        """The value, Q and actor losses on one batch at the current parameters (tensors; no step)."""
        return self.updater.losses(s, a, r, s2, done)

    def state_dicts(self) -> dict[str, dict[str, Any]]:
        """Every network's state dict (torchrl's stacked Q parameters copied back first)."""
        self.updater.sync()
        return {k: net.state_dict() for k, net in self.nets.items()}

    def scale(self, data: Dataset) -> float:
        """The factor applied to the dataset's rewards (`reward_scale`; 'std' -> 1 / their standard deviation)."""
        if self.config.reward_scale == "std":
            sd = float(np.std(data.rewards))
            return 1.0 / sd if sd > 0 else 1.0
        return float(self.config.reward_scale)

    def fit(self, data: Dataset, progress: Callable[[int, int], None] | None = None, log_every: int = 100) -> None:
        """`config.steps` minibatch updates on `data` (minibatches drawn with replacement)."""
        import torch

        if len(data) == 0:
            raise ValueError("the dataset is empty")
        s = torch.as_tensor(data.obs, dtype=torch.float32)
        a = torch.as_tensor(data.actions, dtype=torch.int64)
        r = torch.as_tensor(data.rewards * self.scale(data), dtype=torch.float32)
        s2 = torch.as_tensor(data.next_obs, dtype=torch.float32)
        d = torch.as_tensor(data.dones, dtype=torch.float32)
        rng = np.random.default_rng(self.config.seed)
        n = len(data)
        for step in range(1, self.config.steps + 1):
            idx = torch.as_tensor(rng.integers(0, n, size=self.config.batch_size))
            losses = self.update(s[idx], a[idx], r[idx], s2[idx], d[idx])
            if step % log_every == 0 or step == self.config.steps:
                self.history.append({"step": step, **losses})
                if progress:
                    progress(step, self.config.steps)
        self.updater.sync()

    # ---- inference ---------------------------------------------------------------
    def q(self, obs: np.ndarray) -> np.ndarray:
        import torch

        self.updater.sync()
        with torch.no_grad():
            t = torch.as_tensor(np.atleast_2d(obs), dtype=torch.float32)
            return torch.minimum(self.nets["q1"](t), self.nets["q2"](t)).numpy().astype(float)

    def v(self, obs: np.ndarray) -> np.ndarray:
        import torch

        with torch.no_grad():
            return self.nets["v"](torch.as_tensor(np.atleast_2d(obs), dtype=torch.float32)).squeeze(1).numpy().astype(float)

    def policy(self, obs: np.ndarray) -> np.ndarray:
        import torch

        with torch.no_grad():
            t = torch.as_tensor(np.atleast_2d(obs), dtype=torch.float32)
            return torch.softmax(self.nets["actor"](t), dim=-1).numpy().astype(float)

    def save(self, folder: Path, meta: dict[str, Any]) -> None:
        """Write ``iql.pt`` and ``meta.json`` (the folder the ``iql_selector`` strategy loads)."""
        import torch

        folder.mkdir(parents=True, exist_ok=True)
        states = self.state_dicts()
        torch.save({k: states[k] for k in ("actor", "q1", "q2", "v")}, folder / "iql.pt")
        (folder / "meta.json").write_text(json.dumps(
            {**meta, "kind": "iql", "hidden": self.config.hidden, "n_features": self.n_features,
             "config": self.config.model_dump(), "history": self.history}, indent=1, sort_keys=True), encoding="utf-8")


def train_iql(data: Dataset, config: IQLConfig, progress: Callable[[int, int], None] | None = None) -> IQLLearner:
    """An `IQLLearner` trained on `data` with `config`."""
    learner = IQLLearner(int(data.obs.shape[1]), len(data.emotions), config)
    t0, c0 = time.perf_counter(), time.process_time()
    learner.fit(data, progress)
    learner.history.append({"step": config.steps, "wall_s": time.perf_counter() - t0, "cpu_s": time.process_time() - c0})
    return learner
