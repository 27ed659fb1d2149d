"""Resampling: bootstrap indices, percentile intervals and their diagnostics, the two-factor
variance correction."""

from __future__ import annotations

import warnings
from collections.abc import Hashable, Sequence

import numpy as np

from crossalign.errors import InputError, ReliabilityWarning

__all__ = [
    "MIN_BOOTSTRAP",
    "MIN_KEPT_FRACTION",
    "bootstrap_indices",
    "check_n_bootstrap",
    "fixed_subject_bootstrap",
    "interval_diagnostics",
    "percentile_ci",
    "resample_rdm_vectors",
    "two_factor_variance",
]


# ---------------------------------------------------------------------- bootstrap
def bootstrap_indices(n: int, n_bootstrap: int, *, seed: int | None = 0) -> np.ndarray:
    """``n_bootstrap`` resamples (with replacement) of ``range(n)``: array (B, n).

    Parameters
    ----------
    n : int
        Items resampled.
    n_bootstrap : int
        Resamples.
    seed : int or None
        Seed of ``numpy.random.default_rng``.

    Returns
    -------
    numpy.ndarray
        (n_bootstrap, n) integer indices.
    """
    if not isinstance(n_bootstrap, int | np.integer) or n_bootstrap < 1:
        raise InputError(
            f"The 'n_bootstrap' argument must be a positive integer. Got {n_bootstrap!r}."
        )
    return np.random.default_rng(seed).integers(0, n, size=(n_bootstrap, n))


def fixed_subject_bootstrap(
    values: np.ndarray, n_bootstrap: int, seed: int | None = 0
) -> np.ndarray:
    """Subject means over resampled subjects of fixed per-subject ``values`` (..., S):
    array (B, ...). Resample b draws ``numpy.random.default_rng(seed + b).choice(S, S,
    replace=True)`` (the estimator of Hoefling et al. 2026: the values are not recomputed
    from the resampled subjects); NaN values are left out of a mean.

    Parameters
    ----------
    values : numpy.ndarray
        (..., S).
    n_bootstrap : int
    seed : int or None

    Returns
    -------
    numpy.ndarray
    """
    values = np.asarray(values, dtype=float)
    n_sub = values.shape[-1]
    base = 0 if seed is None else int(seed)
    out = np.empty((n_bootstrap, *values.shape[:-1]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN statistic stays NaN
        for b in range(n_bootstrap):
            idx = np.random.default_rng(base + b).choice(n_sub, n_sub, replace=True)
            out[b] = np.nanmean(values[..., idx], axis=-1)
    return out


def percentile_ci(samples: np.ndarray, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Percentile confidence interval along axis 0 (NaN samples ignored).

    Parameters
    ----------
    samples : numpy.ndarray
        Bootstrap samples along axis 0.
    level : float
        Coverage, in (0, 1).

    Returns
    -------
    tuple of numpy.ndarray
        The lower and upper bounds, each of the shape of ``samples[0]``.
    """
    if not 0.0 < level < 1.0:
        raise InputError(f"The 'level' argument must lie between 0 and 1. Got {level!r}.")
    alpha = (1.0 - level) / 2.0
    with warnings.catch_warnings():  # an undefined statistic (all NaN) has an undefined CI
        warnings.simplefilter("ignore", RuntimeWarning)
        low, high = np.nanpercentile(samples, [100 * alpha, 100 * (1 - alpha)], axis=0)
    return low, high


#: A bootstrap interval is flagged when fewer than this fraction of resamples define it.
MIN_KEPT_FRACTION = 0.5


#: Fewer bootstrap resamples than this give unstable percentile intervals: a warning.
MIN_BOOTSTRAP = 100


def check_n_bootstrap(n_bootstrap: int, what: str = "bootstrap") -> None:
    """Warn (:class:`~crossalign.errors.ReliabilityWarning`) when fewer than 100 resamples
    are asked for: percentile intervals from so few are unstable.

    Parameters
    ----------
    n_bootstrap : int
    what : str
        What is resampled, for the message.
    """
    if 0 < n_bootstrap < MIN_BOOTSTRAP:
        warnings.warn(
            f"{what}: {n_bootstrap} bootstrap resamples give unstable percentile intervals; "
            f"use at least {MIN_BOOTSTRAP} (1000 is the default).",
            ReliabilityWarning,
            stacklevel=3,
        )


def interval_diagnostics(
    samples: np.ndarray,
    low: np.ndarray,
    high: np.ndarray,
    *,
    what: str = "statistic",
    labels: Sequence[Hashable] | None = None,
    min_kept: float = MIN_KEPT_FRACTION,
    warn: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """How far a bootstrap interval can be trusted, per column of ``samples``.

    Parameters
    ----------
    samples : numpy.ndarray, shape (B, ...)
        Bootstrap samples; NaN marks a resample that left the statistic undefined (e.g. a
        subject resample with fewer than 3 distinct subjects, for APS).
    low, high : numpy.ndarray
        The interval's bounds, shaped like ``samples[0]``.
    what : str
        The statistic's name, for warnings.
    labels : sequence, optional
        Names of the last axis (regions), for warnings.
    min_kept : float
        The smallest fraction of defined resamples an interval may rest on.
    warn : bool
        Emit a :class:`~crossalign.errors.ReliabilityWarning` for the flagged intervals.

    Returns
    -------
    kept : numpy.ndarray
        Fraction of resamples that defined the statistic.
    degenerate : numpy.ndarray of bool
        The interval rests on fewer than ``min_kept`` of the resamples or has zero width
        (every kept resample gave the same value); undefined statistics (all NaN) are not
        flagged.
    """
    samples = np.asarray(samples, dtype=float)
    kept = np.isfinite(samples).mean(axis=0)
    width = np.asarray(high, dtype=float) - np.asarray(low, dtype=float)
    scale = np.maximum(1.0, np.abs(np.nan_to_num(np.asarray(high, dtype=float))))
    defined = kept > 0
    degenerate = defined & ((kept < min_kept) | (np.nan_to_num(width) <= 1e-12 * scale))
    if warn and degenerate.any():
        names = np.asarray(list(labels) if labels is not None else range(kept.shape[-1]))
        flagged = sorted({str(names[i[-1]]) for i in np.argwhere(degenerate)})
        warnings.warn(
            f"{what}: the bootstrap interval is degenerate for {flagged}: "
            f"{float(kept[degenerate].min()):.0%} or fewer of the resamples define it, or "
            "they all give one value (zero width). Too few subjects to estimate its "
            "uncertainty; the interval is flagged in the results.",
            ReliabilityWarning,
            stacklevel=2,
        )
    return kept, degenerate


def resample_rdm_vectors(vectors: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """RDM upper-triangle vectors of a stimulus bootstrap sample ``idx``.

    Pairs of copies of the same stimulus (zero dissimilarity by construction) are dropped, as
    in rsatoolbox's pattern bootstrap; every other pair keeps its multiplicity.

    Parameters
    ----------
    vectors : numpy.ndarray
        (K, n (n - 1) / 2).
    idx : numpy.ndarray
        (n,) resampled stimulus positions.

    Returns
    -------
    numpy.ndarray
    """
    n = round((1 + np.sqrt(1 + 8 * vectors.shape[-1])) / 2)
    i, j = np.triu_indices(len(idx), k=1)
    a, b = idx[i], idx[j]
    keep = a != b
    lo, hi = np.minimum(a[keep], b[keep]), np.maximum(a[keep], b[keep])
    # position of (lo, hi) in the row-major strict upper triangle of an n x n matrix
    pos = lo * n - lo * (lo + 1) // 2 + (hi - lo - 1)
    return vectors[..., pos]


def two_factor_variance(
    var_both: np.ndarray,
    var_subjects: np.ndarray,
    var_stimuli: np.ndarray,
    n_subjects: int | None = None,
    n_stimuli: int | None = None,
) -> np.ndarray:
    """Corrected variance of a statistic bootstrapped over subjects and stimuli together.

    The naive two-factor bootstrap counts the measurement noise twice. Schütt et al. 2023
    (eLife 12:e82566) combine the three bootstraps (both, subjects only, stimuli only): for
    large samples ``2 (V_subj + V_stim) - V_both``; with the sample sizes given, the
    small-sample form ``n_s/(n_s-1) V_subj + n_c/(n_c-1) V_stim - n_s n_c / ((n_s-1)(n_c-1))
    (V_both - V_subj - V_stim)``. The estimate is kept between ``max(V_subj, V_stim)`` and
    ``V_both``.

    Parameters
    ----------
    var_both, var_subjects, var_stimuli : numpy.ndarray
        Bootstrap variances over both factors, subjects only and stimuli only.
    n_subjects, n_stimuli : int, optional
        Sample sizes for the small-sample form.

    Returns
    -------
    numpy.ndarray
        The corrected variance.
    """
    vb, vs, vc = (np.asarray(v, dtype=float) for v in (var_both, var_subjects, var_stimuli))
    if n_subjects is None or n_stimuli is None:
        v = 2.0 * (vs + vc) - vb
    else:
        ns, nc = n_subjects, n_stimuli
        v = (
            ns / (ns - 1) * vs
            + nc / (nc - 1) * vc
            - ns * nc / ((ns - 1) * (nc - 1)) * (vb - vs - vc)
        )
    return np.minimum(np.maximum(v, np.maximum(vs, vc)), vb)
