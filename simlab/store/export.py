"""Export a study from the run store to Parquet or CSV files.

Rows are read with a parameterised query and written by pyarrow, so neither the
study id nor the output path is ever pasted into SQL (a path with a quote is
just a path).
"""
from __future__ import annotations

from pathlib import Path

import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from simlab.config.resolve import check_dir_target, output_dir
from simlab.errors import ConfigError, StoreError
from simlab.store.store import RunStore


def export_study(store_path: str | Path, study_id: str, fmt: str = "parquet", out: str | Path | None = None) -> list[Path]:
    """Write runs/turns/llm_calls of `study_id` to `out`; returns the files."""
    if fmt not in ("parquet", "csv"):
        raise ConfigError(f"--format: '{fmt}' is not supported; use parquet or csv")
    store = RunStore(store_path, read_only=True)
    n = store.query("SELECT count(*) AS n FROM runs WHERE study_id = ?", [study_id])["n"][0]
    if n == 0:
        raise StoreError(f"study '{study_id}' has no runs in {store.path}; check the id with simlab summary")
    out_dir = Path(out) if out else output_dir("exports", study_id)
    check_dir_target(out_dir, "--out")
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    queries = {
        "runs": "SELECT * FROM runs WHERE study_id = ? ORDER BY run_id",
        "turns": "SELECT t.* FROM turns t JOIN runs r USING (run_id) WHERE r.study_id = ? ORDER BY run_id, turn_index",
        "llm_calls": "SELECT c.* FROM llm_calls c JOIN runs r USING (run_id) WHERE r.study_id = ? ORDER BY run_id, turn_index, attempt",
    }
    with store.connect() as con:
        tables = {name: con.sql(q, params=[study_id]).to_arrow_table() for name, q in queries.items()}
    for name, table in tables.items():
        path = out_dir / f"{name}.{fmt}"
        try:
            if fmt == "parquet":
                pq.write_table(table, path)
            else:
                pacsv.write_csv(table, path)
        except OSError as exc:
            raise StoreError(f"cannot write {path} ({exc}); check --out") from None
        paths.append(path)
    return paths
