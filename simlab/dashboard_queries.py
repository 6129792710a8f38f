"""Read-only queries behind the Streamlit dashboard (``simlab dashboard``).

Objects: `StoreStatus` and `check_store` (is the file there, a simlab store,
this schema version, empty?), `StoreReader` (every query a page runs),
`Metric` and `GroupOption` (what the compare page can plot and group by),
`RunFilter` (the run explorer's filters), and the small statistics the compare
page draws (`add_intervals`, `effect_sizes_vs`), plus helpers that turn one
run's JSON columns into plot-ready frames (`reservation_values`,
`offer_trajectories`, `belief_frame`, `reliability_frame`).

A study may be running while the dashboard reads: the writer opens the file per
batch and closes it between batches, and DuckDB locks other processes out while
it is open. So every query opens a read-only connection, runs, and closes it
again, retrying while the file is locked; no connection is ever held.
Filtering and aggregation happen in DuckDB (SQL), never by loading all turns
into pandas: a page touches at most one run's turns.

The confidence-interval and effect-size math here is deliberately minimal
(t-interval for means, Wilson for proportions, Cohen's d / h with normal-theory
intervals); when `simlab.stats.effect_sizes` provides the same functions the
page uses those instead (`stats_backend` says which one is in use).
"""
from __future__ import annotations

import json
import math
import re
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

import duckdb
import pandas as pd

from simlab.errors import StoreError
from simlab.store.schema import SCHEMA_VERSION

LOCK_RETRY_S = 10.0
"""How long a query waits for a writer to release the file before giving up."""

_SAFE_KEY = re.compile(r"^[^\"\\\x00-\x1f]{1,200}$")


# --------------------------------------------------------------------------- connection
@contextmanager
def read_connection(path: str | Path, retry_s: float = LOCK_RETRY_S) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open `path` read-only (retrying while a writer holds it), yield, close.

    Raises:
        StoreError: the file is missing, not a DuckDB file, or stays locked
            longer than `retry_s`.
    """
    path = Path(path)
    if not path.is_file():
        raise StoreError(f"store {path} does not exist")
    deadline = time.monotonic() + retry_s
    wait = 0.02
    while True:
        try:
            con = duckdb.connect(str(path), read_only=True)
            break
        except duckdb.IOException as exc:
            text = str(exc).lower()
            if "lock" not in text and "resource temporarily unavailable" not in text:
                raise StoreError(f"store {path} cannot be opened ({exc}); is it a DuckDB file?") from None
            if time.monotonic() > deadline:
                raise StoreError(
                    f"store {path} stayed locked by another process for {retry_s:g} s ({exc}); "
                    "a writer is holding it open: try again in a moment"
                ) from None
            time.sleep(wait)
            wait = min(wait * 2, 0.25)
        except duckdb.Error as exc:
            raise StoreError(f"store {path} cannot be opened ({exc}); is it a DuckDB file?") from None
    try:
        yield con
    finally:
        con.close()


# --------------------------------------------------------------------------- store status
@dataclass(frozen=True)
class StoreStatus:
    """What `check_store` found: `kind` is ok, empty, missing, not_duckdb, not_simlab, schema or locked."""

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


def check_store(path: str | Path, retry_s: float = LOCK_RETRY_S) -> StoreStatus:
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
                return StoreStatus(
                    "schema",
                    f"`{where}` was written by {age} simlab (store schema version {version}); this dashboard "
                    f"reads schema version {SCHEMA_VERSION}. Open it with the simlab that wrote it, or run the "
                    "study again into a new store (`simlab run ... --store NEW_PATH`).",
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
        kind = "locked" if "locked" in str(exc) else "not_duckdb"
        if kind == "not_duckdb":
            return StoreStatus(
                kind, f"`{where}` cannot be read as a DuckDB run store. Pass the right file with `--store PATH`.", where
            )
        return StoreStatus(kind, str(exc), where)
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


# --------------------------------------------------------------------------- metrics and groups
@dataclass(frozen=True)
class Metric:
    """A number per run the compare page can plot.

    `key` is stable (``col:utility_a``, ``metrics:recovery_rate``,
    ``utilities:debtor``, ``outcome:walk_away``); `sql` is the expression over
    a `runs` row, with JSON paths bound through `params`; `binary` metrics are
    0/1 per run, so their mean is a rate (Wilson CI, Cohen's h).
    """

    key: str
    label: str
    sql: str
    binary: bool = False
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class GroupOption:
    """A column the compare page can group runs by (`sql` yields text)."""

    key: str
    label: str
    sql: str
    params: dict[str, Any] = field(default_factory=dict)


_BASE_METRICS: list[tuple[str, str, bool]] = [
    ("agreement", "agreement rate", True),
    ("utility_a", "utility A", False),
    ("utility_b", "utility B", False),
    ("social_welfare", "social welfare", False),
    ("pareto_distance", "Pareto distance", False),
    ("nash_distance", "Nash distance", False),
    ("rounds", "rounds", False),
    ("n_turns", "turns", False),
    ("ethics_violations", "ethics violations", False),
    ("parse_failures", "parse failures", False),
    ("prompt_tokens", "prompt tokens", False),
    ("completion_tokens", "completion tokens", False),
    ("wall_s", "wall time (s)", False),
    ("llm_s", "LLM time (s)", False),
]

_BASE_GROUPS: list[tuple[str, str]] = [
    ("condition", "condition"),
    ("scenario", "scenario"),
    ("backend", "backend"),
    ("model", "model"),
    ("domain", "domain"),
    ("protocol", "protocol"),
    ("agents_json", "agents"),
    ("replicate", "replicate"),
    ("seed", "seed"),
]

_NUMERIC_JSON = ("BIGINT", "UBIGINT", "DOUBLE", "BOOLEAN", "HUGEINT", "INTEGER")


def _json_path(*keys: str) -> str:
    return "$" + "".join(f'."{k}"' for k in keys)


def _json_metric_sql(column: str, param: str) -> str:
    return f"TRY_CAST(json_extract({column}, ${param}) AS DOUBLE)"


_INTEGER_JSON = ("BIGINT", "UBIGINT", "HUGEINT", "INTEGER")


def _structure_sql(column: str) -> str:
    """SQL for the merged JSON structure (keys -> types) of a JSON-text column's objects."""
    cast = f"TRY_CAST({column} AS JSON)"
    return f"json_group_structure(CASE WHEN json_type({cast}) = 'OBJECT' THEN {cast} END)"


def _numeric_leaves(structure: Any) -> list[tuple[tuple[str, ...], str]]:
    """(keys, type) of numeric and boolean leaves of a `json_group_structure`, one nested level deep.

    A key whose type differs between runs merges to "JSON" there and is skipped.
    """
    out: list[tuple[tuple[str, ...], str]] = []
    if not isinstance(structure, dict):
        return out
    for key, kind in structure.items():
        if not _SAFE_KEY.match(key):
            continue
        if isinstance(kind, str) and kind in _NUMERIC_JSON:
            out.append(((key,), kind))
        elif isinstance(kind, dict):
            for sub, sub_kind in kind.items():
                if _SAFE_KEY.match(sub) and isinstance(sub_kind, str) and sub_kind in _NUMERIC_JSON:
                    out.append(((key, sub), sub_kind))
    return out


# --------------------------------------------------------------------------- statistics
def _stats_package():
    """`simlab.stats.effect_sizes`, or None where it is absent or broken (this module then does the math)."""
    try:
        from simlab.stats import effect_sizes
    except Exception:  # noqa: BLE001 -- any import failure falls back to the built-in formulas
        return None
    if all(hasattr(effect_sizes, n) for n in ("d_from_stats", "d_variance", "cohens_h")):
        return effect_sizes
    return None


def stats_backend() -> str:
    """Which code computes the effect sizes: simlab.stats.effect_sizes or the minimal formulas here."""
    return "simlab.stats.effect_sizes" if _stats_package() is not None else "simlab.dashboard_queries (built-in formulas)"


def _z(level: float) -> float:
    from scipy import stats

    return float(stats.norm.ppf(0.5 + level / 2))


def wilson_interval(k: float, n: int, level: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a proportion k/n."""
    if n <= 0:
        return (math.nan, math.nan)
    z = _z(level)
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(max(p * (1 - p) / n + z * z / (4 * n * n), 0.0)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def mean_interval(mean: float, sd: float, n: int, level: float = 0.95) -> tuple[float, float]:
    """Student-t interval of a mean from summary statistics."""
    from scipy import stats

    if n < 2 or sd is None or not math.isfinite(sd):
        return (math.nan, math.nan)
    half = float(stats.t.ppf(0.5 + level / 2, n - 1)) * sd / math.sqrt(n)
    return (mean - half, mean + half)


def cohens_d(m1: float, s1: float, n1: int, m0: float, s0: float, n0: int, level: float = 0.95) -> tuple[float, float, float]:
    """Cohen's d of group 1 against group 0 from summary statistics (pooled SD), with a normal-theory CI.

    var(d) = (n1 + n0) / (n1 n0) + d^2 / (2 (n1 + n0)) (Hedges & Olkin 1985).
    Uses `simlab.stats.effect_sizes.d_from_stats` / `d_variance` when present.
    Returns (d, low, high); NaNs when d is undefined (n < 2 or zero variance).
    """
    if n1 < 2 or n0 < 2 or not (math.isfinite(s1) and math.isfinite(s0)):
        return (math.nan, math.nan, math.nan)
    mod = _stats_package()
    if mod is not None:
        try:
            d = float(mod.d_from_stats(m1, s1, n1, m0, s0, n0))
            se = math.sqrt(float(mod.d_variance(d, n1, n0)))
        except (ValueError, ZeroDivisionError, ArithmeticError, Exception):  # InsufficientDataError et al.
            return (math.nan, math.nan, math.nan)
    else:
        pooled = math.sqrt(((n1 - 1) * s1 * s1 + (n0 - 1) * s0 * s0) / (n1 + n0 - 2))
        if pooled == 0:
            return (math.nan, math.nan, math.nan)
        d = (m1 - m0) / pooled
        se = math.sqrt((n1 + n0) / (n1 * n0) + d * d / (2 * (n1 + n0)))
    z = _z(level)
    return (d, d - z * se, d + z * se)


def cohens_h(p1: float, n1: int, p0: float, n0: int, level: float = 0.95) -> tuple[float, float, float]:
    """Cohen's h = 2 asin sqrt(p1) - 2 asin sqrt(p0) with the CI h +- z sqrt(1/n1 + 1/n0) (Cohen 1988).

    Uses `simlab.stats.effect_sizes.cohens_h` (on the success counts) when present.
    """
    if n1 < 1 or n0 < 1:
        return (math.nan, math.nan, math.nan)
    p1, p0 = min(max(p1, 0.0), 1.0), min(max(p0, 0.0), 1.0)
    mod = _stats_package()
    if mod is not None:
        try:
            es = mod.cohens_h(int(round(p1 * n1)), int(n1), int(round(p0 * n0)), int(n0), ci="analytic", confidence=level)
            return (float(es.estimate), float(es.ci_low), float(es.ci_high))
        except Exception:  # noqa: BLE001 -- fall back to the formula below
            pass
    h = 2 * math.asin(math.sqrt(p1)) - 2 * math.asin(math.sqrt(p0))
    se = math.sqrt(1 / n1 + 1 / n0)
    z = _z(level)
    return (h, h - z * se, h + z * se)


def add_intervals(summary: pd.DataFrame, binary: bool, level: float = 0.95) -> pd.DataFrame:
    """Add ci_low / ci_high (Wilson for a rate, Student t for a mean) to a `group_summary` frame."""
    out = summary.copy()
    lows, highs = [], []
    for row in out.itertuples(index=False):
        n = int(row.n)
        if binary:
            lo, hi = wilson_interval(row.mean * n, n, level)
        else:
            sd = float(row.sd) if row.sd is not None and not pd.isna(row.sd) else math.nan
            lo, hi = mean_interval(row.mean, sd, n, level)
        lows.append(lo)
        highs.append(hi)
    out["ci_low"] = lows
    out["ci_high"] = highs
    return out


def effect_sizes_vs(summary: pd.DataFrame, baseline: str, binary: bool) -> pd.DataFrame:
    """Each group against `baseline`: difference, Cohen's d (means) or h (rates), 95% CI and a p-value.

    The p-value is Welch's t-test from summary statistics for means, a pooled
    two-proportion z-test for rates.
    """
    from scipy import stats

    base = summary[summary["group"] == baseline]
    cols = ["group", "n", "mean", "baseline_mean", "difference", "effect", "effect_ci_low", "effect_ci_high", "p_value"]
    if base.empty:
        return pd.DataFrame(columns=cols)
    b = base.iloc[0]
    rows = []
    for r in summary.itertuples(index=False):
        if r.group == baseline:
            continue
        n1, n0 = int(r.n), int(b["n"])
        if binary:
            eff, lo, hi = cohens_h(r.mean, n1, b["mean"], n0)
            p_pool = (r.mean * n1 + b["mean"] * n0) / max(n1 + n0, 1)
            se = math.sqrt(p_pool * (1 - p_pool) * (1 / max(n1, 1) + 1 / max(n0, 1)))
            p = float(2 * stats.norm.sf(abs(r.mean - b["mean"]) / se)) if se > 0 else math.nan
        else:
            s1 = float(r.sd) if r.sd is not None and not pd.isna(r.sd) else math.nan
            s0 = float(b["sd"]) if b["sd"] is not None and not pd.isna(b["sd"]) else math.nan
            eff, lo, hi = cohens_d(r.mean, s1, n1, b["mean"], s0, n0)
            if n1 >= 2 and n0 >= 2 and (s1 > 0 or s0 > 0):
                p = float(stats.ttest_ind_from_stats(r.mean, s1, n1, b["mean"], s0, n0, equal_var=False).pvalue)
            else:
                p = math.nan
        rows.append([r.group, n1, r.mean, b["mean"], r.mean - b["mean"], eff, lo, hi, p])
    return pd.DataFrame(rows, columns=cols)


# --------------------------------------------------------------------------- references
REFERENCE_TOPICS: dict[str, tuple[str, ...]] = {
    "manipulation": ("manipulation", "manipulative"),
    "ive": ("ive", "identifiable", "victim", "donation"),
    "framing": ("framing", "robustness"),
    "negotiation": ("debt", "negotiation", "alternating_offers", "bargain"),
}
"""Words in a study's scenario ids, domains or protocols that tie it to a topic of `simlab.stats.references`."""

METRIC_HINTS: dict[str, tuple[str, ...]] = {
    "manipulation": ("harm",),
    "ive": ("donat", "alloc", "giv"),
    "framing": ("decision", "approv", "choice", "grant", "deny"),
}
"""A metric whose name contains one of these fragments is drawn beside its topic's published numbers."""

REFERENCE_COLUMNS = ["key", "label", "measure", "population", "value", "low", "high", "source", "url", "show_as"]


def study_topics(words: list[str]) -> set[str]:
    """Reference topics whose keywords occur in `words` (scenario ids, domains, protocols)."""
    tokens = set()
    for w in words:
        tokens.update(t for t in re.split(r"[^a-z0-9]+", str(w).lower()) if t)
        tokens.add(str(w).lower())
    return {topic for topic, keys in REFERENCE_TOPICS.items() if tokens & set(keys)}


def reference_values(metric: Metric, config: dict[str, Any] | None = None, words: list[str] | None = None) -> pd.DataFrame:
    """Published reference values that go with a study and metric, from `simlab.stats.references`.

    A study gets references either explicitly, through ``references:`` in its
    config (a list of reference keys, or ``{metric_name: [keys]}``), or by topic,
    when its scenario ids / domains / protocols name one (`REFERENCE_TOPICS`).
    `show_as` says where the page draws a row: ``rate`` (a proportion beside a
    rate metric's bars), ``effect`` (a Cohen's d beside a mean metric's effect
    sizes, a Cohen's h beside a rate's) or ``note`` (listed only). A number is
    drawn only for the metric it was published for: the one the config maps
    it to, else a metric named as in `METRIC_HINTS` (e.g. ``harmful_choice``
    for the manipulation rates, ``donation`` for the identifiable-victim d). References
    are drawn beside the lab's estimates, never used to compute them. Empty
    when the references module is absent.
    """
    try:
        from simlab.stats import references
    except Exception:  # noqa: BLE001 -- the page works without references
        return pd.DataFrame(columns=REFERENCE_COLUMNS)
    catalogue = list(getattr(references, "REFERENCES", ()))
    by_key = {getattr(r, "key", None): r for r in catalogue}
    name = metric.key.split(":", 1)[-1]
    explicit: list[str] = []
    explicit_for_metric: set[str] = set()
    declared = (config or {}).get("references")
    if isinstance(declared, (list, tuple)):
        explicit = [str(k) for k in declared]
    elif isinstance(declared, dict):
        for m, keys in declared.items():
            keys = [str(k) for k in (keys if isinstance(keys, (list, tuple)) else [keys])]
            explicit += keys
            if str(m) in (name, metric.key):
                explicit_for_metric.update(keys)
    topics = study_topics(list(words or []))
    chosen = [by_key[k] for k in dict.fromkeys(explicit) if k in by_key]
    chosen += [r for r in catalogue if getattr(r, "topic", None) in topics and r not in chosen]
    rows = []
    for r in chosen:
        measure = getattr(r, "measure", "")
        fits = r.key in explicit_for_metric or (
            not explicit_for_metric
            and any(h in name.lower() for h in METRIC_HINTS.get(getattr(r, "topic", ""), ()))
        )
        show = "note"
        if fits and measure == "proportion" and metric.binary:
            show = "rate"
        elif fits and ((measure == "cohen_h" and metric.binary) or (measure == "cohen_d" and not metric.binary)):
            show = "effect"
        src = getattr(r, "source", None)
        rows.append([
            r.key, r.label, measure, getattr(r, "population", ""),
            r.value if r.value is not None else math.nan,
            getattr(r, "low", None) if getattr(r, "low", None) is not None else math.nan,
            getattr(r, "high", None) if getattr(r, "high", None) is not None else math.nan,
            getattr(src, "citation", str(src or "")), getattr(src, "url", None) or "", show,
        ])
    return pd.DataFrame(rows, columns=REFERENCE_COLUMNS)


# --------------------------------------------------------------------------- run explorer helpers
@dataclass
class RunFilter:
    """The run explorer's filters; empty lists mean 'any'."""

    study_id: str | None = None
    scenarios: list[str] = field(default_factory=list)
    conditions: list[str] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)
    backends: list[str] = field(default_factory=list)
    agreement: bool | None = None
    parse_failed_only: bool = False
    run_id_prefix: str = ""

    def where(self) -> tuple[str, dict[str, Any]]:
        clauses, params = ["TRUE"], {}
        if self.study_id:
            clauses.append("study_id = $study")
            params["study"] = self.study_id
        for name, col, values in (
            ("scen", "scenario", self.scenarios),
            ("cond", "condition", self.conditions),
            ("stat", "status", self.statuses),
            ("back", "backend", self.backends),
        ):
            if values:
                clauses.append(f"list_contains(${name}::VARCHAR[], {col})")
                params[name] = list(values)
        if self.agreement is not None:
            clauses.append("agreement = $agree")
            params["agree"] = self.agreement
        if self.parse_failed_only:
            clauses.append("parse_failures > 0")
        if self.run_id_prefix.strip():
            clauses.append("starts_with(run_id, $prefix)")
            params["prefix"] = self.run_id_prefix.strip()
        return " AND ".join(clauses), params


def _loads(text: Any) -> Any:
    if text is None or (isinstance(text, float) and math.isnan(text)):
        return None
    if isinstance(text, (dict, list)):
        return text
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return None


def _find_utilities(spec: Any, depth: int = 0) -> dict[str, Any] | None:
    if not isinstance(spec, dict) or depth > 3:
        return None
    u = spec.get("utilities")
    if isinstance(u, dict) and any(isinstance(v, dict) and "reservation" in v for v in u.values()):
        return u
    for key in ("scenario", "resolved_scenario", "spec"):
        found = _find_utilities(spec.get(key), depth + 1)
        if found:
            return found
    for v in spec.values():
        if isinstance(v, dict):
            found = _find_utilities(v, depth + 1)
            if found:
                return found
    return None


def reservation_values(spec_json: Any) -> dict[str, float]:
    """role -> reservation utility from a run's spec_json (``utilities.<role>.reservation``), or {}."""
    u = _find_utilities(_loads(spec_json))
    if not u:
        return {}
    out = {}
    for role, cfg in u.items():
        if isinstance(cfg, dict) and cfg.get("reservation") is not None:
            try:
                out[str(role)] = float(cfg["reservation"])
            except (TypeError, ValueError):
                continue
    return out


def roles_of(turns: pd.DataFrame, spec_json: Any = None) -> list[str]:
    """The two roles in speaking order (from spec_json's roles when present)."""
    spec = _loads(spec_json)
    roles: list[str] = []
    for cand in (spec, spec.get("scenario") if isinstance(spec, dict) else None):
        if isinstance(cand, dict) and isinstance(cand.get("roles"), list):
            roles = [str(r) for r in cand["roles"]]
            break
    if not roles and not turns.empty:
        roles = [str(r) for r in pd.unique(turns["role"].dropna())]
    return roles


def offer_trajectories(turns: pd.DataFrame, roles: list[str]) -> pd.DataFrame:
    """Long frame: for every offer, its utility to each role.

    Columns: turn_index, round, proposer, to_role, utility. A turn by role R
    gives utility_self to R and utility_other to the other role.
    """
    rows = []
    if turns.empty:
        return pd.DataFrame(columns=["turn_index", "round", "proposer", "to_role", "utility"])
    for t in turns.itertuples(index=False):
        proposer = str(t.role) if t.role is not None else str(t.speaker)
        other = next((r for r in roles if r != proposer), "other")
        for to_role, value in ((proposer, t.utility_self), (other, t.utility_other)):
            if value is None or pd.isna(value):
                continue
            rows.append([int(t.turn_index), t.round, proposer, to_role, float(value)])
    return pd.DataFrame(rows, columns=["turn_index", "round", "proposer", "to_role", "utility"])


def belief_frame(turns: pd.DataFrame) -> pd.DataFrame:
    """Long frame of belief_json ({state: prob}): turn_index, round, role, state, prob."""
    rows = []
    for t in turns.itertuples(index=False):
        belief = _loads(t.belief_json)
        if isinstance(belief, dict) and isinstance(belief.get("belief"), dict):
            belief = belief["belief"]
        if not isinstance(belief, dict):
            continue
        for state, prob in belief.items():
            if isinstance(prob, (int, float)) and not isinstance(prob, bool):
                rows.append([int(t.turn_index), t.round, str(t.role), str(state), float(prob)])
    return pd.DataFrame(rows, columns=["turn_index", "round", "role", "state", "prob"])


def reliability_frame(turns: pd.DataFrame) -> pd.DataFrame:
    """Long frame of experts_json["reliabilities"] ({expert: w}): turn_index, round, role, expert, weight."""
    rows = []
    for t in turns.itertuples(index=False):
        experts = _loads(t.experts_json)
        rel = experts.get("reliabilities") if isinstance(experts, dict) else None
        if not isinstance(rel, dict):
            continue
        for expert, w in rel.items():
            if isinstance(w, (int, float)) and not isinstance(w, bool):
                rows.append([int(t.turn_index), t.round, str(t.role), str(expert), float(w)])
    return pd.DataFrame(rows, columns=["turn_index", "round", "role", "expert", "weight"])


def format_offer(offer_json: Any) -> str:
    """'issue=value, ...' for a turn's offer_json, or ''."""
    offer = _loads(offer_json)
    if not isinstance(offer, dict):
        return ""
    parts = []
    for k, v in offer.items():
        if isinstance(v, float):
            parts.append(f"{k}={v:,.4g}")
        else:
            parts.append(f"{k}={v}")
    return ", ".join(parts)


# --------------------------------------------------------------------------- the reader
RUN_LIST_COLUMNS = (
    "run_id", "study_id", "scenario", "condition", "seed", "replicate", "backend", "model", "status",
    "outcome", "agreement", "utility_a", "utility_b", "rounds", "n_turns", "parse_failures", "finished_at",
)

TURN_COLUMNS = (
    "turn_index", "round", "speaker", "role", "action", "offer_json", "emotion", "message", "parse_failed",
    "utility_self", "utility_other", "decision_json", "ethics_json", "detected_json", "belief_json", "experts_json",
)


class StoreReader:
    """Every query the dashboard runs, each on its own brief read-only connection.

    Args:
        path: the DuckDB run store.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._con: duckdb.DuckDBPyConnection | None = None

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Run the statements of one request (e.g. a run and its turns) on one brief connection.

        Opening a DuckDB connection costs ~30 ms, more than most queries here;
        a batch opens it once, and closes it as soon as the request is answered.
        """
        if self._con is not None:
            yield
            return
        with read_connection(self.path) as con:
            self._con = con
            try:
                yield
            finally:
                self._con = None

    @contextmanager
    def _connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        if self._con is not None:
            yield self._con
        else:
            with read_connection(self.path) as con:
                yield con

    def df(self, sql: str, params: dict[str, Any] | list[Any] | None = None) -> pd.DataFrame:
        """Run `sql` read-only and return a DataFrame."""
        with self._connection() as con:
            return con.execute(sql, params if params is not None else []).df()

    def rows(self, sql: str, params: dict[str, Any] | list[Any] | None = None) -> list[tuple]:
        with self._connection() as con:
            return con.execute(sql, params if params is not None else []).fetchall()

    # ---- one request per page section (one connection each) -------------------------------
    def study_detail(self, study_id: str) -> dict[str, Any]:
        """Config, runs by scenario x condition x status, and LLM call totals of one study."""
        with self.batch():
            return {"config": self.study_config(study_id), "breakdown": self.study_breakdown(study_id),
                    "llm_calls": self.study_llm_calls(study_id)}

    def compare_options(self, study_id: str) -> dict[str, Any]:
        """What the compare page offers for a study: metrics, groupings, config and topic words."""
        with self.batch():
            return {"metrics": self.metric_catalog(study_id), "groups": self.group_options(study_id),
                    "config": self.study_config(study_id), "words": self.study_words(study_id)}

    def runs_page(self, flt: RunFilter, limit: int = 100, offset: int = 0) -> tuple[int, pd.DataFrame]:
        """How many runs match `flt`, and one page of them."""
        with self.batch():
            return self.count_runs(flt), self.list_runs(flt, limit, offset)

    def run_detail(self, run_id: str) -> tuple[dict[str, Any] | None, pd.DataFrame]:
        """A run's row and its turns."""
        with self.batch():
            return self.run(run_id), self.run_turns(run_id)

    def live_view(self, study_id: str, bucket: str = "1 minute") -> tuple[dict[str, Any], pd.DataFrame]:
        """A study's progress and its runs finished per time bucket."""
        with self.batch():
            return self.study_progress(study_id), self.throughput_series(study_id, bucket)

    # ---- studies ------------------------------------------------------------------------
    def study_ids(self) -> list[str]:
        return [r[0] for r in self.rows(
            "SELECT study_id FROM (SELECT study_id, created_at FROM studies UNION ALL "
            "SELECT DISTINCT study_id, NULL FROM runs WHERE study_id NOT IN (SELECT study_id FROM studies)) "
            "WHERE study_id IS NOT NULL ORDER BY created_at DESC NULLS LAST, study_id"
        )]

    def studies_overview(self) -> pd.DataFrame:
        """One row per study: plan, done / failed / parse failures, models, backends, time and tokens."""
        return self.df(
            """
            WITH agg AS (
                SELECT study_id,
                       count(*) AS runs,
                       count_if(status = 'done') AS done,
                       count_if(status = 'failed') AS failed,
                       count_if(parse_failures > 0) AS runs_with_parse_failures,
                       coalesce(sum(parse_failures), 0) AS parse_failures,
                       string_agg(DISTINCT model, ', ' ORDER BY model) AS models,
                       string_agg(DISTINCT backend, ', ' ORDER BY backend) AS backends,
                       count(DISTINCT scenario) AS scenarios,
                       count(DISTINCT condition) AS conditions,
                       sum(wall_s) AS run_time_s,
                       sum(llm_s) AS llm_time_s,
                       coalesce(sum(prompt_tokens), 0) AS prompt_tokens,
                       coalesce(sum(completion_tokens), 0) AS completion_tokens,
                       min(finished_at) AS first_finished,
                       max(finished_at) AS last_finished
                FROM runs GROUP BY study_id
            ),
            ids AS (SELECT study_id FROM studies UNION SELECT study_id FROM agg)
            SELECT ids.study_id, s.description, s.n_runs_planned AS planned,
                   coalesce(a.done, 0) AS done, coalesce(a.failed, 0) AS failed,
                   coalesce(a.runs_with_parse_failures, 0) AS runs_with_parse_failures,
                   coalesce(a.parse_failures, 0) AS parse_failures,
                   a.models, a.backends, a.scenarios, a.conditions,
                   a.run_time_s, a.llm_time_s,
                   date_diff('millisecond', coalesce(s.created_at, a.first_finished), a.last_finished) / 1000.0
                       AS elapsed_s,
                   a.prompt_tokens, a.completion_tokens,
                   coalesce(a.prompt_tokens, 0) + coalesce(a.completion_tokens, 0) AS tokens,
                   s.created_at, a.last_finished, s.config_path
            FROM ids LEFT JOIN studies s USING (study_id) LEFT JOIN agg a USING (study_id)
            WHERE ids.study_id IS NOT NULL
            ORDER BY s.created_at DESC NULLS LAST, ids.study_id
            """
        )

    def study_config(self, study_id: str) -> dict[str, Any]:
        rows = self.rows("SELECT config_json, description, config_path FROM studies WHERE study_id = ?", [study_id])
        if not rows:
            return {}
        cfg = _loads(rows[0][0])
        return cfg if isinstance(cfg, dict) else {"config": rows[0][0]}

    def study_words(self, study_id: str) -> list[str]:
        """Scenario ids, domains and protocols of a study's runs (to match reference topics)."""
        rows = self.rows(
            "SELECT DISTINCT unnest([scenario, domain, protocol]) FROM runs WHERE study_id = $s", {"s": study_id}
        )
        return sorted({r[0] for r in rows if r[0]})

    def study_llm_calls(self, study_id: str) -> pd.DataFrame:
        """LLM call totals of one study per backend/model (calls, cache hits, parse failures, latency)."""
        return self.df(
            """
            SELECT c.backend, c.model, count(*) AS calls, count_if(c.cache_hit) AS cache_hits,
                   count_if(c.parse_failed) AS parse_failed, sum(c.prompt_tokens) AS prompt_tokens,
                   sum(c.prompt_tokens_evaluated) AS prompt_tokens_evaluated,
                   sum(c.completion_tokens) AS completion_tokens, avg(c.latency_s) AS mean_latency_s
            FROM llm_calls c SEMI JOIN (SELECT run_id FROM runs WHERE study_id = $s) r ON c.run_id = r.run_id
            GROUP BY ALL ORDER BY calls DESC
            """,
            {"s": study_id},
        )

    def study_breakdown(self, study_id: str) -> pd.DataFrame:
        """Runs of one study per scenario x condition x status."""
        return self.df(
            """
            SELECT scenario, condition, status, count(*) AS runs, avg(agreement::DOUBLE) AS agreement_rate,
                   sum(parse_failures) AS parse_failures
            FROM runs WHERE study_id = $s GROUP BY ALL ORDER BY scenario, condition, status
            """,
            {"s": study_id},
        )

    # ---- live progress --------------------------------------------------------------------
    def study_progress(self, study_id: str, window_s: float = 300.0, now: datetime | None = None) -> dict[str, Any]:
        """Planned vs finished runs, recent throughput and ETA, in one query.

        Throughput counts the runs finished in the last `window_s` seconds of
        activity (up to the latest finish; shorter if the study is younger).
        Timestamps in the store are naive UTC (as the writer stores them).
        """
        row = self.rows(
            """
            WITH r AS (SELECT status, finished_at FROM runs WHERE study_id = $s),
            s AS (SELECT any_value(n_runs_planned) AS planned, any_value(created_at) AS created
                  FROM studies WHERE study_id = $s),
            a AS (SELECT count_if(status = 'done') AS done, count_if(status = 'failed') AS failed,
                         count(*) AS total, min(finished_at) AS first, max(finished_at) AS last FROM r),
            w AS (SELECT a.*, s.planned, s.created,
                         least($win, greatest(epoch(a.last - least(a.first, coalesce(s.created, a.first))), 0)) AS span
                  FROM a, s)
            SELECT planned, done, failed, total, last, span,
                   (SELECT count(*) FROM r WHERE span > 0 AND finished_at > last - to_microseconds((span * 1e6)::BIGINT))
            FROM w
            """,
            {"s": study_id, "win": float(window_s)},
        )[0]
        planned, done, failed, total, last, span, recent = row
        span = float(span or 0.0)
        rate_per_s = recent / span if span > 0 and recent else None
        remaining = max((planned or 0) - total, 0) if planned is not None else None
        eta_s = remaining / rate_per_s if (remaining and rate_per_s) else (0.0 if remaining == 0 else None)
        now = now or datetime.now(timezone.utc).replace(tzinfo=None)
        idle_s = (now - last).total_seconds() if last is not None else None
        return {
            "study_id": study_id,
            "planned": planned,
            "done": done,
            "failed": failed,
            "finished": total,
            "remaining": remaining,
            "runs_per_min": rate_per_s * 60 if rate_per_s else None,
            "eta_s": eta_s,
            "last_finished": last,
            "idle_s": idle_s,
            "running": bool(planned and total < planned),
        }

    def throughput_series(self, study_id: str, bucket: str = "1 minute") -> pd.DataFrame:
        """Runs finished per time bucket (aggregated in DuckDB)."""
        if bucket not in ("10 seconds", "1 minute", "10 minutes", "1 hour"):
            raise ValueError(f"bucket must be one of 10 seconds / 1 minute / 10 minutes / 1 hour, not {bucket!r}")
        return self.df(
            f"""
            SELECT time_bucket(INTERVAL '{bucket}', finished_at) AS t, count_if(status = 'done') AS done,
                   count_if(status = 'failed') AS failed
            FROM runs WHERE study_id = $s AND finished_at IS NOT NULL GROUP BY 1 ORDER BY 1
            """,
            {"s": study_id},
        )

    # ---- compare conditions --------------------------------------------------------------
    def metric_catalog(self, study_id: str) -> list[Metric]:
        """Numeric metrics of a study's done runs: base columns, numeric keys of metrics_json
        (one nested level too) and utilities_json, and outcome rates. Only metrics with data are listed.

        One scan finds the keys and their types (DuckDB's ``json_group_structure``);
        a second, only when integer keys exist, checks which of them are 0/1 flags.
        """
        row = self.rows(
            "SELECT " + ", ".join(f"count({c})" for c, _, _ in _BASE_METRICS)
            + f", {_structure_sql('metrics_json')}, {_structure_sql('utilities_json')}"
            + ", list(DISTINCT outcome) FILTER (WHERE outcome IS NOT NULL)"
            + " FROM runs WHERE study_id = $s AND status = 'done'",
            {"s": study_id},
        )[0]
        present = row[: len(_BASE_METRICS)]
        structures = {"metrics_json": _loads(row[-3]), "utilities_json": _loads(row[-2])}
        outcomes = sorted(row[-1] or [])
        metrics = [Metric(f"col:{c}", label, f"{c}::DOUBLE", binary) for (c, label, binary), n in zip(_BASE_METRICS, present) if n]
        leaves: list[tuple[str, str, tuple[str, ...], str]] = []  # column, prefix, keys, type
        for column, prefix in (("metrics_json", "metrics"), ("utilities_json", "utilities")):
            for keys, kind in _numeric_leaves(structures[column]):
                leaves.append((column, prefix, keys, kind))
        ints = [(i, leaf) for i, leaf in enumerate(leaves) if leaf[3] in _INTEGER_JSON]
        flags: dict[int, bool] = {}
        if ints:
            params: dict[str, Any] = {"s": study_id}
            cols = []
            for j, (i, (column, _prefix, keys, _kind)) in enumerate(ints):
                params[f"p{j}"] = _json_path(*keys)
                cols.append(f"coalesce(bool_and(TRY_CAST(json_extract({column}, $p{j}) AS DOUBLE) IN (0, 1)), FALSE)")
            values = self.rows(
                f"SELECT {', '.join(cols)} FROM runs WHERE study_id = $s AND status = 'done'", params
            )[0]
            flags = {i: bool(v) for (i, _), v in zip(ints, values)}
        for i, (column, prefix, keys, kind) in enumerate(leaves):
            name = ".".join(keys)
            label = f"utility of {name}" if prefix == "utilities" else name
            binary = kind == "BOOLEAN" or flags.get(i, False)
            metrics.append(Metric(
                f"{prefix}:{name}", label, _json_metric_sql(column, "mpath"), binary, {"mpath": _json_path(*keys)}
            ))
        for outcome in outcomes:
            metrics.append(Metric(f"outcome:{outcome}", f"outcome = {outcome} (rate)", "(outcome = $oval)::DOUBLE", True, {"oval": outcome}))
        return metrics

    def group_options(self, study_id: str) -> list[GroupOption]:
        """Columns to group by: run columns plus every key of condition_json and agents_json (one scan)."""
        opts = [GroupOption(c, label, f"CAST({c} AS VARCHAR)") for c, label in _BASE_GROUPS]
        row = self.rows(
            f"SELECT {_structure_sql('condition_json')}, {_structure_sql('agents_json')} FROM runs WHERE study_id = $s",
            {"s": study_id},
        )[0]
        cond, agents = _loads(row[0]), _loads(row[1])
        for k in (cond if isinstance(cond, dict) else {}):
            if _SAFE_KEY.match(k):
                opts.append(GroupOption(f"cond:{k}", f"condition: {k}", "json_extract_string(condition_json, $gpath)",
                                        {"gpath": _json_path(k)}))
        for k, sub in (agents if isinstance(agents, dict) else {}).items():
            if not _SAFE_KEY.match(k):
                continue
            path = _json_path(k)
            if isinstance(sub, dict):
                opts.append(GroupOption(
                    f"agent:{k}", f"agent: {k}",
                    "coalesce(json_extract_string(agents_json, $gpath || '.\"id\"'), json_extract_string(agents_json, $gpath))",
                    {"gpath": path},
                ))
                if "strategy" in sub:
                    opts.append(GroupOption(
                        f"strategy:{k}", f"strategy: {k}",
                        "coalesce(json_extract_string(agents_json, $gpath || '.\"strategy\".\"name\"'), "
                        "json_extract_string(agents_json, $gpath || '.\"strategy\"'))",
                        {"gpath": path},
                    ))
            else:
                opts.append(GroupOption(f"agent:{k}", f"agent: {k}", "json_extract_string(agents_json, $gpath)",
                                        {"gpath": path}))
        return opts

    def group_summary(self, study_id: str, metric: Metric, group: GroupOption) -> pd.DataFrame:
        """Per group of a study's done runs: n, mean, sd and the five-number summary of `metric`."""
        params = {"s": study_id, **metric.params, **group.params}
        return self.df(
            f"""
            WITH r AS (
                SELECT CAST({group.sql} AS VARCHAR) AS grp, CAST({metric.sql} AS DOUBLE) AS y
                FROM runs WHERE study_id = $s AND status = 'done'
            )
            SELECT coalesce(grp, '(none)') AS "group", count(y) AS n, avg(y) AS mean, stddev_samp(y) AS sd,
                   min(y) AS min, quantile_cont(y, 0.25) AS q1, median(y) AS median,
                   quantile_cont(y, 0.75) AS q3, max(y) AS max
            FROM r WHERE y IS NOT NULL GROUP BY 1 ORDER BY 1
            """,
            params,
        )

    # ---- run explorer ---------------------------------------------------------------------
    def run_filter_values(self, study_id: str | None) -> dict[str, list[str]]:
        """Distinct scenario, condition, status and backend values (for the filter widgets), in one scan."""
        where, params = ("study_id = $s", {"s": study_id}) if study_id else ("TRUE", {})
        cols = ("scenario", "condition", "status", "backend")
        row = self.rows(
            "SELECT " + ", ".join(f"list(DISTINCT {c}) FILTER (WHERE {c} IS NOT NULL)" for c in cols)
            + f" FROM runs WHERE {where}",
            params,
        )[0]
        return {c: sorted(v or []) for c, v in zip(cols, row)}

    def count_runs(self, flt: RunFilter) -> int:
        where, params = flt.where()
        return int(self.rows(f"SELECT count(*) FROM runs WHERE {where}", params)[0][0])

    def list_runs(self, flt: RunFilter, limit: int = 100, offset: int = 0) -> pd.DataFrame:
        """One page of runs matching `flt`, newest first."""
        where, params = flt.where()
        params = {**params, "lim": int(limit), "off": int(offset)}
        return self.df(
            f"SELECT {', '.join(RUN_LIST_COLUMNS)} FROM runs WHERE {where} "
            "ORDER BY finished_at DESC NULLS LAST, run_id LIMIT $lim OFFSET $off",
            params,
        )

    def run(self, run_id: str) -> dict[str, Any] | None:
        """The runs row of `run_id` as a dict, or None."""
        frame = self.df("SELECT * FROM runs WHERE run_id = $r", {"r": run_id})
        if frame.empty:
            return None
        return {k: (None if _isna(v) else v) for k, v in frame.iloc[0].to_dict().items()}

    def run_turns(self, run_id: str) -> pd.DataFrame:
        """The turns of one run, in order."""
        return self.df(
            f"SELECT {', '.join(TURN_COLUMNS)} FROM turns WHERE run_id = $r ORDER BY turn_index", {"r": run_id}
        )


def _isna(v: Any) -> bool:
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False
