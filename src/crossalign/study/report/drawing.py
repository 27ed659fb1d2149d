"""What every figure of the report shares: the panel of one dataset and metric, the record of
a drawn figure (or of the line that replaces one), compressed file writing, one colour scale
per comparison and interval marks."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from crossalign.io.outputs import slug, write_atomic

__all__ = [
    "DPI",
    "Panel",
    "ReportFigure",
    "colour_scale",
    "draw_intervals",
    "heatmap",
    "is_constant",
    "note",
    "region_matrix",
    "save_figure",
]

#: Resolution of the report's PNGs: a full-width figure (10.5 in) fits the page's 1,150 px.
DPI = 100

#: Above this many regions, matrices and axes carry no tick labels (they would overlap).
MAX_TICK_LABELS = 40


@dataclass(frozen=True)
class Panel:
    """What every figure of one dataset and metric draws from.

    Parameters
    ----------
    dataset, metric : str
    res : pandas.DataFrame
        The rows of this dataset and metric.
    regions : list of str
        In the order of the brain's cross-region matrix.
    models : list of str
        In the order of their first score row.
    folder : Path
        Where the figure files go.
    parcellation : str, optional
        The parcellation whose parcels are the regions (a name or file), for cortex maps.
    """

    dataset: str
    metric: str
    res: pd.DataFrame
    regions: list[str]
    models: list[str]
    folder: Path
    parcellation: str | None = None

    @property
    def tag(self) -> str:
        """The file-name stem of this dataset and metric."""
        return f"{slug(self.dataset)}_{slug(self.metric)}"

    def rows(self, analysis: str) -> pd.DataFrame:
        """The rows of one analysis.

        Parameters
        ----------
        analysis : str

        Returns
        -------
        pandas.DataFrame
        """
        return self.res[self.res["analysis"] == analysis]

    @property
    def has_aps(self) -> bool:
        """Whether any model APS is defined (it needs at least 3 regions): a per-subject or
        mean value, not the bootstrap's bookkeeping (``kept``, ``degenerate``), which is a
        number even where APS is undefined."""
        rows = self.rows("aps")
        values = rows[rows["statistic"].isin(["value", "mean"])]["value"]
        return bool(values.notna().any())


class ReportFigure(NamedTuple):
    """One figure of the report, or the line that stands where a figure says nothing.

    Parameters
    ----------
    caption : str
        The caption, or the reason no figure is drawn (when ``path`` is None).
    path : Path or None
        The PNG (a PDF with the same stem lies beside it).
    group : str
        Where the report shows it: ``"summary"``, ``"main"`` (open) or a collapsed group
        (``"models"``, ``"layers"``, ``"paired"``, ``"geometry"``).
    alt : str
        Alternative text: what the figure shows.
    """

    caption: str
    path: Path | None
    group: str = "main"
    alt: str = ""


def note(reason: str, group: str = "main") -> ReportFigure:
    """A line that stands where a figure would carry no information.

    Parameters
    ----------
    reason : str
    group : str

    Returns
    -------
    ReportFigure
    """
    return ReportFigure(reason, None, group, "")


def save_figure(fig: Any, folder: Path, name: str) -> Path:
    """Write ``name.png`` (a 256-colour palette PNG at :data:`DPI`) and ``name.pdf``
    atomically, never through a link planted in the folder; close the figure.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    folder : Path
    name : str
        File stem.

    Returns
    -------
    Path
        The PNG.
    """
    import matplotlib.pyplot as plt

    image, bbox = _drawn(fig)
    palette = image.convert("RGB").quantize(colors=256)
    png = write_atomic(folder / f"{name}.png", lambda tmp: palette.save(tmp, "PNG", optimize=True))
    write_atomic(  # rasterized parts (cortex meshes) at twice the PNG's resolution
        folder / f"{name}.pdf",
        lambda tmp: fig.savefig(tmp, format="pdf", dpi=2 * DPI, bbox_inches=bbox),
    )
    plt.close(fig)
    return png


def _drawn(fig: Any) -> tuple[Any, Any]:
    """Draw ``fig`` once at :data:`DPI` and freeze its layout; return the PNG's image, cut to
    the tight bounding box padded as matplotlib's ``bbox_inches="tight"`` pads it, and that box
    (in inches), which the PDF is cut to as well.

    The one drawing runs the layout engine, measures every text and gives the pixels
    (``savefig`` would measure and draw the figure again per file). Where something lies
    outside the canvas (a legend anchored beyond the figure's edge), the canvas holds no
    pixels of it: the figure is then drawn again with the box as its canvas, as ``savefig``
    draws it."""
    import matplotlib as mpl
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig.set_dpi(DPI)
    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    canvas.draw()
    tight = fig.get_tightbbox(canvas.get_renderer())
    bbox = tight.padded(mpl.rcParams["savefig.pad_inches"])
    # the positions just computed hold for both files: no engine left, so that saving the PDF
    # draws once ("none" would leave a placeholder engine that savefig measures again)
    with mpl.rc_context({"figure.autolayout": False, "figure.constrained_layout.use": False}):
        fig.set_layout_engine(None)
    width, height = fig.get_size_inches()
    inside = 0.5 / DPI  # half a pixel: the extents of what touches the edge
    if (
        tight.x0 < -inside
        or tight.y0 < -inside
        or tight.x1 > width + inside
        or tight.y1 > height + inside
    ):
        return _redrawn(fig, bbox), bbox
    return _cut(fig, np.asarray(canvas.buffer_rgba()), bbox), bbox


def _cut(fig: Any, pixels: np.ndarray, bbox: Any) -> Any:
    """The canvas's pixels cut to ``bbox`` (inches); the figure's face colour where the box
    reaches past the canvas (only its padding can)."""
    import matplotlib as mpl
    from PIL import Image

    rows, cols = pixels.shape[:2]  # image rows run down, figure inches up
    left, right = round(bbox.x0 * DPI), round(bbox.x1 * DPI)
    top, bottom = round(rows - bbox.y1 * DPI), round(rows - bbox.y0 * DPI)
    face = np.round(np.array(mpl.colors.to_rgba(fig.get_facecolor())) * 255)
    out = np.empty((bottom - top, right - left, 4), dtype=np.uint8)
    out[:] = face.astype(np.uint8)
    y0, y1, x0, x1 = max(top, 0), min(bottom, rows), max(left, 0), min(right, cols)
    out[y0 - top : y1 - top, x0 - left : x1 - left] = pixels[y0:y1, x0:x1]
    return Image.fromarray(out)


def _redrawn(fig: Any, bbox: Any) -> Any:
    """``fig`` drawn at :data:`DPI` on a canvas that is ``bbox`` (inches), as ``savefig``
    with that box draws it."""
    from PIL import Image

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, bbox_inches=bbox)
    buffer.seek(0)
    with Image.open(buffer) as image:
        return image.convert("RGBA")


def region_matrix(rows: pd.DataFrame, regions: list[str]) -> np.ndarray:
    """A region x target-region matrix from result rows (NaN where none is stored).

    Parameters
    ----------
    rows : pandas.DataFrame
    regions : list of str

    Returns
    -------
    numpy.ndarray
    """
    if rows.empty:
        return np.full((len(regions), len(regions)), np.nan)
    table = rows.pivot_table(
        index="region", columns="target_region", values="value", aggfunc="first"
    )
    return table.reindex(index=regions, columns=regions).to_numpy(dtype=float)


def is_constant(values: np.ndarray) -> bool:
    """Whether the finite values are all equal (or there are none): nothing to show.

    Parameters
    ----------
    values : numpy.ndarray

    Returns
    -------
    bool
    """
    finite = np.asarray(values, dtype=float)
    finite = finite[np.isfinite(finite)]
    return finite.size == 0 or bool(np.ptp(finite) <= 1e-12 * max(1.0, np.abs(finite).max()))


def colour_scale(*arrays: np.ndarray) -> dict[str, Any]:
    """One colour scale for matrices that are compared: shared limits over all finite
    values, a diverging map centred on zero when the values take both signs, else a
    sequential one.

    Parameters
    ----------
    *arrays : numpy.ndarray

    Returns
    -------
    dict
        ``cmap``, ``vmin``, ``vmax`` (keyword arguments of ``imshow``).
    """
    values = np.concatenate([np.asarray(a, dtype=float).ravel() for a in arrays])
    values = values[np.isfinite(values)]
    if values.size == 0:
        return {"cmap": "viridis", "vmin": 0.0, "vmax": 1.0}
    low, high = float(values.min()), float(values.max())
    if low < 0 < high:
        bound = max(-low, high)
        return {"cmap": "RdBu_r", "vmin": -bound, "vmax": bound}
    if high - low <= 1e-12:
        low, high = low - 0.5, high + 0.5
    return {"cmap": "viridis", "vmin": low, "vmax": high}


def heatmap(ax: Any, mat: np.ndarray, labels: list[str], title: str, scale: dict) -> Any:
    """A region x region heatmap on a given colour scale; returns the image.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    mat : numpy.ndarray
    labels : list of str
        Row and column labels (left out above :data:`MAX_TICK_LABELS`).
    title : str
    scale : dict
        From :func:`colour_scale`.

    Returns
    -------
    matplotlib.image.AxesImage
    """
    im = ax.imshow(mat, **scale)
    ax.set_title(title, fontsize=9)
    if len(labels) <= MAX_TICK_LABELS:
        ax.set_xticks(range(len(labels)), labels, rotation=90, fontsize=7)
        ax.set_yticks(range(len(labels)), labels, fontsize=7)
    else:
        ax.set_xticks([])
        ax.set_yticks([])
    return im


def draw_intervals(ax: Any, xs: np.ndarray, piv: pd.DataFrame, label: str, **style: Any) -> None:
    """Means as points and their intervals as lines (vertical, or horizontal with
    ``horizontal=True``): drawn as given, so an estimate outside its interval (a degenerate
    bootstrap) is shown, never refused.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    xs : numpy.ndarray
        Positions.
    piv : pandas.DataFrame
        Columns ``mean`` and optionally ``low``, ``high``.
    label : str
    **style
        ``horizontal`` (bool), ``color``, ``marker``, ``ms``.
    """
    horizontal = style.pop("horizontal", False)
    style.setdefault("ms", 3)
    marker = style.pop("marker", "o")
    coords = (piv["mean"], xs) if horizontal else (xs, piv["mean"])
    points = ax.plot(*coords, marker, label=label, **style)
    if {"low", "high"} <= set(piv.columns):
        lines = ax.hlines if horizontal else ax.vlines
        lines(xs, piv["low"], piv["high"], colors=points[0].get_color(), lw=1)
