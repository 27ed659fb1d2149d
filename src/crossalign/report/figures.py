"""Figures of a study, drawn from the results table (PNG and PDF)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..outputs import slug

__all__ = ["draw_figures", "slug"]


def _matrix(rows: pd.DataFrame, regions: list[str]) -> np.ndarray:
    table = rows.pivot_table(
        index="region", columns="target_region", values="value", aggfunc="first"
    )
    return table.reindex(index=regions, columns=regions).to_numpy()


def _save(fig: object, folder: Path, name: str) -> Path:
    """Write PNG and PDF atomically (never through a link planted in the folder)."""
    import matplotlib.pyplot as plt

    from ..outputs import write_atomic

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
    file names are unique per label, and files are written atomically into ``folder``."""
    import matplotlib

    from ..outputs import check_not_link

    matplotlib.use("Agg")
    check_not_link(folder, "figures folder")
    folder.mkdir(parents=True, exist_ok=True)
    with matplotlib.rc_context({"text.parse_math": False}):
        return _draw_all(results, folder)


def _draw_all(results: pd.DataFrame, folder: Path) -> dict[str, list[tuple[str, Path]]]:
    import matplotlib.pyplot as plt

    out: dict[str, list[tuple[str, Path]]] = {}
    for (dataset, metric), res in results.groupby(["dataset", "metric"], sort=False):
        figs: list[tuple[str, Path]] = []
        brain_rows = res[res["analysis"] == "cross_region_matrix"]
        regions = list(dict.fromkeys(brain_rows["region"]))
        models = list(dict.fromkeys(res.loc[res["analysis"] == "score", "model"].dropna()))
        tag = f"{slug(dataset)}_{slug(metric)}"

        # 1. matrices: brain, model, model-to-brain
        for model in models:
            mres = res[res["model"] == model]
            mats = [
                (
                    "brain (test stimuli)",
                    _matrix(mres[mres["analysis"] == "brain_matrix_test"], regions),
                ),
                (f"{model}: own", _matrix(mres[mres["analysis"] == "model_matrix"], regions)),
                (f"{model} -> brain", _matrix(mres[mres["analysis"] == "model_to_brain"], regions)),
            ]
            fig, axes = plt.subplots(1, 3, figsize=(3.4 * 3, 3.2))
            for ax, (title, mat) in zip(axes, mats, strict=True):
                im = ax.imshow(mat, cmap="viridis")
                ax.set_title(title, fontsize=9)
                ax.set_xticks(range(len(regions)), regions, rotation=90, fontsize=7)
                ax.set_yticks(range(len(regions)), regions, fontsize=7)
                fig.colorbar(im, ax=ax, fraction=0.046)
            fig.suptitle(f"{dataset}: cross-region matrices ({metric})", fontsize=10)
            fig.tight_layout()
            figs.append(
                (
                    f"Cross-region matrices: brain, {model}'s own, and {model} against "
                    "every subject's regions (test stimuli)",
                    _save(fig, folder, f"matrices_{tag}_{slug(model)}"),
                )
            )

        # 2. alignment patterns: brain band vs model line, per region
        for model in models:
            mres = res[res["model"] == model]
            mean = _matrix(mres[mres["analysis"] == "brain_pattern"], regions)
            low = _matrix(mres[mres["analysis"] == "brain_pattern_low"], regions)
            high = _matrix(mres[mres["analysis"] == "brain_pattern_high"], regions)
            mdl = _matrix(mres[mres["analysis"] == "model_to_brain"], regions)
            n = len(regions)
            cols = min(n, 5)
            rows_n = int(np.ceil(n / cols))
            fig, axes = plt.subplots(
                rows_n, cols, figsize=(2.6 * cols, 2.2 * rows_n), squeeze=False
            )
            x = np.arange(n)
            for i, region in enumerate(regions):
                ax = axes[i // cols][i % cols]
                ax.fill_between(x, low[i], high[i], color="0.8", label="brain 95%")
                ax.plot(x, mean[i], color="0.2", lw=1.5, label="brain mean")
                ax.plot(x, mdl[i], color="C3", lw=1.5, marker="o", ms=3, label=str(model))
                ax.set_title(f"{region}", fontsize=8)
                ax.set_xticks(x, regions, rotation=90, fontsize=6)
                ax.tick_params(labelsize=6)
            for j in range(n, rows_n * cols):
                axes[j // cols][j % cols].axis("off")
            axes[0][0].legend(fontsize=6)
            fig.suptitle(
                f"{dataset}: alignment patterns, {model} standing in for each region", fontsize=9
            )
            fig.tight_layout()
            figs.append(
                (
                    f"Alignment patterns per region: the brain's (band: 2.5-97.5 "
                    f"percentiles over subject pairs) and {model}'s at its selected layer",
                    _save(fig, folder, f"patterns_{tag}_{slug(model)}"),
                )
            )

        # 3. score and APS per model and region, with CIs and ceilings
        stats = res[
            res["analysis"].isin(["score", "aps", "brain_aps"])
            & res["statistic"].isin(["mean", "low", "high"])
        ]
        if models:
            fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
            for ax, analysis, title in (
                (axes[0], "score", "pointwise score"),
                (axes[1], "aps", "alignment pattern score"),
            ):
                width = 0.8 / max(len(models), 1)
                for k, model in enumerate(models):
                    sub = stats[(stats["model"] == model) & (stats["analysis"] == analysis)]
                    piv = sub.pivot_table(
                        index="region", columns="statistic", values="value", aggfunc="first"
                    ).reindex(regions)
                    if piv.empty or piv["mean"].isna().all():
                        continue
                    xs = np.arange(len(regions)) + (k - (len(models) - 1) / 2) * width
                    _interval(ax, xs, piv, str(model))
                if analysis == "score":
                    ceil = res[(res["analysis"] == "noise_ceiling_test")]
                    ceil = ceil.pivot_table(
                        index="region", columns="statistic", values="value", aggfunc="first"
                    ).reindex(regions)
                    if not ceil.empty:
                        for i in range(len(regions)):
                            ax.fill_between(
                                [i - 0.45, i + 0.45],
                                ceil["lower"].iloc[i],
                                ceil["upper"].iloc[i],
                                color="0.85",
                                zorder=0,
                            )
                else:
                    ba = (
                        stats[stats["analysis"] == "brain_aps"]
                        .pivot_table(
                            index="region", columns="statistic", values="value", aggfunc="first"
                        )
                        .reindex(regions)
                    )
                    if {"low", "high"} <= set(ba.columns) and not ba["low"].isna().all():
                        for i in range(len(regions)):
                            ax.fill_between(
                                [i - 0.45, i + 0.45],
                                ba["low"].iloc[i],
                                ba["high"].iloc[i],
                                color="0.85",
                                zorder=0,
                            )
                ax.set_xticks(range(len(regions)), regions, rotation=90, fontsize=7)
                ax.set_title(
                    title
                    + (
                        " (grey: noise ceiling)"
                        if analysis == "score"
                        else " (grey: brain APS 95% CI)"
                    ),
                    fontsize=9,
                )
                ax.axhline(0, color="0.5", lw=0.5)
            for ax in axes[::-1]:  # the APS panel is empty when APS is undefined (< 3 regions)
                if ax.get_legend_handles_labels()[0]:
                    ax.legend(fontsize=6, loc="upper left", bbox_to_anchor=(1.01, 1.0))
                    break
            fig.suptitle(
                f"{dataset}: models per region ({metric}, test stimuli, 95% CIs)", fontsize=10
            )
            fig.tight_layout()
            figs.append(
                (
                    "Pointwise score and APS per model and region with bootstrap CIs; "
                    "grey bands: noise ceiling and the brain's own APS",
                    _save(fig, folder, f"scores_{tag}"),
                )
            )

        # 4. equivalence (double criterion)
        eq = res[res["analysis"] == "equivalence"]
        if not eq.empty:
            fig, axes = plt.subplots(1, 3, figsize=(11, 0.35 * len(models) + 2))
            for ax, stat in zip(
                axes, ("score_equivalent", "aps_equivalent", "double"), strict=True
            ):
                grid = (
                    eq[eq["statistic"] == stat]
                    .pivot_table(index="model", columns="region", values="value", aggfunc="first")
                    .reindex(index=models, columns=regions)
                )
                ax.imshow(grid.to_numpy(dtype=float), cmap="RdYlGn", vmin=0, vmax=1, aspect="auto")
                ax.set_xticks(range(len(regions)), regions, rotation=90, fontsize=7)
                ax.set_yticks(range(len(models)), [str(m) for m in models], fontsize=7)
                ax.set_title(stat.replace("_", " "), fontsize=9)
            fig.suptitle(f"{dataset}: equivalent to the best model? (green = yes)", fontsize=10)
            fig.tight_layout()
            figs.append(
                (
                    "Equivalence: a model's mean at or above the best model's lower CI "
                    "bound, for the score, for APS, and both (the double criterion)",
                    _save(fig, folder, f"equivalence_{tag}"),
                )
            )

        # 5. layer profiles
        for model in models:
            prof = res[(res["model"] == model) & (res["analysis"] == "layer_profile")]
            if prof.empty or prof["layer"].nunique() < 2:
                continue
            layers = list(dict.fromkeys(prof["layer"]))
            fig, ax = plt.subplots(figsize=(7, 3))
            for region in regions:
                sub = prof[prof["region"] == region].set_index("layer")["value"].reindex(layers)
                ax.plot(range(len(layers)), sub.to_numpy(), marker="o", ms=2, label=region)
            ax.set_xticks(range(len(layers)), layers, rotation=90, fontsize=6)
            ax.set_ylabel(metric, fontsize=8)
            ax.legend(fontsize=6, ncol=2)
            ax.set_title(f"{dataset}: {model} layer profiles (training stimuli)", fontsize=9)
            figs.append(
                (
                    f"Layer profiles of {model}: every layer's score per region on the "
                    "training stimuli (where layers are selected)",
                    _save(fig, folder, f"layers_{tag}_{slug(model)}"),
                )
            )
        out[f"{dataset} ({metric})"] = figs
    return out
