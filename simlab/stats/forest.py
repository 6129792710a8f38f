"""Forest plots of effect sizes with confidence intervals, saved as PNG.

Defines `ForestRow` and `forest_plot`. Lab estimates are drawn as filled
squares with horizontal CI bars; literature references (`ReferenceValue`) are
drawn below them as hollow red diamonds (point values) or shaded red bars
(reported ranges), in their own labelled block, so they cannot be mistaken for
the lab's results. The figure is rendered with matplotlib's Agg canvas
directly (no pyplot, no global backend switch, nothing left open).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Optional, Sequence, Union

from simlab.stats.effect_sizes import EffectSize
from simlab.stats.references import ReferenceValue

__all__ = ["ForestRow", "forest_plot"]

_EST_COLOR = "#1f4e79"
_REF_COLOR = "#c0392b"


@dataclass(frozen=True)
class ForestRow:
    """One estimate to draw: a label, a point and a CI (NaN bounds draw no bar)."""

    label: str
    estimate: float
    ci_low: float = float("nan")
    ci_high: float = float("nan")

    @classmethod
    def from_effect(cls, label: str, effect: EffectSize) -> "ForestRow":
        """A row from an `EffectSize`."""
        return cls(label, effect.estimate, effect.ci_low, effect.ci_high)


RowLike = Union[ForestRow, tuple]


def _as_row(r: RowLike) -> ForestRow:
    if isinstance(r, ForestRow):
        return r
    if isinstance(r, tuple) and len(r) == 2 and isinstance(r[1], EffectSize):
        return ForestRow.from_effect(str(r[0]), r[1])
    if isinstance(r, tuple) and len(r) in (2, 4):
        return ForestRow(str(r[0]), *(float(v) for v in r[1:]))
    raise TypeError(
        "a forest row is a ForestRow, (label, EffectSize), (label, estimate) "
        f"or (label, estimate, ci_low, ci_high); got {r!r}"
    )


def forest_plot(
    rows: Iterable[RowLike],
    path: Union[str, Path],
    *,
    references: Sequence[ReferenceValue] = (),
    xlabel: str = "effect size",
    title: Optional[str] = None,
    null_value: Optional[float] = 0.0,
    dpi: int = 150,
) -> Path:
    """Draw a forest plot and save it as PNG.

    Args:
        rows: lab estimates, top to bottom: `ForestRow`s, ``(label, EffectSize)``,
            ``(label, estimate)`` or ``(label, estimate, ci_low, ci_high)``.
        path: output file (parent folders are created); ".png" is expected.
        references: literature values drawn below the estimates as distinct
            markers; ones without a number (directional findings) are skipped.
            Only drawn, never used in any computation. Pass references of
            the same measure as the estimates (h beside h, d beside d).
        xlabel, title: axis label and optional title.
        null_value: x of a dashed vertical "no effect" line, or None.
        dpi: resolution.

    Returns:
        The path written.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    est = [_as_row(r) for r in rows]
    refs = [r for r in references if r.has_number]
    if not est and not refs:
        raise ValueError("nothing to plot: no estimates and no numeric references")

    n_lines = len(est) + len(refs) + (1 if est and refs else 0)
    fig = Figure(figsize=(8.0, 1.6 + 0.42 * n_lines), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)

    labels: list[str] = []
    y = n_lines - 1
    ys: list[float] = []
    for row in est:
        has_ci = math.isfinite(row.ci_low) and math.isfinite(row.ci_high)
        if has_ci:
            ax.hlines(y, row.ci_low, row.ci_high, color=_EST_COLOR, linewidth=1.8)
            ax.vlines([row.ci_low, row.ci_high], y - 0.12, y + 0.12, color=_EST_COLOR, linewidth=1.2)
        ax.plot([row.estimate], [y], marker="s", markersize=7, color=_EST_COLOR, linestyle="none")
        labels.append(row.label)
        ys.append(y)
        y -= 1
    if est and refs:
        ax.axhline(y, color="0.75", linewidth=0.8)
        labels.append("literature (not lab results)")
        ys.append(y)
        y -= 1
    for ref in refs:
        if ref.low is not None and ref.high is not None:
            ax.barh(y, ref.high - ref.low, left=ref.low, height=0.35, color=_REF_COLOR, alpha=0.25,
                    edgecolor=_REF_COLOR, hatch="//")
        if ref.value is not None:
            ax.plot([ref.value], [y], marker="D", markersize=8, markerfacecolor="white",
                    markeredgecolor=_REF_COLOR, markeredgewidth=1.8, linestyle="none")
        labels.append(ref.label)
        ys.append(y)
        y -= 1

    if null_value is not None:
        ax.axvline(null_value, color="0.4", linestyle="--", linewidth=0.9)
    ax.set_yticks(ys)
    ax.set_yticklabels(labels)
    if est and refs:  # the divider label is a heading, not a row
        divider = ax.get_yticklabels()[len(est)]
        divider.set_fontstyle("italic")
        divider.set_color("0.35")
    ax.set_ylim(-0.8, n_lines - 0.2)
    ax.set_xlabel(xlabel)
    if title:
        ax.set_title(title)
    ax.grid(axis="x", color="0.9")
    handles = []
    if est:
        handles.append(Line2D([], [], color=_EST_COLOR, marker="s", label="lab estimate (CI)"))
    if any(r.value is not None for r in refs):
        handles.append(Line2D([], [], color=_REF_COLOR, marker="D", markerfacecolor="white",
                              linestyle="none", label="literature value"))
    if any(r.low is not None and r.high is not None for r in refs):
        handles.append(Patch(facecolor=_REF_COLOR, alpha=0.25, edgecolor=_REF_COLOR, hatch="//",
                             label="literature range"))
    fig.legend(handles=handles, loc="outside lower center", ncols=len(handles), fontsize="small", frameon=False)

    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, format="png", dpi=dpi)
    return out
