"""Generate debt_cases.csv: 100 synthetic but realistic-looking debt collection cases.

Run `python scenarios/cases/make_debt_cases.py` to rebuild (seeded, so the file
is reproducible). Balances are log-normal around $5,000, incomes drawn per
case, and the debtor's reservation value rises with the debt-to-income ratio
(a debtor who cannot pay has less to lose from no deal).
"""
import csv
from pathlib import Path

import numpy as np

SHOCKS = [
    "lost a second job four months ago",
    "had hours cut at work",
    "was hospitalised for two weeks",
    "went through a divorce",
    "had a car break down and lost a commute to work",
    "is caring for a sick parent",
    "had a business close",
    "faced an unexpected rent increase",
]


def main() -> None:
    rng = np.random.default_rng(20261125)
    rows = []
    for i in range(100):
        balance = float(np.clip(rng.lognormal(np.log(5000), 0.5), 800, 25000))
        income = float(np.clip(rng.normal(2600, 800), 900, 6000))
        ratio = balance / income
        rows.append(
            {
                "case_id": f"debt-{i:03d}",
                "balance": round(balance),
                "late_fees": round(balance * rng.uniform(0.03, 0.09)),
                "monthly_income": round(income),
                "months_overdue": int(rng.integers(2, 13)),
                "income_shock": SHOCKS[int(rng.integers(len(SHOCKS)))],
                "debtor_reservation": round(float(np.clip(0.15 + 0.04 * ratio, 0.15, 0.45)), 3),
                "deadline_rounds": int(rng.integers(8, 15)),
            }
        )
    out = Path(__file__).with_name("debt_cases.csv")
    with out.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


if __name__ == "__main__":
    main()
