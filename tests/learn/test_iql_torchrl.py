"""torchrl's DiscreteIQLLoss against simlab's own IQL: same losses, same training, same model files."""
from __future__ import annotations

import sys

import numpy as np
import pytest
import torch
from pydantic import ValidationError

from simlab.errors import ConfigError
from simlab.learn.dataset import dataset_from_arrays
from simlab.learn.iql import IQLConfig, IQLLearner, train_iql

N_FEATURES, N_ACTIONS = 6, 4
SMALL = dict(hidden=16, lr=1e-2, polyak=0.1, batch_size=64, seed=3)
DISCOUNT = IQLConfig().discount


def _batches(n: int, size: int = 64, seed: int = 0):
    """Random minibatches with some terminal transitions (so the (1 - done) mask is exercised)."""
    g = torch.Generator().manual_seed(seed)
    for _ in range(n):
        yield (torch.randn(size, N_FEATURES, generator=g), torch.randint(0, N_ACTIONS, (size,), generator=g),
               torch.randn(size, generator=g), torch.randn(size, N_FEATURES, generator=g),
               (torch.rand(size, generator=g) < 0.2).float())


def _pair(**overrides):
    cfg = {**SMALL, **overrides}
    return (IQLLearner(N_FEATURES, N_ACTIONS, IQLConfig(implementation="simlab", **cfg)),
            IQLLearner(N_FEATURES, N_ACTIONS, IQLConfig(implementation="torchrl", **cfg)))


def _max_diff(a: IQLLearner, b: IQLLearner) -> float:
    sa, sb = a.state_dicts(), b.state_dicts()
    assert sa.keys() == sb.keys()
    return max(float((sa[n][k] - sb[n][k]).abs().max()) for n in sa for k in sa[n])


def test_both_implementations_start_from_the_same_networks():
    ours, theirs = _pair()
    assert _max_diff(ours, theirs) == 0.0


@pytest.mark.parametrize("expectile, beta", [(0.7, 3.0), (0.9, 0.5)])
def test_the_three_losses_equal_torchrls_on_one_batch(expectile, beta):
    ours, theirs = _pair(expectile=expectile, beta=beta)
    batch = next(_batches(1))
    a, b = ours.losses(*batch), theirs.losses(*batch)
    for name in ("v_loss", "q_loss", "actor_loss"):
        torch.testing.assert_close(a[name], b[name], rtol=1e-6, atol=1e-7, msg=name)
    # and they are the IQL losses, written out here from the definitions
    s, act, r, s2, done = batch
    n = ours.nets
    with torch.no_grad():
        q_t = torch.minimum(n["q1_target"](s), n["q2_target"](s))[torch.arange(len(act)), act]
        u = q_t - n["v"](s)[:, 0]
        v_loss = torch.where(u > 0, expectile, 1 - expectile) * u**2
        y = r + DISCOUNT * (1 - done) * n["v"](s2)[:, 0]
        q_loss = sum(((n[q](s)[torch.arange(len(act)), act] - y) ** 2).mean() for q in ("q1", "q2"))
        w = torch.exp(beta * u).clamp(max=100.0)
        actor_loss = -(w * torch.log_softmax(n["actor"](s), -1)[torch.arange(len(act)), act]).mean()
    torch.testing.assert_close(b["v_loss"].detach(), v_loss.mean())
    torch.testing.assert_close(b["q_loss"].detach(), q_loss)
    torch.testing.assert_close(b["actor_loss"].detach(), actor_loss)


def test_after_many_steps_on_the_same_minibatches_the_parameters_agree():
    ours, theirs = _pair()
    start = {k: v.clone() for k, v in ours.nets["q1"].state_dict().items()}
    for batch in _batches(200, seed=1):
        ours.update(*batch)
        theirs.update(*batch)
    assert max(float((ours.nets["q1"].state_dict()[k] - v).abs().max()) for k, v in start.items()) > 0.1  # it trained
    assert _max_diff(ours, theirs) < 1e-4  # float rounding only (vmapped vs separate Q forward passes)


def _data(n: int = 300, seed: int = 0):
    rng = np.random.default_rng(seed)
    obs = rng.normal(size=(n, N_FEATURES)).astype(np.float32)
    return dataset_from_arrays(obs, rng.integers(N_ACTIONS, size=n), rng.normal(size=n),
                               rng.normal(size=(n, N_FEATURES)).astype(np.float32), rng.random(n) < 0.1,
                               tuple("abcd"), np.full(n, 0.25))


def test_the_same_config_and_data_train_a_bit_identical_torchrl_model():
    cfg = IQLConfig(steps=60, **SMALL)
    assert cfg.implementation == "torchrl"  # the default
    a, b = train_iql(_data(), cfg), train_iql(_data(), cfg)
    sa, sb = a.state_dicts(), b.state_dicts()
    assert all(torch.equal(sa[n][k], sb[n][k]) for n in sa for k in sa[n])
    other = train_iql(_data(), IQLConfig(steps=60, **{**SMALL, "seed": 4}))
    assert not torch.equal(other.state_dicts()["actor"]["0.weight"], sa["actor"]["0.weight"])


def test_a_torchrl_trained_selector_loads_into_iql_selector(tmp_path):
    from simlab.strategies.learned import LoadedPolicy, read_meta

    learner = train_iql(_data(), IQLConfig(steps=30, **SMALL))
    learner.save(tmp_path, {"model_id": "t", "emotions": list("abcd")})
    policy = LoadedPolicy(tmp_path, read_meta(tmp_path))
    x = _data().obs[:5]
    for i in range(5):
        np.testing.assert_allclose(policy.probs(x[i]), learner.policy(x[i])[0], rtol=1e-6)
        np.testing.assert_allclose(policy.q_values(x[i]), learner.q(x[i])[0], rtol=1e-6)


def test_torchrl_fixes_the_clip_at_100():
    with pytest.raises(ValidationError, match="implementation: simlab"):
        IQLConfig(max_weight=20.0)
    assert IQLConfig(max_weight=20.0, implementation="simlab").max_weight == 20.0
    with pytest.raises(ValidationError):
        IQLConfig(implementation="jax")


def test_without_torchrl_the_torchrl_implementation_is_one_line_saying_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "torchrl", None)  # `import torchrl` now raises ImportError
    with pytest.raises(ConfigError, match=r"pip install -e '\.\[learn\]'") as exc:
        IQLLearner(N_FEATURES, N_ACTIONS, IQLConfig(**SMALL))
    assert "\n" not in str(exc.value) and "implementation: simlab" in str(exc.value)
    IQLLearner(N_FEATURES, N_ACTIONS, IQLConfig(implementation="simlab", **SMALL))  # ours needs only torch
