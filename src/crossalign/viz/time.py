"""Figures of time-resolved alignment: time courses (the subject mean with a bootstrap band
over subjects, the time points inside significant clusters marked under the curve), time x time
maps with their significant clusters outlined, the region x region matrix as small multiples
over time, and latencies with their intervals."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from crossalign.analysis.temporal import Latencies
from crossalign.errors import InputError
from crossalign.stats.clusters import cluster_test
from crossalign.stats.resampling import bootstrap_indices, percentile_ci

__all__ = [
    "plot_latencies",
    "plot_matrices_over_time",
    "plot_temporal_generalisation",
    "plot_time_courses",
]


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


def plot_temporal_generalisation(
    maps: Any,
    times: Any = None,
    *,
    alpha: float = 0.05,
    n_permutations: int = 1024,
    seed: int = 0,
    title: str | None = None,
    label: str = "score",
) -> Any:
    """A time x time map (King & Dehaene 2014): the subject mean of temporal generalisation
    maps, the diagonal dashed, and the outline of the clusters where a cluster-based
    permutation test over subjects finds the map different from zero.

    Parameters
    ----------
    maps : array
        (subject, time, time) maps, one per subject (e.g. from
        :func:`crossalign.temporal_generalisation`), or one (time, time) map (no test).
    times : array, optional
        The time of each point (seconds); default the indices.
    alpha : float
        Cluster p-value threshold for the outline.
    n_permutations : int
        Sign patterns of the cluster test.
    seed : int
    title : str, optional
    label : str
        The colour bar's label.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    x = np.asarray(maps, dtype=np.float64)
    x = x[None] if x.ndim == 2 else x
    if x.ndim != 3 or x.shape[1] != x.shape[2] or x.shape[1] < 2 or not np.isfinite(x).all():
        raise InputError(
            "The 'maps' argument must be finite (subject, time, time) or (time, time) with at "
            f"least 2 time points. Got an array of shape {np.shape(maps)}."
        )
    t = _times(times, x.shape[1])
    mean = x.mean(axis=0)
    bound = float(np.abs(mean).max()) or 1.0
    fig, ax = plt.subplots(figsize=(4.6, 3.9))
    extent = (t[0], t[-1], t[0], t[-1])
    im = ax.imshow(
        mean, origin="lower", extent=extent, cmap="RdBu_r", vmin=-bound, vmax=bound, aspect="auto"
    )
    ax.plot([t[0], t[-1]], [t[0], t[-1]], color="0.3", linestyle="--", linewidth=0.8)
    if len(x) >= 2:
        hits = cluster_test(x, n_permutations=n_permutations, seed=seed).significant(alpha)
        if hits.any() and not hits.all():
            ax.contour(t, t, hits.astype(float), levels=[0.5], colors="k", linewidths=1.0)
    ax.set_xlabel("test time")
    ax.set_ylabel("train time")
    fig.colorbar(im, ax=ax, label=label)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


def plot_matrices_over_time(
    matrices: Any, at: Any = None, *, n: int = 5, title: str | None = None
) -> Any:
    """The region x region matrix as small multiples at chosen times, on one colour scale.

    Parameters
    ----------
    matrices : xarray.DataArray
        (time, region, target_region), e.g. ``aps_time_courses(...)["cross_region"]``.
    at : sequence of float, optional
        The times to show (the nearest time point of each); default ``n`` evenly spaced ones.
    n : int
        How many times when ``at`` is not given.
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
        One panel per time.
    """
    import matplotlib.pyplot as plt

    dims = ("time", "region", "target_region")
    if tuple(getattr(matrices, "dims", ())) != dims:
        raise InputError(
            f"The 'matrices' argument must be a DataArray with dimensions {dims}, as "
            "aps_time_courses(...)['cross_region'] is. "
            f"Got {getattr(matrices, 'dims', type(matrices))}."
        )
    times = np.asarray(matrices["time"].values, dtype=float)
    if at is None:
        if not isinstance(n, int) or n < 1:
            raise InputError(f"The 'n' argument must be a positive integer. Got {n!r}.")
        picks = np.unique(np.linspace(0, len(times) - 1, min(n, len(times))).round().astype(int))
    else:
        picks = np.array([int(np.abs(times - float(v)).argmin()) for v in np.atleast_1d(at)])
    values = matrices.values[picks]
    low, high = float(np.nanmin(values)), float(np.nanmax(values))
    regions = [str(r) for r in matrices["region"].values]
    fig, axes = plt.subplots(
        1, len(picks), figsize=(2.6 * len(picks) + 0.8, 2.9), squeeze=False, layout="constrained"
    )
    for ax, k, mat in zip(axes[0], picks, values, strict=True):
        im = ax.imshow(mat, vmin=low, vmax=high if high > low else low + 1.0, cmap="viridis")
        ax.set_title(f"t = {round(float(times[k]), 6) + 0.0:g}", fontsize=9)
        ticks = range(len(regions)) if len(regions) <= 20 else []
        ax.set_xticks(ticks, [regions[i] for i in ticks], rotation=90, fontsize=6)
        ax.set_yticks(ticks, [regions[i] for i in ticks], fontsize=6)
    fig.colorbar(im, ax=list(axes[0]), fraction=0.03)
    if title:
        fig.suptitle(title)
    return fig


def plot_latencies(latencies: Any, *, unit: str = "s", title: str | None = None) -> Any:
    """Onset and peak latencies with their bootstrap intervals, one row per label.

    Parameters
    ----------
    latencies : mapping of label to Latencies
        From :func:`crossalign.latencies`, e.g. one per region or per model layer.
    unit : str
        The time axis' unit.
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    items = list(latencies.items()) if isinstance(latencies, Mapping) else None
    if not items or not all(isinstance(v, Latencies) for _, v in items):
        raise InputError(
            "The 'latencies' argument must be a non-empty dict of label -> Latencies (from "
            f"crossalign.latencies). Got {type(latencies).__name__}."
        )
    fig, ax = plt.subplots(figsize=(5.2, 0.5 * len(items) + 1.2))
    for row, (_, lat) in enumerate(items):
        for value, (lo, hi), colour, name in (
            (lat.onset, lat.onset_ci, "C0", "onset"),
            (lat.peak, lat.peak_ci, "C3", "peak"),
        ):
            ax.plot([lo, hi], [row, row], color=colour, linewidth=2, alpha=0.5)
            ax.plot([value], [row], "o", color=colour, label=name if row == 0 else None)
    ax.set_yticks(range(len(items)), [str(k) for k, _ in items])
    ax.invert_yaxis()
    ax.set_xlabel(f"latency ({unit})")
    ax.legend(fontsize="small", loc="best")
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


def _times(times: Any, n: int) -> np.ndarray:
    t = np.arange(n, dtype=float) if times is None else np.asarray(times, dtype=float)
    if t.shape != (n,):
        raise InputError(f"The 'times' argument must have {n} values. Got shape {t.shape}.")
    return t
