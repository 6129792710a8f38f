"""Forest plots render to PNG with estimates, CIs and distinct reference markers."""
from __future__ import annotations

import numpy as np
import pytest
from matplotlib import _pylab_helpers
from matplotlib.image import imread

from simlab.stats import ForestRow, cohens_h, forest_plot, get_reference, select_references

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_forest_plot_with_estimates_and_references(tmp_path):
    rows = [
        ("debt: anger vs neutral", cohens_h(62, 100, 36, 100)),
        ForestRow("healthcare: anger vs neutral", 0.12, -0.05, 0.29),
        ("point only", 0.3),
        ("explicit", 0.1, -0.2, 0.4),
    ]
    refs = list(select_references(topic="framing")) + [get_reference("negotiation.anger_concessions")]
    out = forest_plot(rows, tmp_path / "sub" / "forest.png", references=refs, xlabel="Cohen's h", title="t")
    assert out.exists() and out.read_bytes()[:8] == PNG_MAGIC
    img = imread(out)
    assert img.ndim == 3 and img.shape[0] > 100 and img.shape[1] > 100
    # no pyplot figure managers were created (Agg canvas only)
    assert _pylab_helpers.Gcf.get_num_fig_managers() == 0


def test_forest_plot_references_only(tmp_path):
    out = forest_plot([], tmp_path / "refs.png", references=select_references(topic="ive", numeric_only=True))
    assert out.read_bytes()[:8] == PNG_MAGIC


def test_forest_plot_input_errors(tmp_path):
    with pytest.raises(ValueError):
        forest_plot([], tmp_path / "x.png", references=[get_reference("negotiation.anger_concessions")])
    with pytest.raises(TypeError):
        forest_plot([("a", "b", "c")], tmp_path / "x.png")  # type: ignore[list-item]


def test_rows_with_nan_ci_draw_points_only(tmp_path):
    out = forest_plot([ForestRow("no ci", 0.2, np.nan, np.nan)], tmp_path / "p.png", null_value=None)
    assert out.stat().st_size > 1000
