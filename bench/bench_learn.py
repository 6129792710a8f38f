"""Benchmarks of the learning layer (on demand, never in the test run).

    python bench/bench_learn.py                 # all three
    python bench/bench_learn.py --iql-steps 2000
    python bench/bench_learn.py --iql-implementation simlab   # IQL with simlab's own losses (default: torchrl's)
    python bench/bench_learn.py --only iql --iql-steps 2000 --iql-implementation both   # one part; both IQLs

1. NegotiationEnv steps per second with scripted counterparts (four debtor types, lexicon detector on and off);
2. the share of PPO training time spent inside the environment (target: under 20%), by timing env.step inside
   SB3's learn();
3. IQL training time for 20,000 gradient steps (published hyper-parameters, batch 256, width 256) on this machine,
   wall and CPU seconds, with the default implementation (torchrl's DiscreteIQLLoss) or `--iql-implementation`
   (`both`: each on the same dataset, with their CPU ratio and how far apart the trained networks end).
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


def iql_time(steps: int, implementations: list[str]) -> dict[str, object]:
    """Train IQL for `steps` with each implementation on one dataset; with two, also their CPU ratio and divergence."""
    from simlab.learn.dataset import dataset_from_env
    from simlab.learn.env import NegotiationEnv
    from simlab.learn.iql import IQLConfig, train_iql

    data = dataset_from_env(NegotiationEnv(ENV), episodes=100, seed=0)
    for implementation in implementations:  # warm-up: imports and lazy initialisation (several s) are not training
        train_iql(data, IQLConfig(steps=2, implementation=implementation))
    res: dict[str, object] = {"steps": steps, "rows": len(data)}
    learners = {}
    for implementation in implementations:
        t0, c0 = time.perf_counter(), time.process_time()
        learners[implementation] = train_iql(data, IQLConfig(steps=steps, implementation=implementation))
        res[implementation] = {"train_s": time.perf_counter() - t0, "cpu_s": time.process_time() - c0}
    if len(learners) == 2:
        a, b = (learner.state_dicts() for learner in learners.values())
        res["cpu_ratio_torchrl_over_simlab"] = res["torchrl"]["cpu_s"] / res["simlab"]["cpu_s"]  # type: ignore[index]
        res["max_weight_difference"] = max(float((a[n][k] - b[n][k]).abs().max()) for n in a for k in a[n])
        pa, pb = (learner.policy(data.obs).argmax(axis=1) for learner in learners.values())
        res["greedy_actor_agreement"] = float(np.mean(pa == pb))
    return res


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ppo-steps", type=int, default=4096)
    ap.add_argument("--iql-steps", type=int, default=20_000)
    ap.add_argument("--iql-implementation", choices=["torchrl", "simlab", "both"], default=None,
                    help="whose IQL losses (default: IQLConfig's, torchrl's DiscreteIQLLoss); both: each on one dataset")
    ap.add_argument("--only", nargs="+", choices=["env", "ppo", "iql"], default=["env", "ppo", "iql"],
                    help="run only these parts")
    args = ap.parse_args()
    from simlab.learn.iql import IQLConfig

    choice = args.iql_implementation or IQLConfig().implementation
    implementations = ["simlab", "torchrl"] if choice == "both" else [choice]
    res: dict = {"cpus": os.cpu_count()}
    if "env" in args.only:
        res["env_steps_per_s"] = {"lexicon": env_steps_per_s("lexicon"), "no_detector": env_steps_per_s(None)}
    if "ppo" in args.only:
        res["ppo"] = ppo_env_share(args.ppo_steps)
    if "iql" in args.only:
        res["iql"] = iql_time(args.iql_steps, implementations)
    out = Path("bench/results")
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench_learn.json").write_text(json.dumps(res, indent=1))
    print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
