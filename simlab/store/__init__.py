"""The DuckDB run store: schema, the single writer, read-only queries, export."""
from __future__ import annotations

from simlab.store.schema import SCHEMA_VERSION
from simlab.store.store import DEFAULT_STORE, RunRecord, RunStore

__all__ = ["DEFAULT_STORE", "SCHEMA_VERSION", "RunRecord", "RunStore"]
