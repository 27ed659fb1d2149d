"""How the report writes a figure: one drawing for the PNG, cut to the box that
``savefig(bbox_inches="tight")`` would cut, with everything the figure holds."""

import matplotlib.pyplot as plt
import numpy as np
from PIL import Image

from crossalign.study.report.drawing import DPI, save_figure


def _red_pixels(path):
    rgb = np.asarray(Image.open(path).convert("RGB")).astype(int)
    return int(((rgb[..., 0] > 200) & (rgb[..., 1] < 60) & (rgb[..., 2] < 60)).sum())


def _tight_size(fig, tmp_path):
    fig.savefig(tmp_path / "reference.png", dpi=DPI, bbox_inches="tight")
    return Image.open(tmp_path / "reference.png").size


def test_a_legend_beyond_the_canvas_is_in_the_png(tmp_path):
    """A figure legend anchored past the right edge (as the layer profiles and the MDS views
    place theirs) lies outside the canvas: the PNG must still show it, as savefig does."""
    fig, ax = plt.subplots(figsize=(3, 2))
    ax.plot([0, 1], [0, 1], color="tab:blue", lw=3, label="blue")
    ax.plot([], [], color="red", lw=6, label="red only in the legend")
    fig.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=6)
    size = _tight_size(fig, tmp_path)
    png = save_figure(fig, tmp_path, "outside")
    assert _red_pixels(png) > 50  # the legend's red handle
    assert abs(Image.open(png).size[0] - size[0]) <= 2
    assert Image.open(png).size[0] > 3 * DPI  # wider than the canvas
    assert (tmp_path / "outside.pdf").stat().st_size > 1000


def test_a_figure_inside_its_canvas_is_cut_like_savefig(tmp_path):
    fig, ax = plt.subplots(figsize=(3, 2), layout="constrained")
    ax.plot([0, 1], [0, 1], color="red", lw=3)
    ax.set_title("title")
    size = _tight_size(fig, tmp_path)
    png = save_figure(fig, tmp_path, "inside")
    got = Image.open(png).size
    assert abs(got[0] - size[0]) <= 2 and abs(got[1] - size[1]) <= 2, (got, size)
    assert _red_pixels(png) > 100


def _pattern_panel(tmp_path, n_regions):
    """A Panel holding one model's alignment patterns over ``n_regions`` regions."""
    import pandas as pd

    from crossalign.study.report.drawing import Panel

    regions = [f"R{i}" for i in range(n_regions)]
    rows = [
        {"model": "net", "analysis": a, "region": r, "target_region": t, "value": v}
        for a, v in (
            ("brain_pattern", 0.5),
            ("brain_pattern_low", 0.4),
            ("brain_pattern_high", 0.6),
            ("model_to_brain", 0.45),
        )
        for r in regions
        for t in regions
    ]
    return Panel("data", "pearson", pd.DataFrame(rows), regions, ["net"], tmp_path)


def test_pattern_panels_label_the_region_axis_under_each_columns_lowest_panel(
    tmp_path, monkeypatch
):
    """7 regions on a 5-column grid: the second row holds 2 panels, so columns 3-5 end in
    the first row, whose panels there must carry the region labels; panels with one below
    carry none."""
    from crossalign.study.report import figures

    drawn = []
    monkeypatch.setattr(figures, "save_figure", lambda fig, folder, name: drawn.append(fig))
    patterns = next(f for f in figures.FIGURES if f.__name__ == "_patterns")
    patterns(_pattern_panel(tmp_path, 7))
    (fig,) = drawn
    fig.canvas.draw()
    panels = [ax for ax in fig.axes if ax.get_title()]
    assert [ax.get_title() for ax in panels] == [f"R{i}" for i in range(7)]
    labelled = [
        any(t.label1.get_visible() and t.label1.get_text() for t in ax.xaxis.get_major_ticks())
        for ax in panels
    ]
    assert labelled == [False, False, True, True, True, True, True]
    shown = [t.label1.get_text() for t in panels[4].xaxis.get_major_ticks()]
    assert shown == [f"R{i}" for i in range(7)]
    plt.close(fig)
