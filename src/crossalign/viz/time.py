"""Time courses of alignment: the subject mean with a bootstrap band over subjects, and the
time points inside significant clusters marked under the curve."""

from __future__ import annotations

from typing import Any

import numpy as np

from crossalign.errors import InputError
from crossalign.stats.clusters import cluster_test
from crossalign.stats.resampling import bootstrap_indices, percentile_ci

__all__ = ["plot_time_courses"]


def plot_time_courses(
    courses: Any,
    *,
    n_bootstrap: int = 1000,
    alpha: float = 0.05,
    n_permutations: int = 1024,
    seed: int = 0,
    title: str | None = None,
    ylabel: str = "score",
) -> Any:
    """One line per reference (e.g. a model layer) and region: the mean over subjects with a
    95% bootstrap band, and a bar under it where a cluster-based permutation test against zero
    finds the course above or below zero (FWER ``alpha``; :func:`crossalign.cluster_test`).

    Parameters
    ----------
    courses : xarray.DataArray
        (reference, subject, region, time), as :func:`crossalign.time_courses` returns.
    n_bootstrap : int
        Subject resamples for the band.
    alpha : float
        Cluster p-value threshold for the bars.
    n_permutations : int
        Sign patterns of the cluster test.
    seed : int
    title : str, optional
    ylabel : str

    Returns
    -------
    matplotlib.figure.Figure
        One panel per region.
    """
    import matplotlib.pyplot as plt

    dims = ("reference", "subject", "region", "time")
    if tuple(getattr(courses, "dims", ())) != dims:
        raise InputError(
            f"The 'courses' argument must be a DataArray with dimensions {dims}, as "
            f"crossalign.time_courses returns. Got {getattr(courses, 'dims', type(courses))}."
        )
    times = np.asarray(courses["time"].values, dtype=float)
    regions = list(courses["region"].values)
    fig, axes = plt.subplots(1, len(regions), figsize=(4 * len(regions), 3.2), squeeze=False)
    for ax, region in zip(axes[0], regions, strict=True):
        for k, ref in enumerate(courses["reference"].values):
            x = courses.sel(reference=ref, region=region).values  # (subject, time)
            x = x[~np.isnan(x).any(axis=1)]
            if len(x) < 2:
                continue
            draws = bootstrap_indices(len(x), n_bootstrap, seed=seed)
            low, high = percentile_ci(x[draws].mean(axis=1))
            (line,) = ax.plot(times, x.mean(axis=0), label=str(ref))
            ax.fill_between(times, low, high, color=line.get_color(), alpha=0.2, linewidth=0)
            hits = cluster_test(x, n_permutations=n_permutations, seed=seed).significant(alpha)
            if hits.any():
                level = ax.get_ylim()[0]
                marks = np.where(hits, level - 0.02 * (k + 1), np.nan)
                ax.plot(times, marks, color=line.get_color(), linewidth=3)
        ax.axhline(0.0, color="0.6", linewidth=0.8)
        ax.set_title(str(region))
        ax.set_xlabel("time")
        ax.set_ylabel(ylabel)
    axes[0][0].legend(fontsize="small")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
