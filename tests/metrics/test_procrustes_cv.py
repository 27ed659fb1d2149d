"""Held-out Procrustes against a numpy implementation of the paper's definition (PCA by
scikit-learn where it is installed)."""

from __future__ import annotations

import numpy as np
import pytest

import crossalign as ca


def paper_procrustes(x_tr, y_tr, x_te, y_te, components=64):
    """Centre by the training means, reduce each side to k = min(components, p_x, p_y, n)
    dimensions with the training rows' principal axes (none when k equals the width), scale
    to unit Frobenius norm, R from the training cross-product; train: nuclear norm, test:
    tr((A_test R)^T B_test) with the test matrices at unit norm."""
    mx, my = x_tr.mean(0), y_tr.mean(0)
    k = min(components, x_tr.shape[1], y_tr.shape[1], x_tr.shape[0])

    def axes(m):
        if k >= m.shape[1]:
            return np.eye(m.shape[1])
        _, _, vt = np.linalg.svd(m - m.mean(0), full_matrices=False)
        return vt[:k].T

    px, py = axes(x_tr), axes(y_tr)

    def unit(m):
        return m / np.linalg.norm(m)

    a, b = unit((x_tr - mx) @ px), unit((y_tr - my) @ py)
    u, s, wt = np.linalg.svd(a.T @ b)
    r = u @ wt
    test = np.trace((unit((x_te - mx) @ px) @ r).T @ unit((y_te - my) @ py))
    return s.sum(), test


@pytest.mark.parametrize(("p_x", "p_y", "components"), [(10, 10, 64), (30, 12, 64), (90, 80, 64),
                                                          (40, 50, 8)])  # fmt: skip
def test_held_out_procrustes_equals_the_papers_definition(p_x, p_y, components):
    rng = np.random.default_rng(p_x + p_y)
    latent = rng.normal(size=(120, 6))
    x = latent @ rng.normal(size=(6, p_x)) + 0.5 * rng.normal(size=(120, p_x))
    y = latent @ rng.normal(size=(6, p_y)) + 0.5 * rng.normal(size=(120, p_y))
    train, test = tuple(range(70)), tuple(range(70, 120))
    expected = paper_procrustes(x[:70], y[:70], x[70:], y[70:], components)
    held_out = ca.get_metric("procrustes_cv", split=(train, test), components=components)
    assert held_out.score(x, y) == pytest.approx(expected[1], abs=1e-8)
    in_sample = ca.get_metric("procrustes_cv", split=(train, test), part="train",
                              components=components)  # fmt: skip
    assert in_sample.score(x, y) == pytest.approx(expected[0], abs=1e-8)
    # a rotated copy is perfectly aligned on held-out stimuli
    q = np.linalg.qr(rng.normal(size=(p_x, p_x)))[0]
    assert held_out.score(x, x @ q) == pytest.approx(1.0, abs=1e-8) if p_x <= components else True


def test_the_reduction_equals_scikit_learns_pca():
    decomposition = pytest.importorskip("sklearn.decomposition")
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=(60, 90)), rng.normal(size=(60, 70))
    x_tr, y_tr = x[:40], y[:40]
    k = 30
    pca_x = decomposition.PCA(n_components=k).fit(x_tr - x_tr.mean(0))
    pca_y = decomposition.PCA(n_components=k).fit(y_tr - y_tr.mean(0))

    def unit(m):
        return m / np.linalg.norm(m)

    a = unit(pca_x.transform(x_tr - x_tr.mean(0)))
    b = unit(pca_y.transform(y_tr - y_tr.mean(0)))
    u, _, wt = np.linalg.svd(a.T @ b)
    test = np.trace(
        (unit(pca_x.transform(x[40:] - x_tr.mean(0))) @ (u @ wt)).T
        @ unit(pca_y.transform(y[40:] - y_tr.mean(0)))
    )
    metric = ca.get_metric("procrustes_cv", split=(tuple(range(40)), tuple(range(40, 60))),
                           components=k)  # fmt: skip
    assert metric.score(x, y) == pytest.approx(test, abs=1e-8)


def test_without_a_split_the_score_is_cross_validated_over_folds():
    from crossalign.metrics.predictivity import kfold_indices

    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(30, 6)), rng.normal(size=(30, 5))
    expected = np.mean(
        [paper_procrustes(x[tr], y[tr], x[te], y[te])[1] for tr, te in kfold_indices(30, 5, 3)]
    )
    assert ca.get_metric("procrustes_cv", seed=3).score(x, y) == pytest.approx(expected, abs=1e-10)
    assert ca.get_metric("procrustes_cv", part="train").score(x, x) == pytest.approx(1.0)


def test_held_out_procrustes_names_bad_parameters():
    with pytest.raises(ca.errors.InputError, match="'components' parameter"):
        ca.get_metric("procrustes_cv", components=0)
    with pytest.raises(ca.errors.InputError, match="'part' parameter"):
        ca.get_metric("procrustes_cv", part="both")


def test_an_evaluation_selects_on_training_and_scores_held_out_stimuli():
    rng = np.random.default_rng(2)
    stimuli = [f"s{i}" for i in range(40)]
    latent = rng.normal(size=(40, 5))
    brain = ca.BrainData.from_responses(
        {(f"sub{s}", r): latent @ rng.normal(size=(5, 12)) + 0.3 * rng.normal(size=(40, 12))
         for s in range(3) for r in ("A", "B", "C")},
        stimuli=stimuli,
    )  # fmt: skip
    model = ca.ModelData.from_activations(
        {"good": latent @ rng.normal(size=(5, 9)), "noise": rng.normal(size=(40, 9))},
        model="m",
        stimuli=stimuli,
    )
    train, test = stimuli[:25], stimuli[25:]
    ev = ca.evaluation.Evaluation.fit(
        model, brain, metric="procrustes_cv", train_stimuli=train, test_stimuli=test
    )
    assert set(ev.layers.values()) == {"good"}
    x = model[("m", "good")].values
    y = brain[("sub1", "B")].values
    expected = paper_procrustes(x[:25], y[:25], x[25:], y[25:])[1]
    got = ev.u[ev.layer_names.index("good"), 1, 1]
    assert got == pytest.approx(expected, abs=1e-8)
