"""Chart layout for many groups: `short_labels`, `use_horizontal`, `chart_height`, `facet_grid`.

A tournament study has dozens of conditions ("lead_bayesian_orchestrator vs
counterpart_threatening"); on one vertical-bar axis their labels overlap. The
compare page therefore turns bars horizontal past a few groups, wraps each
label over at most two lines and shortens longer ones in the middle (the
distinguishing ends stay), always keeping labels distinct: plotly merges
equal category labels into one bar, which would be silently wrong.
"""
from __future__ import annotations

import math
import textwrap

HORIZONTAL_AFTER = 8
"""More groups than this (or long labels) are drawn as horizontal bars."""

HORIZONTAL_BARS_AFTER = 16
"""More bars than this in one panel (groups x colours) are drawn horizontally too."""


def _middle(text: str, width: int) -> str:
    if len(text) <= width:
        return text
    keep = width - 1
    head = (keep + 1) // 2
    return text[:head] + "…" + text[len(text) - (keep - head):]


def short_label(text: str, width: int = 28, lines: int = 2) -> str:
    """`text` wrapped to `lines` lines of `width` (plotly's <br>), shortened in the middle if longer."""
    text = str(text)
    wrapped = textwrap.wrap(text, width, break_on_hyphens=False) or [text]
    if len(wrapped) <= lines and all(len(w) <= width for w in wrapped):
        return "<br>".join(wrapped)
    budget = width * lines
    short = _middle(text, budget)
    wrapped = textwrap.wrap(short, width, break_on_hyphens=False) or [short]
    if len(wrapped) > lines:  # long words wrap badly: cut the shortened text into equal pieces
        wrapped = [short[i:i + width] for i in range(0, len(short), width)][:lines]
    return "<br>".join(wrapped)


def short_labels(labels: list[str], width: int = 28, lines: int = 2) -> list[str]:
    """`short_label` of each label, distinct whenever the labels are: a collision keeps the full labels wrapped."""
    labels = [str(x) for x in labels]
    out = [short_label(x, width, lines) for x in labels]
    if len(set(out)) == len(set(labels)):
        return out
    return ["<br>".join(textwrap.wrap(x, width, break_on_hyphens=False)) or x for x in labels]


def use_horizontal(labels: list[str], width: int = 28, bars: int = 0) -> bool:
    """Horizontal bars when there are many groups or bars, or any label needs more than one line."""
    return len(labels) > HORIZONTAL_AFTER or bars > HORIZONTAL_BARS_AFTER or any(len(str(x)) > width for x in labels)


def chart_height(n_rows: int, per_row: int = 26, base: int = 140, minimum: int = 360, maximum: int = 2400) -> int:
    """Pixel height of a horizontal chart with `n_rows` category rows (each readable)."""
    return int(min(max(base + per_row * n_rows, minimum), maximum))


def facet_grid(n: int, max_cols: int = 3) -> tuple[int, int]:
    """(rows, cols) of a small-multiples grid for `n` panels."""
    cols = max(1, min(n, max_cols))
    return (max(1, math.ceil(n / cols)), cols)
