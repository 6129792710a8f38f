"""Generate the case files of the four EmoMAS benchmarks (100 synthetic cases each).

Run `python scenarios/cases/make_emomas_cases.py` to rebuild; it is seeded, so the
files are byte-for-byte reproducible (tests/engine/test_emomas.py checks that the
committed CSVs equal a fresh run). One row per case, in the authors' layout
(EmoMAS, ACL 2026; columns in snake_case):

- emomas_debt.csv: creditor and debtor names, credit type, original amount and
  outstanding balance, creditor and debtor target days, days overdue, reason for
  the overdue payment. Targets as in the authors' data: creditor 5-20 days,
  debtor 30-180 days.
- emomas_surgery.csv: patient, procedure, urgency, waitlist and requested
  reduction in days, and the two targets computed by the published rule
  (provider: high urgency waitlist - reduction, medium waitlist, low waitlist + 30;
  patient: max(1, waitlist - reduction)).
- emomas_disaster.csv: disaster, survivor condition, estimated endurance and
  rescue-team ETA in minutes, critical needs.
- emomas_sleep.csv: student age, background, situation, the robot's requested
  and the student's wanted bedtime (clock time and minutes after 20:00).

Only numbers and categories are drawn; names come from small fixed lists. No
third-party data is copied.
"""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

N_CASES = 100
HERE = Path(__file__).parent

SURNAMES = ["Hughes", "Ortiz", "Hudson", "Lopez", "Jimenez", "Miller", "Wheeler", "Porter", "Wilson", "Anderson",
            "Fuentes", "York", "Shepherd", "Hurst", "Norris", "Smith", "Nichols", "Walton", "Copeland", "Merritt",
            "Delgado", "Gross", "Burke", "Benson", "Banks", "Adams", "Thomas", "Conner", "Dixon", "Cruz"]
FIRST = ["Alex", "Sam", "Jordan", "Taylor", "Morgan", "Casey", "Riley", "Jamie", "Avery", "Quinn", "Robin", "Drew"]
FIRM_SUFFIX = ["Inc", "Ltd", "PLC", "Group", "and Sons", "Capital", "Partners"]
CREDIT_TYPES = ["Working Capital Loan", "Equipment Financing", "Business Line of Credit", "Commercial Mortgage",
                "Invoice Financing", "Merchant Cash Advance", "Trade Finance"]
DEBT_REASONS = ["Client bankruptcy affecting receivables", "Supply chain disruption", "Key customer default",
                "Seasonal sales downturn", "Natural disaster impact", "Regulatory compliance costs",
                "Pandemic-related closures", "Unexpected tax liabilities", "Currency fluctuation losses",
                "Fraud incident"]
PROCEDURES = ["hip replacement", "knee arthroscopy", "cataract surgery", "hernia repair", "gallbladder removal",
              "spinal fusion", "coronary bypass", "tonsillectomy", "carpal tunnel release", "thyroidectomy"]
DISASTERS = [("Earthquake", "trapped leg, dehydration", "water, painkillers"),
             ("Urban fire", "burns, smoke inhalation", "oxygen, bandages"),
             ("Flash flood", "shock, hypothermia risk", "life raft, immersion suit"),
             ("Landslide", "concussion, low oxygen", "air vent, heat pack"),
             ("Blizzard", "frostbite, exhaustion", "heat, food"),
             ("Mine collapse", "methane exposure, weakness", "oxygen scrubber, water"),
             ("Building collapse", "crushed arm", "tourniquet, pain relief"),
             ("Avalanche", "buried, hypoxia risk", "heat, air-pocket locator")]
BACKGROUNDS = [("High achiever", "physics final tomorrow"), ("Creative writer", "history paper due at 8 AM"),
               ("Gamer", "online game finals tonight"), ("Social butterfly", "fight with a best friend"),
               ("Student athlete", "championship game tomorrow"), ("Binge watcher", "season finale of a show"),
               ("Perfectionist", "no deadline, but feels behind"), ("Music student", "audition tape due")]


def firm(rng: np.random.Generator) -> str:
    a, b = rng.choice(SURNAMES, 2, replace=False)
    return f"{a}-{b}" if rng.random() < 0.5 else f"{a} {FIRM_SUFFIX[int(rng.integers(len(FIRM_SUFFIX)))]}"


def person(rng: np.random.Generator) -> str:
    return f"{FIRST[int(rng.integers(len(FIRST)))]} {SURNAMES[int(rng.integers(len(SURNAMES)))]}"


def clock(minutes_after_8pm: int) -> str:
    total = (20 * 60 + minutes_after_8pm) % (24 * 60)
    h, m = divmod(total, 60)
    return f"{(h - 1) % 12 + 1}:{m:02d} {'PM' if h >= 12 else 'AM'}"


def debt_cases(rng: np.random.Generator) -> list[dict]:
    rows = []
    for i in range(N_CASES):
        original = round(float(rng.uniform(20000, 50000)), 2)
        rows.append({
            "case_id": f"debt-{i + 1:03d}",
            "creditor_name": firm(rng),
            "debtor_name": firm(rng),
            "credit_type": CREDIT_TYPES[int(rng.integers(len(CREDIT_TYPES)))],
            "original_amount_usd": original,
            "outstanding_balance_usd": round(original * float(rng.uniform(0.3, 0.8)), 2),
            "creditor_target_days": int(rng.integers(5, 21)),
            "debtor_target_days": int(rng.integers(30, 181)),
            "days_overdue": int(rng.integers(30, 361)),
            "reason_for_overdue": DEBT_REASONS[int(rng.integers(len(DEBT_REASONS)))],
        })
    return rows


def surgery_cases(rng: np.random.Generator) -> list[dict]:
    rows = []
    for i in range(N_CASES):
        urgency = ["high", "medium", "low"][int(rng.integers(3))]
        waitlist = int(rng.integers(20, 181))
        reduction = int(rng.integers(5, max(6, waitlist // 2)))
        provider = {"high": waitlist - reduction, "medium": waitlist, "low": waitlist + 30}[urgency]
        rows.append({
            "case_id": f"surgery-{i + 1:03d}",
            "patient_name": person(rng),
            "procedure": PROCEDURES[int(rng.integers(len(PROCEDURES)))],
            "urgency": urgency,
            "waitlist_days": waitlist,
            "reduction_days": reduction,
            "provider_target_days": provider,
            "patient_target_days": max(1, waitlist - reduction),
        })
    return rows


def disaster_cases(rng: np.random.Generator) -> list[dict]:
    rows = []
    for i in range(N_CASES):
        kind, condition, needs = DISASTERS[int(rng.integers(len(DISASTERS)))]
        endurance = int(rng.integers(3, 37)) * 5
        eta = endurance + int(rng.integers(2, 25)) * 5  # help arrives after the survivor expects to give up
        rows.append({
            "case_id": f"disaster-{i + 1:03d}",
            "disaster_type": kind,
            "survivor_condition": condition,
            "estimated_endurance_minutes": endurance,
            "rescue_eta_minutes": eta,
            "critical_needs": needs,
        })
    return rows


def sleep_cases(rng: np.random.Generator) -> list[dict]:
    rows = []
    for i in range(N_CASES):
        background, situation = BACKGROUNDS[int(rng.integers(len(BACKGROUNDS)))]
        age = int(rng.integers(11, 19))
        requested = 30 + 15 * int(rng.integers(0, 11)) + 15 * max(0, age - 14)  # 8:30 PM .. about 11:45 PM
        wanted = requested + 15 * int(rng.integers(6, 17))                    # 1.5 to 4 hours later
        rows.append({
            "case_id": f"sleep-{i + 1:03d}",
            "student_age": age,
            "student_background": background,
            "situation": situation,
            "robot_requested_bedtime": clock(requested),
            "student_wanted_bedtime": clock(wanted),
            "robot_target_minutes": requested,
            "student_target_minutes": wanted,
        })
    return rows


GENERATORS = {
    "emomas_debt.csv": (debt_cases, 20260101),
    "emomas_surgery.csv": (surgery_cases, 20260102),
    "emomas_disaster.csv": (disaster_cases, 20260103),
    "emomas_sleep.csv": (sleep_cases, 20260104),
}


def write(name: str, rows: list[dict], folder: Path = HERE) -> Path:
    out = folder / name
    with out.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return out


def main(folder: Path = HERE) -> list[Path]:
    return [write(name, fn(np.random.default_rng(seed)), folder) for name, (fn, seed) in GENERATORS.items()]


if __name__ == "__main__":
    for path in main():
        print(path)
