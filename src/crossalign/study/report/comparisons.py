"""Figures that compare models: per-region scores and APS as dot plots with their CIs, and
paired differences as model x model matrices with significance marks."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from crossalign.io.outputs import slug
from crossalign.study.report.drawing import (
    MAX_TICK_LABELS,
    Panel,
    ReportFigure,
    colour_scale,
    draw_intervals,
    note,
    save_figure,
)

__all__ = ["draw_paired", "draw_paired_regions", "draw_scores", "paired_matrix"]

#: Significance marks of the paired permutation test (two-sided, uncorrected).
MARKS = ((0.001, "***"), (0.01, "**"), (0.05, "*"))

APS_NEEDS_REGIONS = (
    "APS needs at least 3 regions (a pattern over 2 target regions has no correlation to "
    "speak of): no APS panel is drawn for this dataset."
)


def _band(ax: object, piv: pd.DataFrame, low: str, high: str) -> None:
    """Grey bands per region (noise ceiling, brain APS interval) behind the points."""
    if piv.empty or not {low, high} <= set(piv.columns) or piv[low].isna().all():
        return
    for i in range(len(piv)):
        ax.fill_between(  # type: ignore[attr-defined]
            [i - 0.45, i + 0.45], piv[low].iloc[i], piv[high].iloc[i], color="0.85", zorder=0
        )


def _per_region(p: Panel, analysis: str, model: str | None) -> pd.DataFrame:
    rows = p.rows(analysis)
    rows = rows[rows["model"].isna() if model is None else rows["model"] == model]
    rows = rows[rows["statistic"].isin(["mean", "low", "high", "lower", "upper"])]
    if model is None and analysis == "brain_aps":
        rows = rows[rows["subject"].isna()]
    return rows.pivot_table(
        index="region", columns="statistic", values="value", aggfunc="first"
    ).reindex(p.regions)


def draw_scores(p: Panel) -> list[ReportFigure]:
    """Per region, every model's score (and APS) with its CI: points dodged per model, the
    noise ceiling and the brain's APS interval as grey bands.

    Parameters
    ----------
    p : Panel

    Returns
    -------
    list of ReportFigure
    """
    import matplotlib.pyplot as plt

    if not p.models:
        return []
    panels = [("score", "pointwise score", "noise_ceiling_test", "noise ceiling")]
    if p.has_aps:
        panels.append(("aps", "alignment pattern score", "brain_aps", "brain APS 95% CI"))
    fig, axes = plt.subplots(len(panels), 1, figsize=(10.5, 3.0 * len(panels)), squeeze=False)
    width = 0.8 / max(len(p.models), 1)
    palette = plt.get_cmap("tab10" if len(p.models) <= 10 else "tab20")
    for ax, (analysis, title, grey, grey_label) in zip(axes[:, 0], panels, strict=True):
        for k, model in enumerate(p.models):
            piv = _per_region(p, analysis, model)
            if "mean" not in piv or piv["mean"].isna().all():
                continue
            xs = np.arange(len(p.regions)) + (k - (len(p.models) - 1) / 2) * width
            draw_intervals(ax, xs, piv, str(model), color=palette(k % palette.N))
        bounds = ("lower", "upper") if analysis == "score" else ("low", "high")
        ref = _per_region(p, grey, p.models[0] if analysis == "score" else None)
        _band(ax, ref, *bounds)
        labels = p.regions if len(p.regions) <= MAX_TICK_LABELS else []
        ax.set_xticks(range(len(labels)), labels, rotation=90, fontsize=7)
        ax.set_title(f"{title} (grey: {grey_label})", fontsize=9)
        ax.axhline(0, color="0.5", lw=0.5)
        ax.tick_params(labelsize=7)
    axes[0, 0].legend(fontsize=6, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.suptitle(f"{p.dataset}: models per region ({p.metric}, test stimuli, 95% CIs)", fontsize=10)
    fig.tight_layout()
    caption = (
        "Pointwise score and APS per model and region with subject-bootstrap CIs; grey bands: "
        "the noise ceiling and the brain's own APS"
    )
    alt = f"Dot plot of {len(p.models)} models' scores over {len(p.regions)} regions"
    out = [ReportFigure(caption, save_figure(fig, p.folder, f"scores_{p.tag}"), "main", alt)]
    if not p.has_aps:
        out.append(note(APS_NEEDS_REGIONS))
    return out


def paired_matrix(
    rows: pd.DataFrame, models: list[str], region: str | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Paired differences (row model minus column model) and their permutation p-values as
    model x model matrices, from the stored pairs (each stored once; the mirror entry is
    the negated difference with the same p-value).

    Parameters
    ----------
    rows : pandas.DataFrame
        Rows of one ``paired_*`` analysis.
    models : list of str
    region : str, optional
        One region; by default the mean over regions (rows stored without a region).

    Returns
    -------
    tuple of numpy.ndarray
        (difference, p-value), NaN on the diagonal and where no pair is stored.
    """
    rows = rows[rows["region"].isna() if region is None else rows["region"] == region]
    index = {m: i for i, m in enumerate(models)}
    diff = np.full((len(models), len(models)), np.nan)
    pval = diff.copy()
    for (a, b), sub in rows.groupby(["model", "other_model"], sort=False):
        if a not in index or b not in index:
            continue
        stats = dict(zip(sub["statistic"], sub["value"], strict=True))
        i, j = index[a], index[b]
        diff[i, j], diff[j, i] = stats.get("difference", np.nan), -stats.get("difference", np.nan)
        pval[i, j] = pval[j, i] = stats.get("p_value", np.nan)
    return diff, pval


def _mark(p: float) -> str:
    return next((m for bound, m in MARKS if np.isfinite(p) and p < bound), "")


def _paired_axes(
    ax: Any, diff: np.ndarray, pval: np.ndarray, models: list[str], scale: dict, ticks: bool
) -> Any:
    im = ax.imshow(diff, **scale)  # type: ignore[attr-defined]
    names = [str(m) for m in models]
    small = ticks and len(models) <= 16
    ax.set_xticks(range(len(models)), names if small else [], rotation=90, fontsize=6)  # type: ignore[attr-defined]
    ax.set_yticks(range(len(models)), names if small else [], fontsize=6)  # type: ignore[attr-defined]
    for i, j in zip(*np.nonzero(np.isfinite(pval)), strict=True):
        if _mark(pval[i, j]):
            ax.text(j, i, _mark(pval[i, j]), ha="center", va="center", fontsize=6)  # type: ignore[attr-defined]
    return im


def draw_paired(p: Panel) -> list[ReportFigure]:
    """Paired comparisons of every two models, mean over regions: a model x model matrix of
    differences (row minus column) per criterion, on one diverging scale, marked by the
    paired sign-flip permutation test.

    Parameters
    ----------
    p : Panel

    Returns
    -------
    list of ReportFigure
    """
    import matplotlib.pyplot as plt

    if len(p.models) < 2 or p.rows("paired_score").empty:
        return []
    stats = [("paired_score", "score")] + ([("paired_aps", "APS")] if p.has_aps else [])
    mats = [paired_matrix(p.rows(a), p.models) for a, _ in stats]
    if all(np.isnan(d).all() for d, _ in mats):
        return [note("Paired comparisons over all regions are not stored in this run.")]
    scale = colour_scale(*(d for d, _ in mats), np.zeros(1))
    side = min(3.2 + 0.22 * len(p.models), 7.0)
    fig, axes = plt.subplots(
        1, len(stats), figsize=(side * len(stats) + 0.8, side), squeeze=False, layout="constrained"
    )
    for ax, (diff, pval), (_, label) in zip(axes[0], mats, stats, strict=True):
        im = _paired_axes(ax, diff, pval, p.models, scale, True)
        ax.set_title(f"{label}: row minus column", fontsize=9)
    fig.colorbar(im, ax=list(axes[0]), fraction=0.03, label="difference")
    fig.suptitle(f"{p.dataset}: paired comparisons, mean over regions ({p.metric})", fontsize=10)
    caption = (
        "Paired differences between models on the same subjects (row minus column; mean over "
        "regions, test stimuli); marks: two-sided sign-flip permutation p < 0.05 (*), 0.01 "
        "(**), 0.001 (***), uncorrected"
    )
    alt = f"Model by model matrices of paired differences for {len(p.models)} models"
    return [ReportFigure(caption, save_figure(fig, p.folder, f"paired_{p.tag}"), "main", alt)]


def draw_paired_regions(p: Panel) -> list[ReportFigure]:
    """Per region, the paired-difference matrices (one figure per criterion, one panel per
    region), for the collapsed section.

    Parameters
    ----------
    p : Panel

    Returns
    -------
    list of ReportFigure
    """
    import matplotlib.pyplot as plt

    if len(p.models) < 2 or len(p.regions) > MAX_TICK_LABELS:
        return []
    out = []
    for analysis, label in (("paired_score", "score"), ("paired_aps", "APS")):
        if (analysis == "paired_aps" and not p.has_aps) or p.rows(analysis).empty:
            continue
        mats = [paired_matrix(p.rows(analysis), p.models, r) for r in p.regions]
        scale = colour_scale(*(d for d, _ in mats), np.zeros(1))
        cols = min(len(p.regions), 5)
        n_rows = int(np.ceil(len(p.regions) / cols))
        fig, axes = plt.subplots(
            n_rows,
            cols,
            figsize=(2.4 * cols + 0.8, 2.4 * n_rows),
            squeeze=False,
            layout="constrained",
        )
        for k, (region, (diff, pval)) in enumerate(zip(p.regions, mats, strict=True)):
            im = _paired_axes(axes.flat[k], diff, pval, p.models, scale, k == 0)
            axes.flat[k].set_title(str(region), fontsize=8)
        for ax in axes.flat[len(p.regions) :]:
            ax.axis("off")
        fig.colorbar(im, ax=list(axes.flat), fraction=0.02, label="difference")
        fig.suptitle(f"{p.dataset}: paired {label} differences per region", fontsize=10)
        caption = f"Paired {label} differences per region (row minus column; marks as above)"
        path = save_figure(fig, p.folder, f"paired_regions_{p.tag}_{slug(label)}")
        out.append(ReportFigure(caption, path, "paired", caption))
    return out
