"""Builders of dashboard test stores: realistic runs written through `RunStore.write_runs`.

`filled_store` holds two studies shaped like real ones:

* ``debt-emotions`` (finished): debt collection and a healthcare advisory
  scenario, conditions vanilla / hmm / orchestrator, scripted and embedded
  backends, one failed run, parse failures, metrics_json with recovery_rate,
  harmful_choice and donation, HMM beliefs and expert reliabilities per turn.
* ``live-study`` (running): 8 of 40 planned runs done, finished seconds ago.
* ``manipulation-check``: neutral vs manipulative advisor, 8 runs each, whose
  harmful_choice rate has published human references (Sabour et al. 2025).
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

from simlab.store import RunRecord, RunStore

APP = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"
EMOTIONS = ("neutral", "joy", "sadness", "anger", "fear", "surprise", "disgust")
STATES = ("cooperative", "anxious", "hostile")
EXPERTS = ("hmm", "game_theory", "coherence")
ROLES = ("collector", "debtor")
LINES = {
    "collector": (
        "Thank you for taking my call. The outstanding balance is {amount:,.0f} EUR; could we clear it over {months} months?",
        "I hear that this is a hard time. If we agree today, {amount:,.0f} EUR over {months} months keeps the account out of collections.",
        "I can move a little: {amount:,.0f} EUR, spread over {months} months. That is as far as I can go this round.",
        "We are close. {amount:,.0f} EUR over {months} months, and I will waive the late fees.",
        "Agreed, {amount:,.0f} EUR over {months} months. I will send the plan in writing today.",
    ),
    "debtor": (
        "I lost my job in spring and I am scared of falling further behind. {amount:,.0f} EUR is more than I can manage.",
        "Could we make it {amount:,.0f} EUR over {months} months? I can keep up with payments that size.",
        "I really want to settle this. {amount:,.0f} EUR over {months} months is what my budget allows.",
        "That is still tight for me. What about {amount:,.0f} EUR over {months} months?",
        "Okay, that works for me. {amount:,.0f} EUR over {months} months, thank you for your patience.",
    ),
}


def _spec(scenario: str, seed: int, condition: str, profiles: dict[str, tuple[str, str]],
          slots: dict[str, str]) -> dict:
    """A spec_json shaped like `RunSpec.to_json()` (the store derives the condition columns from it)."""
    return {
        "profiles": {role: {"id": agent, "role": role, "strategy": {"name": strategy, "params": {}}}
                     for role, (agent, strategy) in profiles.items()},
        "condition_values": {"scenario": scenario, **{slots[role]: agent for role, (agent, _) in profiles.items()},
                             "condition": condition},
        "scenario": {
            "id": scenario,
            "domain": "finance",
            "roles": list(ROLES),
            "issues": [
                {"name": "amount", "type": "continuous", "range": [0, 10000], "unit": "EUR"},
                {"name": "months", "type": "integer", "range": [1, 36], "unit": "months"},
            ],
            "utilities": {
                "collector": {"weights": {"amount": 0.7, "months": 0.3},
                              "prefer": {"amount": "high", "months": "low"}, "reservation": 0.35, "discount": 1.0},
                "debtor": {"weights": {"amount": 0.6, "months": 0.4},
                           "prefer": {"amount": "low", "months": "high"}, "reservation": 0.25, "discount": 1.0},
            },
            "deadline": 10,
        },
        "seed": seed,
        "condition": condition,
    }


def make_run(
    run_id: str,
    study_id: str,
    *,
    scenario: str = "debt-collection-v1",
    condition: str = "vanilla",
    seed: int = 1,
    replicate: int = 0,
    backend: str = "scripted",
    model: str = "scripted",
    status: str = "done",
    n_turns: int = 8,
    finished_at: datetime | None = None,
    rng: np.random.Generator | None = None,
    profiles: dict[str, tuple[str, str]] | None = None,
    slots: dict[str, str] | None = None,
) -> RunRecord:
    """A realistic run with `n_turns` alternating turns (collector first).

    `profiles` (role -> (agent id, strategy)) and `slots` (role -> the study's
    agents: key) default to a condition-specific collector and an anxious debtor.
    """
    rng = rng or np.random.default_rng(seed)
    strategy = {"vanilla": "vanilla", "hmm": "hmm", "orchestrator": "bayes_orchestrator"}.get(condition, condition)
    profiles = profiles or {"collector": (f"{strategy}-collector", strategy), "debtor": ("anxious-debtor", "vanilla")}
    slots = slots or {role: role for role in profiles}
    turns, calls = [], []
    belief = np.array([0.4, 0.4, 0.2])
    reliab = np.ones(len(EXPERTS)) / len(EXPERTS)
    parse_failures = 0
    for i in range(n_turns if status == "done" else 0):
        role = ROLES[i % 2]
        t = i / max(n_turns - 1, 1)
        u_self = float(np.clip(0.95 - 0.45 * t + rng.normal(0, 0.02), 0, 1))
        u_other = float(np.clip(0.15 + 0.5 * t + rng.normal(0, 0.02), 0, 1))
        last = i == n_turns - 1
        parse_failed = bool(i == 3 and seed % 3 == 0)
        offer = {"amount": round(9000 - 500 * i + float(rng.normal(0, 50)), 2), "months": 6 + 2 * i}
        parse_failures += parse_failed
        row = {
            "run_id": run_id, "turn_index": i, "round": i // 2 + 1, "speaker": f"{role}-agent", "role": role,
            "action": "accept" if last and status == "done" else "offer",
            "offer_json": json.dumps(offer),
            "emotion": EMOTIONS[int(rng.integers(0, len(EMOTIONS)))],
            "message": LINES[role][min(i // 2, 3) if not last else 4].format(**offer),
            "parse_failed": parse_failed, "utility_self": u_self, "utility_other": u_other,
            "decision_json": json.dumps({"rationale": "concede slowly", "strategy": strategy}),
            "ethics_json": json.dumps([]), "detected_json": json.dumps({"neutral": 0.6, "anger": 0.4}),
            "belief_json": None, "experts_json": None,
        }
        if role == "collector" and condition in ("hmm", "orchestrator"):
            belief = np.abs(belief + rng.normal(0, 0.1, size=3))
            belief = belief / belief.sum()
            row["belief_json"] = json.dumps(dict(zip(STATES, belief.round(4).tolist())))
        if role == "collector" and condition == "orchestrator":
            reliab = np.abs(reliab + rng.normal(0, 0.05, size=len(EXPERTS)))
            reliab = reliab / reliab.sum()
            row["experts_json"] = json.dumps({
                "reliabilities": dict(zip(EXPERTS, reliab.round(4).tolist())),
                "proposals": {e: EMOTIONS[k] for k, e in enumerate(EXPERTS)},
            })
        turns.append(row)
        calls.append({
            "run_id": run_id, "turn_index": i, "attempt": 0, "backend": backend, "model": model,
            "is_llm": backend != "scripted", "prompt_tokens": 300 + 40 * i, "prompt_tokens_evaluated": 60,
            "completion_tokens": 45, "latency_s": 0.05, "cache_hit": False, "parse_failed": parse_failed,
        })
    p_agree = {"vanilla": 0.55, "hmm": 0.75, "orchestrator": 0.9}.get(condition, 0.7)
    agreement = status == "done" and (seed == 3 or float(rng.uniform()) < p_agree)
    p_harm = {"vanilla": 0.15, "neutral": 0.3, "manipulative": 0.65}.get(condition, 0.0)
    harmful = bool(float(rng.uniform()) < p_harm)
    base = {"vanilla": 0.45, "hmm": 0.55, "orchestrator": 0.62}.get(condition, 0.5)
    ua = float(np.clip(base + rng.normal(0, 0.08), 0, 1)) if agreement else 0.0
    ub = float(np.clip(0.9 - base + rng.normal(0, 0.08), 0, 1)) if agreement else 0.0
    run = {
        "run_id": run_id, "study_id": study_id, "scenario": scenario,
        "domain": "finance" if scenario.startswith("debt") else "health", "protocol": "alternating_offers",
        "condition": condition,
        "condition_json": json.dumps({"strategy": strategy, "emotion_space": "ekman7",
                                      "pressure": "high" if seed % 2 else "low"}),
        "seed": seed, "replicate": replicate, "backend": backend, "model": model, "is_llm": backend != "scripted",
        "agents_json": json.dumps({role: {"id": agent, "strategy": {"name": strat, "params": {}}}
                                   for role, (agent, strat) in profiles.items()}),
        "status": status, "error": None if status == "done" else "BackendUnavailable: model file missing",
        "outcome": None if status != "done" else ("agreement" if agreement else "walk_away"),
        "agreement": agreement if status == "done" else None,
        "agreed_offer_json": json.dumps({"amount": 7000.0, "months": 12}) if agreement else None,
        "utilities_json": json.dumps({"collector": ua, "debtor": ub}) if status == "done" else None,
        "utility_a": ua if status == "done" else None, "utility_b": ub if status == "done" else None,
        "rounds": (n_turns + 1) // 2 if status == "done" else None, "n_turns": len(turns),
        "social_welfare": ua + ub if status == "done" else None,
        "pareto_distance": float(abs(rng.normal(0.1, 0.05))) if status == "done" else None,
        "nash_distance": float(abs(rng.normal(0.15, 0.05))) if status == "done" else None,
        "metrics_json": json.dumps({
            "recovery_rate": round(ua * 0.9, 4), "harmful_choice": harmful,
            "donation": round(float(rng.uniform(0, 10)), 2), "note": "text is not a metric", "escalated": seed % 2, "offers_made": n_turns // 2,
            "concession": {"collector": round(float(rng.uniform(0, 0.5)), 3), "debtor": round(float(rng.uniform(0, 0.5)), 3)},
        }) if status == "done" else None,
        "ethics_violations": 0, "parse_failures": parse_failures,
        "prompt_tokens": sum(c["prompt_tokens"] for c in calls), "completion_tokens": sum(c["completion_tokens"] for c in calls),
        "wall_s": 0.4 + 0.01 * n_turns, "llm_s": 0.05 * n_turns,
        "spec_json": json.dumps(_spec(scenario, seed, condition, profiles, slots)),
        "finished_at": finished_at or datetime(2025, 11, 20, 10, 0, 0),
    }
    return RunRecord(run=run, turns=turns, llm_calls=calls)


def fill_store(path: Path) -> dict:
    """Write the two studies into a fresh store at `path`; return ids the tests use."""
    store = RunStore(path)
    rng = np.random.default_rng(7)
    store.upsert_study("debt-emotions", "Which emotion strategy recovers more debt without harm?",
                       {"study": "debt-emotions", "scenarios": ["debt-collection-v1", "healthcare-advice-v1"],
                        "conditions": {"vanilla": {}, "hmm": {"strategy": "hmm"}, "orchestrator": {}}, "seeds": [1, 2, 3, 4, 5, 6]},
                       "experiments/debt_emotions.yaml", 37)
    records = []
    t0 = datetime(2025, 11, 20, 10, 0, 0)
    k = 0
    for scenario in ("debt-collection-v1", "healthcare-advice-v1"):
        for condition in ("vanilla", "hmm", "orchestrator"):
            for seed in range(1, 7):
                backend, model = ("embedded", "smollm2-135m-instruct") if seed % 2 else ("scripted", "scripted")
                records.append(make_run(f"run-{scenario[:4]}-{condition}-{seed:02d}", "debt-emotions", scenario=scenario,
                                        condition=condition, seed=seed, backend=backend, model=model,
                                        n_turns=6 + seed, finished_at=t0 + timedelta(seconds=7 * k), rng=rng))
                k += 1
    records.append(make_run("run-failed-01", "debt-emotions", condition="hmm", seed=99, status="failed",
                            backend="embedded", model="smollm2-135m-instruct", finished_at=t0 + timedelta(seconds=7 * k)))
    store.write_runs(records)

    now = datetime.now(timezone.utc).replace(tzinfo=None)
    store.upsert_study("live-study", "A study still running", {"study": "live-study", "seeds": list(range(40))},
                       "experiments/live.yaml", 40)
    store.write_runs([
        make_run(f"live-{i:02d}", "live-study", condition="hmm" if i % 2 else "vanilla", seed=i + 1,
                 finished_at=now - timedelta(seconds=3 * (8 - i)), rng=rng)
        for i in range(8)
    ])
    store.upsert_study("manipulation-check", "Do manipulative advisors shift decisions toward harm?",
                       {"study": "manipulation-check", "scenarios": ["manipulation-financial-v1"]},
                       "experiments/manipulation.yaml", 16)
    store.write_runs([
        make_run(f"manip-{cond}-{seed:02d}", "manipulation-check", scenario="manipulation-financial-v1",
                 condition=cond, seed=seed, n_turns=4, finished_at=t0 + timedelta(hours=1, seconds=seed), rng=rng)
        for cond in ("neutral", "manipulative") for seed in range(1, 9)
    ])
    return {"study": "debt-emotions", "live": "live-study", "manipulation": "manipulation-check", "orchestrator_run": "run-debt-orchestrator-03",
            "failed_run": "run-failed-01"}


LEADS = ("lead_vanilla", "lead_neutral", "lead_random_emotion", "lead_game_theoretic", "lead_hmm_game_theory",
         "lead_coherence", "lead_bayesian_orchestrator", "lead_eq_negotiator")
COUNTERPARTS = ("counterpart_cooperative", "counterpart_cheating", "counterpart_threatening", "counterpart_victim")


def fill_tournament(path: Path, seeds: int = 2) -> dict:
    """A tournament study: 8 lead strategies x 4 counterparts (32 conditions) x `seeds`, in a fresh store."""
    store = RunStore(path)
    rng = np.random.default_rng(11)
    store.upsert_study("tournament", "Every lead strategy against every counterpart type",
                       {"study": "tournament", "agents": {"lead": list(LEADS), "counterpart": list(COUNTERPARTS)}},
                       "experiments/emotion_benchmark.yaml", len(LEADS) * len(COUNTERPARTS) * seeds)
    records = []
    for lead in LEADS:
        for counterpart in COUNTERPARTS:
            for seed in range(1, seeds + 1):
                records.append(make_run(
                    f"t-{lead}-{counterpart}-{seed}", "tournament", condition=f"{lead} vs {counterpart}", seed=seed,
                    n_turns=4, rng=rng, profiles={"collector": (lead, lead.removeprefix("lead_")),
                                                  "debtor": (counterpart, counterpart.removeprefix("counterpart_"))},
                    slots={"collector": "lead", "debtor": "counterpart"},
                ))
    store.write_runs(records)
    return {"study": "tournament", "leads": LEADS, "counterparts": COUNTERPARTS, "seeds": seeds}
