"""`build_report` (dispatch on the study's protocol) and `write_report`, the checked entry to it
that `simlab report` and `simlab.report(...)` use.

Checks what a user can get wrong before any file is written: the study id must
be in the store, an id read from a store must be a plain name before it names a
folder (``reports/<study_id>``; a crafted store could hold ``../../x``), `out`
must not be an existing file, and a `--baseline` must be one of the study's
lead agents (the report compares every lead strategy against it).
"""
from __future__ import annotations

import json
from pathlib import Path

from simlab.config.resolve import output_dir
from simlab.errors import ConfigError, StoreError
from simlab.store.store import DEFAULT_STORE, RunStore


def require_study(store: RunStore, study_id: str) -> str:
    """`study_id` if `store` holds that study; StoreError naming the studies it holds otherwise."""
    if store.query("SELECT count(*) AS n FROM studies WHERE study_id = ?", [study_id])["n"][0]:
        return study_id
    held = ", ".join(store.query("SELECT study_id FROM studies ORDER BY study_id")["study_id"]) or "none"
    raise StoreError(f"study '{str(study_id)[:80]}' is not in {store.path} (studies: {held}); check the id or pass --store")


def lead_agents(store: RunStore, study_id: str) -> set[str]:
    """The agent ids in the lead position of the study's runs (the first agent key, or `lead`)."""
    leads: set[str] = set()
    for c in store.query("SELECT DISTINCT condition_json FROM runs WHERE study_id = ?", [study_id])["condition_json"]:
        parsed = json.loads(c) if isinstance(c, str) and c else {}
        if isinstance(parsed, dict):
            keys = [k for k in parsed if k not in ("scenario", "condition")]
            lead = parsed.get("lead", parsed.get(keys[0]) if keys else None)
            if lead is not None:
                leads.add(str(lead))
    return leads


def check_baseline(store: RunStore, study_id: str, baseline: str) -> str:
    """`baseline` if it is a lead agent of the study; ConfigError listing the lead agents otherwise."""
    leads = lead_agents(store, study_id)
    if baseline not in leads:
        raise ConfigError(f"--baseline: no lead agent '{baseline}' in study '{study_id}'; use one of {', '.join(sorted(leads)) or 'none'}")
    return baseline


def build_report(store: RunStore, study_id: str, out_dir: str | Path | None = None, baseline: str | None = None) -> Path:
    """Write ``out_dir/report.md`` (default ``reports/<study_id>``, + PNG plots); returns the Markdown path."""
    out = Path(out_dir) if out_dir else output_dir("reports", study_id)
    protocols = store.query("SELECT DISTINCT protocol FROM runs WHERE study_id = ? AND status = 'done'", [study_id])
    kinds = set(protocols["protocol"])
    if not kinds:
        raise StoreError(f"study '{study_id}' has no finished runs in {store.path}; run it first or check the id")
    if kinds <= {"alternating_offers"}:
        from simlab.report.negotiation import build_negotiation_report

        return build_negotiation_report(store, study_id, out, baseline=baseline)
    from simlab.report.decision import build_report as build_decision_report

    return build_decision_report(store, study_id, out)


def write_report(
    study_id: str, store: str | Path | RunStore = DEFAULT_STORE, out: str | Path | None = None, baseline: str | None = None
) -> Path:
    """Write the study's report to `out` (default ``reports/<study_id>``); returns the report.md path."""
    st = store if isinstance(store, RunStore) else RunStore(store, read_only=True)
    out_path = output_dir("reports", study_id, out)
    require_study(st, study_id)
    if baseline is not None:
        check_baseline(st, study_id, baseline)
    return build_report(st, study_id, out_path, baseline=baseline)
