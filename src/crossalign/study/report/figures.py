"""Figures of a study, drawn from the results table (PNG and PDF)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from crossalign.io.outputs import check_not_link, slug, write_atomic

__all__ = ["draw_figures", "slug"]


def _matrix(rows: pd.DataFrame, regions: list[str]) -> np.ndarray:
    table = rows.pivot_table(
        index="region", columns="target_region", values="value", aggfunc="first"
    )
    return table.reindex(index=regions, columns=regions).to_numpy()


def _save(fig: object, folder: Path, name: str) -> Path:
    """Write PNG and PDF atomically (never through a link planted in the folder)."""
    import matplotlib.pyplot as plt

    png = write_atomic(
        folder / f"{name}.png",
        lambda tmp: fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight"),  # type: ignore[attr-defined]
    )
    write_atomic(
        folder / f"{name}.pdf",
        lambda tmp: fig.savefig(tmp, format="pdf", bbox_inches="tight"),  # type: ignore[attr-defined]
    )
    plt.close(fig)  # type: ignore[arg-type]
    return png


def _interval(ax: object, xs: np.ndarray, piv: pd.DataFrame, label: str) -> None:
    """Means as points and their intervals as vertical lines: drawn as given, so an
    estimate outside its interval (a degenerate bootstrap) is shown, never refused."""
    points = ax.plot(xs, piv["mean"], "o", ms=3, label=label)  # type: ignore[attr-defined]
    if {"low", "high"} <= set(piv.columns):
        ax.vlines(  # type: ignore[attr-defined]
            xs, piv["low"], piv["high"], colors=points[0].get_color(), lw=1
        )


def draw_figures(results: pd.DataFrame, folder: Path) -> dict[str, list[tuple[str, Path]]]:
    """All figures, per dataset: ``{dataset: [(caption, png path), ...]}``.

    Labels are drawn as plain text (a ``$`` in a model name is a dollar sign, not mathtext),
    file names are unique per label, and files are written atomically into ``folder``.

    Parameters
    ----------
    results : pandas.DataFrame
    folder : Path

    Returns
    -------
    dict
    """
    import matplotlib

    matplotlib.use("Agg")
    check_not_link(folder, "figures folder")
    folder.mkdir(parents=True, exist_ok=True)
    with matplotlib.rc_context({"text.parse_math": False}):
        return _draw_all(results, folder)


@dataclass(frozen=True)
class _Panel:
    """What every figure of one dataset and metric draws from."""

    dataset: str
    metric: str
    res: pd.DataFrame
    regions: list[str]
    models: list[str]
    folder: Path

    @property
    def tag(self) -> str:
        return f"{slug(self.dataset)}_{slug(self.metric)}"


def _draw_all(results: pd.DataFrame, folder: Path) -> dict[str, list[tuple[str, Path]]]:
    out: dict[str, list[tuple[str, Path]]] = {}
    for (dataset, metric), res in results.groupby(["dataset", "metric"], sort=False):
        brain_rows = res[res["analysis"] == "cross_region_matrix"]
        panel = _Panel(
            str(dataset),
            str(metric),
            res,
            list(dict.fromkeys(brain_rows["region"])),
            list(dict.fromkeys(res.loc[res["analysis"] == "score", "model"].dropna())),
            folder,
        )
        out[f"{dataset} ({metric})"] = [fig for draw in FIGURES for fig in draw(panel)]
    return out


def _heatmap(ax: Any, fig: Any, mat: np.ndarray, regions: list[str], title: str) -> None:
    """The one heatmap of the report (region x region)."""
    im = ax.imshow(mat, cmap="viridis")
    ax.set_title(title, fontsize=9)
    ax.set_xticks(range(len(regions)), regions, rotation=90, fontsize=7)
    ax.set_yticks(range(len(regions)), regions, fontsize=7)
    fig.colorbar(im, ax=ax, fraction=0.046)


def _brain_matrix(p: _Panel) -> list[tuple[str, Path]]:
    import matplotlib.pyplot as plt

    mat = _matrix(p.res[p.res["analysis"] == "cross_region_matrix"], p.regions)
    fig, ax = plt.subplots(figsize=(4.2, 3.6))
    _heatmap(ax, fig, mat, p.regions, f"{p.dataset}: brain cross-region matrix ({p.metric})")
    fig.tight_layout()
    caption = (
        "The brain's cross-region matrix: mean over ordered pairs of different subjects; the "
        "diagonal is each region's cross-subject reliability (all stimuli)"
    )
    return [(caption, _save(fig, p.folder, f"brain_matrix_{p.tag}"))]


def _brain_aps(p: _Panel) -> list[tuple[str, Path]]:
    import matplotlib.pyplot as plt

    rows = p.res[(p.res["analysis"] == "brain_aps") & p.res["model"].isna()]
    stats = rows[rows["statistic"].isin(["mean", "low", "high"])]
    if stats.empty:
        return []
    piv = stats.pivot_table(index="region", columns="statistic", values="value", aggfunc="first")
    piv = piv.reindex(p.regions)
    fig, ax = plt.subplots(figsize=(max(4.0, 0.45 * len(p.regions) + 1.5), 3.2))
    _interval(ax, np.arange(len(p.regions)), piv, "brain APS")
    ax.set_xticks(range(len(p.regions)), p.regions, rotation=90, fontsize=7)
    ax.axhline(0, color="0.5", lw=0.5)
    ax.set_title(f"{p.dataset}: brain APS per region ({p.metric}, 95% CI)", fontsize=9)
    fig.tight_layout()
    caption = (
        "Brain APS per region: how well one subject's alignment patterns predict another's "
        "(the yardstick for models), with subject-bootstrap intervals"
    )
    return [(caption, _save(fig, p.folder, f"brain_aps_{p.tag}"))]


def _model_matrices(p: _Panel) -> list[tuple[str, Path]]:
    import matplotlib.pyplot as plt

    out = []
    for model in p.models:
        mres = p.res[p.res["model"] == model]
        mats = [
            ("brain (test stimuli)", "brain_matrix_test"),
            (f"{model}: own", "model_matrix"),
            (f"{model} -> brain", "model_to_brain"),
        ]
        fig, axes = plt.subplots(1, 3, figsize=(3.4 * 3, 3.2))
        for ax, (title, analysis) in zip(axes, mats, strict=True):
            _heatmap(
                ax, fig, _matrix(mres[mres["analysis"] == analysis], p.regions), p.regions, title
            )
        fig.suptitle(f"{p.dataset}: cross-region matrices ({p.metric})", fontsize=10)
        fig.tight_layout()
        caption = (
            f"Cross-region matrices: brain, {model}'s own, and {model} against every subject's "
            "regions (test stimuli)"
        )
        out.append((caption, _save(fig, p.folder, f"matrices_{p.tag}_{slug(model)}")))
    return out


def _patterns(p: _Panel) -> list[tuple[str, Path]]:
    import matplotlib.pyplot as plt

    out = []
    n = len(p.regions)
    for model in p.models:
        mres = p.res[p.res["model"] == model]
        mean, low, high, mdl = (
            _matrix(mres[mres["analysis"] == a], p.regions)
            for a in ("brain_pattern", "brain_pattern_low", "brain_pattern_high", "model_to_brain")
        )
        cols = min(n, 5)
        rows_n = int(np.ceil(n / cols))
        fig, axes = plt.subplots(rows_n, cols, figsize=(2.6 * cols, 2.2 * rows_n), squeeze=False)
        x = np.arange(n)
        for i, region in enumerate(p.regions):
            ax = axes[i // cols][i % cols]
            ax.fill_between(x, low[i], high[i], color="0.8", label="brain 95%")
            ax.plot(x, mean[i], color="0.2", lw=1.5, label="brain mean")
            ax.plot(x, mdl[i], color="C3", lw=1.5, marker="o", ms=3, label=str(model))
            ax.set_title(f"{region}", fontsize=8)
            ax.set_xticks(x, p.regions, rotation=90, fontsize=6)
            ax.tick_params(labelsize=6)
        for j in range(n, rows_n * cols):
            axes[j // cols][j % cols].axis("off")
        axes[0][0].legend(fontsize=6)
        fig.suptitle(
            f"{p.dataset}: alignment patterns, {model} standing in for each region", fontsize=9
        )
        fig.tight_layout()
        caption = (
            "Alignment patterns per region: the brain's (band: 2.5-97.5 percentiles over "
            f"subject pairs) and {model}'s at its selected layer"
        )
        out.append((caption, _save(fig, p.folder, f"patterns_{p.tag}_{slug(model)}")))
    return out


def _band(ax: Any, piv: pd.DataFrame, low: str, high: str) -> None:
    """Grey bands per region (noise ceiling, brain APS interval) behind the points."""
    if piv.empty or not {low, high} <= set(piv.columns) or piv[low].isna().all():
        return
    for i in range(len(piv)):
        ax.fill_between(
            [i - 0.45, i + 0.45], piv[low].iloc[i], piv[high].iloc[i], color="0.85", zorder=0
        )


def _scores(p: _Panel) -> list[tuple[str, Path]]:
    import matplotlib.pyplot as plt

    if not p.models:
        return []
    res = p.res
    stats = res[
        res["analysis"].isin(["score", "aps", "brain_aps"])
        & res["statistic"].isin(["mean", "low", "high"])
    ]
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
    width = 0.8 / max(len(p.models), 1)
    for ax, analysis, title in (
        (axes[0], "score", "pointwise score"),
        (axes[1], "aps", "alignment pattern score"),
    ):
        for k, model in enumerate(p.models):
            sub = stats[(stats["model"] == model) & (stats["analysis"] == analysis)]
            piv = sub.pivot_table(
                index="region", columns="statistic", values="value", aggfunc="first"
            )
            piv = piv.reindex(p.regions)
            if piv.empty or piv["mean"].isna().all():
                continue
            xs = np.arange(len(p.regions)) + (k - (len(p.models) - 1) / 2) * width
            _interval(ax, xs, piv, str(model))
        source = (
            res[res["analysis"] == "noise_ceiling_test"]
            if analysis == "score"
            else stats[stats["analysis"] == "brain_aps"]
        )
        piv = source.pivot_table(
            index="region", columns="statistic", values="value", aggfunc="first"
        ).reindex(p.regions)
        _band(ax, piv, *(("lower", "upper") if analysis == "score" else ("low", "high")))
        ax.set_xticks(range(len(p.regions)), p.regions, rotation=90, fontsize=7)
        grey = "noise ceiling" if analysis == "score" else "brain APS 95% CI"
        ax.set_title(f"{title} (grey: {grey})", fontsize=9)
        ax.axhline(0, color="0.5", lw=0.5)
    for ax in axes[::-1]:  # the APS panel is empty when APS is undefined (< 3 regions)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=6, loc="upper left", bbox_to_anchor=(1.01, 1.0))
            break
    fig.suptitle(f"{p.dataset}: models per region ({p.metric}, test stimuli, 95% CIs)", fontsize=10)
    fig.tight_layout()
    caption = (
        "Pointwise score and APS per model and region with bootstrap CIs; grey bands: noise "
        "ceiling and the brain's own APS"
    )
    return [(caption, _save(fig, p.folder, f"scores_{p.tag}"))]


def _equivalence(p: _Panel) -> list[tuple[str, Path]]:
    import matplotlib.pyplot as plt

    eq = p.res[p.res["analysis"] == "equivalence"]
    if eq.empty:
        return []
    fig, axes = plt.subplots(1, 3, figsize=(11, 0.35 * len(p.models) + 2))
    for ax, stat in zip(axes, ("score_equivalent", "aps_equivalent", "double"), strict=True):
        grid = (
            eq[eq["statistic"] == stat]
            .pivot_table(index="model", columns="region", values="value", aggfunc="first")
            .reindex(index=p.models, columns=p.regions)
        )
        ax.imshow(grid.to_numpy(dtype=float), cmap="RdYlGn", vmin=0, vmax=1, aspect="auto")
        ax.set_xticks(range(len(p.regions)), p.regions, rotation=90, fontsize=7)
        ax.set_yticks(range(len(p.models)), [str(m) for m in p.models], fontsize=7)
        ax.set_title(stat.replace("_", " "), fontsize=9)
    fig.suptitle(f"{p.dataset}: equivalent to the best model? (green = yes)", fontsize=10)
    fig.tight_layout()
    caption = (
        "Equivalence: a model's mean at or above the best model's lower CI bound, for the "
        "score, for APS, and both (the double criterion)"
    )
    return [(caption, _save(fig, p.folder, f"equivalence_{p.tag}"))]


def _profiles(p: _Panel) -> list[tuple[str, Path]]:
    """Every model's layer profile in one figure per region (layers on a 0-1 depth axis)."""
    import matplotlib.pyplot as plt

    prof = p.res[p.res["analysis"] == "layer_profile"]
    models = [m for m in p.models if prof[prof["model"] == m]["layer"].nunique() >= 2]
    if not models:
        return []
    cols = min(len(p.regions), 4)
    rows_n = int(np.ceil(len(p.regions) / cols))
    fig, axes = plt.subplots(rows_n, cols, figsize=(3.2 * cols, 2.6 * rows_n), squeeze=False)
    sel = p.res[p.res["analysis"] == "selected_layer"]
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
    axes[0][0].legend(fontsize=6)
    fig.suptitle(
        f"{p.dataset}: layer profiles on training stimuli ({p.metric}; dot: chosen layer)",
        fontsize=9,
    )
    fig.tight_layout()
    caption = (
        "Layer profiles of all models per region: every layer's score on the training stimuli "
        "(where layers are selected), the chosen layer marked"
    )
    return [(caption, _save(fig, p.folder, f"profiles_{p.tag}"))]


def _geometry(p: _Panel) -> list[tuple[str, Path]]:
    """Per region: the brain's subject-mean RDM (when stored) and MDS views of the brain and
    of each model's chosen layer."""
    import matplotlib.pyplot as plt

    mds = p.res[p.res["analysis"] == "mds"]
    rdm = p.res[(p.res["analysis"] == "rdm") & p.res["model"].isna()]
    out = []
    for region in p.regions:
        sub = mds[mds["region"] == region]
        owners = ["brain", *[m for m in p.models if (sub["model"] == m).any()]][:5]
        has_rdm = not rdm[rdm["region"] == region].empty
        n = len(owners) + has_rdm
        fig, axes = plt.subplots(1, n, figsize=(2.8 * n, 2.8), squeeze=False)
        panels = list(axes[0])
        if has_rdm:
            ax = panels.pop(0)
            sq = rdm[rdm["region"] == region].pivot_table(
                index="stimulus",
                columns="target_stimulus",
                values="value",
                aggfunc="first",
                sort=False,
            )
            im = ax.imshow(sq.to_numpy(dtype=float), cmap="viridis")
            ax.set_title("brain RDM (subject mean)", fontsize=8)
            ax.set_xticks([])
            ax.set_yticks([])
            fig.colorbar(im, ax=ax, fraction=0.046)
        for ax, owner in zip(panels, owners, strict=True):
            pts = sub[sub["model"].isna()] if owner == "brain" else sub[sub["model"] == owner]
            xy = pts.pivot_table(
                index="stimulus", columns="statistic", values="value", aggfunc="first", sort=False
            )
            ax.scatter(xy["x"], xy["y"], s=8, c=np.arange(len(xy)), cmap="viridis")
            layer = pts["layer"].dropna()
            ax.set_title(owner if layer.empty else f"{owner} ({layer.iloc[0]})", fontsize=7)
            ax.set_xticks([])
            ax.set_yticks([])
        fig.suptitle(f"{p.dataset}: {region} geometry (all stimuli; MDS of the RDMs)", fontsize=9)
        fig.tight_layout()
        caption = (
            f"{region}: the brain's subject-mean RDM and classical MDS views of the brain's and "
            "each model's chosen layer's RDM (points coloured by stimulus order)"
        )
        out.append((caption, _save(fig, p.folder, f"geometry_{p.tag}_{slug(region)}")))
    return out


#: The figures of each dataset and metric, in report order.
FIGURES: list[Callable[[_Panel], list[tuple[str, Path]]]] = [
    _brain_matrix,
    _brain_aps,
    _model_matrices,
    _patterns,
    _scores,
    _equivalence,
    _profiles,
    _geometry,
]
