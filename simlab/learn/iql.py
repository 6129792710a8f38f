"""Discrete Implicit Q-Learning: `IQLConfig`, `train_iql`, `IQLLearner`.

Implicit Q-Learning (Kostrikov, Nair & Levine 2022, "Offline Reinforcement
Learning with Implicit Q-Learning") learns from logged transitions only, never
querying actions outside the data:

- value: V(s) fits min(Q1', Q2')(s, a) of the *logged* actions by expectile
  regression, loss |tau - 1(u < 0)| u^2 with u = Q'(s, a) - V(s); expectile
  tau = 0.5 gives the behaviour policy's value (SARSA), tau -> 1 the best
  in-support action's (Q-learning without out-of-data maximisation);
- Q: each Qi(s, a) regresses r + discount (1 - done) V(s');
- policy extraction (advantage-weighted regression): the actor maximises
  exp(beta (Q'(s, a) - V(s))), clipped at `max_weight`, x log pi(a | s);
- the target Q' tracks Q by Polyak averaging (rate `polyak`).

Defaults are the published EmoDistill selector's: expectile 0.7, inverse
temperature 3.0, discount 0.99, hidden width 256, learning rate 3e-4, 20,000
gradient steps, batch 256, Polyak 0.005, exp-advantage clipped at 100
(/work/shared/reference/published_systems.md). The networks (two hidden ReLU
layers, `simlab.strategies.learned.mlp`) are the ones the ``iql_selector``
strategy loads. Our own implementation (torchrl's ``DiscreteIQLLoss`` computes
the same three losses; this keeps the dependency optional), proven on tabular
MDPs whose answers are computed exactly (tests/learn/test_iql.py).

Randomness: network initialisation under a forked torch generator seeded from
`seed`, minibatches from a numpy generator of the same seed; the same config
and dataset train the same model.
"""
from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

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


@dataclass
class IQLLearner:
    """The four networks and their optimisers."""

    n_features: int
    n_actions: int
    config: IQLConfig
    nets: dict[str, Any] = field(default_factory=dict)
    history: list[dict[str, float]] = field(default_factory=list)

    def __post_init__(self) -> None:
        import torch

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
        lr = self.config.lr
        # foreach: one fused update per optimiser instead of one per tensor (several times faster on CPU here)
        self.opt_q = torch.optim.Adam([*self.nets["q1"].parameters(), *self.nets["q2"].parameters()], lr=lr, foreach=True)
        self.opt_v = torch.optim.Adam(self.nets["v"].parameters(), lr=lr, foreach=True)
        self.opt_actor = torch.optim.Adam(self.nets["actor"].parameters(), lr=lr, foreach=True)

    def update(self, s: Any, a: Any, r: Any, s2: Any, done: Any) -> dict[str, float]:
        """One gradient step on each loss; returns the losses."""
        import torch
        import torch.nn.functional as F

        c = self.config
        n = self.nets
        with torch.no_grad():
            q_t = torch.minimum(n["q1_target"](s), n["q2_target"](s)).gather(1, a[:, None]).squeeze(1)
        # value: expectile regression towards the target Q of the logged action
        v = n["v"](s).squeeze(1)
        u = q_t - v
        weight = torch.abs(c.expectile - (u < 0).float())
        v_loss = (weight * u.pow(2)).mean()
        self.opt_v.zero_grad()
        v_loss.backward()
        self.opt_v.step()
        # Q: one-step backup through V of the next state
        with torch.no_grad():
            target = r + c.discount * (1.0 - done) * n["v"](s2).squeeze(1)
        q1 = n["q1"](s).gather(1, a[:, None]).squeeze(1)
        q2 = n["q2"](s).gather(1, a[:, None]).squeeze(1)
        q_loss = F.mse_loss(q1, target) + F.mse_loss(q2, target)
        self.opt_q.zero_grad()
        q_loss.backward()
        self.opt_q.step()
        # actor: advantage-weighted regression
        with torch.no_grad():
            adv = q_t - n["v"](s).squeeze(1)
            w = torch.exp(c.beta * adv).clamp(max=c.max_weight)
        logp = torch.log_softmax(n["actor"](s), dim=-1).gather(1, a[:, None]).squeeze(1)
        actor_loss = -(w * logp).mean()
        self.opt_actor.zero_grad()
        actor_loss.backward()
        self.opt_actor.step()
        with torch.no_grad():
            for name in ("q1", "q2"):
                src, dst = list(n[name].parameters()), list(n[f"{name}_target"].parameters())
                torch._foreach_lerp_(dst, src, c.polyak)
        return {"v_loss": v_loss.item(), "q_loss": q_loss.item(), "actor_loss": actor_loss.item()}

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

    # ---- inference ---------------------------------------------------------------
    def q(self, obs: np.ndarray) -> np.ndarray:
        import torch

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
        torch.save({k: self.nets[k].state_dict() for k in ("actor", "q1", "q2", "v")}, folder / "iql.pt")
        (folder / "meta.json").write_text(json.dumps(
            {**meta, "kind": "iql", "hidden": self.config.hidden, "n_features": self.n_features,
             "config": self.config.model_dump(), "history": self.history}, indent=1, sort_keys=True), encoding="utf-8")


def train_iql(data: Dataset, config: IQLConfig, progress: Callable[[int, int], None] | None = None) -> IQLLearner:
    """An `IQLLearner` trained on `data` with `config`."""
    learner = IQLLearner(int(data.obs.shape[1]), len(data.emotions), config)
    t0 = time.perf_counter()
    learner.fit(data, progress)
    learner.history.append({"step": config.steps, "wall_s": time.perf_counter() - t0})
    return learner
