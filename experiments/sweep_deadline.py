"""Sweep the debt scenario's deadline and plot agreement rate and utility against it.

A study built in Python (`simlab.Study`, the same model the YAML files are
checked with): the built-in ``debt_collection`` scenario, two creditor
strategies against a threatening debtor (who walks away from long haggling),
one condition per deadline (the
condition overrides the scenario's ``deadline``), run with the scripted backend
(no model, milliseconds per run) through `simlab.run_study`. The finished runs
come back as a DataFrame; the script aggregates them per deadline and strategy
and draws two panels to a PNG:

    python experiments/sweep_deadline.py                       # deadlines 1..12, 5 seeds
    python experiments/sweep_deadline.py --deadlines 2 4 8 16 --seeds 10 --out sweep.png

Rerunning with the same store skips the runs already stored.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd

import simlab

CREDITORS = ("boulware_creditor", "conceder_creditor")


def build_study(
    deadlines: list[int], seeds: int, debtor: str = "threatening_debtor", study_id: str = "deadline-sweep"
) -> simlab.Study:
    """The sweep as a `Study`: one condition per deadline, `seeds` seeds each."""
    return simlab.Study(
        study=study_id,
        description="debt collection: outcome against the deadline (scripted backend)",
        scenarios=["debt_collection"],
        agents={"creditor": list(CREDITORS), "debtor": [debtor]},
        conditions={f"deadline={d}": {"scenario": {"deadline": d}} for d in deadlines},
        seeds=list(range(1, seeds + 1)),
        backend={"kind": "scripted"},
        population=32,
    )


def summarise(runs: pd.DataFrame) -> pd.DataFrame:
    """Per (deadline, creditor): runs, agreement rate, mean creditor utility and mean rounds."""
    done = runs[runs["status"] == "done"].copy()
    done["deadline"] = [json.loads(s)["scenario"]["deadline"] for s in done["spec_json"]]
    done["creditor"] = [json.loads(a)["creditor"] for a in done["agents_json"]]
    done["agreement"] = done["agreement"].astype(float)
    return (
        done.groupby(["deadline", "creditor"], sort=True)
        .agg(n=("run_id", "size"), agreement_rate=("agreement", "mean"),
             creditor_utility=("utility_a", "mean"), rounds=("rounds", "mean"))
        .reset_index()
    )


def plot(summary: pd.DataFrame, out: Path) -> Path:
    """Agreement rate and mean creditor utility against the deadline, one line per creditor strategy."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6), constrained_layout=True)
    for creditor, g in summary.groupby("creditor", sort=True):
        axes[0].plot(g["deadline"], g["agreement_rate"], marker="o", label=creditor)
        axes[1].plot(g["deadline"], g["creditor_utility"], marker="o", label=creditor)
    axes[0].set(xlabel="deadline (rounds)", ylabel="agreement rate", ylim=(-0.05, 1.05), title="Agreements")
    axes[1].set(xlabel="deadline (rounds)", ylabel="mean creditor utility", title="Creditor utility")
    axes[0].legend(fontsize=8)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def main(argv: list[str] | None = None) -> pd.DataFrame:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--deadlines", type=int, nargs="+", default=list(range(1, 13)), help="deadlines to sweep (rounds)")
    ap.add_argument("--seeds", type=int, default=5, help="seeds per deadline and strategy")
    ap.add_argument("--store", type=Path, default=Path("runs/sweep_deadline.duckdb"))
    ap.add_argument("--out", type=Path, default=Path("reports/sweep_deadline.png"))
    ap.add_argument("--debtor", default="threatening_debtor", help="the debtor agent profile")
    ap.add_argument("--workers", type=int, default=1)
    args = ap.parse_args(argv)
    runs = simlab.run_study(build_study(args.deadlines, args.seeds, args.debtor), store=args.store, workers=args.workers)
    summary = summarise(runs)
    plot(summary, args.out)
    print(summary.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print(f"plot written to {args.out}")
    return summary


if __name__ == "__main__":
    main()
