"""`StoreReader`: every query a dashboard page runs, each on a brief read-only connection; `RunFilter`.

Filtering and aggregation happen in DuckDB (SQL), never by loading all turns
into pandas: a page touches at most one run's turns.
"""
from __future__ import annotations

import re
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

import duckdb
import pandas as pd

from simlab.dashboard.catalog import (
    BASE_GROUPS,
    BASE_METRICS,
    CONDITION_GROUPS,
    INTEGER_JSON,
    SAFE_KEY,
    GroupOption,
    Metric,
    condition_group_label,
    json_metric_sql,
    json_path,
    numeric_leaves,
    structure_sql,
)
from simlab.dashboard.catalog import loads as _loads
from simlab.dashboard.connection import read_connection
from simlab.dashboard.human import human_beside


# --------------------------------------------------------------------------- run explorer filters
@dataclass
class RunFilter:
    """The run explorer's filters; empty lists mean 'any'."""

    study_id: str | None = None
    scenarios: list[str] = field(default_factory=list)
    conditions: list[str] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)
    backends: list[str] = field(default_factory=list)
    agents_a: list[str] = field(default_factory=list)
    agents_b: list[str] = field(default_factory=list)
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
            ("ag_a", "agent_a", self.agents_a),
            ("ag_b", "agent_b", self.agents_b),
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

    def query(self, sql: str, params: list[Any] | None = None) -> pd.DataFrame:
        """`df` under `RunStore.query`'s name, so store-level readers (`simlab.store.human`,
        `simlab.decision.analysis.load_advisory`) run on the dashboard's read-only connections."""
        return self.df(sql, params)

    def human_beside(self, study_id: str) -> Any:
        """`simlab.dashboard.human.human_beside` of `study_id` on one connection (None: not an advisory study)."""
        with self.batch():
            return human_beside(self, study_id)

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
            "SELECT " + ", ".join(f"count({c})" for c, _, _ in BASE_METRICS)
            + f", {structure_sql('metrics_json')}, {structure_sql('utilities_json')}"
            + ", list(DISTINCT outcome) FILTER (WHERE outcome IS NOT NULL)"
            + " FROM runs WHERE study_id = $s AND status = 'done'",
            {"s": study_id},
        )[0]
        present = row[: len(BASE_METRICS)]
        structures = {"metrics_json": _loads(row[-3]), "utilities_json": _loads(row[-2])}
        outcomes = sorted(row[-1] or [])
        metrics = [Metric(f"col:{c}", label, f"{c}::DOUBLE", binary) for (c, label, binary), n in zip(BASE_METRICS, present) if n]
        leaves: list[tuple[str, str, tuple[str, ...], str]] = []  # column, prefix, keys, type
        for column, prefix in (("metrics_json", "metrics"), ("utilities_json", "utilities")):
            for keys, kind in numeric_leaves(structures[column]):
                leaves.append((column, prefix, keys, kind))
        ints = [(i, leaf) for i, leaf in enumerate(leaves) if leaf[3] in INTEGER_JSON]
        flags: dict[int, bool] = {}
        if ints:
            params: dict[str, Any] = {"s": study_id}
            cols = []
            for j, (i, (column, _prefix, keys, _kind)) in enumerate(ints):
                params[f"p{j}"] = json_path(*keys)
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
                f"{prefix}:{name}", label, json_metric_sql(column, "mpath"), binary, {"mpath": json_path(*keys)}
            ))
        for outcome in outcomes:
            metrics.append(Metric(f"outcome:{outcome}", f"outcome = {outcome} (rate)", "(outcome = $oval)::DOUBLE", True, {"oval": outcome}))
        return metrics

    def group_options(self, study_id: str) -> list[GroupOption]:
        """Columns to group by: run columns, the condition columns (each role's agent and strategy, the
        named condition), and every key of condition_json and agents_json (one scan).

        A condition column is offered only where the study's runs fill it.
        """
        opts = [GroupOption(c, label, f"CAST({c} AS VARCHAR)") for c, label in BASE_GROUPS]
        row = self.rows(
            f"SELECT {structure_sql('condition_json')}, {structure_sql('agents_json')}, "
            "list(DISTINCT slot_a) FILTER (WHERE slot_a IS NOT NULL), "
            "list(DISTINCT slot_b) FILTER (WHERE slot_b IS NOT NULL), "
            + ", ".join(f"count({c})" for c, _, _ in CONDITION_GROUPS)
            + " FROM runs WHERE study_id = $s",
            {"s": study_id},
        )[0]
        cond, agents = _loads(row[0]), _loads(row[1])
        slots = {"slot_a": sorted(row[2] or []), "slot_b": sorted(row[3] or [])}
        columns = [
            GroupOption(c, condition_group_label(c, slot, what, slots.get(slot, [])), f"CAST({c} AS VARCHAR)")
            for (c, slot, what), n in zip(CONDITION_GROUPS, row[4:]) if n
        ]
        opts[1:1] = columns  # right after the combined condition label, the default
        for k in (cond if isinstance(cond, dict) else {}):
            if SAFE_KEY.match(k):
                opts.append(GroupOption(f"cond:{k}", f"condition: {k}", "json_extract_string(condition_json, $gpath)",
                                        {"gpath": json_path(k)}))
        for k, sub in (agents if isinstance(agents, dict) else {}).items():
            if not SAFE_KEY.match(k):
                continue
            path = json_path(k)
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

    def group_summary(self, study_id: str, metric: Metric, group: GroupOption,
                      by: GroupOption | None = None) -> pd.DataFrame:
        """Per group of a study's done runs: n, mean, sd and the five-number summary of `metric`.

        With `by` (a second grouping, drawn as colour or small multiples) there
        is one row per (group, by) pair that has data, and a ``by`` column.
        """
        params = {"s": study_id, **metric.params, **group.params}
        by_sql, by_cols, by_key = "", "", ""
        if by is not None:
            renamed = {name: f"by_{name}" for name in by.params}
            sql = by.sql
            for name, new in renamed.items():
                sql = re.sub(rf"\${re.escape(name)}\b", f"${new}", sql)
            params.update({renamed[k]: v for k, v in by.params.items()})
            by_sql = f", CAST({sql} AS VARCHAR) AS by_"
            by_cols = ", coalesce(by_, '(none)') AS \"by\""
            by_key = ", 2"
        return self.df(
            f"""
            WITH r AS (
                SELECT CAST({group.sql} AS VARCHAR) AS grp{by_sql}, CAST({metric.sql} AS DOUBLE) AS y
                FROM runs WHERE study_id = $s AND status = 'done'
            )
            SELECT coalesce(grp, '(none)') AS "group"{by_cols}, count(y) AS n, avg(y) AS mean, stddev_samp(y) AS sd,
                   min(y) AS min, quantile_cont(y, 0.25) AS q1, median(y) AS median,
                   quantile_cont(y, 0.75) AS q3, max(y) AS max
            FROM r WHERE y IS NOT NULL GROUP BY 1{by_key} ORDER BY 1{by_key}
            """,
            params,
        )

    # ---- run explorer ---------------------------------------------------------------------
    def run_filter_values(self, study_id: str | None) -> dict[str, list[str]]:
        """Distinct scenario, condition, status, backend and per-role agent values (for the filter widgets), in one scan."""
        where, params = ("study_id = $s", {"s": study_id}) if study_id else ("TRUE", {})
        cols = ("scenario", "condition", "status", "backend", "agent_a", "agent_b")
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
