"""Ridge regressions one at a time, with their coefficients: the fits behind encoding models
and VERSA (the all-pairs kernels of :mod:`crossalign.compute.ridge` never form coefficients).

Every fit has an intercept: with the training rows centred, ``X_c = U diag(s) V^T``, the ridge
coefficients at penalty ``alpha`` are ``W = V diag(s / (s^2 + alpha)) U^T Y_c`` and the
intercept ``mean(Y) - mean(X) W`` (scikit-learn's ``Ridge(alpha, fit_intercept=True)``).
Penalties are chosen two ways:

* :func:`choose_kfold`: the mean over folds of the held-out R^2 (averaged uniformly over
  target units), as scikit-learn's ``RidgeCV(alphas, cv=folds)`` scores them; the first best
  penalty wins a tie;
* :func:`choose_loo`: the summed exact leave-one-out squared error over all target units,
  as ``RidgeCV(alphas)`` with its efficient leave-one-out (Golub, Heath & Wahba 1979).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = [
    "RidgeFit",
    "choose_kfold",
    "choose_loo",
    "fit_ridge",
    "kfold_scores",
    "predict_ridges",
    "r2_scores",
]


@dataclass(frozen=True)
class RidgeFit:
    """A fitted multi-output ridge regression: ``Y_hat = X @ coef + intercept``.

    Parameters
    ----------
    alpha : float
    coef : numpy.ndarray
        (n_features, n_targets).
    intercept : numpy.ndarray
        (n_targets,).
    """

    alpha: float
    coef: np.ndarray
    intercept: np.ndarray

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Predictions for the rows of ``x``.

        Parameters
        ----------
        x : numpy.ndarray
            (n, n_features).

        Returns
        -------
        numpy.ndarray
            (n, n_targets).
        """
        return np.asarray(x, dtype=np.float64) @ self.coef + self.intercept


def _svd(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Mean of the rows and the thin SVD of the centred rows."""
    mean = x.mean(axis=0)
    u, s, vt = np.linalg.svd(x - mean, full_matrices=False)
    return mean, u, s, vt


def fit_ridge(x: np.ndarray, y: np.ndarray, alpha: float) -> RidgeFit:
    """Ridge regression of ``y`` on ``x`` with an intercept at penalty ``alpha``.

    Parameters
    ----------
    x : numpy.ndarray
        (n, n_features).
    y : numpy.ndarray
        (n, n_targets).
    alpha : float

    Returns
    -------
    RidgeFit
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    x_mean, u, s, vt = _svd(x)
    y_mean = y.mean(axis=0)
    coef = vt.T @ ((s / (s**2 + alpha))[:, None] * (u.T @ (y - y_mean)))
    return RidgeFit(float(alpha), coef, y_mean - x_mean @ coef)


def predict_ridges(
    x: np.ndarray, ys: Sequence[np.ndarray], x_new: np.ndarray, alphas: Sequence[float]
) -> list[np.ndarray]:
    """The predictions for ``x_new`` of a ridge (with an intercept) per target, target k at
    penalty ``alphas[k]``: one SVD of ``x`` shared by all targets (each equal to
    ``fit_ridge(x, ys[k], alphas[k]).predict(x_new)``).

    Parameters
    ----------
    x : numpy.ndarray
        (n, n_features) training rows.
    ys : sequence of numpy.ndarray
        Targets (n, units_k).
    x_new : numpy.ndarray
        (m, n_features).
    alphas : sequence of float
        One penalty per target.

    Returns
    -------
    list of numpy.ndarray
        (m, units_k) each.
    """
    x = np.asarray(x, dtype=np.float64)
    x_mean, u, s, vt = _svd(x)
    projected = (np.asarray(x_new, dtype=np.float64) - x_mean) @ vt.T
    out = []
    for y, alpha in zip(ys, alphas, strict=True):
        y = np.asarray(y, dtype=np.float64)
        y_mean = y.mean(axis=0)
        out.append(projected @ ((s / (s**2 + alpha))[:, None] * (u.T @ (y - y_mean))) + y_mean)
    return out


def r2_scores(y: np.ndarray, y_hat: np.ndarray) -> np.ndarray:
    """R^2 of every target unit around its own mean, as scikit-learn's ``r2_score`` gives it
    per output (a constant unit: 1 when predicted exactly, else 0).

    Parameters
    ----------
    y, y_hat : numpy.ndarray
        (n, n_targets).

    Returns
    -------
    numpy.ndarray
        (n_targets,).
    """
    ss_res = ((y - y_hat) ** 2).sum(axis=0)
    ss_tot = ((y - y.mean(axis=0)) ** 2).sum(axis=0)
    out = np.where(ss_res == 0, 1.0, 0.0)
    ok = ss_tot != 0
    out[ok] = 1.0 - ss_res[ok] / ss_tot[ok]
    return out


def kfold_scores(
    x: np.ndarray,
    ys: Sequence[np.ndarray],
    alphas: Sequence[float],
    folds: Sequence[tuple[np.ndarray, np.ndarray]],
) -> np.ndarray:
    """The mean held-out R^2 over ``folds`` (uniform over units) of every target at every
    penalty: one SVD of the source per fold, shared by all targets.

    Parameters
    ----------
    x : numpy.ndarray
        The source (n, n_features).
    ys : sequence of numpy.ndarray
        Targets (n, units_k).
    alphas : sequence of float
    folds : sequence of (train rows, test rows)

    Returns
    -------
    numpy.ndarray
        (n_targets, n_alphas).
    """
    x = np.asarray(x, dtype=np.float64)
    ys = [np.asarray(y, dtype=np.float64) for y in ys]
    scores = np.zeros((len(ys), len(alphas)))
    for train, test in folds:
        x_mean, u, s, vt = _svd(x[train])
        projected = (x[test] - x_mean) @ vt.T  # (n_test, r)
        for j, y in enumerate(ys):
            y_mean = y[train].mean(axis=0)
            uty = u.T @ (y[train] - y_mean)  # (r, units)
            for k, alpha in enumerate(alphas):
                y_hat = projected @ ((s / (s**2 + alpha))[:, None] * uty) + y_mean
                scores[j, k] += r2_scores(y[test], y_hat).mean() / len(folds)
    return scores


def choose_kfold(
    x: np.ndarray,
    y: np.ndarray,
    alphas: Sequence[float],
    folds: Sequence[tuple[np.ndarray, np.ndarray]],
) -> tuple[float, np.ndarray]:
    """The penalty with the best mean held-out R^2 over ``folds`` (uniform over units; the
    first best on a tie), as :func:`kfold_scores` scores it.

    Parameters
    ----------
    x, y : numpy.ndarray
    alphas : sequence of float
    folds : sequence of (train rows, test rows)

    Returns
    -------
    tuple
        The chosen alpha and the mean score of every alpha.
    """
    scores = kfold_scores(x, [y], alphas, folds)[0]
    return float(alphas[int(np.argmax(scores))]), scores


def choose_loo(x: np.ndarray, y: np.ndarray, alphas: Sequence[float]) -> tuple[float, np.ndarray]:
    """The penalty with the smallest summed leave-one-out squared error over all units.

    With an intercept the hat matrix is ``H = 11^T / n + U diag(s^2 / (s^2 + alpha)) U^T``
    and the leave-one-out residual of row i is ``(y_i - (H y)_i) / (1 - H_ii)``.

    Parameters
    ----------
    x, y : numpy.ndarray
    alphas : sequence of float

    Returns
    -------
    tuple
        The chosen alpha and the summed error of every alpha.
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    n = x.shape[0]
    _, u, s, _ = _svd(x)
    yc = y - y.mean(axis=0)
    uty = u.T @ yc
    errors = np.empty(len(alphas))
    for k, alpha in enumerate(alphas):
        phi = s**2 / (s**2 + alpha)
        fitted = u @ (phi[:, None] * uty)  # H y - mean (the centred fit)
        leverage = 1.0 / n + (u**2) @ phi
        errors[k] = (((yc - fitted) / (1.0 - leverage)[:, None]) ** 2).sum()
    return float(alphas[int(np.argmin(errors))]), errors
