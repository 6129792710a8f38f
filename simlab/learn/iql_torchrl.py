"""torchrl's discrete IQL loss over simlab's IQL networks: `TorchRLIQLUpdate`, `require_torchrl`.

`simlab.learn.iql.IQLLearner` builds the networks (``simlab.strategies.learned.mlp``,
the ones the ``iql_selector`` strategy loads) and, with ``implementation: torchrl``
(the default), hands them to this module, which wraps them the way
``torchrl.objectives.DiscreteIQLLoss`` wants them:

- actor: ``ProbabilisticActor`` over ``TensorDictModule(actor, "observation" -> "logits")``
  with a ``torch.distributions.Categorical``;
- Q: the two networks as a list of ``TensorDictModule(q_i, "observation" -> "state_action_value")``
  with ``num_qvalue_nets=2`` (a list, so torchrl stacks *our* initial weights instead of
  resampling a second network from the global RNG); target copies are torchrl's, updated by
  ``SoftUpdate(tau=polyak)``;
- V: ``ValueOperator(v, "observation" -> "state_value")``;
- actions as indices (``action_space="categorical"``), rewards / done / terminated under
  ``"next"`` with a trailing singleton dimension, the TD(0) value estimator with
  ``gamma=discount``, and ``loss_function="l2"`` (torchrl's default is smooth L1; IQL's Q loss is
  the squared error).

Each step calls the loss module's ``value_loss``, ``qvalue_loss`` and ``actor_loss`` in that order,
each followed by its own Adam step, then the soft target update: the update order of the IQL
reference implementation (Kostrikov et al.: V first, then the actor and Q against the *new* V),
which is also ours (``implementation: simlab``). torchrl's ``forward`` instead returns all three
losses from the parameters before the step (V's, the actor's and Q's updates all see the old V);
we do not use it, so both implementations run the same algorithm and agree step for step
(tests/learn/test_iql_torchrl.py).

The actor and V parameters torchrl holds are the networks' own ``Parameter`` objects, so they train
in place; the stacked Q parameters are copied back into ``q1``, ``q2`` and their targets by `sync`.
"""
from __future__ import annotations

import warnings
from typing import Any

from simlab.errors import ConfigError

INSTALL = "pip install -e '.[learn]' (or `make install`)"


def require_torchrl() -> None:
    """ConfigError (one line, how to install it) unless torchrl's IQL loss imports."""
    try:
        import torchrl.objectives  # noqa: F401
    except ImportError as exc:
        raise ConfigError(
            f"iql implementation 'torchrl' needs torchrl, which does not import here ({exc}): {INSTALL}, "
            "or set iql: {implementation: simlab} for simlab's own IQL"
        ) from None


class TorchRLIQLUpdate:
    """IQL gradient steps whose losses are computed by torchrl's ``DiscreteIQLLoss`` (see the module docstring)."""

    def __init__(self, nets: dict[str, Any], config: Any) -> None:
        require_torchrl()
        import torch
        from tensordict.nn import TensorDictModule
        from torchrl.modules import ProbabilisticActor, ValueOperator
        from torchrl.objectives import DiscreteIQLLoss, SoftUpdate, ValueEstimators

        self.nets = nets
        actor = ProbabilisticActor(
            TensorDictModule(nets["actor"], in_keys=["observation"], out_keys=["logits"]),
            in_keys=["logits"], out_keys=["action"], distribution_class=torch.distributions.Categorical,
        )
        qs = [TensorDictModule(nets[k], in_keys=["observation"], out_keys=["state_action_value"]) for k in ("q1", "q2")]
        value = ValueOperator(nets["v"], in_keys=["observation"])
        self.loss = DiscreteIQLLoss(
            actor, qs, value, action_space="categorical", num_qvalue_nets=2, loss_function="l2",
            temperature=config.beta, expectile=config.expectile,
        )
        self.loss.make_value_estimator(ValueEstimators.TD0, gamma=config.discount)
        with warnings.catch_warnings():
            # SoftUpdate warns when eps = 1 - tau < 0.5, assuming eps was meant; we pass tau on purpose
            warnings.filterwarnings("ignore", message="Found an eps value < 0.5")
            self.target_update = SoftUpdate(self.loss, tau=config.polyak)
        lr = config.lr
        self.opt_v = torch.optim.Adam(list(self.loss.value_network_params.values(True, True)), lr=lr, foreach=True)
        self.opt_q = torch.optim.Adam(list(self.loss.qvalue_network_params.values(True, True)), lr=lr, foreach=True)
        self.opt_actor = torch.optim.Adam(list(self.loss.actor_network_params.values(True, True)), lr=lr, foreach=True)

    def batch(self, s: Any, a: Any, r: Any, s2: Any, done: Any) -> Any:
        """The minibatch as the TensorDict torchrl's losses read (done = terminated: a negotiation's end is terminal)."""
        from tensordict import TensorDict

        d = done.bool()[:, None]
        return TensorDict({"observation": s, "action": a, ("next", "observation"): s2, ("next", "reward"): r[:, None],
                           ("next", "done"): d, ("next", "terminated"): d}, batch_size=[s.shape[0]])

    def losses(self, s: Any, a: Any, r: Any, s2: Any, done: Any) -> dict[str, Any]:
        """torchrl's three losses on one batch at the current parameters (no step)."""
        td = self.batch(s, a, r, s2, done)
        return {"v_loss": self.loss.value_loss(td)[0], "q_loss": self.loss.qvalue_loss(td)[0],
                "actor_loss": self.loss.actor_loss(td)[0]}

    def update(self, s: Any, a: Any, r: Any, s2: Any, done: Any) -> dict[str, float]:
        """One step on each loss (V, then Q and the actor against the new V), then the soft target update."""
        td = self.batch(s, a, r, s2, done)
        out = {}
        for name, fn, opt in (("v_loss", self.loss.value_loss, self.opt_v), ("q_loss", self.loss.qvalue_loss, self.opt_q),
                              ("actor_loss", self.loss.actor_loss, self.opt_actor)):
            value = fn(td)[0]
            opt.zero_grad()
            value.backward()
            opt.step()
            out[name] = value.item()
        self.target_update.step()
        return out

    def sync(self) -> None:
        """Copy torchrl's stacked Q and target-Q parameters into ``q1``, ``q2``, ``q1_target``, ``q2_target``."""
        import torch

        with torch.no_grad():
            for source, suffix in ((self.loss.qvalue_network_params, ""), (self.loss.target_qvalue_network_params, "_target")):
                for key, stacked in source.items(True, True):
                    name = ".".join(key[1:])  # ("module", "0", "weight") -> "0.weight" of the nn.Sequential
                    for i, net in enumerate(("q1", "q2")):
                        self.nets[net + suffix].get_parameter(name).copy_(stacked[i])
