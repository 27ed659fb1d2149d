"""Cross-validated distances from repeated measurements: cross-validated Euclidean and
crossnobis RDMs, and the noise precisions that whiten them.

For responses ``X`` (stimulus, unit, repetition) the cross-validated distance of stimuli i and
j is the mean, over ordered pairs (a, b) of different repetitions, of the inner product of the
two pattern differences, divided by the number of units p (Walther et al. 2016, NeuroImage
137:188; Diedrichsen et al. 2021, arXiv:2007.02789; rsatoolbox's ``calc_rdm_crossnobis``)::

    d(i, j) = mean_{a != b} (x_i^a - x_j^a)^T W (x_i^b - x_j^b) / p

with ``W`` the identity (``cv_euclidean``) or a noise precision (``crossnobis``). Noise is
independent between repetitions, so it never multiplies itself: the distance is unbiased (0 in
expectation for two identical stimuli) and can be negative.

Batched, on the current backend (:mod:`crossalign.compute.backends`): with ``S`` the sum of
the repetitions (NaN repetitions left out), the sum over ordered
pairs of different repetitions is ``S W S^T - sum_a X_a W X_a^T``, so a cell's RDM is two Gram
products. A NaN repetition is skipped per stimulus: every term of the expansion
``<x_i^a, x_i^b> + <x_j^a, x_j^b> - <x_i^a, x_j^b> - <x_j^a, x_i^b>`` is averaged over the ordered
pairs of different repetitions that both stimuli have (with complete data, exactly the formula
above); a stimulus needs 2 valid repetitions.

Noise precisions (rsatoolbox's ``prec_from_measurements(..., method=...)``, the inverse of a
shrinkage covariance of the residuals around each stimulus's mean): ``shrinkage_diag``
(Schaefer & Strimmer 2005: off-diagonal covariances shrunk towards 0) and ``shrinkage_eye``
(Ledoit & Wolf 2004: shrunk towards a multiple of the identity). Degrees of freedom as
rsatoolbox: ``(n_stimuli - 1) * n_repetitions`` for complete data, otherwise the number of valid
measurements minus the number of stimuli.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from crossalign._validation import check_option
from crossalign.compute.backends import get_backend
from crossalign.errors import InputError

__all__ = ["PRECISIONS", "cv_rdm_vector", "noise_covariance", "noise_precision"]


def _check(x: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray]:
    """(responses with NaN repetitions set to 0, the valid mask (stimulus, repetition))."""
    if x.ndim != 3 or x.shape[2] < 2:
        raise InputError(
            f"A cross-validated distance needs repetitions: the {name} must be an array "
            f"(stimulus, unit, repetition) with at least 2 repetitions. Got shape {x.shape}."
        )
    valid = ~np.isnan(x).any(axis=1)  # (n, R): a repetition is all-NaN or valid
    partial = np.isnan(x).any(axis=1) & ~np.isnan(x).all(axis=1)
    if partial.any():
        i, a = np.argwhere(partial)[0]
        raise InputError(
            f"The {name} has repetition {a} of stimulus {i} partly NaN; a missing repetition "
            "must be NaN in every unit."
        )
    few = np.flatnonzero(valid.sum(axis=1) < 2)
    if few.size:
        raise InputError(
            f"The {name} has fewer than 2 valid repetitions for stimulus {few[0]} (and "
            f"{few.size - 1} more); a cross-validated distance needs 2 per stimulus."
        )
    return np.where(np.isnan(x), 0.0, x), valid


def cv_rdm_vector(
    x: np.ndarray, precision: np.ndarray | None = None, name: str = "responses"
) -> np.ndarray:
    """The cross-validated RDM of one representation, as its upper-triangle vector.

    Parameters
    ----------
    x : numpy.ndarray
        (stimulus, unit, repetition); a missing repetition is NaN in every unit.
    precision : numpy.ndarray, optional
        (unit, unit) noise precision ``W``; the identity (cross-validated Euclidean) if None.
    name : str
        What ``x`` is, for error messages.

    Returns
    -------
    numpy.ndarray
        n(n-1)/2 distances (may be negative).
    """
    x = np.asarray(x, dtype=np.float64)
    filled, valid = _check(x, name)
    n, p, n_rep = filled.shape
    if precision is not None:
        precision = np.asarray(precision, dtype=np.float64)
        if precision.shape != (p, p):
            raise InputError(
                f"The noise precision of the {name} has shape {precision.shape}. Expected "
                f"({p}, {p}), one row and column per unit."
            )
    # W = L L^T, so S W S^T = gram(S L): symmetric products on the current backend
    factor = None if precision is None else _cholesky(precision, name)
    gram = get_backend().gram

    def whitened(m: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(m if factor is None else m @ factor)

    cross = gram(whitened(filled.sum(axis=2))).copy()  # S W S^T
    for a in range(n_rep):  # minus the same-repetition products
        cross -= gram(whitened(filled[:, :, a]))
    counts = valid.sum(axis=1).astype(np.float64)
    pairs = np.outer(counts, counts) - valid.astype(np.float64) @ valid.T.astype(np.float64)
    g = cross / pairs
    diag = np.diag(g)
    d = diag[:, None] + diag[None, :] - g - g.T
    return d[np.triu_indices(n, k=1)] / p


def _cholesky(precision: np.ndarray, name: str) -> np.ndarray:
    try:
        return np.linalg.cholesky(precision)
    except np.linalg.LinAlgError:
        raise InputError(
            f"The noise precision of the {name} is not symmetric positive definite; expected "
            "the inverse of a noise covariance."
        ) from None


def _residuals(x: np.ndarray) -> tuple[np.ndarray, float]:
    """Residuals around each stimulus's mean (valid measurements only) and rsatoolbox's
    degrees of freedom."""
    filled, valid = _check(x, "responses")
    n, _, n_rep = filled.shape
    mean = filled.sum(axis=2) / valid.sum(axis=1)[:, None]
    res = (filled - mean[:, :, None]).transpose(0, 2, 1)[valid]  # (valid obs, p)
    dof = (n - 1) * n_rep if valid.all() else int(valid.sum()) - n
    return res, float(dof)


def _shrinkage_diag(res: np.ndarray, dof: float) -> np.ndarray:
    """Schaefer & Strimmer (2005) shrinkage towards the diagonal, as rsatoolbox computes it."""
    n_obs = res.shape[0]
    gram = get_backend().gram
    s_sum = gram(np.ascontiguousarray(res.T))
    s2_sum = gram(np.ascontiguousarray((res * res).T))
    s = s_sum / dof
    var = np.diag(s)
    std = np.sqrt(var)
    s_mean = s_sum / np.outer(std, std) / (n_obs - 1)
    s2_mean = s2_sum / np.outer(var, var) / (n_obs - 1)
    var_hat = n_obs / dof**2 * (s2_mean - s_mean**2)
    off = ~np.eye(s.shape[0], dtype=bool)
    lamb = float(np.clip(var_hat[off].sum() / (s_mean[off] ** 2).sum(), 0.0, 1.0))
    return np.where(off, (1.0 - lamb) * s, s)


def _shrinkage_eye(res: np.ndarray, dof: float) -> np.ndarray:
    """Ledoit & Wolf (2004) shrinkage towards a multiple of the identity, as rsatoolbox."""
    n_obs, p = res.shape
    gram = get_backend().gram
    s = gram(np.ascontiguousarray(res.T)) / n_obs
    s2 = gram(np.ascontiguousarray((res * res).T))
    b2 = float(np.sum(s2 / n_obs - s * s) / n_obs)
    m = float(np.trace(s) / p)
    d2 = float(np.sum((s - m * np.eye(p)) ** 2))
    b2 = min(d2, b2)
    shrunk = b2 / d2 * m * np.eye(p) + (d2 - b2) / d2 * s
    return shrunk * n_obs / dof


#: Noise covariance estimators by name.
PRECISIONS: dict[str, Callable[[np.ndarray, float], np.ndarray]] = {
    "shrinkage_diag": _shrinkage_diag,
    "shrinkage_eye": _shrinkage_eye,
}


def noise_covariance(x: np.ndarray, method: str = "shrinkage_diag") -> np.ndarray:
    """The noise covariance of a representation from the residuals of its repetitions.

    Parameters
    ----------
    x : numpy.ndarray
        (stimulus, unit, repetition).
    method : {"shrinkage_diag", "shrinkage_eye"}
        The shrinkage estimator (see the module docstring).

    Returns
    -------
    numpy.ndarray
        (unit, unit).
    """
    check_option(method, "method", list(PRECISIONS), "noise_covariance")
    res, dof = _residuals(np.asarray(x, dtype=np.float64))
    if dof <= 0:
        raise InputError(f"The noise covariance needs positive degrees of freedom; got {dof}.")
    return PRECISIONS[method](res, dof)


def noise_precision(x: np.ndarray, method: str = "shrinkage_diag") -> np.ndarray:
    """The inverse of :func:`noise_covariance` (what crossnobis whitens with).

    Parameters
    ----------
    x : numpy.ndarray
        (stimulus, unit, repetition).
    method : {"shrinkage_diag", "shrinkage_eye"}
        The shrinkage estimator.

    Returns
    -------
    numpy.ndarray
        (unit, unit).
    """
    cov = noise_covariance(x, method)
    try:
        return np.linalg.inv(cov)
    except np.linalg.LinAlgError:
        raise InputError(
            "The noise covariance is singular (a unit without noise across repetitions?); "
            "crossnobis cannot whiten it. Use rdm='cv_euclidean'."
        ) from None
