"""Human-trial data in the run store: the import mapping, the tables, import and read.

Defines `HumanMapping` (the pydantic model of ``MAP.yaml``), `HUMAN_TABLES`
(DDL of ``human_imports`` and ``human_trials``), `import_human` and
`load_human_trials`.

A human-trial file has one row per participant and task: condition columns
(e.g. which advisor the participant met), a rating of each option before and
after, and the option chosen. The mapping names those columns; the import
checks every value (a bad one names the file, the line and the column), stores
each row raw (ratings and conditions as JSON, nothing derived), and records
its provenance: the file's SHA-256, the mapping, the source path and the time.
Reports derive rates and effect sizes from these raw rows with the same
functions they use for simulated runs, so a human and a simulated rate are
computed the same way.
"""
from __future__ import annotations

import hashlib
import json
import math
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from simlab.errors import ConfigError, StoreError

__all__ = ["HUMAN_TABLES", "HumanMapping", "import_human", "load_human_trials", "human_datasets", "load_mapping"]

HUMAN_TABLES: dict[str, str] = {
    "human_imports": """
        CREATE TABLE IF NOT EXISTS human_imports (
            dataset VARCHAR PRIMARY KEY,
            source_path VARCHAR,
            file_sha256 VARCHAR,
            mapping_json VARCHAR,
            n_rows INTEGER,
            n_participants INTEGER,
            imported_at TIMESTAMP
        )
    """,
    "human_trials": """
        CREATE TABLE IF NOT EXISTS human_trials (
            dataset VARCHAR,
            row_index INTEGER,
            participant VARCHAR,
            task VARCHAR,
            domain VARCHAR,
            conditions_json VARCHAR,
            options_json VARCHAR,
            harmful_option VARCHAR,
            ratings_before_json VARCHAR,
            ratings_after_json VARCHAR,
            choice VARCHAR,
            PRIMARY KEY (dataset, row_index)
        )
    """,
}


_RESERVED = {
    "dataset", "row_index", "participant", "task", "domain", "conditions", "options", "harmful_option", "ratings_before",
    "ratings_after", "choice", "conditions_json", "options_json", "ratings_before_json", "ratings_after_json",
}
"""Column names of a loaded dataset; a condition may not take one (it would be shadowed)."""


class HumanMapping(BaseModel):
    """How the columns of a human-trial file map onto simlab's fields (``MAP.yaml``).

    Attributes:
        participant: column with the participant id.
        task: column with the task (scenario) id; None when each participant did one task.
        domain: column with the domain (``health``, ``finance`` ...), or use `domain_value`.
        domain_value: one domain for the whole file.
        conditions: simlab condition name -> column (``advisor_type: condition``).
        recode: per simlab condition, file value -> simlab value (``{advisor_type: {manipulative: MA}}``).
        options: the option ids, in order.
        ratings_before, ratings_after: option id -> column of that option's rating.
        rating_scale: the lowest and highest allowed rating.
        choice: column of the chosen option; `choice_values` recodes its values to option ids.
        harmful_option: the harmful option's id for every row, or `harmful_column` per row.
    """

    model_config = ConfigDict(extra="forbid")

    participant: str
    task: str | None = None
    domain: str | None = None
    domain_value: str | None = None
    conditions: dict[str, str] = Field(min_length=1)
    recode: dict[str, dict[str, str]] = Field(default_factory=dict)
    options: list[str] = Field(min_length=2)
    ratings_before: dict[str, str]
    ratings_after: dict[str, str]
    rating_scale: tuple[float, float] = (1.0, 7.0)
    choice: str
    choice_values: dict[str, str] = Field(default_factory=dict)
    harmful_option: str | None = None
    harmful_column: str | None = None

    @model_validator(mode="after")
    def _consistent(self) -> "HumanMapping":
        if (self.domain is None) == (self.domain_value is None):
            raise ValueError("give exactly one of domain (a column) or domain_value (one domain for the file)")
        if (self.harmful_option is None) == (self.harmful_column is None):
            raise ValueError("give exactly one of harmful_option (an option id) or harmful_column (a column)")
        if self.harmful_option is not None and self.harmful_option not in self.options:
            raise ValueError(f"harmful_option '{self.harmful_option}' is not one of options {self.options}")
        for name, cols in (("ratings_before", self.ratings_before), ("ratings_after", self.ratings_after)):
            if set(cols) != set(self.options):
                raise ValueError(f"{name} must map exactly the options {self.options} (got {sorted(cols)})")
        clash = set(self.conditions) & _RESERVED
        if clash:
            raise ValueError(f"conditions: {sorted(clash)} name fields simlab stores itself; call the condition something else")
        unknown = set(self.recode) - set(self.conditions)
        if unknown:
            raise ValueError(f"recode names conditions that are not mapped: {sorted(unknown)}")
        bad = {v for v in self.choice_values.values() if v not in self.options}
        if bad:
            raise ValueError(f"choice_values map to unknown options {sorted(bad)}; options are {self.options}")
        if not self.rating_scale[0] < self.rating_scale[1]:
            raise ValueError("rating_scale must be [low, high] with low < high")
        return self

    def columns(self) -> list[str]:
        cols = [self.participant, self.choice, *self.conditions.values(), *self.ratings_before.values(), *self.ratings_after.values()]
        cols += [c for c in (self.task, self.domain, self.harmful_column) if c]
        return list(dict.fromkeys(cols))


def load_mapping(path: str | Path) -> HumanMapping:
    """Read and validate ``MAP.yaml``; errors name the file and the field."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"mapping file {p} does not exist; pass --mapping PATH to a YAML mapping")
    try:
        raw = yaml.safe_load(p.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError(f"mapping {p} is not valid YAML ({str(exc).splitlines()[0]})") from None
    try:
        return HumanMapping.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(x) for x in err["loc"]) or "(top level)"
        raise ConfigError(f"mapping {p}: {where}: {err['msg']}") from None


def _read_table(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise ConfigError(f"human-trial file {path} does not exist")
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            return pd.read_parquet(path)
        sep = "\t" if suffix in (".tsv", ".tab") else ","
        return pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False, on_bad_lines="error")
    except pd.errors.ParserError as exc:
        raise ConfigError(f"human-trial file {path} is malformed ({str(exc).strip()}); every row needs the header's number of fields") from None
    except (UnicodeDecodeError, OSError) as exc:
        raise ConfigError(f"human-trial file {path} cannot be read ({exc}); give a UTF-8 CSV, TSV or Parquet file") from None


def _rows(path: Path, df: pd.DataFrame, m: HumanMapping) -> list[dict[str, Any]]:
    """Checked, raw rows for `human_trials` (line numbers count the header as line 1)."""
    missing = [c for c in m.columns() if c not in df.columns]
    if missing:
        raise ConfigError(f"{path}: mapped column(s) {missing} not in the file; its columns are {list(df.columns)}")
    lo, hi = m.rating_scale
    rows = []
    seen: dict[tuple[str, str], int] = {}
    for i, rec in enumerate(df.to_dict("records")):
        line = i + 2

        def text(col: str) -> str:
            v = rec[col]
            s = "" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v).strip()
            if not s:
                raise ConfigError(f"{path}, line {line}, column '{col}': empty; every mapped cell needs a value")
            return s

        def rating(col: str) -> float:
            s = text(col)
            try:
                x = float(s)
            except ValueError:
                raise ConfigError(f"{path}, line {line}, column '{col}': rating '{s}' is not a number") from None
            if not lo <= x <= hi:
                raise ConfigError(f"{path}, line {line}, column '{col}': rating {x:g} is outside the scale [{lo:g}, {hi:g}]")
            return x

        pid = text(m.participant)
        task = text(m.task) if m.task else "task"
        key = (pid, task)
        if key in seen:
            raise ConfigError(
                f"{path}, line {line}: participant '{pid}' and task '{task}' repeat line {seen[key]}; "
                "one row per participant and task (map the task column with task:)"
            )
        seen[key] = line
        conditions = {}
        for name, col in m.conditions.items():
            v = text(col)
            table = m.recode.get(name)
            if table is not None:
                if v not in table:
                    raise ConfigError(f"{path}, line {line}, column '{col}': value '{v}' is not in recode.{name} ({sorted(table)})")
                v = table[v]
            conditions[name] = v
        choice = text(m.choice)
        choice = m.choice_values.get(choice, choice)
        if choice not in m.options:
            raise ConfigError(f"{path}, line {line}, column '{m.choice}': choice '{choice}' is not one of {m.options} (map it with choice_values)")
        harmful = m.harmful_option if m.harmful_option is not None else text(m.harmful_column)  # type: ignore[arg-type]
        if harmful not in m.options:
            raise ConfigError(f"{path}, line {line}, column '{m.harmful_column}': harmful option '{harmful}' is not one of {m.options}")
        rows.append(
            {
                "row_index": i,
                "participant": pid,
                "task": task,
                "domain": text(m.domain) if m.domain else m.domain_value,
                "conditions_json": json.dumps(conditions, sort_keys=True),
                "options_json": json.dumps(m.options),
                "harmful_option": harmful,
                "ratings_before_json": json.dumps({o: rating(c) for o, c in m.ratings_before.items()}),
                "ratings_after_json": json.dumps({o: rating(c) for o, c in m.ratings_after.items()}),
                "choice": choice,
            }
        )
    if not rows:
        raise ConfigError(f"{path} has no data rows")
    return rows


def _ensure_tables(con: Any) -> None:
    for ddl in HUMAN_TABLES.values():
        con.execute(ddl)


def import_human(store: Any, path: str | Path, name: str, mapping: HumanMapping, *, replace: bool = False) -> dict[str, Any]:
    """Check `path` against `mapping` and write its rows as dataset `name`; returns the provenance row.

    Args:
        store: a writable `RunStore`.
        path: CSV, TSV or Parquet file, one row per participant and task.
        name: the dataset name reports refer to.
        mapping: the validated `HumanMapping`.
        replace: overwrite an existing dataset of that name (else an error).
    """
    import re

    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", name):
        raise ConfigError(f"dataset name '{name}' must be a slug of letters, digits, '-', '_' or '.'")
    p = Path(path)
    df = _read_table(p)
    rows = _rows(p, df, mapping)
    digest = hashlib.sha256(p.read_bytes()).hexdigest()
    prov = {
        "dataset": name,
        "source_path": str(p.resolve()),
        "file_sha256": digest,
        "mapping_json": json.dumps(mapping.model_dump(mode="json"), sort_keys=True),
        "n_rows": len(rows),
        "n_participants": len({r["participant"] for r in rows}),
        "imported_at": datetime.now(timezone.utc).replace(tzinfo=None),
    }
    with store.connect() as con:
        _ensure_tables(con)
        exists = con.execute("SELECT count(*) FROM human_imports WHERE dataset = ?", [name]).fetchone()[0]
        if exists and not replace:
            raise StoreError(f"human dataset '{name}' is already in {store.path}; pass --replace to overwrite it")
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute("DELETE FROM human_trials WHERE dataset = ?", [name])
            con.execute("DELETE FROM human_imports WHERE dataset = ?", [name])
            cols = list(prov)
            con.execute(f"INSERT INTO human_imports ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})", [prov[c] for c in cols])
            frame = pd.DataFrame(rows)
            frame.insert(0, "dataset", name)
            con.register("_human_rows", frame)
            con.execute(f"INSERT INTO human_trials ({', '.join(frame.columns)}) SELECT * FROM _human_rows")
            con.unregister("_human_rows")
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    return prov


def _has_tables(store: Any) -> bool:
    df = store.query("SELECT table_name FROM information_schema.tables WHERE table_name IN ('human_imports', 'human_trials')")
    return len(df) == 2


def human_datasets(store: Any) -> pd.DataFrame:
    """The provenance rows of every imported dataset (empty when none)."""
    if not _has_tables(store):
        return pd.DataFrame(columns=["dataset", "source_path", "file_sha256", "mapping_json", "n_rows", "n_participants", "imported_at"])
    return store.query("SELECT * FROM human_imports ORDER BY dataset")


def load_human_trials(store: Any, name: str) -> pd.DataFrame:
    """The raw rows of dataset `name`, JSON columns decoded (conditions spread into their own columns)."""
    if not _has_tables(store) or store.query("SELECT 1 FROM human_imports WHERE dataset = ?", [name]).empty:
        known = ", ".join(human_datasets(store)["dataset"]) or "none"
        raise StoreError(f"no human dataset '{name}' in {store.path} (imported: {known}); import it with simlab import human FILE --as {name} --mapping MAP.yaml")
    df = store.query("SELECT * FROM human_trials WHERE dataset = ? ORDER BY row_index", [name])
    for col in ("conditions_json", "options_json", "ratings_before_json", "ratings_after_json"):
        df[col.removesuffix("_json")] = df[col].map(json.loads)
    conds = pd.DataFrame(list(df["conditions"]), index=df.index)
    for c in conds.columns:  # condition names never clash with the stored columns (HumanMapping checks it)
        df[c] = conds[c]
    return df
