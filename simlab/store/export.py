"""Export a study from the run store to Parquet or CSV files (DuckDB COPY)."""
from __future__ import annotations

from pathlib import Path

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
    out_dir = Path(out) if out else Path("exports") / study_id
    out_dir.mkdir(parents=True, exist_ok=True)
    opts = "(FORMAT PARQUET)" if fmt == "parquet" else "(FORMAT CSV, HEADER)"
    paths = []
    queries = {
        "runs": "SELECT * FROM runs WHERE study_id = $sid",
        "turns": "SELECT t.* FROM turns t JOIN runs r USING (run_id) WHERE r.study_id = $sid ORDER BY run_id, turn_index",
        "llm_calls": "SELECT c.* FROM llm_calls c JOIN runs r USING (run_id) WHERE r.study_id = $sid",
    }
    with store.connect() as con:
        for name, q in queries.items():
            path = out_dir / f"{name}.{fmt}"
            con.execute(f"COPY ({q.replace('$sid', '?')}) TO '{path.as_posix()}' {opts}", [study_id])
            paths.append(path)
    return paths
