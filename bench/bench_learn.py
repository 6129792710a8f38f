"""Benchmarks of the learning layer (on demand, never in the test run).

    python bench/bench_learn.py                 # all three
    python bench/bench_learn.py --iql-steps 2000
    python bench/bench_learn.py --iql-implementation simlab   # IQL with simlab's own losses (default: torchrl's)

1. NegotiationEnv steps per second with scripted counterparts (four debtor types, lexicon detector on and off);
2. the share of PPO training time spent inside the environment (target: under 20%), by timing env.step inside
   SB3's learn();
3. IQL training time for 20,000 gradient steps (published hyper-parameters, batch 256, width 256) on this machine,
   wall and CPU seconds, with the default implementation (torchrl's DiscreteIQLLoss) or `--iql-implementation`.
Results are printed and written to bench/results/bench_learn.json.
"""
from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

ENV = {"scenario": "debt_collection_cases",
       "counterparts": ["counterpart_cooperative", "counterpart_cheating", "counterpart_threatening", "counterpart_victim"],
       "seeds": list(range(80))}


def env_steps_per_s(detector: str | None, steps: int = 3000) -> float:
    from simlab.learn.env import NegotiationEnv

    env = NegotiationEnv({**ENV, "detector": detector})
    rng = np.random.default_rng(0)
    env.reset(seed=0)
    t0, k, n = time.perf_counter(), 0, 0
    while n < steps:
        _, _, done, _, _ = env.step(int(rng.integers(env.action_space.n)))
        n += 1
        if done:
            k += 1
            env.reset(seed=k)
    return n / (time.perf_counter() - t0)


def ppo_env_share(timesteps: int) -> dict[str, float]:
    from simlab.learn.env import NegotiationEnv
    from simlab.learn.rl import RLConfig, make_model

    env = NegotiationEnv(ENV)
    spent = {"env": 0.0}
    step, reset = env.step, env.reset

    def timed_step(a):
        t = time.perf_counter()
        out = step(a)
        spent["env"] += time.perf_counter() - t
        return out

    def timed_reset(**kw):
        t = time.perf_counter()
        out = reset(**kw)
        spent["env"] += time.perf_counter() - t
        return out

    env.step, env.reset = timed_step, timed_reset  # type: ignore[method-assign]
    model = make_model(env, RLConfig(algo="ppo", timesteps=timesteps, hyperparams={"n_steps": 512, "batch_size": 64}))
    t0 = time.perf_counter()
    model.learn(total_timesteps=timesteps)
    total = time.perf_counter() - t0
    return {"timesteps": timesteps, "train_s": total, "env_s": spent["env"], "env_share": spent["env"] / total}


def iql_time(steps: int, implementation: str) -> dict[str, float | str]:
    from simlab.learn.dataset import dataset_from_env
    from simlab.learn.env import NegotiationEnv
    from simlab.learn.iql import IQLConfig, train_iql

    data = dataset_from_env(NegotiationEnv(ENV), episodes=100, seed=0)
    config = IQLConfig(steps=steps, implementation=implementation)
    t0, c0 = time.perf_counter(), time.process_time()
    train_iql(data, config)
    return {"steps": steps, "rows": len(data), "implementation": implementation,
            "train_s": time.perf_counter() - t0, "cpu_s": time.process_time() - c0}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ppo-steps", type=int, default=4096)
    ap.add_argument("--iql-steps", type=int, default=20_000)
    ap.add_argument("--iql-implementation", choices=["torchrl", "simlab"], default=None,
                    help="whose IQL losses (default: IQLConfig's, torchrl's DiscreteIQLLoss)")
    args = ap.parse_args()
    from simlab.learn.iql import IQLConfig

    implementation = args.iql_implementation or IQLConfig().implementation
    res = {
        "cpus": os.cpu_count(),
        "env_steps_per_s": {"lexicon": env_steps_per_s("lexicon"), "no_detector": env_steps_per_s(None)},
        "ppo": ppo_env_share(args.ppo_steps),
        "iql": iql_time(args.iql_steps, implementation),
    }
    out = Path("bench/results")
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench_learn.json").write_text(json.dumps(res, indent=1))
    print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
