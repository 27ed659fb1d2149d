"""Ridge fits with coefficients against scikit-learn: the coefficients and predictions of
Ridge, and the penalties RidgeCV chooses with K folds and with its leave-one-out."""

from __future__ import annotations

import numpy as np
import pytest

from crossalign.compute.linear import choose_kfold, choose_loo, fit_ridge, r2_scores
from crossalign.metrics.predictivity import kfold_indices

linear_model = pytest.importorskip("sklearn.linear_model")
model_selection = pytest.importorskip("sklearn.model_selection")
metrics = pytest.importorskip("sklearn.metrics")

ALPHAS = tuple(float(a) for a in np.logspace(-2, 5, 15))


def data(seed, n=40, p=12, q=7):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, p))
    y = x @ rng.normal(size=(p, q)) + rng.normal(scale=3.0, size=(n, q))
    return x, y


@pytest.mark.parametrize(("seed", "p"), [(0, 12), (1, 60)])  # more features than rows too
def test_fit_ridge_equals_scikit_learns_ridge(seed, p):
    x, y = data(seed, p=p)
    for alpha in (0.1, 10.0, 1e4):
        ours = fit_ridge(x[:30], y[:30], alpha)
        ref = linear_model.Ridge(alpha=alpha).fit(x[:30], y[:30])
        np.testing.assert_allclose(ours.coef, ref.coef_.T, atol=1e-9)
        np.testing.assert_allclose(ours.predict(x[30:]), ref.predict(x[30:]), atol=1e-9)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_k_fold_choice_equals_ridgecv_with_the_same_folds(seed):
    x, y = data(seed)
    cv = model_selection.KFold(5, shuffle=True, random_state=seed)
    ref = linear_model.RidgeCV(alphas=ALPHAS, cv=cv).fit(x, y)
    ours, _ = choose_kfold(x, y, ALPHAS, kfold_indices(len(x), 5, seed))
    assert ours == ref.alpha_


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_leave_one_out_choice_equals_ridgecv(seed):
    x, y = data(seed)
    ref = linear_model.RidgeCV(alphas=ALPHAS).fit(x, y)
    ours, _ = choose_loo(x, y, ALPHAS)
    assert ours == ref.alpha_


def test_r2_per_unit_equals_scikit_learn():
    _x, y = data(3)
    y_hat = y + np.random.default_rng(0).normal(size=y.shape)
    np.testing.assert_allclose(
        r2_scores(y, y_hat), metrics.r2_score(y, y_hat, multioutput="raw_values"), atol=1e-12
    )


def test_shared_fits_equal_one_fit_per_target():
    from crossalign.compute.linear import kfold_scores, predict_ridges

    x, y = data(4)
    ys = [y[:, :3], y[:, 3:]]
    folds = kfold_indices(len(x), 5, 0)
    shared = kfold_scores(x, ys, ALPHAS, folds)
    for j, target in enumerate(ys):
        np.testing.assert_allclose(shared[j], choose_kfold(x, target, ALPHAS, folds)[1], atol=1e-12)
    got = predict_ridges(x[:30], [t[:30] for t in ys], x[30:], [1.0, 100.0])
    for pred, target, alpha in zip(got, ys, [1.0, 100.0], strict=True):
        np.testing.assert_allclose(
            pred, fit_ridge(x[:30], target[:30], alpha).predict(x[30:]), atol=1e-10
        )
