"""`summary_table`: the short per-condition table `simlab run` and `simlab runs` print, for any protocol.

It dispatches on the study's protocols: decision studies (advisory, vignette)
get `simlab.report.decision.summary_table`, negotiations
`simlab.sweep.summary.summary_table`. The dispatch lives here, in the report
layer, because only this layer may see both.
"""
from __future__ import annotations

from rich.table import Table

from simlab.report.decision import summary_table as decision_summary
from simlab.store.store import RunStore
from simlab.sweep.summary import summary_table as negotiation_summary


def summary_table(store: RunStore, study_id: str) -> Table:
    """The summary table of `study_id` (decision studies: their own; otherwise the negotiation table)."""
    kinds = set(store.query("SELECT DISTINCT protocol FROM runs WHERE study_id = ? AND status = 'done'", [study_id])["protocol"])
    if kinds and kinds <= {"advisory", "vignette"}:
        return decision_summary(store, study_id)
    return negotiation_summary(store, study_id)
