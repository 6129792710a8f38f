"""Reports built from the run store: `build_report` dispatches on the study's protocol.

The package is also callable: ``simlab.report(study_id, store=..., out=..., baseline=...)``
is `simlab.report.write.write_report` (the Python API's report function). A plain
function named ``simlab.report`` could not exist beside this subpackage: importing
the subpackage rebinds the name on `simlab`.
"""
from __future__ import annotations

import sys
import types
from pathlib import Path
from typing import Any

from simlab.errors import StoreError
from simlab.store.store import RunStore


def build_report(store: RunStore, study_id: str, out_dir: str | Path | None = None, baseline: str | None = None) -> Path:
    """Write reports/<study_id>/report.md (+ PNG plots); returns the Markdown path."""
    out = Path(out_dir) if out_dir else Path("reports") / study_id
    protocols = store.query("SELECT DISTINCT protocol FROM runs WHERE study_id = ? AND status = 'done'", [study_id])
    kinds = set(protocols["protocol"])
    if not kinds:
        raise StoreError(f"study '{study_id}' has no finished runs in {store.path}; run it first or check the id")
    if kinds <= {"alternating_offers"}:
        from simlab.report.negotiation import build_negotiation_report

        return build_negotiation_report(store, study_id, out, baseline=baseline)
    from simlab.report.decision import build_report as build_decision_report

    return build_decision_report(store, study_id, out)


class _CallableReports(types.ModuleType):
    """This package's module type: calling it writes a report (`simlab.report.write.write_report`)."""

    def __call__(self, study_id: str, store: Any = None, out: str | Path | None = None, baseline: str | None = None) -> Path:
        from simlab.report.write import write_report

        return write_report(study_id, **({"store": store} if store is not None else {}), out=out, baseline=baseline)


sys.modules[__name__].__class__ = _CallableReports
