"""The dashboard's queries, statistics glue, page helpers and launcher (``simlab dashboard``).

The Streamlit pages live in the repository's ``dashboard/`` folder (shipped in
the wheel as ``simlab/_data/dashboard``) and import everything they need from
here; this subpackage holds no Streamlit page itself.

Modules (one concept each):

- `connection`: `read_connection` (brief read-only connections through the
  store layer's `inspect_file` / `open_connection`, retried while a writer
  holds the file), `check_store` / `StoreStatus`, `store_fingerprint`.
- `catalog`: `Metric` and `GroupOption`, what the compare page can plot and
  group by, and the SQL helpers that find them.
- `reader`: `StoreReader` (every query a page runs) and `RunFilter`.
- `compare`: `add_intervals` and `effect_sizes_vs` over a group summary; the
  statistics themselves come from `simlab.stats`.
- `references`: `reference_values`, published numbers drawn beside a study's.
- `human`: `human_beside`, an advisory study's simulated harmful-choice rates
  and Cohen's h beside those of imported human trials (``simlab import
  human``), both from `simlab.decision.analysis`'s functions.
- `run_view`: one run's JSON columns as plot-ready frames.
- `charts` and `layout`: the compare page's plotly figures, and the label and
  size rules that keep 30+ groups readable (horizontal bars, distinct
  shortened labels, small multiples); `charts` needs plotly.
- `pages`: Streamlit helpers shared by the pages (store path, cached queries,
  guards, formatting); the only module that imports streamlit.
- `launch`: `launch` and `streamlit_command`, which start the app.

Importing this package imports neither streamlit nor plotly.
"""
from __future__ import annotations

from simlab.dashboard.catalog import GroupOption, Metric
from simlab.dashboard.compare import add_intervals, effect_sizes_vs
from simlab.dashboard.connection import LOCK_RETRY_S, StoreStatus, check_store, read_connection, store_fingerprint
from simlab.dashboard.reader import RunFilter, StoreReader
from simlab.dashboard.references import reference_values, study_topics
from simlab.dashboard.run_view import (
    belief_frame,
    format_offer,
    offer_trajectories,
    reliability_frame,
    reservation_values,
    roles_of,
)

__all__ = [
    "LOCK_RETRY_S",
    "GroupOption",
    "Metric",
    "RunFilter",
    "StoreReader",
    "StoreStatus",
    "add_intervals",
    "belief_frame",
    "check_store",
    "effect_sizes_vs",
    "format_offer",
    "offer_trajectories",
    "read_connection",
    "reference_values",
    "reliability_frame",
    "reservation_values",
    "roles_of",
    "store_fingerprint",
    "study_topics",
]
