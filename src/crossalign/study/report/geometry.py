"""Representational geometry per region: the brain's subject-mean RDM and classical MDS
views of the brain and of each model's chosen layer, every layer's view Procrustes-aligned to
the brain's so that the configurations can be compared by eye (Gower 1975)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy.linalg import orthogonal_procrustes

from crossalign.io.outputs import slug
from crossalign.study.report.drawing import (
    MAX_TICK_LABELS,
    Panel,
    ReportFigure,
    note,
    save_figure,
)

__all__ = ["draw_geometry", "procrustes_align"]

#: Up to this many stimuli, each has its own colour and a legend entry (its label).
MAX_LEGEND = 20

#: MDS panels per region: the brain and at most this many models.
MAX_MODELS = 4


def procrustes_align(points: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """``points`` moved onto ``reference`` by the similarity transform (translation,
    rotation or reflection, one scale) that minimises the squared distances between
    corresponding rows; an MDS solution is only defined up to such a transform.

    Parameters
    ----------
    points, reference : numpy.ndarray
        (n, k), rows corresponding.

    Returns
    -------
    numpy.ndarray
        (n, k).
    """
    a = np.asarray(points, dtype=float)
    b = np.asarray(reference, dtype=float)
    a0, b0 = a - a.mean(axis=0), b - b.mean(axis=0)
    norm = float((a0**2).sum())
    if norm == 0.0:
        return np.broadcast_to(b.mean(axis=0), a.shape).copy()
    rotation, singular_sum = orthogonal_procrustes(a0, b0)
    return (singular_sum / norm) * a0 @ rotation + b.mean(axis=0)


def _coords(rows: pd.DataFrame, stimuli: list[str]) -> np.ndarray:
    xy = rows.pivot_table(index="stimulus", columns="statistic", values="value", aggfunc="first")
    return xy.reindex(stimuli)[["x", "y"]].to_numpy(dtype=float)


def _scatter(ax: Any, xy: np.ndarray, colours: Any, title: str) -> None:
    ax.scatter(xy[:, 0], xy[:, 1], s=14, c=colours, edgecolors="none")
    ax.set_title(title, fontsize=7)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_aspect("equal", adjustable="datalim")


def _rdm_panel(ax: Any, fig: Any, rows: pd.DataFrame, stimuli: list[str]) -> None:
    sq = rows.pivot_table(
        index="stimulus", columns="target_stimulus", values="value", aggfunc="first"
    ).reindex(index=stimuli, columns=stimuli)
    im = ax.imshow(sq.to_numpy(dtype=float), cmap="viridis")
    ax.set_title("brain RDM (subject mean)", fontsize=8)
    ax.set_xticks([])
    ax.set_yticks([])
    fig.colorbar(im, ax=ax, fraction=0.046)


def _colours(fig: Any, axes: list, stimuli: list[str]) -> Any:
    """Per-stimulus colours, explained by a legend of labels (few stimuli) or a colour bar
    over the stimulus order (many)."""
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    n = len(stimuli)
    if n <= MAX_LEGEND:
        colours = plt.get_cmap("tab20")(np.arange(n) % 20)
        handles = [
            Line2D([], [], marker="o", ls="", color=colours[i], label=s)
            for i, s in enumerate(stimuli)
        ]
        fig.legend(handles=handles, fontsize=6, loc="outside right center")
        return colours
    colours = plt.get_cmap("viridis")(np.linspace(0, 1, n))
    bar = fig.colorbar(
        plt.cm.ScalarMappable(cmap="viridis", norm=plt.Normalize(0, n - 1)),
        ax=axes,
        fraction=0.02,
        ticks=[0, n - 1],
    )
    bar.ax.set_yticklabels([stimuli[0], stimuli[-1]], fontsize=6)
    bar.set_label("stimulus (dataset order)", fontsize=7)
    return colours


def _region_figure(p: Panel, region: str, mds: pd.DataFrame, rdm: pd.DataFrame) -> Any:
    import matplotlib.pyplot as plt

    sub = mds[mds["region"] == region]
    brain = sub[sub["model"].isna()]
    stimuli = list(dict.fromkeys(brain["stimulus"]))
    owners = [m for m in p.models if (sub["model"] == m).any()][:MAX_MODELS]
    has_rdm = not rdm[rdm["region"] == region].empty
    n = 1 + len(owners) + has_rdm
    fig, axes = plt.subplots(1, n, figsize=(2.6 * n, 2.9), squeeze=False, layout="constrained")
    panels = list(axes[0])
    if has_rdm:
        _rdm_panel(panels.pop(0), fig, rdm[rdm["region"] == region], stimuli)
    colours = _colours(fig, panels, stimuli)
    reference = _coords(brain, stimuli)
    _scatter(panels[0], reference, colours, "brain")
    for ax, owner in zip(panels[1:], owners, strict=True):
        pts = sub[sub["model"] == owner]
        xy = procrustes_align(_coords(pts, stimuli), reference)
        layer = pts["layer"].dropna()
        _scatter(ax, xy, colours, owner if layer.empty else f"{owner} ({layer.iloc[0]})")
    fig.suptitle(
        f"{p.dataset}: {region} geometry (all stimuli; MDS, layers aligned to the brain)",
        fontsize=9,
    )
    return fig


def draw_geometry(p: Panel) -> list[ReportFigure]:
    """Per region: the brain's subject-mean RDM (when stored) and the MDS of the brain and
    of each model's chosen layer, each layer Procrustes-aligned to the brain's, points
    coloured by stimulus with a legend.

    Parameters
    ----------
    p : Panel

    Returns
    -------
    list of ReportFigure
    """
    if len(p.regions) > MAX_TICK_LABELS:
        return [
            note(
                f"Geometry figures are drawn for up to {MAX_TICK_LABELS} regions; the "
                "MDS coordinates of every region are in the database.",
                "geometry",
            )
        ]
    mds = p.rows("mds")
    rdm = p.rows("rdm")
    rdm = rdm[rdm["model"].isna()]
    out = []
    for region in p.regions:
        if mds[(mds["region"] == region) & mds["model"].isna()].empty:
            continue
        fig = _region_figure(p, region, mds, rdm)
        caption = (
            f"{region}: the brain's subject-mean RDM and classical MDS of the brain's and each "
            "model's chosen layer's RDM; every model view is Procrustes-aligned (rotation, "
            "reflection, scale) to the brain's, so the same stimulus has the same colour and "
            "comparable place"
        )
        path = save_figure(fig, p.folder, f"geometry_{p.tag}_{slug(region)}")
        out.append(ReportFigure(caption, path, "geometry", f"MDS views of {region}"))
    return out
