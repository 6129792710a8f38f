"""Test helpers: store files with each kind of damage, and what simlab must say about each."""
from __future__ import annotations

import hashlib
import os
import sqlite3
from pathlib import Path

import duckdb

from simlab.store.schema import SCHEMA_VERSION
from simlab.store.store import RunRecord, RunStore


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def make_damaged(kind: str, tmp: Path) -> Path:
    """A store path of the given damage (shared with the CLI test)."""
    path = tmp / f"{kind}.duckdb"
    if kind == "text":
        path.write_text("hello, I am not a database\n")
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "sqlite":
        con = sqlite3.connect(path)
        con.execute("CREATE TABLE runs (run_id TEXT)")
        con.commit()
        con.close()
    elif kind in ("foreign", "foreign_runs"):
        con = duckdb.connect(str(path))
        con.execute("CREATE TABLE runs (x INTEGER)" if kind == "foreign_runs" else "CREATE TABLE sales (id INTEGER, v DOUBLE)")
        con.execute("INSERT INTO " + ("runs" if kind == "foreign_runs" else "sales") + " SELECT range" +
                    (", range * 0.5" if kind == "foreign" else "") + " FROM range(1000)")
        con.close()
    elif kind in ("truncated", "newer", "bad_version", "no_turns"):
        RunStore(path).write_runs([RunRecord(run={"run_id": "r1", "study_id": "s", "status": "done"})])
        if kind == "truncated":
            data = path.read_bytes()
            path.write_bytes(data[: len(data) // 2 + 1000])
        else:
            con = duckdb.connect(str(path))
            if kind == "newer":
                con.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", [str(SCHEMA_VERSION + 1)])
            elif kind == "bad_version":
                con.execute("UPDATE meta SET value = 'banana' WHERE key = 'schema_version'")
            else:
                con.execute("DROP TABLE turns")
            con.close()
    elif kind == "directory":
        path.mkdir()
    elif kind == "unreadable":
        RunStore(path)
        path.chmod(0)
    else:
        raise ValueError(kind)
    return path


DAMAGE = {
    "text": "is not a DuckDB file",
    "empty": "is an empty file",
    "sqlite": "is a SQLite database",
    "foreign": "not a simlab run store",
    "foreign_runs": "not a simlab run store",
    "truncated": "truncated or damaged",
    "newer": f"newer than this simlab's {SCHEMA_VERSION}",
    "bad_version": "is damaged (schema_version 'banana'",
    "no_turns": "table 'turns' is missing",
    "directory": "is a folder",
    "unreadable": "permission denied",
}


def damage_kinds() -> list[str]:
    kinds = list(DAMAGE)
    if os.geteuid() == 0:  # root reads any file: nothing is unreadable
        kinds.remove("unreadable")
    return kinds
