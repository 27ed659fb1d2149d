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

__all__ = [
    "PRECISIONS",
    "crossnobis_vector",
    "cv_rdm_vector",
    "noise_covariance",
    "noise_precision",
]


def _check(x: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray]:
    """(responses with NaN repetitions set to 0, the valid mask (stimulus, repetition))."""
    if x.ndim != 3 or x.shape[2] < 2:
        raise InputError(
            f"A cross-validated distance needs repetitions: the {name} must be an array "
            f"(stimulus, unit, repetition) with at least 2 repetitions. Got shape {x.shape}."
        )
    valid = ~np.isnan(x.sum(axis=1))  # (n, R): one pass; a NaN anywhere marks the repetition
    if valid.all():
        return x, valid
    for i, a in np.argwhere(~valid):
        if not np.isnan(x[i, :, a]).all():
            raise InputError(
                f"The {name} has repetition {a} of stimulus {i} partly NaN; a missing "
                "repetition must be NaN in every unit."
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
    p = filled.shape[1]
    if precision is None:
        return _cv(filled, valid, None)
    precision = np.asarray(precision, dtype=np.float64)
    if precision.shape != (p, p):
        raise InputError(
            f"The noise precision of the {name} has shape {precision.shape}. Expected "
            f"({p}, {p}), one row and column per unit."
        )
    factor = _cholesky(precision, f"noise precision of the {name}")
    return _cv(filled, valid, lambda m: m @ factor)  # W = L L^T: m W m^T = (m L)(m L)^T


def crossnobis_vector(x: np.ndarray, method: str, name: str = "responses") -> np.ndarray:
    """The crossnobis RDM with the noise precision estimated from ``x`` itself: equal to
    ``cv_rdm_vector(x, noise_precision(x, method))``, checking ``x`` once.

    Parameters
    ----------
    x : numpy.ndarray
        (stimulus, unit, repetition).
    method : {"shrinkage_diag", "shrinkage_eye"}
        The noise covariance estimator.
    name : str
        What ``x`` is, for error messages.

    Returns
    -------
    numpy.ndarray
    """
    check_option(method, "method", list(PRECISIONS), "crossnobis")
    filled, valid = _check(np.asarray(x, dtype=np.float64), name)
    precision = _inverse(_covariance(filled, valid, method))
    factor = _cholesky(precision, f"noise precision of the {name}")
    return _cv(filled, valid, lambda m: m @ factor)


def _cv(
    filled: np.ndarray, valid: np.ndarray, whiten: Callable[[np.ndarray], np.ndarray] | None
) -> np.ndarray:
    """The RDM from the whitened sum and repetitions: ``gram(S) - sum_a gram(X_a)`` over the
    number of ordered pairs of different valid repetitions, on the current backend."""
    n, p, n_rep = filled.shape
    # the sum and every repetition, stacked (rows: S, then X_1 .. X_R), whitened at once
    stacked = np.concatenate([filled.sum(axis=2)[None], filled.transpose(2, 0, 1)]).reshape(-1, p)
    white = np.ascontiguousarray(stacked if whiten is None else whiten(stacked))
    gram = get_backend().gram
    cross = gram(white[:n]).copy()  # S W S^T
    for a in range(1, n_rep + 1):  # minus the same-repetition products
        cross -= gram(white[a * n : (a + 1) * n])
    counts = valid.sum(axis=1).astype(np.float64)
    pairs = np.outer(counts, counts) - valid.astype(np.float64) @ valid.T.astype(np.float64)
    g = cross / pairs
    diag = np.diag(g)
    d = diag[:, None] + diag[None, :] - g - g.T
    return d[np.triu_indices(n, k=1)] / p


def _cholesky(matrix: np.ndarray, what: str) -> np.ndarray:
    try:
        return np.linalg.cholesky(matrix)
    except np.linalg.LinAlgError:
        raise InputError(
            f"The {what} is not symmetric positive definite (a unit without noise across "
            "repetitions?); crossnobis cannot whiten with it. Use rdm='cv_euclidean'."
        ) from None


def _residuals(filled: np.ndarray, valid: np.ndarray) -> tuple[np.ndarray, float]:
    """Residuals around each stimulus's mean, as (unit, observation) rows ready for the
    covariance products, and rsatoolbox's degrees of freedom."""
    n, p, n_rep = filled.shape
    mean = filled.sum(axis=2) / valid.sum(axis=1)[:, None]
    res = (filled - mean[:, :, None]).transpose(1, 0, 2)  # (p, n, R)
    if valid.all():
        return np.ascontiguousarray(res).reshape(p, n * n_rep), float((n - 1) * n_rep)
    return np.ascontiguousarray(res[:, valid]), float(int(valid.sum()) - n)


def _shrinkage_diag(res_t: np.ndarray, dof: float) -> np.ndarray:
    """Schaefer & Strimmer (2005) shrinkage towards the diagonal, as rsatoolbox computes it
    (``res_t``: residuals as (unit, observation))."""
    n_obs = res_t.shape[1]
    gram = get_backend().gram
    s_sum = gram(res_t)
    s2_sum = gram(res_t * res_t)
    s = s_sum / dof
    var = np.diag(s)
    std = np.sqrt(var)
    s_mean = s_sum / np.outer(std, std) / (n_obs - 1)
    s2_mean = s2_sum / np.outer(var, var) / (n_obs - 1)
    var_hat = n_obs / dof**2 * (s2_mean - s_mean**2)
    off = ~np.eye(s.shape[0], dtype=bool)
    lamb = float(np.clip(var_hat[off].sum() / (s_mean[off] ** 2).sum(), 0.0, 1.0))
    return np.where(off, (1.0 - lamb) * s, s)


def _shrinkage_eye(res_t: np.ndarray, dof: float) -> np.ndarray:
    """Ledoit & Wolf (2004) shrinkage towards a multiple of the identity, as rsatoolbox
    (``res_t``: residuals as (unit, observation))."""
    p, n_obs = res_t.shape
    gram = get_backend().gram
    s = gram(res_t) / n_obs
    s2 = gram(res_t * res_t)
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
    return _covariance(*_check(np.asarray(x, dtype=np.float64), "responses"), method)


def _covariance(filled: np.ndarray, valid: np.ndarray, method: str) -> np.ndarray:
    res_t, dof = _residuals(filled, valid)
    if dof <= 0:
        raise InputError(f"The noise covariance needs positive degrees of freedom; got {dof}.")
    return PRECISIONS[method](res_t, dof)


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
    return _inverse(noise_covariance(x, method))


def _inverse(cov: np.ndarray) -> np.ndarray:
    try:
        return np.linalg.inv(cov)
    except np.linalg.LinAlgError:
        raise InputError(
            "The noise covariance is singular (a unit without noise across repetitions?); "
            "crossnobis cannot whiten it. Use rdm='cv_euclidean'."
        ) from None
