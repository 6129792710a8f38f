"""Learning emotion selectors: the environment, offline datasets, IQL, online RL, off-policy evaluation.

- `env`: `NegotiationEnv` (gymnasium, ``simlab/Negotiation-v0``): one role of a scenario, one emotion per turn.
- `reward`: the learner's reward, shared by the environment and the dataset.
- `dataset`: one row per decision of a role from the run store (``simlab dataset``).
- `iql`: discrete Implicit Q-Learning (``simlab train iql``), played by the ``iql_selector`` strategy.
- `rl`: PPO / DQN with stable-baselines3 (``simlab train rl``), played by ``rl_policy``.
- `ope`: off-policy evaluation (per-decision WIS, doubly robust, FQE) with bootstrap CIs (``simlab ope``).
- `train`: the train configs and model ids; `commands`: the CLI commands.

The featuriser shared online and offline is `simlab.strategies.features.featurise`
(in the strategies layer, because the strategies that play learned policies use it).
The subpackage imports nothing heavy until used; importing `simlab.learn.env`
registers ``simlab/Negotiation-v0`` with gymnasium (``gym.make("simlab.learn.env:simlab/Negotiation-v0", ...)``
imports it on demand).
"""
