"""Upgrade an older run store in place: `upgrade`, and `with_condition_columns` for rows being written.

Version 1 -> 2 adds the condition columns of `runs` (`simlab.store.conditions`)
and fills them from each run's ``spec_json``, in one transaction: a crash
leaves the store at version 1, and the next writer upgrades it again. Only a
writer upgrades; read-only openers (the dashboard, ``simlab show``) report the
old version and say how to upgrade.
"""
from __future__ import annotations

import json
from typing import Any

import duckdb
import pandas as pd

from simlab.errors import StoreError
from simlab.store.conditions import CONDITION_COLUMNS, condition_columns


def _spec(spec_json: Any) -> dict[str, Any] | None:
    if isinstance(spec_json, dict):
        return spec_json
    if not isinstance(spec_json, str) or not spec_json:
        return None
    try:
        spec = json.loads(spec_json)
    except ValueError:
        return None
    return spec if isinstance(spec, dict) else None


def with_condition_columns(run: dict[str, Any]) -> dict[str, Any]:
    """`run` with the condition columns filled from its ``spec_json`` where the row does not set them."""
    if all(c in run for c in CONDITION_COLUMNS):
        return run
    derived = condition_columns(_spec(run.get("spec_json")))
    return {**derived, **run}


def _v1_to_v2(con: duckdb.DuckDBPyConnection) -> None:
    existing = {r[0] for r in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'runs'").fetchall()}
    for column in CONDITION_COLUMNS:
        if column not in existing:
            con.execute(f"ALTER TABLE runs ADD COLUMN {column} VARCHAR")
    rows = con.execute("SELECT run_id, spec_json FROM runs").fetchall()
    if not rows:
        return
    filled = pd.DataFrame(
        [{"run_id": run_id, **condition_columns(_spec(spec_json))} for run_id, spec_json in rows],
        columns=["run_id", *CONDITION_COLUMNS],
    ).astype("object")
    con.register("_condition_columns", filled)
    try:
        assignments = ", ".join(f"{c} = CAST(f.{c} AS VARCHAR)" for c in CONDITION_COLUMNS)
        con.execute(f"UPDATE runs SET {assignments} FROM _condition_columns f WHERE runs.run_id = f.run_id")
    finally:
        con.unregister("_condition_columns")


_STEPS = {1: _v1_to_v2}
"""version -> the function that upgrades a store of that version to the next."""


def upgrade(con: duckdb.DuckDBPyConnection, target: int, where: str) -> int:
    """Upgrade the store on `con` to schema version `target`, one step at a time; return the version found.

    A store already at `target` (or newer, or without a version) is left alone:
    the caller's schema check reports those.

    Raises:
        StoreError: a step failed (the store is unchanged).
    """
    row = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    try:
        found = int(row[0]) if row else 0
    except (TypeError, ValueError):
        return 0
    version = found
    if version not in _STEPS or version >= target:
        return found
    con.execute("BEGIN TRANSACTION")
    try:
        while version < target and version in _STEPS:
            _STEPS[version](con)
            version += 1
        con.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", [str(version)])
        con.execute("COMMIT")
    except duckdb.Error as exc:
        con.execute("ROLLBACK")
        raise StoreError(f"store {where}: upgrading schema version {found} to {target} failed ({exc}); "
                         "the store is unchanged") from None
    return found
