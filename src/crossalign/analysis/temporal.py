"""Time-resolved representational analysis: RDM movies, time courses, temporal generalisation
and cross-region lags, for MEG/EEG sensors or sources and binned spikes.

Responses carry time as their last axis: (stimulus, unit, time), or (stimulus, unit,
repetition, time) with repetitions (NaN where a stimulus has fewer). An **RDM movie** is one RDM
per time point (or per sliding window), every distance of the library included; the
cross-validated ones (``cv_euclidean``, ``crossnobis``) take the repetitions as folds, as
rsatoolbox's ``calc_rdm_movie`` with ``cv_descriptor`` does (Kriegeskorte et al. 2008;
Cichy, Pantazis & Oliva 2014, "Resolving human object recognition in space and time"; Walther
et al. 2016 for crossnobis). **Temporal generalisation** scores the RDM at each time of one
movie against the RDM at each time of another (King & Dehaene 2014); its diagonal is the time
course. The **lag profile** of two regions averages it along each diagonal: where region B
repeats region A's representation ``k`` time bins later, the profile of (A, B) peaks at ``k``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from crossalign.compute.context import Context, current_context
from crossalign.compute.crossval import cv_rdm_vector, noise_precision
from crossalign.compute.rdm import DISTANCES, rdm_vectors
from crossalign.engine.core import cross, pairwise_scores, prepare
from crossalign.errors import InputError
from crossalign.metrics import Metric
from crossalign.stats.resampling import bootstrap_indices, percentile_ci

__all__ = [
    "Latencies",
    "cross_region_movie",
    "lag_profiles",
    "latencies",
    "rdm_movie",
    "sliding_windows",
    "temporal_generalisation",
    "time_course",
    "time_courses",
]


def sliding_windows(responses: np.ndarray, window: int, step: int = 1) -> np.ndarray:
    """Responses averaged over sliding windows of ``window`` time bins, ``step`` bins apart
    (the time axis is the last; a window that would run past the end is dropped).

    Parameters
    ----------
    responses : numpy.ndarray
        (..., time).
    window, step : int
        Bins per window and between window starts.

    Returns
    -------
    numpy.ndarray
        (..., n_windows); window ``w`` averages bins ``w * step`` to ``w * step + window - 1``.
    """
    n_time = responses.shape[-1]
    for name, value in (("window", window), ("step", step)):
        if not isinstance(value, int | np.integer) or isinstance(value, bool) or value < 1:
            raise InputError(f"The '{name}' argument must be a positive integer. Got {value!r}.")
    if window > n_time:
        raise InputError(
            f"The 'window' argument ({window} bins) is longer than the data ({n_time} bins)."
        )
    starts = range(0, n_time - window + 1, step)
    return np.stack([responses[..., s : s + window].mean(axis=-1) for s in starts], axis=-1)


def rdm_movie(
    responses: Any,
    distance: str = "correlation",
    *,
    noise: str | np.ndarray | None = None,
    name: str = "responses",
    ctx: Context | None = None,
) -> np.ndarray:
    """One RDM per time point, as upper-triangle vectors.

    Parameters
    ----------
    responses : array-like
        (stimulus, unit, time), or (stimulus, unit, repetition, time). Distances that are not
        cross-validated use the mean over repetitions; ``cv_euclidean`` and ``crossnobis``
        need repetitions and take them as the cross-validation folds.
    distance : str
        A registered RDM distance (``crossalign.DISTANCES``): ``correlation``, ``cosine``,
        ``euclidean``, ``sqeuclidean``, ``cv_euclidean``, ``crossnobis``.
    noise : {None, "pooled"} or numpy.ndarray, optional
        Crossnobis only: None estimates the noise precision at each time point (the distance's
        shrinkage estimator); ``"pooled"`` estimates one from every time point; a (unit, unit)
        precision matrix is used as given at every time point (rsatoolbox's ``noise``).
    name : str
        What ``responses`` is, for error messages.
    ctx : Context, optional
        Where the products run; default the current context.

    Returns
    -------
    numpy.ndarray
        (time, n (n - 1) / 2). rsatoolbox's ``euclidean`` is ``sqeuclidean`` divided by the
        number of units; its ``crossnobis`` and ours are the same (divided by units).
    """
    x = np.asarray(responses, dtype=np.float64)
    if x.ndim not in (3, 4):
        raise InputError(
            f"The '{name}' argument must be (stimulus, unit, time) or (stimulus, unit, "
            f"repetition, time). Got an array of shape {x.shape}."
        )
    dist = DISTANCES.get(distance)
    ctx = current_context() if ctx is None else ctx
    if dist.cross_validated is None:
        patterns = np.moveaxis(x if x.ndim == 3 else np.nanmean(x, axis=2), -1, 0)
        if dist.centre is not None:  # unit distances: one batched product for every time
            rows = dist.preprocess(patterns, name)
            iu, ju = np.triu_indices(rows.shape[1], k=1)
            return 1.0 - np.matmul(rows, np.swapaxes(rows, 1, 2))[:, iu, ju]
        return rdm_vectors(patterns, distance, name=name, ctx=ctx)
    if x.ndim != 4:
        raise InputError(
            f"The '{distance}' distance needs repetitions: '{name}' must be (stimulus, unit, "
            f"repetition, time). Got an array of shape {x.shape}."
        )
    return _cv_movie(x, dist, noise, name, ctx)


def _cv_movie(
    x: np.ndarray, dist: Any, noise: str | np.ndarray | None, name: str, ctx: Context
) -> np.ndarray:
    """Cross-validated RDMs at each time point, with the noise estimated per time point,
    pooled over time, or given."""
    times = range(x.shape[-1])
    if dist.cross_validated == "identity" or noise is None:
        return np.stack([dist.from_repeats(x[..., t], f"{name}[time {t}]", ctx=ctx) for t in times])
    if isinstance(noise, str):
        if noise != "pooled":
            raise InputError(
                f"The 'noise' argument must be None, 'pooled' or a precision matrix. Got {noise!r}."
            )
        stacked = np.moveaxis(x, -1, 0).reshape(-1, *x.shape[1:3])  # (time x stimulus) rows
        precision = noise_precision(stacked, dist.cross_validated, ctx=ctx)
    else:
        precision = np.asarray(noise, dtype=np.float64)
        if precision.shape != (x.shape[1], x.shape[1]):
            raise InputError(
                f"The 'noise' precision must be ({x.shape[1]}, {x.shape[1]}) for {x.shape[1]} "
                f"units. Got shape {precision.shape}."
            )
    return np.stack([cv_rdm_vector(x[..., t], precision, name, ctx=ctx) for t in times])


def temporal_generalisation(
    movie_a: np.ndarray,
    movie_b: np.ndarray | None = None,
    *,
    metric: str | Metric = "spearman",
    ctx: Context | None = None,
) -> np.ndarray:
    """The RDM at every time of ``movie_a`` scored against the RDM at every time of
    ``movie_b`` (King & Dehaene 2014, applied to RDMs).

    Parameters
    ----------
    movie_a, movie_b : numpy.ndarray
        (time, n (n - 1) / 2) RDM movies of the same stimuli; ``movie_b`` defaults to
        ``movie_a``.
    metric : str or Metric
        An RDM comparator (spearman, pearson, kendall_taua, cosine).
    ctx : Context, optional

    Returns
    -------
    numpy.ndarray
        (time_a, time_b); its diagonal is :func:`time_course` of the two movies.
    """
    a = _movie(movie_a, "movie_a")
    b = None if movie_b is None else _movie(movie_b, "movie_b", a.shape[1])
    return pairwise_scores(a, b, metric=metric, context=ctx)


def time_course(
    movie_a: np.ndarray,
    movie_b: np.ndarray,
    *,
    metric: str | Metric = "spearman",
    ctx: Context | None = None,
) -> np.ndarray:
    """Scores of two RDM movies at the same times (a model layer's or a region's RDM against a
    movie: pass it as a movie of one time point, which is broadcast).

    Parameters
    ----------
    movie_a, movie_b : numpy.ndarray
        (time, n (n - 1) / 2) each, or (1, m) / (m,) for a static RDM.
    metric : str or Metric
    ctx : Context, optional

    Returns
    -------
    numpy.ndarray
        (time,).
    """
    a, b = _movie(movie_a, "movie_a"), _movie(movie_b, "movie_b")
    if len(a) == 1 or len(b) == 1:
        return temporal_generalisation(a, b, metric=metric, ctx=ctx).ravel()
    if len(a) != len(b):
        raise InputError(
            f"The two movies must have the same time points. Got {len(a)} and {len(b)}."
        )
    return np.diagonal(temporal_generalisation(a, b, metric=metric, ctx=ctx)).copy()


def cross_region_movie(
    movies: Mapping[Any, np.ndarray],
    *,
    metric: str | Metric = "spearman",
    ctx: Context | None = None,
) -> tuple[np.ndarray, list[Any]]:
    """The region x region matrix at each time point: every region's RDM at time ``t`` scored
    against every other region's RDM at the same time (one subject's cross-region pattern over
    time).

    Parameters
    ----------
    movies : mapping of region to numpy.ndarray
        RDM movies (time, m) with the same stimuli and time points.
    metric : str or Metric
    ctx : Context, optional

    Returns
    -------
    matrices : numpy.ndarray
        (time, region, region).
    regions : list
    """
    regions = list(movies)
    stack = np.stack([_movie(movies[r], str(r)) for r in regions], axis=1)  # (time, region, m)
    if stack.shape[1] == 0:
        raise InputError("The 'movies' argument holds no region.")
    ctx = current_context() if ctx is None else ctx
    out = np.stack([pairwise_scores(frame, metric=metric, context=ctx) for frame in stack])
    return out, regions


def time_courses(
    references: Mapping[Any, np.ndarray],
    movies: Mapping[tuple[Any, Any], np.ndarray],
    times: np.ndarray | None = None,
    *,
    metric: str | Metric = "spearman",
    ctx: Context | None = None,
) -> xr.DataArray:
    """Static RDMs (a model's layers, or fMRI regions for MEG-fMRI fusion; Cichy, Pantazis &
    Oliva 2014) scored against every subject's and region's RDM movie at every time point.

    Parameters
    ----------
    references : mapping of label to numpy.ndarray
        RDM vectors (m,), e.g. ``{layer: rdm}``.
    movies : mapping of (subject, region) to numpy.ndarray
        RDM movies (time, m) with the same stimuli and time points.
    times : numpy.ndarray, optional
        The time of each point (seconds); default the indices.
    metric : str or Metric
    ctx : Context, optional

    Returns
    -------
    xarray.DataArray
        Dimensions (reference, subject, region, time), labelled; NaN where a (subject, region)
        has no movie.
    """
    labels = list(references)
    stack = np.stack([_movie(references[k], str(k))[0] for k in labels])
    keys = list(movies)
    if not keys or any(not (isinstance(k, tuple) and len(k) == 2) for k in keys):
        raise InputError("The 'movies' argument must map (subject, region) to RDM movies.")
    subjects = list(dict.fromkeys(k[0] for k in keys))
    regions = list(dict.fromkeys(k[1] for k in keys))
    n_time = len(_movie(movies[keys[0]], "movie"))
    t = np.arange(n_time) if times is None else np.asarray(times)
    if t.shape != (n_time,):
        raise InputError(f"The 'times' argument must have {n_time} values. Got {t.shape}.")
    out = np.full((len(labels), len(subjects), len(regions), n_time), np.nan)
    ctx = current_context() if ctx is None else ctx
    prepared = prepare(metric, stack, labels, context=ctx)  # the references once
    for subject, region in keys:
        movie = _movie(movies[(subject, region)], f"{subject}/{region}", stack.shape[1])
        if len(movie) != n_time:
            raise InputError("Every movie must have the same time points.")
        scores = cross(prepared, prepare(metric, movie, context=ctx))
        out[:, subjects.index(subject), regions.index(region)] = scores
    return xr.DataArray(
        out,
        dims=("reference", "subject", "region", "time"),
        coords={"reference": labels, "subject": subjects, "region": regions, "time": t},
        attrs={"metric": metric if isinstance(metric, str) else metric.label},
    )


def lag_profiles(
    movies: Mapping[Any, np.ndarray],
    max_lag: int,
    *,
    metric: str | Metric = "spearman",
    ctx: Context | None = None,
) -> tuple[np.ndarray, list[Any], np.ndarray]:
    """For every ordered pair of regions, the mean score of region A at time ``t`` against
    region B at time ``t + k``, for lags ``k = -max_lag .. max_lag`` (the diagonals of their
    temporal generalisation matrix).

    Parameters
    ----------
    movies : mapping of region to numpy.ndarray
        RDM movies (time, m) with the same stimuli and time points.
    max_lag : int
        In time bins.
    metric : str or Metric
    ctx : Context, optional

    Returns
    -------
    profiles : numpy.ndarray
        (region, region, 2 max_lag + 1).
    regions : list
    lags : numpy.ndarray
        The lags in bins.
    """
    regions = list(movies)
    stack = [_movie(movies[r], str(r)) for r in regions]
    n_time = len(stack[0])
    if any(len(m) != n_time for m in stack):
        raise InputError("Every region's movie must have the same time points.")
    if not isinstance(max_lag, int | np.integer) or not 0 <= max_lag < n_time:
        raise InputError(
            f"The 'max_lag' argument must be an integer from 0 to {n_time - 1}. Got {max_lag!r}."
        )
    full = temporal_generalisation(np.concatenate(stack), metric=metric, ctx=ctx)
    lags = np.arange(-max_lag, max_lag + 1)
    out = np.empty((len(regions), len(regions), len(lags)))
    for i in range(len(regions)):
        for j in range(len(regions)):
            block = full[i * n_time : (i + 1) * n_time, j * n_time : (j + 1) * n_time]
            out[i, j] = [np.diagonal(block, offset=int(k)).mean() for k in lags]
    return out, regions, lags


@dataclass(frozen=True)
class Latencies:
    """Peak and onset latency of a time course averaged over subjects, with bootstrap
    intervals over subjects.

    Parameters
    ----------
    peak, onset : float
        Time of the mean course's maximum, and the first time it reaches ``fraction`` of that
        maximum (the fractional-peak onset; Luck 2014, "An introduction to the event-related
        potential technique", ch. 9).
    peak_ci, onset_ci : tuple of float
        Percentile intervals over subject resamples.
    fraction : float
    """

    peak: float
    onset: float
    peak_ci: tuple[float, float]
    onset_ci: tuple[float, float]
    fraction: float


def _peak_onset(mean: np.ndarray, times: np.ndarray, fraction: float) -> tuple[float, float]:
    k = int(np.argmax(mean))
    reached = np.flatnonzero(mean[: k + 1] >= fraction * mean[k])
    return float(times[k]), float(times[reached[0]])


def latencies(
    courses: np.ndarray,
    times: np.ndarray | None = None,
    *,
    fraction: float = 0.5,
    n_bootstrap: int = 1000,
    level: float = 0.95,
    seed: int | None = 0,
) -> Latencies:
    """Peak and onset latency of the subject-mean time course, with bootstrap intervals over
    subjects (each resample's mean course gives one peak and one onset).

    Parameters
    ----------
    courses : numpy.ndarray
        (subject, time): e.g. each subject's model-brain time course.
    times : numpy.ndarray, optional
        The time of each point (seconds); default the indices.
    fraction : float
        The onset is the first time the mean course reaches this fraction of its peak.
    n_bootstrap : int
    level : float
        Interval coverage.
    seed : int or None

    Returns
    -------
    Latencies
    """
    x = np.asarray(courses, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 2 or not np.isfinite(x).all():
        raise InputError(
            "The 'courses' argument must be finite (subject, time) with at least 2 subjects. "
            f"Got an array of shape {x.shape}."
        )
    t = np.arange(x.shape[1], dtype=float) if times is None else np.asarray(times, dtype=float)
    if t.shape != (x.shape[1],):
        raise InputError(f"The 'times' argument must have {x.shape[1]} values. Got {t.shape}.")
    if not 0.0 < fraction <= 1.0:
        raise InputError(f"The 'fraction' argument must lie in (0, 1]. Got {fraction!r}.")
    peak, onset = _peak_onset(x.mean(axis=0), t, fraction)
    draws = bootstrap_indices(x.shape[0], n_bootstrap, seed=seed)
    samples = np.array([_peak_onset(x[d].mean(axis=0), t, fraction) for d in draws])
    low, high = percentile_ci(samples, level)
    return Latencies(
        peak, onset, (float(low[0]), float(high[0])), (float(low[1]), float(high[1])), fraction
    )


def _movie(movie: Any, name: str, width: int | None = None) -> np.ndarray:
    arr = np.asarray(movie, dtype=np.float64)
    arr = arr[None] if arr.ndim == 1 else arr
    if arr.ndim != 2 or (width is not None and arr.shape[1] != width):
        expected = "(time, n (n - 1) / 2)" + ("" if width is None else f" with {width} pairs")
        raise InputError(f"The '{name}' argument must be {expected}. Got shape {arr.shape}.")
    return arr
