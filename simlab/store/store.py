"""`RunStore`: the one writer of a DuckDB run store, and its read helpers.

DuckDB lets one process write a file and locks other processes out while it is
open, so the writer opens the file for each batch, commits it in one
transaction and closes it again; the dashboard (or `simlab show`) can read in
between. A run is written with its turns and LLM calls in the same transaction,
so a crash never leaves a partial run.
"""
from __future__ import annotations

import json
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

import duckdb

from simlab.errors import StoreError
from simlab.store.schema import SCHEMA_VERSION, TABLE_ORDER, TABLES

DEFAULT_STORE = Path("runs/simlab.duckdb")


@dataclass
class RunRecord:
    """Everything one finished run writes: its `runs` row, turns and LLM calls."""

    run: dict[str, Any]
    turns: list[dict[str, Any]] = field(default_factory=list)
    llm_calls: list[dict[str, Any]] = field(default_factory=list)


def _columns(table: str) -> list[str]:
    body = TABLES[table]
    cols = []
    for line in body.splitlines():
        line = line.strip().rstrip(",")
        if not line or line.startswith(("CREATE", "PRIMARY", ")")):
            continue
        cols.append(line.split()[0])
    return cols


COLUMNS = {t: _columns(t) for t in TABLE_ORDER}


def _utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


class RunStore:
    """A DuckDB file holding studies, runs, turns and LLM calls.

    Args:
        path: the file (created with its folder on first write).
        read_only: open for reading only; never creates or migrates.
    """

    def __init__(self, path: str | Path = DEFAULT_STORE, read_only: bool = False) -> None:
        self.path = Path(path)
        self.read_only = read_only
        if read_only:
            if not self.path.is_file():
                raise StoreError(f"store {self.path} does not exist; run a study first or pass --store PATH")
            with self.connect() as con:
                self._check_schema(con)
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.connect() as con:
                self._create(con)

    @contextmanager
    def connect(self, retries: int = 50, wait_s: float = 0.1) -> Iterator[duckdb.DuckDBPyConnection]:
        """Open the file (retrying while another process holds it), yield, close."""
        last: Exception | None = None
        for _ in range(retries):
            try:
                con = duckdb.connect(str(self.path), read_only=self.read_only)
                break
            except duckdb.IOException as exc:  # locked by another process, or not a database
                if "not a valid DuckDB database" in str(exc) or "database file" in str(exc) and "lock" not in str(exc).lower():
                    raise StoreError(f"store {self.path} cannot be opened: it is not a DuckDB file; pass the right --store") from None
                last = exc
                time.sleep(wait_s)
            except duckdb.Error as exc:
                raise StoreError(f"store {self.path} cannot be opened ({exc}); is it a DuckDB file?") from None
        else:
            raise StoreError(f"store {self.path} is locked by another process ({last}); wait for it or use another --store")
        try:
            yield con
        finally:
            con.close()

    def _create(self, con: duckdb.DuckDBPyConnection) -> None:
        existing = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
        if "meta" in existing:
            self._check_schema(con)
        for name in TABLE_ORDER:
            con.execute(TABLES[name])
        con.execute(
            "INSERT INTO meta VALUES ('schema_version', ?) ON CONFLICT (key) DO NOTHING", [str(SCHEMA_VERSION)]
        )

    def _check_schema(self, con: duckdb.DuckDBPyConnection) -> None:
        try:
            row = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        except duckdb.Error:
            raise StoreError(f"store {self.path} is not a simlab run store (no meta table); pass the right --store") from None
        version = int(row[0]) if row else 0
        if version != SCHEMA_VERSION:
            raise StoreError(
                f"store {self.path} has schema version {version}, this simlab reads {SCHEMA_VERSION}; "
                "export it with the simlab that wrote it or start a new store"
            )

    # ---- writing -------------------------------------------------------
    def upsert_study(self, study_id: str, description: str, config: dict[str, Any], config_path: str, n_planned: int) -> None:
        now = _utcnow()
        with self.connect() as con:
            con.execute(
                """INSERT INTO studies VALUES (?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT (study_id) DO UPDATE SET description = excluded.description,
                   config_json = excluded.config_json, config_path = excluded.config_path,
                   n_runs_planned = excluded.n_runs_planned, updated_at = excluded.updated_at""",
                [study_id, description, json.dumps(config, sort_keys=True), config_path, n_planned, now, now],
            )

    def write_runs(self, records: list[RunRecord]) -> None:
        """Write finished runs atomically (all of them or none)."""
        if not records:
            return
        with self.connect() as con:
            con.execute("BEGIN TRANSACTION")
            try:
                ids = [r.run["run_id"] for r in records]
                for table in ("llm_calls", "turns", "runs"):  # a retried failed run replaces its old rows
                    con.execute(f"DELETE FROM {table} WHERE run_id IN (SELECT unnest(?::VARCHAR[]))", [ids])
                for table, rows in (
                    ("runs", [r.run for r in records]),
                    ("turns", [t for r in records for t in r.turns]),
                    ("llm_calls", [c for r in records for c in r.llm_calls]),
                ):
                    if not rows:
                        continue
                    cols = COLUMNS[table]
                    placeholders = ", ".join("?" for _ in cols)
                    con.executemany(
                        f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({placeholders})",
                        [[row.get(c) for c in cols] for row in rows],
                    )
                con.execute("COMMIT")
            except Exception:
                con.execute("ROLLBACK")
                raise

    # ---- reading -------------------------------------------------------
    def done_run_ids(self, study_id: str | None = None) -> set[str]:
        with self.connect() as con:
            if study_id is None:
                rows = con.execute("SELECT run_id FROM runs WHERE status = 'done'").fetchall()
            else:
                rows = con.execute("SELECT run_id FROM runs WHERE status = 'done' AND study_id = ?", [study_id]).fetchall()
        return {r[0] for r in rows}

    def query(self, sql: str, params: list[Any] | None = None):
        """Run a read query and return a pandas DataFrame."""
        with self.connect() as con:
            return con.execute(sql, params or []).df()
