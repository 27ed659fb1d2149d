"""Cluster-based permutation tests over time (and time x time): which stretches of a time
course, or patches of a temporal generalisation map, differ from zero across subjects, with
the family-wise error controlled over every time point (Maris & Oostenveld 2007, J Neurosci
Methods 164:177).

The statistic at each point is the one-sample t across subjects; points beyond ``threshold``
form clusters (neighbours along time, or the four neighbours of a time x time map, one sign
at a time); a cluster's mass is the sum of its t values. The null flips each subject's sign:
for each sign pattern the largest cluster mass (in absolute value, with its sign) enters the
null, the observed data's first; a cluster's p-value is the share of the null at least as
extreme. The sign patterns are drawn as MNE-Python's ``permutation_cluster_1samp_test`` draws
them (:func:`crossalign.stats.permutation.distinct_sign_flips`), so one seed gives the same
clusters and p-values in both.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage
from scipy import stats as sps

from crossalign._validation import as_float_array, check_finite
from crossalign.errors import InputError
from crossalign.stats.permutation import distinct_sign_flips

__all__ = ["ClusterTest", "cluster_test", "one_sample_t"]


@dataclass(frozen=True)
class ClusterTest:
    """The result of :func:`cluster_test`.

    Parameters
    ----------
    statistic : numpy.ndarray
        The t value at each point (the shape of one subject's data).
    clusters : list of numpy.ndarray
        One boolean mask (that shape) per cluster: positive clusters first, then negative.
    masses : numpy.ndarray
        Each cluster's sum of t.
    p_values : numpy.ndarray
        Each cluster's FWER-corrected p-value.
    null : numpy.ndarray
        The largest cluster mass of the observed data (its absolute value in a two-sided
        test), then of each sign pattern (signed).
    threshold : float
        The t threshold clusters were formed at.
    """

    statistic: np.ndarray
    clusters: list[np.ndarray]
    masses: np.ndarray
    p_values: np.ndarray
    null: np.ndarray
    threshold: float

    def significant(self, alpha: float = 0.05) -> np.ndarray:
        """The points inside a cluster with ``p < alpha``.

        Parameters
        ----------
        alpha : float

        Returns
        -------
        numpy.ndarray
            Boolean, the shape of :attr:`statistic`.
        """
        out = np.zeros(self.statistic.shape, dtype=bool)
        for mask, p in zip(self.clusters, self.p_values, strict=True):
            if p < alpha:
                out |= mask
        return out


def one_sample_t(x: np.ndarray) -> np.ndarray:
    """The one-sample t statistic over axis 0: mean / sqrt(variance (ddof 1) / n).

    Parameters
    ----------
    x : numpy.ndarray
        (subject, ...).

    Returns
    -------
    numpy.ndarray
    """
    return np.mean(x, axis=0) / np.sqrt(np.var(x, axis=0, ddof=1) / x.shape[0])


def _clusters(t: np.ndarray, threshold: float, tail: int) -> tuple[list[np.ndarray], np.ndarray]:
    """Supra-threshold clusters of ``t`` (positive first) and their masses."""
    sides = {0: (t > threshold, t < -threshold), 1: (t > threshold,), -1: (t < threshold,)}[tail]
    masks: list[np.ndarray] = []
    masses: list[float] = []
    for side in sides:
        labels, n_labels = ndimage.label(side)
        for k in range(1, n_labels + 1):
            mask = labels == k
            masks.append(mask)
            masses.append(float(np.sum(t[mask])))
    return masks, np.asarray(masses)


def _largest(masses: np.ndarray, tail: int) -> float:
    if masses.size == 0:
        return 0.0
    return float({0: np.abs(masses).max(), 1: masses.max(), -1: masses.min()}[tail])


def _null_maxima(x: np.ndarray, signs: np.ndarray, threshold: float, tail: int) -> np.ndarray:
    """The largest cluster mass (signed) of each sign pattern: the t values of a block of
    patterns from one product (the sum of squares does not change when signs flip), then the
    clusters of each."""
    n = x.shape[0]
    flat = x.reshape(n, -1)
    squares = np.sum(flat * flat, axis=0)
    out = np.empty(len(signs))
    step = max(1, 2**24 // max(flat.shape[1], 1))  # ~128 MB of t values per block
    for start in range(0, len(signs), step):
        mean = signs[start : start + step] @ flat / n
        t = mean / np.sqrt((squares - n * mean * mean) / (n - 1) / n)
        for i, row in enumerate(t):
            masses = _clusters(row.reshape(x.shape[1:]), threshold, tail)[1]
            out[start + i] = masses[np.argmax(np.abs(masses))] if masses.size else 0.0
    return out


def _p_values(masses: np.ndarray, null: np.ndarray, tail: int) -> np.ndarray:
    if tail == 0:
        return np.array([np.mean(np.abs(null) >= abs(m)) for m in masses])
    if tail == 1:
        return np.array([np.mean(null >= m) for m in masses])
    return np.array([np.mean(null <= m) for m in masses])


def cluster_test(
    x: np.ndarray,
    *,
    threshold: float | None = None,
    n_permutations: int = 1024,
    tail: int = 0,
    seed: int | None = 0,
) -> ClusterTest:
    """Cluster-based sign-flip permutation test of per-subject values against zero.

    Parameters
    ----------
    x : numpy.ndarray
        (subject, time) or (subject, time, time): e.g. each subject's model-brain time course
        minus its baseline, or each subject's temporal generalisation map.
    threshold : float, optional
        The t value points must pass to join a cluster (negative for ``tail=-1``); default
        the t distribution's two-sided 5% point for ``n - 1`` degrees of freedom (one-sided
        for ``tail=+-1``), as MNE-Python's default.
    n_permutations : int
        Sign patterns including the observed one; when fewer distinct patterns exist, every
        one is used (an exact test).
    tail : {0, 1, -1}
        Two-sided, greater than zero, less than zero.
    seed : int or None
        Seeds the sign patterns.

    Returns
    -------
    ClusterTest
    """
    data = as_float_array(x, "x")
    check_finite(data, "x")
    if data.ndim not in (2, 3) or data.shape[0] < 2:
        raise InputError(
            "The 'x' argument must be (subject, time) or (subject, time, time) with at least 2 "
            f"subjects. Got an array of shape {data.shape}."
        )
    if tail not in (0, 1, -1) or isinstance(tail, bool):
        raise InputError(f"The 'tail' argument must be 0, 1 or -1. Got {tail!r}.")
    n = data.shape[0]
    if threshold is None:
        threshold = -float(sps.t.ppf(0.05 / (1 + (tail == 0)), n - 1)) * (-1 if tail == -1 else 1)
    if (tail == -1) != (threshold < 0) and threshold != 0:
        raise InputError(
            f"The 'threshold' argument must be negative for tail=-1 and positive otherwise. "
            f"Got {threshold!r} with tail={tail}."
        )
    t = one_sample_t(data)
    masks, masses = _clusters(t, threshold, tail)
    if not masks:
        return ClusterTest(t, [], np.array([]), np.array([]), np.array([]), float(threshold))
    signs = distinct_sign_flips(n, n_permutations, seed, symmetric=tail == 0)
    null = np.concatenate([[_largest(masses, tail)], _null_maxima(data, signs, threshold, tail)])
    return ClusterTest(t, masks, masses, _p_values(masses, null, tail), null, float(threshold))
