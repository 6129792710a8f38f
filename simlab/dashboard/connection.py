"""Read-only access to a run store: `read_connection`, `check_store` (`StoreStatus`), `store_fingerprint`.

A study may be running while the dashboard reads: the writer opens the file per
batch and closes it between batches, and DuckDB locks other processes out while
it is open. So every query opens a read-only connection, runs, and closes it
again, retrying while the file is locked; no connection is ever held. The file
is checked and opened by the store layer (`simlab.store.store.inspect_file`,
`open_connection`), so the dashboard has the store's safety settings and its
one-line errors.
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import duckdb

from simlab.errors import ConfigError, StoreError
from simlab.store.schema import SCHEMA_VERSION
from simlab.store.store import PATIENCE_ENV, inspect_file, open_connection, store_patience

LOCK_RETRY_S = 10.0
"""How long a query waits for a writer to release the file before giving up."""


# --------------------------------------------------------------------------- connection
def page_patience() -> float:
    """Seconds a page waits for a writer: ``SIMLAB_STORE_PATIENCE`` when it is set, else `LOCK_RETRY_S`.

    Raises:
        ConfigError: ``SIMLAB_STORE_PATIENCE`` is not a number of seconds.
    """
    return store_patience() if os.environ.get(PATIENCE_ENV, "").strip() else LOCK_RETRY_S


@contextmanager
def read_connection(path: str | Path, retry_s: float | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open `path` read-only through the store layer's opener (waiting while a writer holds it), yield, close.

    The file is checked by `simlab.store.store.inspect_file` and opened by
    `open_connection`, the same two steps every store command takes: extension
    autoloading and autoinstalling are off (a SQLite file is refused at once,
    not after a 90 s attempt to download DuckDB's sqlite extension), and a
    foreign or damaged file gets the store's own one-line message. Only the
    default patience differs: unless ``SIMLAB_STORE_PATIENCE`` is set, a page
    waits `LOCK_RETRY_S` (not the store's ten minutes), says so, and its
    watcher tries again a few seconds later.

    Raises:
        StoreError: the file is missing, not a DuckDB file, damaged, or stays
            held longer than `retry_s`.
    """
    path = Path(path)
    if not path.exists():
        raise StoreError(f"store {path} does not exist")
    inspect_file(path)
    con = open_connection(path, read_only=True, patience_s=page_patience() if retry_s is None else retry_s)
    try:
        yield con
    finally:
        con.close()


def _is_held(exc: StoreError) -> bool:
    """True for `open_connection`'s "still held by ... after N s" error (a writer has the file)."""
    return "is still held by" in str(exc)


# --------------------------------------------------------------------------- store status
@dataclass(frozen=True)
class StoreStatus:
    """What `check_store` found: `kind` is ok, empty, missing, not_duckdb, not_simlab, schema, locked or config."""

    kind: str
    message: str
    path: str
    schema_version: int | None = None
    n_studies: int = 0
    n_runs: int = 0
    n_turns: int = 0

    @property
    def ok(self) -> bool:
        """True when pages can query the store (it may still be empty)."""
        return self.kind in ("ok", "empty")


def check_store(path: str | Path, retry_s: float | None = None) -> StoreStatus:
    """Classify the store at `path` with a message a user can act on; never raises."""
    p = Path(path)
    where = str(p)
    if not p.exists():
        return StoreStatus(
            "missing",
            f"No run store at `{where}`. Run a study first (`simlab run experiments/<study>.yaml`) "
            "or start the dashboard with `simlab dashboard --store PATH`.",
            where,
        )
    if not p.is_file():
        return StoreStatus("missing", f"`{where}` is not a file; pass the DuckDB store with `--store PATH`.", where)
    try:
        with read_connection(p, retry_s=retry_s) as con:
            tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
            if "meta" not in tables:
                return StoreStatus(
                    "not_simlab",
                    f"`{where}` is a DuckDB file but not a simlab run store (it has no `meta` table). "
                    "Pass the right file with `--store PATH`.",
                    where,
                )
            row = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            try:
                version = int(row[0]) if row else 0
            except (TypeError, ValueError):
                version = 0
            if version != SCHEMA_VERSION:
                age = "an older" if version < SCHEMA_VERSION else "a newer"
                fix = (
                    "Any simlab command that writes to it upgrades it in place (resume its study with "
                    "`simlab run experiments/<study>.yaml --store PATH`), or run the study again into a new store."
                    if 0 < version < SCHEMA_VERSION else
                    "Open it with the simlab that wrote it, or run the study again into a new store "
                    "(`simlab run ... --store NEW_PATH`)."
                )
                return StoreStatus(
                    "schema",
                    f"`{where}` was written by {age} simlab (store schema version {version}); this dashboard "
                    f"reads schema version {SCHEMA_VERSION}. {fix}",
                    where,
                    schema_version=version,
                )
            missing = {"studies", "runs", "turns"} - tables
            if missing:
                return StoreStatus(
                    "not_simlab",
                    f"`{where}` lacks the tables {sorted(missing)}; it is not a complete simlab run store.",
                    where,
                    schema_version=version,
                )
            n_studies = con.execute("SELECT count(*) FROM studies").fetchone()[0]
            n_runs = con.execute("SELECT count(*) FROM runs").fetchone()[0]
    except StoreError as exc:
        # the store layer's own one-line message: what is wrong with the file and what to do
        return StoreStatus("locked" if _is_held(exc) else "not_duckdb", str(exc), where)
    except ConfigError as exc:  # a bad SIMLAB_STORE_PATIENCE
        return StoreStatus("config", str(exc), where)
    if n_studies == 0 and n_runs == 0:
        return StoreStatus(
            "empty",
            f"The store `{where}` is empty: no studies or runs yet. Start one with "
            "`simlab run experiments/<study>.yaml`; this page refreshes when runs arrive.",
            where,
            schema_version=version,
        )
    return StoreStatus("ok", "", where, schema_version=version, n_studies=n_studies, n_runs=n_runs)


def store_fingerprint(path: str | Path) -> tuple[int, int, int]:
    """(mtime_ns, size, wal size) of the store: changes whenever a writer commits. Cache key for pages."""
    p = Path(path)
    try:
        st = p.stat()
    except OSError:
        return (0, 0, 0)
    try:
        wal = Path(str(p) + ".wal").stat().st_size
    except OSError:
        wal = 0
    return (st.st_mtime_ns, st.st_size, wal)
