"""Case banks: draw each run's case from a CSV or JSONL file and set what a case varies.

`load_cases` reads and checks the file once (a CSV row with the wrong number of
fields is an error naming the file and line, never shifted columns);
`apply_case` returns the scenario mapping with one case's values written where
the bank's `columns` and `set` say, the bank itself removed and
``facts.case_id`` set, so the resolved scenario (and therefore the run id)
names the case but not the file's location. `evaluate` is the small expression
language of `set` (numbers, column names, + - * / // % **, comparisons,
``a if c else b``, min / max / abs / round / int / float); it walks the syntax
tree and runs no other code. `CaseError` is a value a case cannot take; the
study expansion turns it into a failure of that case's run alone (the spec keeps
the message in ``case_bank.error``, read back with `case_error`).
"""
from __future__ import annotations

import ast
import copy
import csv
import json
import math
import operator
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import ValidationError

from simlab.errors import ConfigError


class CaseError(ConfigError):
    """One case of a bank cannot be applied (a bad value, an unknown column): only its run fails."""


def case_error(scenario: dict[str, Any]) -> str | None:
    """Why this run's case could not be applied (set by the study expansion), or None."""
    bank = scenario.get("case_bank")
    return bank.get("error") if isinstance(bank, dict) else None


def _number(value: Any) -> Any:
    if isinstance(value, str):
        try:
            f = float(value)
        except ValueError:
            return value
        return int(f) if f.is_integer() and "." not in value and "e" not in value.lower() else f
    return value


def _read_csv(p: Path) -> tuple[tuple[dict[str, Any], int], ...]:
    with p.open(newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        try:
            header = next(reader)
        except StopIteration:
            raise ConfigError(f"case bank {p} is empty; the first line names the columns") from None
        header = [h.strip() for h in header]
        if len(set(header)) != len(header) or any(not h for h in header):
            raise ConfigError(f"case bank {p} line 1: column names must be distinct and non-empty ({', '.join(header)})")
        rows = []
        for fields in reader:
            line = reader.line_num
            if not fields or all(not f.strip() for f in fields):
                continue
            if len(fields) != len(header):
                raise ConfigError(
                    f"case bank {p} line {line}: {len(fields)} fields, but the header names {len(header)} columns "
                    "(quote fields that contain commas)"
                )
            rows.append(({k: _number(v) for k, v in zip(header, fields)}, line))
    return tuple(rows)


@lru_cache(maxsize=32)
def _load(path: str) -> tuple[tuple[dict[str, Any], int], ...]:
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"case bank {p} not found; check case_bank.path (relative to the scenario file)")
    if p.suffix == ".csv":
        rows = _read_csv(p)
    elif p.suffix in (".jsonl", ".ndjson"):
        out = []
        for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1):
            if line.strip():
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise ConfigError(f"case bank {p} line {i}: not JSON ({exc.msg}); one object per line") from None
                if not isinstance(row, dict):
                    raise ConfigError(f"case bank {p} line {i}: a JSON object per line, not {type(row).__name__}")
                out.append((row, i))
        rows = tuple(out)
    else:
        raise ConfigError(f"case bank {p}: use a .csv or .jsonl file")
    if not rows:
        raise ConfigError(f"case bank {p} has no rows")
    return rows


def load_cases(path: str) -> tuple[dict[str, Any], ...]:
    """Rows of a .csv or .jsonl case bank (numbers parsed)."""
    return tuple(row for row, _ in _load(path))


# ---- expressions -----------------------------------------------------------------

_BIN = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: operator.pow,
}
_CMP = {
    ast.Lt: operator.lt, ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge,
    ast.Eq: operator.eq, ast.NotEq: operator.ne,
}
_FUNCS = {"min": min, "max": max, "abs": abs, "round": round, "int": int, "float": float}


def evaluate(expr: str | int | float, env: dict[str, Any]) -> float:
    """The value of `expr` over the names in `env`; ValueError saying what is wrong.

    A number is returned as is. Only arithmetic, comparisons, ``a if c else b``
    and the functions min, max, abs, round, int, float are allowed; names must be
    numeric columns of `env`.
    """
    if isinstance(expr, bool):
        raise ValueError("a boolean is not a number")
    if isinstance(expr, (int, float)):
        return float(expr)

    def ev(node: ast.AST) -> Any:
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
            return node.value
        if isinstance(node, ast.Name):
            if node.id not in env:
                raise ValueError(f"unknown column '{node.id}' (columns: {', '.join(env)})")
            value = env[node.id]
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"column '{node.id}' is not a number (got {value!r})")
            return value
        if isinstance(node, ast.BinOp) and type(node.op) in _BIN:
            left, right = ev(node.left), ev(node.right)
            if isinstance(node.op, ast.Pow) and abs(right) > 64:
                raise ValueError("exponent too large")
            return _BIN[type(node.op)](left, right)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            v = ev(node.operand)
            return -v if isinstance(node.op, ast.USub) else v
        if isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in _CMP:
            return _CMP[type(node.ops[0])](ev(node.left), ev(node.comparators[0]))
        if isinstance(node, ast.IfExp):
            return ev(node.body) if ev(node.test) else ev(node.orelse)
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _FUNCS
                and not node.keywords):
            return _FUNCS[node.func.id](*[ev(a) for a in node.args])
        raise ValueError(
            f"'{ast.unparse(node)}' is not allowed (use numbers, column names, arithmetic, comparisons, "
            f"'a if c else b' and {', '.join(_FUNCS)})"
        )

    try:
        tree = ast.parse(str(expr), mode="eval")
    except SyntaxError:
        raise ValueError(f"'{expr}' is not an expression") from None
    try:
        value = ev(tree)
    except ZeroDivisionError:
        raise ValueError("division by zero") from None
    except TypeError as exc:  # e.g. min() of nothing
        raise ValueError(str(exc)) from None
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"not a finite number ({value})")
    return value


# ---- targets -----------------------------------------------------------------

_ROLE_SCALARS = ("reservation", "discount")
_ROLE_MAPS = ("weights", "target", "reservation_at")
_TARGET_HELP = (
    "use a fact name, facts.NAME, deadline, issues.ISSUE.range[.low|.high], utilities.ROLE.reservation, "
    "utilities.ROLE.discount, utilities.ROLE.weights.ISSUE, utilities.ROLE.ranges.ISSUE[.low|.high], "
    "utilities.ROLE.target.ISSUE or utilities.ROLE.reservation_at.ISSUE"
)


def _issue(scenario: dict[str, Any], name: str) -> dict[str, Any]:
    for issue in scenario.get("issues", []):
        if issue.get("name") == name:
            return issue
    raise ValueError(f"unknown issue '{name}' (issues: {', '.join(i.get('name', '?') for i in scenario.get('issues', []))})")


def _set_range(current: Any, part: str | None, value: Any) -> list[float]:
    if part is None:
        if not (isinstance(value, (list, tuple)) and len(value) == 2):
            raise ValueError("a range takes two values [low, high]")
        return [float(value[0]), float(value[1])]
    if isinstance(value, (list, tuple)):
        raise ValueError(f"'.{part}' takes one value")
    lo, hi = (list(current) if current is not None else [None, None])
    return [float(value), hi] if part == "low" else [lo, float(value)]


def set_target(scenario: dict[str, Any], target: str, value: Any) -> None:
    """Write `value` at the dotted `target` of the scenario mapping (ValueError when it is not a target)."""
    parts = target.split(".")
    if parts == ["deadline"]:
        if float(value) != int(float(value)):
            raise ValueError(f"deadline must be a whole number (got {value})")
        scenario["deadline"] = int(float(value))
    elif len(parts) == 1 or (len(parts) == 2 and parts[0] == "facts"):
        scenario.setdefault("facts", {})[parts[-1]] = value
    elif parts[0] == "issues" and len(parts) in (3, 4) and parts[2] == "range" and (len(parts) == 3 or parts[3] in ("low", "high")):
        issue = _issue(scenario, parts[1])
        issue["range"] = _set_range(issue.get("range"), parts[3] if len(parts) == 4 else None, value)
    elif parts[0] == "utilities" and len(parts) >= 3:
        role = parts[1]
        if role not in scenario.get("utilities", {}):
            raise ValueError(f"unknown role '{role}' (roles: {', '.join(scenario.get('utilities', {}))})")
        u = scenario["utilities"][role]
        if len(parts) == 3 and parts[2] in _ROLE_SCALARS:
            u[parts[2]] = float(value)
        elif len(parts) == 4 and parts[2] in _ROLE_MAPS:
            _issue(scenario, parts[3])
            u.setdefault(parts[2], {})
            u[parts[2]] = {**(u[parts[2]] or {}), parts[3]: float(value)}
        elif parts[2] == "ranges" and len(parts) in (4, 5) and (len(parts) == 4 or parts[4] in ("low", "high")):
            issue = _issue(scenario, parts[3])
            ranges = dict(u.get("ranges") or {})
            current = ranges.get(parts[3], issue.get("range"))
            ranges[parts[3]] = _set_range(current, parts[4] if len(parts) == 5 else None, value)
            u["ranges"] = ranges
        else:
            raise ValueError(f"target '{target}' not supported ({_TARGET_HELP})")
    else:
        raise ValueError(f"target '{target}' not supported ({_TARGET_HELP})")


def _loc_to_target(loc: tuple[Any, ...], scenario: dict[str, Any]) -> str:
    """A pydantic error location as a dotted target path (issues by name)."""
    parts = [str(p) for p in loc]
    if len(parts) >= 2 and parts[0] == "issues" and parts[1].isdigit():
        idx = int(parts[1])
        issues = scenario.get("issues", [])
        if idx < len(issues):
            parts[1] = str(issues[idx].get("name"))
    return ".".join(parts)


def _is_range_target(target: str) -> bool:
    parts = target.split(".")
    return (parts[0] == "issues" and parts[-1] == "range") or (
        parts[0] == "utilities" and len(parts) == 4 and parts[2] == "ranges")


def _names(expr: Any, where: str) -> set[str]:
    if not isinstance(expr, str):
        return set()
    try:
        tree = ast.parse(expr, mode="eval")
    except SyntaxError:
        raise ConfigError(f"{where}: '{expr}' is not an expression") from None
    called = {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} - (called & set(_FUNCS))


def check_bank(scenario: dict[str, Any], rows: tuple[tuple[dict[str, Any], int], ...]) -> None:
    """What is wrong for every case alike (a missing column, an unknown target): ConfigError for the study."""
    bank = scenario["case_bank"]
    path = bank["path"]
    header: dict[str, None] = {}
    for row, _ in rows:
        header.update(dict.fromkeys(row))
    probe = copy.deepcopy(scenario)

    def target_ok(target: str, what: str, is_pair: bool) -> None:
        if _is_range_target(target) != is_pair and not target.endswith((".low", ".high")):
            shape = "two values [low, high]" if _is_range_target(target) else "one value"
            raise ConfigError(f"case bank {path}: {what} -> {target}: the target takes {shape}")
        try:
            set_target(probe, target, [0.0, 1.0] if is_pair else 1.0)
        except ValueError as exc:
            raise ConfigError(f"case bank {path}: {what}: {exc}") from None

    for column, target in (bank.get("columns") or {}).items():
        if column not in header:
            raise ConfigError(f"case bank {path}: no column '{column}' (columns: {', '.join(header)})")
        if not (len(target.split(".")) == 1 or target.startswith("facts.")):
            target_ok(target, f"column '{column}'", False)
    for target, expr in (bank.get("set") or {}).items():
        exprs = expr if isinstance(expr, list) else [expr]
        for e in exprs:
            unknown = _names(e, f"case bank {path}: set.{target}") - set(header)
            if unknown:
                raise ConfigError(
                    f"case bank {path}: set.{target} = {e!r}: unknown column(s) {', '.join(sorted(unknown))} "
                    f"(columns: {', '.join(header)})"
                )
        target_ok(target, f"set.{target}", isinstance(expr, list))


def _row_index(rows: tuple[Any, ...], bank: dict[str, Any], seed: int, replicate: int) -> int:
    if bank.get("sample", "seed") == "seed":
        return seed % len(rows)
    return int(np.random.default_rng([seed, replicate, 0xCA5E]).integers(len(rows)))


def apply_case(scenario: dict[str, Any], seed: int, replicate: int) -> dict[str, Any]:
    """`scenario` (a mapping) with the case of this seed applied; unchanged without a bank.

    Raises:
        ConfigError: the bank's file cannot be read (every run would fail alike).
        CaseError: this case's values cannot be applied or make an invalid
            scenario; the message names the file, the row (line) and the column.
    """
    bank = scenario.get("case_bank")
    if not bank:
        return scenario
    path = bank["path"]
    rows = _load(path)
    index = _row_index(rows, bank, seed, replicate)
    check_bank(scenario, rows)
    row, line = rows[index]
    case_id = row.get(bank.get("id_column") or "", index)
    where = f"case bank {path} row {index + 1} (line {line}, case {case_id})"
    out = copy.deepcopy(scenario)
    out.pop("case_bank")
    origin: dict[str, str] = {}  # target -> what set it, for error messages
    for column, target in (bank.get("columns") or {}).items():
        if column not in row:
            raise CaseError(f"{where}: no column '{column}' (columns: {', '.join(row)})")
        try:
            set_target(out, target, row[column])
        except (ValueError, TypeError) as exc:
            raise CaseError(f"{where}, column '{column}' -> {target}: {exc} (value {row[column]!r})") from None
        origin[target] = f"column '{column}' = {row[column]!r}"
    for target, expr in (bank.get("set") or {}).items():
        try:
            value: Any = [evaluate(e, row) for e in expr] if isinstance(expr, list) else evaluate(expr, row)
            set_target(out, target, value)
        except (ValueError, TypeError) as exc:
            raise CaseError(f"{where}, set.{target} = {expr!r}: {exc}") from None
        origin[target] = f"set.{target} = {expr!r} -> {value!r}"
    out.setdefault("facts", {})["case_id"] = case_id
    _check(out, where, origin)
    return out


def _check(scenario: dict[str, Any], where: str, origin: dict[str, str]) -> None:
    """Validate the case's scenario; an invalid value names the column (or expression) that set it."""
    from simlab.config.models import Scenario

    if scenario.get("protocol", "alternating_offers") != "alternating_offers":
        return
    try:
        Scenario.model_validate(scenario)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        path = _loc_to_target(tuple(err.get("loc", ())), scenario)
        msg = str(err.get("msg", "invalid value")).removeprefix("Value error, ")
        culprits = []
        for tgt, src in origin.items():
            base = tgt.removesuffix(".low").removesuffix(".high")
            if (path and (path == base or path.startswith(base + "."))) or base in msg:
                culprits.append(src)
        culprit = " and ".join(culprits)
        field = f"{path}: " if path else ""
        raise CaseError(f"{where}, {culprit or 'the case'}: {field}{msg}") from None
