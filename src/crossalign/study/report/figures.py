"""The figures of a study, drawn from its results table (compressed PNG and PDF), in report
order: the summary, the brain, the models per region, paired comparisons, equivalence, then
the collapsed groups (per-model matrices and patterns, layer profiles, geometry)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from crossalign.io.outputs import check_not_link, slug
from crossalign.study.report.comparisons import (
    draw_paired,
    draw_paired_regions,
    draw_scores,
)
from crossalign.study.report.cortex import draw_cortex, has_cortex
from crossalign.study.report.drawing import (
    MAX_TICK_LABELS,
    Panel,
    ReportFigure,
    colour_scale,
    draw_intervals,
    heatmap,
    is_constant,
    note,
    region_matrix,
    save_figure,
)
from crossalign.study.report.geometry import draw_geometry
from crossalign.study.report.summary import draw_summary

__all__ = ["FIGURES", "draw_figures", "slug"]


def draw_figures(
    results: pd.DataFrame, folder: Path, parcellations: Mapping[str, str] | None = None
) -> dict[str, list[ReportFigure]]:
    """All figures, per dataset and metric: ``{"dataset (metric)": [ReportFigure, ...]}``.

    Labels are drawn as plain text (a ``$`` in a model name is a dollar sign, not mathtext),
    file names are unique per label, and files are written atomically into ``folder``. A
    figure that would carry no information (a constant matrix, APS over fewer than 3
    regions) is replaced by a :class:`ReportFigure` without a path whose caption says why.

    Parameters
    ----------
    results : pandas.DataFrame
    folder : Path
    parcellations : mapping, optional
        Dataset -> the parcellation its regions are parcels of: such a dataset with 20 or
        more parcels gets cortex maps (``cortex_*``).

    Returns
    -------
    dict
    """
    import matplotlib

    matplotlib.use("Agg")
    check_not_link(folder, "figures folder")
    folder.mkdir(parents=True, exist_ok=True)
    with matplotlib.rc_context({"text.parse_math": False}):
        return _draw_all(results, folder, dict(parcellations or {}))


def _draw_all(
    results: pd.DataFrame, folder: Path, parcellations: dict[str, str]
) -> dict[str, list[ReportFigure]]:
    out: dict[str, list[ReportFigure]] = {}
    for (dataset, metric), res in results.groupby(["dataset", "metric"], sort=False):
        brain_rows = res[res["analysis"] == "cross_region_matrix"]
        panel = Panel(
            str(dataset),
            str(metric),
            res,
            list(dict.fromkeys(brain_rows["region"])),
            list(dict.fromkeys(res.loc[res["analysis"] == "score", "model"].dropna())),
            folder,
            parcellations.get(str(dataset)),
        )
        out[f"{dataset} ({metric})"] = [fig for draw in FIGURES for fig in draw(panel)]
    return out


def _brain_matrix(p: Panel) -> list[ReportFigure]:
    import matplotlib.pyplot as plt

    if has_cortex(p):  # drawn ordered by network among the cortex figures
        return []
    mat = region_matrix(p.rows("cross_region_matrix"), p.regions)
    fig, ax = plt.subplots(figsize=(4.4, 3.8))
    im = heatmap(ax, mat, p.regions, f"brain cross-region matrix ({p.metric})", colour_scale(mat))
    fig.colorbar(im, ax=ax, fraction=0.046)
    fig.tight_layout()
    caption = (
        "The brain's cross-region matrix: mean over ordered pairs of different subjects; the "
        "diagonal is each region's cross-subject reliability (all stimuli)"
    )
    path = save_figure(fig, p.folder, f"brain_matrix_{p.tag}")
    return [ReportFigure(caption, path, "main", f"{p.dataset} brain cross-region matrix")]


def _brain_aps(p: Panel) -> list[ReportFigure]:
    import matplotlib.pyplot as plt

    rows = p.rows("brain_aps")
    stats = rows[rows["model"].isna() & rows["statistic"].isin(["mean", "low", "high"])]
    if stats.empty:
        if len(p.regions) < 3:
            return [note("Brain APS needs at least 3 regions; the matrix above is the result.")]
        return []
    piv = stats.pivot_table(index="region", columns="statistic", values="value", aggfunc="first")
    piv = piv.reindex(p.regions)
    fig, ax = plt.subplots(figsize=(max(4.4, min(0.32 * len(p.regions) + 1.5, 10.5)), 3.8))
    draw_intervals(ax, np.arange(len(p.regions)), piv, "brain APS")
    labels = p.regions if len(p.regions) <= MAX_TICK_LABELS else []
    ax.set_xticks(range(len(labels)), labels, rotation=90, fontsize=7)
    ax.axhline(0, color="0.5", lw=0.5)
    ax.set_title(f"brain APS per region ({p.metric}, 95% CI)", fontsize=9)
    fig.tight_layout()
    caption = (
        "Brain APS per region: how well one subject's alignment patterns predict another's "
        "(the yardstick for models), with subject-bootstrap intervals"
    )
    path = save_figure(fig, p.folder, f"brain_aps_{p.tag}")
    return [ReportFigure(caption, path, "main", f"{p.dataset} brain APS per region")]


def _matrix_panel(ax: Any, mat: np.ndarray, p: Panel, title: str, scale: dict) -> Any:
    """A matrix on the shared scale, or the line that says why it is not drawn."""
    if is_constant(mat):
        value = np.nanmax(mat) if np.isfinite(mat).any() else np.nan
        why = (
            f"constant ({value:.3f} everywhere):\nevery region maps to one layer"
            if np.isfinite(value)
            else "not stored"
        )
        ax.text(
            0.5,
            0.5,
            f"{title}\n{why}",
            ha="center",
            va="center",
            fontsize=8,
            transform=ax.transAxes,
        )
        ax.axis("off")
        return None
    return heatmap(ax, mat, p.regions, title, scale)


def _model_matrices(p: Panel) -> list[ReportFigure]:
    """Per model: brain (test stimuli), the model's own matrix and model-to-brain on one
    colour scale."""
    import matplotlib.pyplot as plt

    out = []
    for model in p.models:
        mres = p.res[p.res["model"] == model]
        mats = [
            (
                "brain (test stimuli)",
                region_matrix(mres[mres["analysis"] == "brain_matrix_test"], p.regions),
            ),
            (f"{model}: own", region_matrix(mres[mres["analysis"] == "model_matrix"], p.regions)),
            (
                f"{model} -> brain",
                region_matrix(mres[mres["analysis"] == "model_to_brain"], p.regions),
            ),
        ]
        shown = [m for _, m in mats if not is_constant(m)]
        scale = colour_scale(*shown) if shown else colour_scale(np.zeros(1))
        fig, axes = plt.subplots(1, 3, figsize=(10.5, 3.5), layout="constrained")
        images = [_matrix_panel(ax, m, p, t, scale) for ax, (t, m) in zip(axes, mats, strict=True)]
        drawn = [im for im in images if im is not None]
        if drawn:
            fig.colorbar(drawn[0], ax=list(axes), fraction=0.02)
        fig.suptitle(
            f"{p.dataset}: cross-region matrices ({p.metric}, one colour scale)", fontsize=10
        )
        caption = (
            f"Cross-region matrices on one colour scale: brain, {model}'s own, and {model} "
            "against every subject's regions (test stimuli)"
        )
        path = save_figure(fig, p.folder, f"matrices_{p.tag}_{slug(model)}")
        out.append(ReportFigure(caption, path, "models", f"Cross-region matrices of {model}"))
    return out


def _patterns(p: Panel) -> list[ReportFigure]:
    import matplotlib.pyplot as plt

    if not p.models:
        return []
    if len(p.regions) < 3:
        return [note("Alignment patterns need at least 3 regions; none are drawn.", "models")]
    if len(p.regions) > MAX_TICK_LABELS:
        return []
    out = []
    n = len(p.regions)
    for model in p.models:
        mres = p.res[p.res["model"] == model]
        mean, low, high, mdl = (
            region_matrix(mres[mres["analysis"] == a], p.regions)
            for a in ("brain_pattern", "brain_pattern_low", "brain_pattern_high", "model_to_brain")
        )
        cols = min(n, 5)
        rows_n = int(np.ceil(n / cols))
        fig, axes = plt.subplots(
            rows_n,
            cols,
            figsize=(2.1 * cols, 1.8 * rows_n),
            squeeze=False,
            sharex=True,
            sharey=True,
            layout="constrained",
        )
        x = np.arange(n)
        # one region axis for every panel: its labels under each column's lowest panel only
        axes[0][0].set_xticks(x, p.regions)
        for i, region in enumerate(p.regions):
            ax = axes[i // cols][i % cols]
            ax.fill_between(x, low[i], high[i], color="0.8", label="brain 95%")
            ax.plot(x, mean[i], color="0.2", lw=1.5, label="brain mean")
            ax.plot(x, mdl[i], color="C3", lw=1.5, marker="o", ms=3, label=str(model))
            ax.set_title(f"{region}", fontsize=8)
            ax.tick_params(labelsize=6)
            ax.tick_params("x", labelrotation=90, labelbottom=i + cols >= n)
        for j in range(n, rows_n * cols):
            axes[j // cols][j % cols].axis("off")
        axes[0][0].legend(fontsize=6)
        fig.suptitle(
            f"{p.dataset}: alignment patterns, {model} standing in for each region", fontsize=9
        )
        caption = (
            "Alignment patterns per region: the brain's (band: 2.5-97.5 percentiles over "
            f"subject pairs) and {model}'s at its selected layer"
        )
        path = save_figure(fig, p.folder, f"patterns_{p.tag}_{slug(model)}")
        out.append(ReportFigure(caption, path, "models", f"Alignment patterns of {model}"))
    return out


def _equivalence(p: Panel) -> list[ReportFigure]:
    import matplotlib.pyplot as plt

    eq = p.rows("equivalence")
    if eq.empty:
        return []
    stats = ("score_equivalent", "aps_equivalent", "double") if p.has_aps else ("score_equivalent",)
    fig, axes = plt.subplots(
        1, len(stats), figsize=(3.5 * len(stats) + 1.5, 0.22 * len(p.models) + 1.6), squeeze=False
    )
    for ax, stat in zip(axes[0], stats, strict=True):
        grid = (
            eq[eq["statistic"] == stat]
            .pivot_table(index="model", columns="region", values="value", aggfunc="first")
            .reindex(index=p.models, columns=p.regions)
        )
        ax.imshow(grid.to_numpy(dtype=float), cmap="RdYlGn", vmin=0, vmax=1, aspect="auto")
        labels = p.regions if len(p.regions) <= MAX_TICK_LABELS else []
        ax.set_xticks(range(len(labels)), labels, rotation=90, fontsize=7)
        ax.set_yticks(
            range(len(p.models)), [str(m) for m in p.models] if ax is axes[0][0] else [], fontsize=7
        )
        ax.set_title(stat.replace("_", " "), fontsize=9)
    fig.suptitle(
        f"{p.dataset}: equivalent to the best model per region? (green = yes)", fontsize=10
    )
    fig.tight_layout()
    caption = (
        "Equivalence per region: a model's mean at or above the best model's lower CI bound, "
        "for the score, for APS, and both (the double criterion)"
    )
    path = save_figure(fig, p.folder, f"equivalence_{p.tag}")
    return [ReportFigure(caption, path, "main", f"{p.dataset} equivalence per region")]


def _profiles(p: Panel) -> list[ReportFigure]:
    """Every model's layer profile in one figure per region (layers on a 0-1 depth axis)."""
    import matplotlib.pyplot as plt

    prof = p.rows("layer_profile")
    models = [m for m in p.models if prof[prof["model"] == m]["layer"].nunique() >= 2]
    if not models or len(p.regions) > MAX_TICK_LABELS:
        return []
    cols = min(len(p.regions), 5)
    rows_n = int(np.ceil(len(p.regions) / cols))
    fig, axes = plt.subplots(
        rows_n, cols, figsize=(2.4 * cols, 2.0 * rows_n), squeeze=False, layout="constrained"
    )
    sel = p.rows("selected_layer")
    for i, region in enumerate(p.regions):
        ax = axes[i // cols][i % cols]
        for k, model in enumerate(models):
            sub = prof[(prof["model"] == model) & (prof["region"] == region)]
            layers = list(dict.fromkeys(prof[prof["model"] == model]["layer"]))
            y = sub.set_index("layer")["value"].reindex(layers).to_numpy()
            depth = np.linspace(0, 1, len(layers))
            ax.plot(depth, y, color=f"C{k % 10}", lw=1.2, label=str(model))
            chosen = sel[(sel["model"] == model) & (sel["region"] == region)]["layer"]
            if len(chosen) and chosen.iloc[0] in layers:
                j = layers.index(chosen.iloc[0])
                ax.plot(depth[j], y[j], "o", color=f"C{k % 10}", ms=4)
        ax.set_title(str(region), fontsize=8)
        ax.set_xlabel("relative depth", fontsize=7)
        ax.tick_params(labelsize=6)
    for j in range(len(p.regions), rows_n * cols):
        axes[j // cols][j % cols].axis("off")
    fig.legend(*axes[0][0].get_legend_handles_labels(), fontsize=6, loc="outside right center")
    fig.suptitle(
        f"{p.dataset}: layer profiles on training stimuli ({p.metric}; dot: chosen layer)",
        fontsize=9,
    )
    caption = (
        "Layer profiles of all models per region: every layer's score on the training stimuli "
        "(where layers are selected), the chosen layer marked"
    )
    path = save_figure(fig, p.folder, f"profiles_{p.tag}")
    return [ReportFigure(caption, path, "layers", f"{p.dataset} layer profiles")]


def _layer_trajectories(p: Panel) -> list[ReportFigure]:
    """Score against APS for every layer of every model (test stimuli, means over regions
    and subjects), the layers of a model joined in depth order, its chosen layers marked."""
    import matplotlib.pyplot as plt

    score, aps = p.rows("layer_score"), p.rows("layer_aps")
    if aps.empty or not aps["value"].notna().any():
        return []
    score = score[score["statistic"] == "value"].groupby(["model", "layer"], sort=False)
    aps = aps[aps["statistic"] == "value"].groupby(["model", "layer"], sort=False)
    mean_score, mean_aps = score["value"].mean(), aps["value"].mean()
    sel = p.rows("selected_layer")
    fig, ax = plt.subplots(figsize=(6.2, 4.4))
    for k, model in enumerate(p.models):
        if model not in mean_score.index.get_level_values(0):
            continue
        layers = list(mean_score.loc[model].index)
        x = mean_score.loc[model].to_numpy()
        y = mean_aps.loc[model].reindex(layers).to_numpy()
        colour = f"C{k % 10}"
        ax.plot(x, y, "-", color=colour, lw=1, alpha=0.7, label=str(model))
        ax.plot(x[0], y[0], "s", color=colour, ms=3)  # the first (shallowest) layer
        chosen = sel[sel["model"] == model]["layer"].value_counts()
        for layer, count in chosen.items():
            if layer in layers:
                j = layers.index(layer)
                ax.plot(x[j], y[j], "o", color=colour, ms=3 + 2 * np.sqrt(count), mfc="none")
    ax.set_xlabel("score (mean over regions and subjects)", fontsize=8)
    ax.set_ylabel("APS (mean over regions and subjects)", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.legend(fontsize=6, loc="best")
    ax.set_title(f"{p.dataset}: every layer, score against APS ({p.metric})", fontsize=9)
    fig.tight_layout()
    caption = (
        "Score against APS for every layer of every model on the test stimuli (means over "
        "regions and subjects): a model's layers are joined from the first (square) to the "
        "last; open circles mark the layers chosen on training stimuli, larger where more "
        "regions chose them"
    )
    path = save_figure(fig, p.folder, f"layers_{p.tag}")
    return [ReportFigure(caption, path, "layers", f"{p.dataset} score against APS per layer")]


def _connectivity(p: Panel) -> list[ReportFigure]:
    """Per connectivity entry and region: the brain's and every model's APS against the
    connectivity pattern (means over subjects), against the band of the random null."""
    import matplotlib.pyplot as plt

    rows = p.rows("connectivity_aps")
    out = []
    for name, sub in rows.groupby("other_model", sort=False):
        fig, ax = plt.subplots(figsize=(max(4.4, min(0.35 * len(p.regions) + 2, 10.5)), 3.6))
        xs = np.arange(len(p.regions))
        band = sub[sub["model"].isna()].pivot_table(
            index="region", columns="statistic", values="value", aggfunc="first"
        )
        band = band.reindex(p.regions)
        if {"null_low", "null_high"} <= set(band.columns):
            ax.vlines(
                xs,
                band["null_low"],
                band["null_high"],
                colors="0.75",
                lw=6,
                label="random connectivity (95%)",
            )
        ax.plot(xs, band["mean"], "o", color="k", ms=4, label="brain")
        for k, model in enumerate(p.models):
            means = sub[(sub["model"] == model) & (sub["statistic"] == "mean")]
            if means.empty:
                continue
            values = means.set_index("region")["value"].reindex(p.regions)
            ax.plot(xs + 0.15, values, "D", color=f"C{k % 10}", ms=3, label=str(model))
        labels = p.regions if len(p.regions) <= MAX_TICK_LABELS else []
        ax.set_xticks(range(len(labels)), labels, rotation=90, fontsize=7)
        ax.set_ylabel("APS against connectivity", fontsize=8)
        ax.legend(fontsize=6, loc="best")
        ax.set_title(f"{p.dataset}: alignment patterns against {name} ({p.metric})", fontsize=9)
        fig.tight_layout()
        caption = (
            f"APS against the connectivity patterns of {name} (each region's row without "
            "itself, averaged over subjects): the brain's and each model's mean over subjects, "
            "against the 2.5-97.5 percentiles of random connectivity matrices (grey)"
        )
        path = save_figure(fig, p.folder, f"connectivity_{p.tag}_{slug(str(name))}")
        out.append(ReportFigure(caption, path, "models", f"{p.dataset} APS against {name}"))
    return out


#: The figures of each dataset and metric, in report order.
FIGURES: list[Callable[[Panel], list[ReportFigure]]] = [
    draw_summary,
    _brain_matrix,
    _brain_aps,
    draw_cortex,
    draw_scores,
    draw_paired,
    _equivalence,
    _model_matrices,
    _patterns,
    _connectivity,
    draw_paired_regions,
    _profiles,
    _layer_trajectories,
    draw_geometry,
]
