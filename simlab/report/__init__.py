"""Reports built from the run store: `build_report` dispatches on the study's protocol.

`build_report` and the checked entry `write_report` live in `simlab.report.write`.
The package is also callable: ``simlab.report(study_id, store=..., out=..., baseline=...)``
is `write_report` (the Python API's report function). A plain function named
``simlab.report`` could not exist beside this subpackage: importing the
subpackage rebinds the name on `simlab`.
"""
from __future__ import annotations

import sys
import types
from pathlib import Path
from typing import Any

from simlab.report.write import build_report, write_report

__all__ = ["build_report", "write_report"]


class _CallableReports(types.ModuleType):
    """This package's module type: calling it writes a report (`write_report`)."""

    def __call__(self, study_id: str, store: Any = None, out: str | Path | None = None, baseline: str | None = None) -> Path:
        return write_report(study_id, **({"store": store} if store is not None else {}), out=out, baseline=baseline)


sys.modules[__name__].__class__ = _CallableReports
