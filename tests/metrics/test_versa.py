"""VERSA against a numpy computation of its definition."""

from __future__ import annotations

import numpy as np
import pytest

import crossalign as ca
from crossalign.metrics.predictivity import kfold_indices


def ridge(x, y, alpha):
    """Ridge with an intercept from the normal equations."""
    xm, ym = x.mean(0), y.mean(0)
    xc = x - xm
    w = np.linalg.solve(xc.T @ xc + alpha * np.eye(x.shape[1]), xc.T @ (y - ym))
    return lambda z: (z - xm) @ w + ym


def r2(y, y_hat):
    return np.mean(1 - ((y - y_hat) ** 2).sum(0) / ((y - y.mean(0)) ** 2).sum(0))


def versa_twin(x, y, train, test, seed=42):
    alphas = 10.0 ** np.arange(2, 8)
    folds = kfold_indices(len(train), 5, seed)
    cv = [np.mean([r2(y[train][te], ridge(x[train][tr], y[train][tr], a)(x[train][te]))
                   for tr, te in folds]) for a in alphas]  # fmt: skip
    predicted = ridge(x[train], y[train], alphas[int(np.argmax(cv))])(x[test])
    iu = np.triu_indices(len(test), 1)
    return np.corrcoef((1 - np.corrcoef(predicted))[iu], (1 - np.corrcoef(y[test]))[iu])[0, 1]


@pytest.mark.parametrize("seed", [0, 1])
def test_versa_equals_its_definition(seed):
    rng = np.random.default_rng(seed)
    latent = rng.normal(size=(50, 5))
    x = latent @ rng.normal(size=(5, 30)) + rng.normal(size=(50, 30))
    y = latent @ rng.normal(size=(5, 12)) + 2 * rng.normal(size=(50, 12))
    train, test = np.arange(35), np.arange(35, 50)
    metric = ca.get_metric("versa", split=(tuple(train), tuple(test)))
    assert metric.score(x, y) == pytest.approx(versa_twin(x, y, train, test), abs=1e-10)
    cross_validated = np.mean([versa_twin(x, y, tr, te) for tr, te in kfold_indices(50, 5, 42)])
    assert ca.get_metric("versa").score(x, y) == pytest.approx(cross_validated, abs=1e-10)


def test_versa_in_an_evaluation_is_fitted_on_train_and_scored_on_test():
    rng = np.random.default_rng(3)
    ids = [f"x{i}" for i in range(40)]
    latent = rng.normal(size=(40, 4))
    brain = ca.BrainData.from_responses(
        {(f"s{s}", r): latent @ rng.normal(size=(4, 10)) + rng.normal(size=(40, 10))
         for s in range(3) for r in ("A", "B", "C")},
        stimuli=ids,
    )  # fmt: skip
    model = ca.ModelData.from_activations({"L": latent @ rng.normal(size=(4, 8))}, model="m",
                                          stimuli=ids)  # fmt: skip
    ev = ca.Evaluation.fit(model, brain, metric="versa", train_stimuli=ids[:28],
                           test_stimuli=ids[28:])  # fmt: skip
    x, y = model[("m", "L")].values, brain[("s2", "C")].values
    expected = versa_twin(x, y, np.arange(28), np.arange(28, 40))
    assert ev.u[0, 2, 2] == pytest.approx(expected, abs=1e-10)
    with pytest.raises(ca.errors.InputError, match="'alphas' parameter"):
        ca.get_metric("versa", alphas=(0.0,))
