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
