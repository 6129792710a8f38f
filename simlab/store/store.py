"""`RunStore`: the one writer of a DuckDB run store, and its read helpers.

DuckDB lets one process write a file and locks other processes out while it is
open, so the writer opens the file for each batch, commits it in one
transaction and closes it again; the dashboard (or `simlab show`) can read in
between. A run is written with its turns and LLM calls in the same transaction,
so a crash never leaves a partial run.

The store is a shared file, and simlab treats it as one:

- **Patience.** A connection that finds the file held by another process waits
  for it, up to `store_patience()` seconds (``SIMLAB_STORE_PATIENCE``, default
  600), saying once on stderr which process it waits for; then it gives up with
  one line. A writer's buffered runs wait in memory meanwhile.
- **One writer.** `writer_lock` takes an exclusive lock file beside the store
  (``<store>.lock``, holding the pid, host and command) for the whole of a
  ``simlab run``; a second writer refuses at once, naming the first. The lock is
  an ``flock`` on that file, released by the kernel when its process ends, even
  by ``kill -9``: a lock file left behind is stale and is simply taken over.
- **Only simlab stores.** Before anything is written, an existing file is
  checked to be a DuckDB file (`inspect_file`: not a directory, readable, not
  empty, not SQLite, DuckDB's magic bytes, whole blocks) and then a simlab store
  (its ``meta`` table and schema version), through a read-only connection.
  Each kind of damage is its own one-line `StoreError`; a foreign or damaged
  file is never written. DuckDB's extension autoloading and autoinstalling are
  off on every connection (no network, no 90 s hang on a SQLite file).
- **Schema versions.** A writer upgrades an older simlab store in place
  (`simlab.store.migrate`'s versioned steps, then any missing table or column
  is added; nothing is dropped) and says so on stderr; a reader refuses an
  older store with one line saying how to upgrade it; a newer one is refused.
- **Storable rows.** `write_runs` replaces lone surrogates and NULs in text, and
  a run that the database still rejects is stored as a failed run naming the
  reason, so one bad run never loses its batch.
"""
from __future__ import annotations

import json
import logging
import math
import os
import re
import socket
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

import duckdb
import pyarrow as pa

from simlab.errors import ConfigError, StoreError
from simlab.store.migrate import upgrade, with_condition_columns
from simlab.store.schema import SCHEMA_VERSION, TABLE_ORDER, TABLES
from simlab.store.text import storable_text

DEFAULT_STORE = Path("runs/simlab.duckdb")
PATIENCE_ENV = "SIMLAB_STORE_PATIENCE"
DEFAULT_PATIENCE_S = 600.0
#: every connection: never load or download an extension (no network at run time)
DUCKDB_CONFIG = {"autoload_known_extensions": False, "autoinstall_known_extensions": False}

_HEADER_BYTES = 3 * 4096  # DuckDB's main header and two database headers
_BLOCK_BYTES = 16384  # DuckDB's smallest block size (the default is 256 KiB): a store is whole blocks of it
_SQLITE_MAGIC = b"SQLite format 3\x00"

log = logging.getLogger("simlab.store")


@dataclass
class RunRecord:
    """Everything one finished run writes: its `runs` row, turns and LLM calls."""

    run: dict[str, Any]
    turns: list[dict[str, Any]] = field(default_factory=list)
    llm_calls: list[dict[str, Any]] = field(default_factory=list)


def _parse_columns(table: str) -> list[tuple[str, str]]:
    body = TABLES[table]
    cols = []
    for line in body.splitlines():
        line = line.strip().rstrip(",")
        if not line or line.startswith(("CREATE", "PRIMARY", ")")):
            continue
        name, _, rest = line.partition(" ")
        cols.append((name, rest.strip()))
    return cols


COLUMN_TYPES = {t: _parse_columns(t) for t in TABLE_ORDER}
COLUMNS = {t: [c for c, _ in cols] for t, cols in COLUMN_TYPES.items()}


def _utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def store_patience() -> float:
    """Seconds a connection waits for another process to release the store (``SIMLAB_STORE_PATIENCE``)."""
    raw = os.environ.get(PATIENCE_ENV)
    if raw is None or raw.strip() == "":
        return DEFAULT_PATIENCE_S
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise ConfigError(f"{PATIENCE_ENV}={raw!r}: give the seconds to wait for a busy store, e.g. 600")
    return value


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:240]


def inspect_file(path: Path) -> None:
    """Raise a one-line `StoreError` naming what is wrong if the existing `path` is not a DuckDB file."""
    if path.is_dir():
        raise StoreError(f"store {path} is a folder, not a store file; pass a file path with --store")
    if not path.is_file():
        raise StoreError(f"store {path} is not a regular file; pass a store file with --store")
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            head = fh.read(16)
    except PermissionError:
        raise StoreError(f"store {path} cannot be read (permission denied); fix its permissions or pass another --store") from None
    except OSError as exc:
        raise StoreError(f"store {path} cannot be read ({_one_line(exc)}); pass another --store") from None
    if size == 0:
        raise StoreError(f"store {path} is an empty file, not a simlab store; delete it or pass another --store")
    if head.startswith(_SQLITE_MAGIC):
        raise StoreError(f"store {path} is a SQLite database, not a simlab (DuckDB) store; pass the right --store")
    if head[8:12] != b"DUCK":
        raise StoreError(f"store {path} is not a DuckDB file (no DuckDB header); pass the right --store")
    if size < _HEADER_BYTES or (size - _HEADER_BYTES) % _BLOCK_BYTES:
        raise StoreError(
            f"store {path} is truncated or damaged ({size} bytes is not a whole number of DuckDB blocks); "
            "restore it from a copy or start a new store"
        )


_HOLDER = re.compile(r"Conflicting lock is held in (.*?) \(PID (\d+)\)")


def _is_lock_conflict(text: str) -> bool:
    low = text.lower()
    return "conflicting lock" in low or "could not set lock" in low or "resource temporarily unavailable" in low


def _holder(text: str) -> str:
    m = _HOLDER.search(text)
    return f"{m.group(1)} (PID {m.group(2)})" if m else "another process"


def open_connection(path: Path, read_only: bool, patience_s: float | None = None) -> duckdb.DuckDBPyConnection:
    """Connect to `path`, waiting up to `patience_s` (default `store_patience()`) while another process holds it.

    Raises:
        StoreError: the file is damaged or stays held longer than the patience.
    """
    patience = store_patience() if patience_s is None else patience_s
    if not read_only and path.exists() and not os.access(path, os.W_OK):
        raise StoreError(f"store {path} cannot be written (a read-only or immutable file); "
                         "fix its permissions or pass another --store")
    deadline = time.monotonic() + patience
    wait, announced = 0.02, False
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only, config=dict(DUCKDB_CONFIG))
        except duckdb.IOException as exc:
            text = str(exc)
            if not _is_lock_conflict(text):
                if "permission denied" in text.lower() or "operation not permitted" in text.lower():
                    raise StoreError(f"store {path} cannot be {'read' if read_only else 'written'} (permission denied); "
                                     "fix its permissions or pass another --store") from None
                raise StoreError(f"store {path} is damaged ({_one_line(exc)}); restore it from a copy or start a new store") from None
            holder = _holder(text)
            if time.monotonic() >= deadline:
                raise StoreError(
                    f"store {path} is still held by {holder} after {patience:g} s; wait for it to finish, "
                    f"raise {PATIENCE_ENV} (seconds) or use another --store"
                ) from None
            if not announced:
                announced = True
                print(f"simlab: store {path} is held by {holder}; waiting up to {patience:g} s ({PATIENCE_ENV})",
                      file=sys.stderr, flush=True)
            time.sleep(min(wait, max(0.0, deadline - time.monotonic())))
            wait = min(wait * 2, 0.5)
        except duckdb.Error as exc:
            raise StoreError(f"store {path} is damaged ({_one_line(exc)}); restore it from a copy or start a new store") from None


# ---- the writer lock ---------------------------------------------------------
def lock_path(path: Path) -> Path:
    """The lock file of the store at `path`."""
    return path.with_name(path.name + ".lock")


@contextmanager
def writer_lock(path: str | Path, command: str = "simlab") -> Iterator[Path]:
    """Hold the exclusive writer lock of the store at `path` for the block; refuse at once if it is taken.

    Raises:
        StoreError: another live process holds the lock (named in the message).
    """
    import fcntl

    path = Path(path)
    lp = lock_path(path)
    try:
        lp.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"store {path}: cannot create its folder ({_one_line(exc)}); pass another --store") from None
    while True:
        try:
            fd = os.open(lp, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise StoreError(f"store {path}: cannot create its lock file {lp} ({_one_line(exc)}); pass another --store") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            try:
                info = json.loads(os.read(fd, 4096).decode("utf-8", "replace") or "{}")
            except ValueError:
                info = {}
            os.close(fd)
            who = f"{info.get('command', 'another simlab')} (PID {info.get('pid', '?')} on {info.get('host', '?')}, since {info.get('since', '?')})"
            raise StoreError(f"store {path} is being written by {who}; wait for it to finish or use another --store") from None
        # the file may have been unlinked by its previous holder between our open and our lock
        try:
            same = os.stat(lp).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    try:
        os.ftruncate(fd, 0)
        info = {"pid": os.getpid(), "host": socket.gethostname(), "command": command[:200], "since": _utcnow().isoformat(timespec="seconds")}
        os.write(fd, json.dumps(info).encode())
        yield lp
    finally:
        try:
            os.unlink(lp)
        except FileNotFoundError:
            pass
        os.close(fd)


def _storable(value: Any) -> Any:
    if type(value) is str:
        return storable_text(value)[0]
    return value


class RunStore:
    """A DuckDB file holding studies, runs, turns and LLM calls.

    Args:
        path: the file (created with its folder on first write).
        read_only: open for reading only; never creates, never upgrades.
        patience_s: how long to wait for another process holding the file
            (default `store_patience()`).

    Raises:
        StoreError: the file is missing (read_only), not a simlab store, damaged,
            of a newer schema, or stays held by another process.
    """

    def __init__(self, path: str | Path = DEFAULT_STORE, read_only: bool = False, patience_s: float | None = None) -> None:
        self.path = Path(path)
        self.read_only = read_only
        self.patience_s = store_patience() if patience_s is None else patience_s
        exists = self.path.exists() or self.path.is_symlink()
        if read_only and not exists:
            raise StoreError(f"store {self.path} does not exist; run a study first or pass --store PATH")
        if exists:
            inspect_file(self.path)
            con = open_connection(self.path, read_only=True, patience_s=self.patience_s)
            try:
                state = self._check_schema(con)
            finally:
                con.close()
            if state == "incomplete" and read_only:
                raise StoreError(f"store {self.path} is damaged: column {self._missing[0]} is missing; a writing command "
                                 "(simlab run of one of its studies) adds it, or restore the store from a copy")
            if state == "empty" and read_only:
                raise StoreError(f"store {self.path} is an empty DuckDB database, not a simlab store; "
                                 "run a study into it first or pass the right --store")
            if state == "older" and read_only:
                raise StoreError(
                    f"store {self.path} has schema version {self._found_version}, older than this simlab's "
                    f"{SCHEMA_VERSION}; a writing command (simlab run of one of its studies) upgrades it in place"
                )
            if state != "current":
                self._upgrade(state)
        else:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(f"store {self.path}: cannot create its folder ({_one_line(exc)}); pass another --store") from None
            self._upgrade("new")

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """Open the file (waiting while another process holds it), yield, close."""
        con = open_connection(self.path, read_only=self.read_only, patience_s=self.patience_s)
        try:
            yield con
        finally:
            con.close()

    # ---- schema checks and upgrades -------------------------------------------
    def _check_schema(self, con: duckdb.DuckDBPyConnection) -> str:
        """'current', 'older' (an older version: upgrade), 'incomplete' (this version with columns missing),
        'empty' (a DuckDB file with no tables); else raise."""
        try:
            tables = {r[0] for r in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'").fetchall()}
        except duckdb.Error as exc:
            raise StoreError(f"store {self.path} is damaged ({_one_line(exc)}); restore it from a copy or start a new store") from None
        if not tables:
            return "empty"
        if "meta" not in tables:
            raise StoreError(f"store {self.path} is not a simlab run store (a DuckDB file without simlab's meta table); "
                             "pass the right --store")
        try:
            row = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        except duckdb.Error:
            raise StoreError(f"store {self.path} is not a simlab run store (its meta table is not simlab's); pass the right --store") from None
        if row is None:
            raise StoreError(f"store {self.path} is not a simlab run store (no schema_version in its meta table); pass the right --store")
        try:
            version = int(row[0])
        except (TypeError, ValueError):
            raise StoreError(f"store {self.path} is damaged (schema_version {row[0]!r} is not a number); restore it or start a new store") from None
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"store {self.path} has schema version {version}, newer than this simlab's {SCHEMA_VERSION}; "
                "upgrade simlab or use another --store"
            )
        self._found_version = version
        if version < 1:
            raise StoreError(f"store {self.path} has schema version {version}, which no simlab wrote; restore it or start a new store")
        missing_tables = [t for t in TABLE_ORDER if t not in tables]
        cols = self._existing_columns(con)
        missing_cols = [(t, c) for t in TABLE_ORDER if t in tables for c in COLUMNS[t] if c not in cols.get(t, set())]
        if version == SCHEMA_VERSION and missing_tables:
            raise StoreError(f"store {self.path} is damaged: table '{missing_tables[0]}' is missing; "
                             "restore it from a copy or start a new store")
        if version == SCHEMA_VERSION and not missing_cols:
            return "current"
        if version == SCHEMA_VERSION:
            self._missing = [f"{t}.{c}" for t, c in missing_cols]
            return "incomplete"
        return "older"

    @staticmethod
    def _existing_columns(con: duckdb.DuckDBPyConnection) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {}
        for table, column in con.execute(
            "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'main'"
        ).fetchall():
            out.setdefault(table, set()).add(column)
        return out

    def _upgrade(self, state: str) -> None:
        """Create the tables (a new or empty file) or add what an older store lacks, in one transaction."""
        if state in ("older", "incomplete") and not os.access(self.path, os.W_OK):
            raise StoreError(f"store {self.path} has an older schema and is read-only here; "
                             "copy it somewhere writable so simlab can upgrade it")
        con = open_connection(self.path, read_only=False, patience_s=self.patience_s)
        try:
            if state != "new":  # re-check under the write connection: the file may have changed
                state = self._check_schema(con)
                if state == "current":
                    return
            if state == "older":  # the versioned steps first (they also fill what they add), in their own transaction
                upgrade(con, SCHEMA_VERSION, str(self.path))
            con.execute("BEGIN TRANSACTION")
            try:
                cols = self._existing_columns(con)
                added = []
                for name in TABLE_ORDER:
                    if name not in cols:
                        con.execute(TABLES[name])
                        continue
                    for col, typ in COLUMN_TYPES[name]:
                        if col not in cols[name]:
                            con.execute(f'ALTER TABLE {name} ADD COLUMN "{col}" {typ}')
                            added.append(f"{name}.{col}")
                con.execute("INSERT INTO meta VALUES ('schema_version', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                            [str(SCHEMA_VERSION)])
                con.execute("COMMIT")
            except duckdb.Error as exc:
                con.execute("ROLLBACK")
                raise StoreError(f"store {self.path} cannot be upgraded ({_one_line(exc)}); restore it or start a new store") from None
            if state in ("older", "incomplete"):
                print(f"simlab: upgraded store {self.path} to schema version {SCHEMA_VERSION}"
                      + (f" (added {', '.join(added[:6])}{' ...' if len(added) > 6 else ''})" if added else ""),
                      file=sys.stderr, flush=True)
        finally:
            con.close()

    # ---- writing -------------------------------------------------------
    def upsert_study(self, study_id: str, description: str, config: dict[str, Any], config_path: str, n_planned: int) -> None:
        now = _utcnow()
        row = [_storable(v) for v in (study_id, description, json.dumps(config, sort_keys=True, default=str), config_path)]
        with self.connect() as con:
            con.execute(
                """INSERT INTO studies VALUES (?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT (study_id) DO UPDATE SET description = excluded.description,
                   config_json = excluded.config_json, config_path = excluded.config_path,
                   n_runs_planned = excluded.n_runs_planned, updated_at = excluded.updated_at""",
                [*row, n_planned, now, now],
            )

    @staticmethod
    def _insert(con: duckdb.DuckDBPyConnection, records: list[RunRecord]) -> None:
        ids = [r.run["run_id"] for r in records]
        for table in ("llm_calls", "turns", "runs"):  # a retried failed run replaces its old rows
            con.execute(f"DELETE FROM {table} WHERE run_id IN (SELECT unnest(?::VARCHAR[]))", [ids])
        for table, rows in (
            ("runs", [with_condition_columns(r.run) for r in records]),
            ("turns", [t for r in records for t in r.turns]),
            ("llm_calls", [c for r in records for c in r.llm_calls]),
        ):
            if not rows:
                continue
            cols = COLUMNS[table]
            # one columnar insert (an Arrow table) instead of a statement per row: ~100x faster
            # (registered views are dropped by `_write` once the transaction has ended)
            data = pa.table({c: pa.array([_storable(row.get(c)) for row in rows]) for c in cols})
            view = f"_simlab_rows_{table}"
            con.register(view, data)
            names = ", ".join(f'"{c}"' for c in cols)
            con.execute(f"INSERT INTO {table} ({names}) SELECT {names} FROM {view}")

    def _write(self, con: duckdb.DuckDBPyConnection, records: list[RunRecord]) -> Exception | None:
        """Insert `records` in one transaction; the database's (or the conversion's) error if it rejects them."""
        con.execute("BEGIN TRANSACTION")
        try:
            self._insert(con, records)
        except (duckdb.Error, OverflowError, TypeError, ValueError) as exc:  # pyarrow's errors are ValueError/TypeError
            con.execute("ROLLBACK")
            return exc
        else:
            con.execute("COMMIT")
        finally:
            for table in ("runs", "turns", "llm_calls"):
                con.unregister(f"_simlab_rows_{table}")
        return None

    def write_runs(self, records: list[RunRecord]) -> list[str]:
        """Write finished runs, each atomically (a run with all its turns and calls, or not at all).

        The batch is one transaction. If the database rejects it, each run is
        written on its own and a run it still rejects is stored as a failed run
        (``status = 'failed'``, the database's reason in ``error``, no turns), so
        one unstorable run never loses the others. Returns the ids of the runs
        stored as failed that way.

        Raises:
            StoreError: not even the failed row of a run can be stored.
        """
        if not records:
            return []
        rejected: list[str] = []
        with self.connect() as con:
            if self._write(con, records) is None:
                return rejected
            for rec in records:
                exc = self._write(con, [rec])
                if exc is None:
                    continue
                run = rec.run
                failed = RunRecord(run={
                    "run_id": run.get("run_id"), "study_id": run.get("study_id"), "condition": run.get("condition"),
                    "status": "failed", "outcome": "error", "spec_json": run.get("spec_json"),
                    "error": f"the store rejected the run: {_one_line(exc)}", "finished_at": _utcnow(),
                })
                again = self._write(con, [failed])
                if again is not None:
                    raise StoreError(f"store {self.path}: run {run.get('run_id')} cannot be stored ({_one_line(again)})")
                rejected.append(str(run.get("run_id")))
        return rejected

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
