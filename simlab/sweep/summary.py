"""Tables a user sees after a study: per-condition summary and one run's transcript."""
from __future__ import annotations

import json
import math

from rich.table import Table
from rich.text import Text

from simlab.errors import StoreError
from simlab.store.store import RunStore


def condition_summary(store: RunStore, study_id: str):
    """Per condition: n, agreement rate, mean utilities, recovery rate, rounds, parse failures (a DataFrame)."""
    return store.query(
        """
        SELECT condition,
               count(*) AS n,
               avg(CASE WHEN agreement THEN 1.0 ELSE 0.0 END) AS agreement_rate,
               avg(utility_a) AS mean_utility_a,
               avg(utility_b) AS mean_utility_b,
               avg(TRY_CAST(json_extract(metrics_json, '$.recovery_rate') AS DOUBLE)) AS recovery_rate,
               avg(rounds) AS mean_rounds,
               sum(parse_failures) AS parse_failures,
               sum(ethics_violations) AS ethics_violations,
               any_value(model) AS model,
               bool_and(is_llm) AS is_llm
        FROM runs WHERE study_id = ? AND status = 'done'
        GROUP BY condition ORDER BY condition
        """,
        [study_id],
    )


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
        "SELECT any_value(spec_json) AS s FROM runs WHERE study_id = ? AND status = 'done'", [study_id]
    )
    role_names = ["A", "B"]
    if len(roles) and roles["s"][0]:
        role_names = json.loads(roles["s"][0])["scenario"]["roles"]
    model = df["model"].iloc[0] if len(df) else "?"
    title = f"{study_id}: {model}"
    if len(df) and not bool(df["is_llm"].iloc[0]):
        if "not an LLM" not in str(model):
            title += " (not an LLM)"
    table = Table(title=title)
    for col in ["condition", "n", "agreement", f"U {role_names[0]}", f"U {role_names[1]}", "recovery", "rounds", "parse fail", "ethics"]:
        table.add_column(col, justify="left" if col == "condition" else "right")
    for row in df.itertuples():
        table.add_row(
            row.condition, str(row.n), _fmt(row.agreement_rate, 2), _fmt(row.mean_utility_a), _fmt(row.mean_utility_b),
            _fmt(row.recovery_rate), _fmt(row.mean_rounds, 1), str(int(row.parse_failures or 0)), str(int(row.ethics_violations or 0)),
        )
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
