"""Cortex maps of a parcellated dataset (20 or more parcels of a known fsLR32k
parcellation): the brain's cross-subject reliability and APS, each model's score, APS and APS
minus the brain's, and the cross-region matrix ordered by cortical network."""

from __future__ import annotations

from typing import Any

import pandas as pd

from crossalign.errors import CrossalignError
from crossalign.io.outputs import slug
from crossalign.io.parcellations import load_parcellation
from crossalign.study.report.drawing import (
    Panel,
    ReportFigure,
    colour_scale,
    note,
    region_matrix,
    save_figure,
)
from crossalign.viz.cortex import plot_network_matrix, plot_parcel_maps

__all__ = ["MIN_PARCELS", "draw_cortex", "has_cortex"]

#: A dataset gets cortex maps from this many parcels on.
MIN_PARCELS = 20


def has_cortex(p: Panel) -> bool:
    """Whether the panel's dataset names a parcellation and has enough parcels for maps.

    Parameters
    ----------
    p : Panel

    Returns
    -------
    bool
    """
    return p.parcellation is not None and len(p.regions) >= MIN_PARCELS


def _means(rows: pd.DataFrame) -> pd.Series:
    rows = rows[(rows["statistic"] == "mean") & rows["subject"].isna()]
    return rows.groupby("region", sort=False)["value"].first()


def _ordered_matrix(p: Panel, parc: Any) -> ReportFigure:
    mat = region_matrix(p.rows("cross_region_matrix"), list(p.regions))
    title = f"brain cross-region matrix, {len(p.regions)} parcels by network"
    fig = plot_network_matrix(mat, list(p.regions), parc, title=title, **colour_scale(mat))
    caption = (
        "The brain's cross-region matrix over all parcels, ordered by the cortical network "
        "each parcel mostly falls in (Cole-Anticevic partition, Ji et al. 2019), lines between "
        "networks; the diagonal is each parcel's cross-subject reliability"
    )
    path = save_figure(fig, p.folder, f"cortex_matrix_{p.tag}")
    return ReportFigure(caption, path, "main", "Brain cross-region matrix ordered by network")


def _brain_maps(p: Panel, parc: Any) -> ReportFigure:
    matrix = p.rows("cross_region_matrix")
    diagonal = matrix[matrix["region"] == matrix["target_region"]].set_index("region")["value"]
    brain = p.rows("brain_aps")
    maps = {"reliability": diagonal}
    aps = _means(brain[brain["model"].isna()])
    if not aps.empty:
        maps["brain APS"] = aps
    labels = {"reliability": f"cross-subject {p.metric}", "brain APS": "APS"}
    fig = plot_parcel_maps(maps, parc, labels=labels)
    fig.suptitle(f"{p.dataset}: the brain ({p.metric}, all stimuli)", fontsize=10)
    caption = (
        "The brain on the cortex: each parcel's cross-subject reliability (the diagonal of the "
        "cross-region matrix) and its brain APS; grey: no value"
    )
    path = save_figure(fig, p.folder, f"cortex_brain_{p.tag}")
    return ReportFigure(caption, path, "main", f"Cortex maps of the brain in {p.dataset}")


def _model_maps(p: Panel, parc: Any, model: str) -> ReportFigure:
    rows = p.res[p.res["model"] == model]
    score = _means(rows[rows["analysis"] == "score"])
    aps = _means(rows[rows["analysis"] == "aps"])
    brain = p.rows("brain_aps")
    brain_aps = _means(brain[brain["model"].isna()])
    maps: dict[str, pd.Series] = {"score": score}
    if not aps.empty and aps.notna().any():
        maps["APS"] = aps
        if not brain_aps.empty:
            maps["APS - brain APS"] = (aps - brain_aps.reindex(aps.index)).dropna()
    fig = plot_parcel_maps(maps, parc, labels={k: k for k in maps})
    fig.suptitle(f"{p.dataset}: {model} ({p.metric}, test stimuli)", fontsize=10)
    caption = (
        f"{model} on the cortex: its score and APS per parcel (test stimuli) and its APS minus "
        "the brain's (blue: below the brain, red: above)"
    )
    path = save_figure(fig, p.folder, f"cortex_{p.tag}_{slug(model)}")
    return ReportFigure(caption, path, "cortex", f"Cortex maps of {model} in {p.dataset}")


def draw_cortex(p: Panel) -> list[ReportFigure]:
    """The cortex figures of a parcellated dataset (``cortex_*`` files); nothing for other
    datasets, and a line saying why when the parcellation cannot be read.

    Parameters
    ----------
    p : Panel

    Returns
    -------
    list of ReportFigure
    """
    if not has_cortex(p):
        return []
    try:
        parc = load_parcellation(str(p.parcellation))
        missing = [r for r in p.regions if r not in parc.members]
    except (ImportError, CrossalignError) as err:
        return [
            note(f"No cortex maps: the parcellation {p.parcellation!r} could not be read ({err}).")
        ]
    if missing:
        return [
            note(
                f"No cortex maps: {len(missing)} region(s) are not parcels of "
                f"{p.parcellation!r} (e.g. {missing[0]!r})."
            )
        ]
    if parc.space != "fsLR32k":
        return [
            note(
                f"No cortex maps: the parcellation {p.parcellation!r} is a {parc.space} map of "
                f"{parc.n_vertices} vertices; cortex maps are drawn on fsLR32k (91,282 "
                "grayordinates)."
            )
        ]
    out = [_ordered_matrix(p, parc), _brain_maps(p, parc)]
    out.extend(_model_maps(p, parc, model) for model in p.models)
    return out
