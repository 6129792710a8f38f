"""Published reference values drawn beside a study's estimates: `reference_values`, `study_topics`.

The numbers come from `simlab.stats.references`; here only the choice of which
ones go with a study and a metric, and where the page draws them.
"""
from __future__ import annotations

import math
import re
from typing import Any

import pandas as pd

from simlab.dashboard.catalog import Metric
from simlab.stats.references import REFERENCES

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
    are drawn beside the lab's estimates, never used to compute them.
    """
    catalogue = list(REFERENCES)
    by_key = {r.key: r for r in catalogue}
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
    chosen += [r for r in catalogue if r.topic in topics and r not in chosen]
    rows = []
    for r in chosen:
        fits = r.key in explicit_for_metric or (
            not explicit_for_metric and any(h in name.lower() for h in METRIC_HINTS.get(r.topic, ()))
        )
        show = "note"
        if fits and r.measure == "proportion" and metric.binary:
            show = "rate"
        elif fits and ((r.measure == "cohen_h" and metric.binary) or (r.measure == "cohen_d" and not metric.binary)):
            show = "effect"
        rows.append([
            r.key, r.label, r.measure, r.population, _num(r.value), _num(r.low), _num(r.high),
            r.source.citation, r.source.url or "", show,
        ])
    return pd.DataFrame(rows, columns=REFERENCE_COLUMNS)


def _num(value: float | None) -> float:
    return math.nan if value is None else float(value)
