"""Tables a user sees after a study: per-condition summary and one run's transcript.

Defines `run_signatures` (a hash of each run's outcome and transcript, so
reports can tell identical runs from independent ones), `condition_summary`
(a DataFrame per condition: runs, distinct runs, agreement, utilities, every
metric the study's scenarios declare, rounds, failures), `summary_table` (the
rich table ``simlab run`` prints) and `transcript_table` (``simlab show``).
"""
from __future__ import annotations

import json
import math

import pandas as pd

from rich.table import Table
from rich.text import Text

from simlab.errors import StoreError
from simlab.store.store import RunStore


def run_signatures(store: RunStore, study_id: str) -> pd.DataFrame:
    """One row per finished run: run_id and `signature`, an md5 of its outcome, agreement, metrics and moves.

    The moves are each turn's role, action, offer and emotion, not the message's
    wording (the scripted backend words one move in several ways): two runs with
    the same signature played the same negotiation move for move and scored the
    same, so for every outcome statistic they are one observation, not two.
    """
    return store.query(
        """
        WITH t AS (
            SELECT run_id,
                   string_agg(concat_ws('|', role, action, coalesce(offer_json, ''), coalesce(emotion, '')),
                              chr(10) ORDER BY turn_index) AS transcript
            FROM turns WHERE run_id IN (SELECT run_id FROM runs WHERE study_id = ? AND status = 'done')
            GROUP BY run_id
        )
        SELECT r.run_id,
               md5(coalesce(r.outcome, '') || '|' || coalesce(r.agreed_offer_json, '') || '|'
                   || coalesce(r.metrics_json, '') || '|' || coalesce(t.transcript, '')) AS signature
        FROM runs r LEFT JOIN t USING (run_id)
        WHERE r.study_id = ? AND r.status = 'done'
        ORDER BY r.run_id
        """,
        [study_id, study_id],
    )


def metric_names(metrics_json: pd.Series) -> list[str]:
    """Every metric name in a column of metrics_json strings, in first-declared order."""
    names: dict[str, None] = {}
    for text in metrics_json.dropna():
        for k in json.loads(text) or {}:
            names.setdefault(str(k), None)
    return list(names)


def condition_summary(store: RunStore, study_id: str) -> pd.DataFrame:
    """Per condition: n, distinct runs, agreement rate, mean utilities, the mean of every scenario
    metric (columns ``metric:NAME``), rounds, parse failures and ethics violations (a DataFrame).

    ``n_distinct`` counts runs with different signatures (`run_signatures`): a
    condition with ``n_distinct < n`` has runs that repeat one another.
    """
    runs = store.query(
        "SELECT run_id, condition, agreement, utility_a, utility_b, rounds, parse_failures, ethics_violations, "
        "metrics_json, model, is_llm FROM runs WHERE study_id = ? AND status = 'done' ORDER BY run_id",
        [study_id],
    )
    names = metric_names(runs["metrics_json"])
    cols = ["condition", "n", "n_distinct", "agreement_rate", "mean_utility_a", "mean_utility_b",
            *[f"metric:{m}" for m in names], "mean_rounds", "parse_failures", "ethics_violations", "model", "is_llm"]
    if runs.empty:
        return pd.DataFrame(columns=cols)
    runs = runs.merge(run_signatures(store, study_id), on="run_id", how="left")
    parsed = runs["metrics_json"].map(lambda s: json.loads(s) if s else {})
    for m in names:
        runs[f"metric:{m}"] = parsed.map(lambda d, m=m: _num(d.get(m)))
    rows = []
    for cond, g in runs.groupby("condition", sort=True):
        row = {
            "condition": cond,
            "n": len(g),
            "n_distinct": int(g["signature"].nunique()),
            "agreement_rate": float(g["agreement"].astype(float).mean()),
            "mean_utility_a": float(g["utility_a"].mean()),
            "mean_utility_b": float(g["utility_b"].mean()),
        }
        for m in names:
            row[f"metric:{m}"] = float(g[f"metric:{m}"].mean()) if g[f"metric:{m}"].notna().any() else math.nan
        row.update(
            mean_rounds=float(g["rounds"].mean()),
            parse_failures=int(g["parse_failures"].sum()),
            ethics_violations=int(g["ethics_violations"].sum()),
            model=str(g["model"].iloc[0]),
            is_llm=bool(g["is_llm"].all()),
        )
        rows.append(row)
    return pd.DataFrame(rows, columns=cols)


def _num(v) -> float:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else (1.0 if v is True else (0.0 if v is False else math.nan))


def _fmt(v, digits: int = 3) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return str(v)


def summary_table(store: RunStore, study_id: str) -> Table:
    """The negotiation summary (decision studies: `simlab.report.summary.summary_table` dispatches)."""
    df = condition_summary(store, study_id)
    roles = store.query(
        "SELECT arg_min(spec_json, run_id) AS s FROM runs WHERE study_id = ? AND status = 'done'", [study_id]
    )
    role_names = ["A", "B"]
    if len(roles) and roles["s"][0]:
        role_names = json.loads(roles["s"][0])["scenario"]["roles"]
    model = df["model"].iloc[0] if len(df) else "?"
    title = f"{study_id}: {model}"
    if len(df) and not bool(df["is_llm"].iloc[0]):
        if "not an LLM" not in str(model):
            title += " (not an LLM)"
    metric_cols = [c for c in df.columns if c.startswith("metric:")]
    table = Table(title=title)
    for col in ["condition", "n", "distinct", "agreement", f"U {role_names[0]}", f"U {role_names[1]}",
                *[c.split(":", 1)[1] for c in metric_cols], "rounds", "parse fail", "ethics"]:
        table.add_column(col, justify="left" if col == "condition" else "right")
    repeated = 0
    for _, row in df.iterrows():
        distinct = str(row["n_distinct"])
        if row["n_distinct"] < row["n"]:
            distinct += " (!)"
            repeated += 1
        table.add_row(
            row["condition"], str(row["n"]), distinct, _fmt(row["agreement_rate"], 2), _fmt(row["mean_utility_a"]),
            _fmt(row["mean_utility_b"]), *[_fmt(row[c]) for c in metric_cols], _fmt(row["mean_rounds"], 1),
            str(int(row["parse_failures"] or 0)), str(int(row["ethics_violations"] or 0)),
        )
    if repeated:
        table.caption = (f"(!) {repeated} condition(s) have runs that repeat another run move for move: "
                         "'distinct' runs are the independent observations (declare seed_varies in the scenario)")
    return table


def transcript_table(store: RunStore, run_id: str) -> tuple[str, Table]:
    runs = store.query("SELECT * FROM runs WHERE run_id = ? OR run_id LIKE ? ORDER BY run_id", [run_id, f"{run_id}%"])
    if len(runs) == 0:
        raise StoreError(f"no run '{run_id}' in {store.path}; list runs with simlab runs STUDY or check --store")
    if len(runs) > 1:
        raise StoreError(f"run id prefix '{run_id}' matches {len(runs)} runs; give more characters")
    run = runs.iloc[0]
    turns = store.query("SELECT * FROM turns WHERE run_id = ? ORDER BY turn_index", [run["run_id"]])
    llm = "" if run["is_llm"] else " (scripted templates, not an LLM)"
    header = (
        f"run {run['run_id']} | study {run['study_id']} | {run['scenario']} | {run['condition']} | seed {run['seed']}\n"
        f"model {run['model']}{llm} | outcome {run['outcome']} after {run['rounds']} rounds | "
        f"utilities {_fmt(run['utility_a'])} / {_fmt(run['utility_b'])} | parse failures {run['parse_failures']} | "
        f"ethics violations {run['ethics_violations']}"
    )
    table = Table(show_lines=False)
    for col in ["round", "speaker", "action", "offer", "emotion", "U self", "U other", "message"]:
        table.add_column(col, overflow="fold")
    for t in turns.itertuples():
        offer = json.loads(t.offer_json) if t.offer_json else {}
        offer_s = ", ".join(f"{k}={v:g}" for k, v in offer.items())
        flag = " [parse failed]" if t.parse_failed else ""
        ethics = json.loads(t.ethics_json) if t.ethics_json else []
        eflag = f" [violates {', '.join(ethics)}]" if ethics else ""
        table.add_row(str(t.round), f"{t.role} ({t.speaker})", t.action, offer_s, t.emotion,
                      _fmt(t.utility_self), _fmt(t.utility_other), Text((t.message or "") + flag + eflag))
    return header, table
