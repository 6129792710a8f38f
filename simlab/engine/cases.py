"""Case banks: draw each run's case facts from a CSV or JSONL file.

`load_cases` reads and checks the file once; `apply_case` returns the scenario
mapping with one case's values written where the bank's `columns` say, the
bank itself removed and ``facts.case_id`` set, so the resolved scenario (and
therefore the run id) names the case but not the file's location.
"""
from __future__ import annotations

import copy
import csv
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from simlab.errors import ConfigError


def _number(value: Any) -> Any:
    if isinstance(value, str):
        try:
            f = float(value)
        except ValueError:
            return value
        return int(f) if f.is_integer() and "." not in value else f
    return value


@lru_cache(maxsize=32)
def load_cases(path: str) -> tuple[dict[str, Any], ...]:
    """Rows of a .csv or .jsonl case bank (numbers parsed)."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"case bank {p} not found; check case_bank.path (relative to the scenario file)")
    if p.suffix == ".csv":
        with p.open(newline="", encoding="utf-8") as fh:
            rows = [{k: _number(v) for k, v in row.items()} for row in csv.DictReader(fh)]
    elif p.suffix in (".jsonl", ".ndjson"):
        rows = []
        for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise ConfigError(f"case bank {p} line {i}: not JSON ({exc.msg}); one object per line") from None
    else:
        raise ConfigError(f"case bank {p}: use a .csv or .jsonl file")
    if not rows:
        raise ConfigError(f"case bank {p} has no rows")
    return tuple(rows)


def apply_case(scenario: dict[str, Any], seed: int, replicate: int) -> dict[str, Any]:
    """`scenario` (a mapping) with the case of this seed applied; unchanged without a bank."""
    bank = scenario.get("case_bank")
    if not bank:
        return scenario
    rows = load_cases(bank["path"])
    if bank.get("sample", "seed") == "seed":
        index = seed % len(rows)
    else:
        index = int(np.random.default_rng([seed, replicate, 0xCA5E]).integers(len(rows)))
    row = rows[index]
    out = copy.deepcopy(scenario)
    out.pop("case_bank")
    for column, target in bank["columns"].items():
        if column not in row:
            raise ConfigError(f"case bank {bank['path']}: no column '{column}' (columns: {', '.join(row)})")
        value = row[column]
        parts = target.split(".")
        if parts == ["deadline"]:
            out["deadline"] = int(value)
        elif len(parts) == 1 or (len(parts) == 2 and parts[0] == "facts"):
            out.setdefault("facts", {})[parts[-1]] = value
        elif len(parts) == 3 and parts[0] == "utilities" and parts[2] in ("reservation", "discount"):
            if parts[1] not in out.get("utilities", {}):
                raise ConfigError(f"case bank column '{column}': unknown role '{parts[1]}' in target '{target}'")
            out["utilities"][parts[1]][parts[2]] = float(value)
        else:
            raise ConfigError(
                f"case bank column '{column}': target '{target}' not supported "
                "(use a fact name, facts.NAME, deadline, utilities.ROLE.reservation or utilities.ROLE.discount)"
            )
    out.setdefault("facts", {})["case_id"] = row.get(bank.get("id_column") or "", index)
    return out
