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
from scipy.linalg import blas, lapack

from crossalign._validation import check_option
from crossalign.compute.context import Context, current_context
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
    if not np.isnan(x.sum()):  # one contiguous pass: no NaN anywhere, every repetition valid
        return x, np.ones((x.shape[0], x.shape[2]), dtype=bool)
    valid = ~np.isnan(x.sum(axis=1))  # (n, R): a NaN anywhere marks the repetition
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
    x: np.ndarray,
    precision: np.ndarray | None = None,
    name: str = "responses",
    *,
    ctx: Context | None = None,
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
    ctx : Context, optional
        Where the products run; default :func:`~crossalign.compute.context.current_context`.

    Returns
    -------
    numpy.ndarray
        n(n-1)/2 distances (may be negative).
    """
    ctx = current_context() if ctx is None else ctx
    x = np.asarray(x, dtype=np.float64)
    filled, valid = _check(x, name)
    p = filled.shape[1]
    if precision is None:
        return _cv(filled, valid, None, ctx)
    precision = np.asarray(precision, dtype=np.float64)
    if precision.shape != (p, p):
        raise InputError(
            f"The noise precision of the {name} has shape {precision.shape}. Expected "
            f"({p}, {p}), one row and column per unit."
        )
    factor = _cholesky(precision, f"noise precision of the {name}")
    return _cv(filled, valid, lambda m: m @ factor, ctx)  # W = L L^T: m W m^T = (m L)(m L)^T


def crossnobis_vector(
    x: np.ndarray, method: str, name: str = "responses", *, ctx: Context | None = None
) -> np.ndarray:
    """The crossnobis RDM with the noise precision estimated from ``x`` itself: equal to
    ``cv_rdm_vector(x, noise_precision(x, method))``, checking ``x`` once.

    With complete repetitions on the NumPy backend, one fused kernel does the whole cell
    (:func:`_crossnobis_complete`); otherwise the covariance's Cholesky factor whitens the
    Gram products of the context's backend.

    Parameters
    ----------
    x : numpy.ndarray
        (stimulus, unit, repetition).
    method : {"shrinkage_diag", "shrinkage_eye"}
        The noise covariance estimator.
    name : str
        What ``x`` is, for error messages.
    ctx : Context, optional
        Where the products run; default :func:`~crossalign.compute.context.current_context`.

    Returns
    -------
    numpy.ndarray
    """
    ctx = current_context() if ctx is None else ctx
    check_option(method, "method", list(PRECISIONS), "crossnobis")
    filled, valid = _check(np.asarray(x, dtype=np.float64), name)
    if valid.all() and ctx.backend.name == "numpy":
        return _crossnobis_complete(filled, method, name)
    upper = _upper_factor(_covariance(filled, valid, method, ctx, name), name)
    inverse = lapack.dtrtri(upper, lower=0)[0]  # cov^-1 = U^-1 U^-T: whiten by m U^-1
    return _cv(filled, valid, lambda m: m @ np.triu(inverse), ctx)


def _crossnobis_complete(x: np.ndarray, method: str, name: str) -> np.ndarray:
    """One cell with every repetition present, every product in SciPy's BLAS and LAPACK.

    NumPy and SciPy wheels carry separate OpenBLAS thread pools, and alternating between them
    makes each wait for the other's spinning threads (several-fold slower at these sizes), so
    this kernel calls SciPy's routines only: a symmetric rank-k update for the residual Gram,
    the covariance's Cholesky factor ``U`` and its triangular inverse, one triangular product
    whitening every repetition (``Z_a = X_a U^-1``), and symmetric rank-k updates for
    ``gram(sum_a Z_a) - sum_a gram(Z_a)``; only upper triangles are formed.
    """
    n, p, n_rep = x.shape
    reps = np.ascontiguousarray(x.transpose(2, 0, 1))  # (repetition, stimulus, unit)
    res = (reps - reps.sum(axis=0) * (1.0 / n_rep)).reshape(n_rep * n, p)
    gram = blas.dsyrk(1.0, res.T, beta=0.0, c=np.zeros((p, p), order="F"), overwrite_c=1)
    _check_noise(gram, reps.reshape(n_rep * n, p), name)
    cov = PRECISIONS[method](gram, res, float((n - 1) * n_rep))
    inverse = lapack.dtrtri(_upper_factor(cov, name), lower=0, overwrite_c=1)[0]
    white = blas.dtrmm(1.0, inverse, reps.reshape(n_rep * n, p).T, lower=0, trans_a=1)
    white = white.T.reshape(n_rep, n, p)  # (X_a U^-1), C-ordered views of the F-ordered result
    cross = blas.dsyrk(1.0, white.sum(axis=0).T, trans=1)
    for a in range(n_rep):
        cross = blas.dsyrk(-1.0, white[a].T, trans=1, beta=1.0, c=cross, overwrite_c=1)
    diag = np.diag(cross)
    i, j = np.triu_indices(n, k=1)
    return (diag[i] + diag[j] - 2.0 * cross[i, j]) * (1.0 / (n_rep * (n_rep - 1) * p))


def _cv(
    filled: np.ndarray,
    valid: np.ndarray,
    whiten: Callable[[np.ndarray], np.ndarray] | None,
    ctx: Context,
) -> np.ndarray:
    """The RDM from the whitened sum and repetitions: ``gram(S) - sum_a gram(X_a)`` over the
    number of ordered pairs of different valid repetitions, on the context's backend."""
    n, p, n_rep = filled.shape
    # the sum and every repetition, stacked (rows: S, then X_1 .. X_R), whitened at once
    stacked = np.concatenate([filled.sum(axis=2)[None], filled.transpose(2, 0, 1)]).reshape(-1, p)
    white = np.ascontiguousarray(stacked if whiten is None else whiten(stacked))
    gram = ctx.gram
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


def _upper_factor(cov: np.ndarray, name: str) -> np.ndarray:
    """``U`` with ``cov = U^T U`` (upper triangle of ``cov`` read; the result's strict lower
    triangle is not cleared)."""
    upper, info = lapack.dpotrf(cov, lower=0, clean=0)
    if info != 0:
        raise InputError(
            f"The noise covariance of the {name} is not positive definite (leading minor "
            f"{info}); crossnobis cannot whiten with it. Use rdm='cv_euclidean'."
        )
    return np.asarray(upper)


def _residuals(filled: np.ndarray, valid: np.ndarray) -> tuple[np.ndarray, float]:
    """Residuals around each stimulus's mean as (observation, unit) rows, and rsatoolbox's
    degrees of freedom."""
    n, p, n_rep = filled.shape
    mean = filled.sum(axis=2) / valid.sum(axis=1)[:, None]
    res = (filled - mean[:, :, None]).transpose(2, 0, 1)  # (repetition, stimulus, unit)
    if valid.all():
        return np.ascontiguousarray(res).reshape(n_rep * n, p), float((n - 1) * n_rep)
    return np.ascontiguousarray(res[valid.T]), float(int(valid.sum()) - n)


def _check_noise(gram: np.ndarray, rows: np.ndarray, name: str) -> None:
    """Refuse units whose residual sum of squares (the Gram's diagonal) is zero up to the
    rounding of their values ``rows`` (observation, unit): no noise to whiten."""
    sums = np.diag(gram)
    peak = np.maximum(rows.max(axis=0), -rows.min(axis=0))
    flat = np.flatnonzero(~(sums > rows.shape[0] * (1e-13 * peak) ** 2))
    if flat.size:
        raise InputError(
            f"The {name} has no variation across repetitions in unit {flat[0]} (and "
            f"{flat.size - 1} more); its noise covariance is singular and crossnobis cannot "
            "whiten it. Use rdm='cv_euclidean'."
        )


def _shrinkage_diag(gram: np.ndarray, res: np.ndarray, dof: float) -> np.ndarray:
    """Schaefer & Strimmer (2005) shrinkage towards the diagonal, as rsatoolbox computes it.

    ``gram``: the residuals' Gram ``res^T res`` in its upper triangle, zeros below; ``res``:
    (observation, unit). With ``var`` the residual variances and ``r`` the residuals, the
    shrinkage intensity needs the sum over unit pairs ``i != j`` of the second moments
    ``sum_k r_ki^2 r_kj^2 / (var_i var_j)``, which is ``sum_k (sum_i r_ki^2 / var_i)^2`` minus
    its ``i = j`` terms: O(observations x units) instead of a second unit x unit product.
    Returns the covariance in the upper triangle, written over ``gram``.
    """
    n_obs, p = res.shape
    sums = np.diag(gram).copy()
    inverse = 1.0 / sums
    # sum over i < j of the squared residual correlations gram_ij^2 / (sums_i sums_j)
    both = np.einsum("i,i->", np.einsum("ij,ij,j->i", gram, gram, inverse), inverse) - np.einsum(
        "i,i,i,i->", sums, sums, inverse, inverse
    )
    mean_sq = 2.0 * both * (dof / (n_obs - 1)) ** 2  # sum over i != j of s_mean^2
    weight = dof / sums  # 1 / variance
    squares = res * res
    rows = np.einsum("ki,i->k", squares, weight)
    fourth = np.einsum("ki,ki->i", squares, squares)
    second = (np.einsum("k,k->", rows, rows) - np.einsum("i,i,i->", fourth, weight, weight)) / (
        n_obs - 1
    )
    var_hat = n_obs / dof**2 * (second - mean_sq)
    lamb = float(np.clip(var_hat / mean_sq, 0.0, 1.0)) if mean_sq > 0 else 1.0
    gram *= (1.0 - lamb) / dof  # the Gram becomes the covariance, in place
    gram[np.diag_indices(p)] = sums / dof
    return gram


def _shrinkage_eye(gram: np.ndarray, res: np.ndarray, dof: float) -> np.ndarray:
    """Ledoit & Wolf (2004) shrinkage towards a multiple of the identity, as rsatoolbox
    (arguments as :func:`_shrinkage_diag`; the sum of the second moments over all unit pairs
    is ``sum_k (sum_i r_ki^2)^2``). Returns the covariance in the upper triangle."""
    n_obs, p = res.shape
    sums = np.diag(gram)
    diag = sums / n_obs
    total_sq = 2.0 * np.einsum("ij,ij->", gram, gram) - np.einsum("i,i->", sums, sums)
    total_sq /= float(n_obs) ** 2  # sum over all unit pairs of s^2 (the Gram is symmetric)
    rows = np.einsum("ki,ki->k", res, res)
    b2 = (np.einsum("k,k->", rows, rows) / n_obs - total_sq) / n_obs
    m = float(diag.sum() / p)
    d2 = float(total_sq - p * m * m)
    b2 = min(d2, b2)
    cov = gram * ((d2 - b2) / d2 / dof) if d2 > 0 else gram / dof
    cov[np.diag_indices(p)] = (
        (b2 / d2 * m + (d2 - b2) / d2 * diag) * (n_obs / dof) if d2 > 0 else diag * n_obs / dof
    )
    return cov


#: Noise covariance estimators by name.
PRECISIONS: dict[str, Callable[[np.ndarray, np.ndarray, float], np.ndarray]] = {
    "shrinkage_diag": _shrinkage_diag,
    "shrinkage_eye": _shrinkage_eye,
}


def noise_covariance(
    x: np.ndarray, method: str = "shrinkage_diag", *, ctx: Context | None = None
) -> np.ndarray:
    """The noise covariance of a representation from the residuals of its repetitions.

    Parameters
    ----------
    x : numpy.ndarray
        (stimulus, unit, repetition).
    method : {"shrinkage_diag", "shrinkage_eye"}
        The shrinkage estimator (see the module docstring).
    ctx : Context, optional
        Where the products run; default :func:`~crossalign.compute.context.current_context`.

    Returns
    -------
    numpy.ndarray
        (unit, unit).
    """
    ctx = current_context() if ctx is None else ctx
    check_option(method, "method", list(PRECISIONS), "noise_covariance")
    cov = _covariance(*_check(np.asarray(x, dtype=np.float64), "responses"), method, ctx)
    return np.triu(cov) + np.triu(cov, k=1).T


def _covariance(
    filled: np.ndarray, valid: np.ndarray, method: str, ctx: Context, name: str = "responses"
) -> np.ndarray:
    """The noise covariance in its upper triangle, its Gram on the context's backend."""
    res, dof = _residuals(filled, valid)
    if dof <= 0:
        raise InputError(f"The noise covariance needs positive degrees of freedom; got {dof}.")
    gram = np.triu(ctx.gram(np.ascontiguousarray(res.T)))
    _check_noise(gram, filled.transpose(2, 0, 1)[valid.T], name)
    return PRECISIONS[method](gram, res, dof)


def noise_precision(
    x: np.ndarray, method: str = "shrinkage_diag", *, ctx: Context | None = None
) -> np.ndarray:
    """The inverse of :func:`noise_covariance` (what crossnobis whitens with).

    Parameters
    ----------
    x : numpy.ndarray
        (stimulus, unit, repetition).
    method : {"shrinkage_diag", "shrinkage_eye"}
        The shrinkage estimator.
    ctx : Context, optional
        Where the products run; default :func:`~crossalign.compute.context.current_context`.

    Returns
    -------
    numpy.ndarray
        (unit, unit).
    """
    return _inverse(noise_covariance(x, method, ctx=ctx))


def _inverse(cov: np.ndarray) -> np.ndarray:
    try:
        return np.linalg.inv(cov)
    except np.linalg.LinAlgError:
        raise InputError(
            "The noise covariance is singular (a unit without noise across repetitions?); "
            "crossnobis cannot whiten it. Use rdm='cv_euclidean'."
        ) from None
