"""``crossalign bench time``: the time-resolved workload of MEG/EEG studies, timed step by step
with its peak memory, and the RDM movies against rsatoolbox's ``calc_rdm_movie`` on the same
data in the same run."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from crossalign.analysis.temporal import cross_region_movie, rdm_movie
from crossalign.bench.memory import peak_rss_mb, reset_peak_rss

__all__ = ["TIME_SIZES", "bench_time"]

#: subjects, regions, stimuli, units per region, time points
TIME_SIZES: dict[str, tuple[int, int, int, int, int]] = {
    "small": (3, 3, 20, 10, 20),
    "full": (10, 8, 92, 40, 200),
}


def _cell(seed: int, n: int, p: int, n_time: int) -> np.ndarray:
    """One subject x region recording (stimulus, unit, time): a stimulus code that drifts over
    time, seen through the region's own mixing, plus noise."""
    rng = np.random.default_rng(seed)
    code = np.cumsum(rng.normal(size=(n, 8, n_time)), axis=-1) / 4
    return np.einsum("skt,ku->sut", code, rng.normal(size=(8, p))) + rng.normal(size=(n, p, n_time))


def _rsatoolbox_movie(x: np.ndarray) -> np.ndarray:
    from rsatoolbox.data import TemporalDataset
    from rsatoolbox.rdm import calc_rdm_movie

    n, _, n_time = x.shape
    ds = TemporalDataset(
        x, obs_descriptors={"conds": np.arange(n)}, time_descriptors={"time": np.arange(n_time)}
    )
    return calc_rdm_movie(ds, method="correlation", descriptor="conds").dissimilarities


def _step(func: Any) -> tuple[float, float, Any]:
    reset_peak_rss()
    t0 = time.perf_counter()
    out = func()
    return time.perf_counter() - t0, peak_rss_mb(), out


def bench_time(size: str = "small", *, n_bootstrap: int = 1000) -> dict[str, Any]:
    """RDM movies of every subject x region, each subject's region x region matrix at every
    time point, and bootstrap intervals over subjects of the mean matrix at every time point.

    Parameters
    ----------
    size : {"small", "full"}
        ``full``: 10 subjects x 8 regions x 92 stimuli x 40 units x 200 time points.
    n_bootstrap : int
        Subject resamples.

    Returns
    -------
    dict
        Seconds and peak memory of each step, rsatoolbox's seconds for the same RDM movies, the
        speed-up and the largest difference.
    """
    n_sub, n_reg, n, p, n_time = TIME_SIZES[size]
    cells = {(s, r): _cell(s * 100 + r, n, p, n_time) for s in range(n_sub) for r in range(n_reg)}
    t_ref, _, ref = _step(lambda: {k: _rsatoolbox_movie(x) for k, x in cells.items()})
    t_movies, mem_movies, movies = _step(
        lambda: {k: rdm_movie(x, "correlation") for k, x in cells.items()}
    )
    diff = max(float(np.abs(movies[k] - ref[k]).max()) for k in cells)

    def matrices() -> np.ndarray:
        return np.stack(
            [cross_region_movie({r: movies[(s, r)] for r in range(n_reg)})[0] for s in range(n_sub)]
        )

    t_matrix, mem_matrix, per_subject = _step(matrices)

    def bootstrap() -> np.ndarray:
        draws = np.random.default_rng(0).integers(0, n_sub, size=(n_bootstrap, n_sub))
        means = per_subject[draws].mean(axis=1)  # (bootstrap, time, region, region)
        return np.percentile(means, [2.5, 97.5], axis=0)

    t_boot, mem_boot, _ = _step(bootstrap)
    return {
        "benchmark": "time",
        "size": size,
        "workload": f"{n_sub} subjects x {n_reg} regions x {n} stimuli x {p} units x {n_time} "
        f"time points: correlation RDM movies, Spearman region x region matrices at every "
        f"time point, {n_bootstrap} subject bootstraps of the mean matrix",
        "rdm_movies_s": t_movies,
        "rdm_movies_peak_mb": mem_movies,
        "rsatoolbox_rdm_movies_s": t_ref,
        "speedup_vs_rsatoolbox": t_ref / t_movies,
        "max_abs_diff": diff,
        "cross_region_matrices_s": t_matrix,
        "cross_region_peak_mb": mem_matrix,
        "bootstrap_s": t_boot,
        "bootstrap_peak_mb": mem_boot,
        "total_s": t_movies + t_matrix + t_boot,
    }
