"""All-pairs leave-one-out ridge kernels: the product forms, the spectrum, the leave-one-out
matrices against refitting without each sample (a slow twin written from the definition), and
the torch kernels against NumPy."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import crossalign as ca
from crossalign.compute import ridge
from crossalign.compute.backends import get_backend, installed
from crossalign.compute.context import Context, current_context
from crossalign.compute.ridge import recording
from crossalign.errors import InputError

TORCH = [b for b in installed() if b.startswith("torch")][:1]
NUMPY = Context(get_backend("numpy"))


def _loo_sse(x: np.ndarray, y: np.ndarray, alpha: float) -> float:
    """Summed squared leave-one-out error of ridge with an intercept, refitting without each
    sample in turn (the definition; slow)."""
    total = 0.0
    for i in range(len(x)):
        keep = np.arange(len(x)) != i
        xm, ym = x[keep].mean(0), y[keep].mean(0)
        xc, yc = x[keep] - xm, y[keep] - ym
        coef = np.linalg.solve(xc.T @ xc + alpha * np.eye(x.shape[1]), xc.T @ yc)
        total += float((((x[i] - xm) @ coef + ym - y[i]) ** 2).sum())
    return total


@pytest.mark.parametrize("p", [5, 40])  # fewer and more units than samples
def test_loo_matrices_give_the_refit_leave_one_out_errors(p):
    rng = np.random.default_rng(p)
    x, y = rng.normal(size=(28, p)), rng.normal(size=(28, 3))
    ops = get_backend("numpy")
    alphas = np.array([0.1, 3.0, 1e3])
    train, test = np.arange(24), np.arange(24, 28)
    sources = ridge.Sources(ops, [x], train, test)
    stack = np.zeros((len(alphas), ops.sym_size(24)))
    sources.fill_loo(0, stack, alphas)
    targets = ridge.Targets(ops, 1, 24, 4)
    targets.fill([y], train, test)
    errors = stack @ targets.stacked("gram")[0]
    reference = [_loo_sse(x[train], y[train], a) for a in alphas]
    np.testing.assert_allclose(errors, reference, rtol=1e-10)


@settings(max_examples=20, deadline=None)
@given(st.integers(1, 30), st.integers(1, 30), st.integers(0, 2**31 - 1))
def test_half_and_pair_forms_give_the_frobenius_inner_product(n, k, seed):
    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=(k, n)), rng.normal(size=(k + 2, n))
    ops = get_backend("numpy")
    assert ops.sym_size(n) == n * (n + 1) // 2  # one packed triangle
    half, pair = np.full(ops.sym_size(n), 7.0), np.full(ops.sym_size(n), 7.0)
    ops.half(np.asfortranarray(a), half)
    ops.pair(b.T.T, pair)  # C-ordered input
    assert half @ pair == pytest.approx(np.sum((a.T @ a) * (b.T @ b)), rel=1e-12)
    ops.half(a.T.copy().T, pair, scale=3.0)  # either layout, scaled
    assert np.sort(pair) == pytest.approx(np.sort(3.0 * (a.T @ a)[np.triu_indices(n)]))


def test_products_write_in_place_for_either_layout():
    rng = np.random.default_rng(0)
    ops = get_backend("numpy")
    a, b = rng.normal(size=(6, 4)), rng.normal(size=(4, 5))
    for out in (np.empty((6, 5)), np.empty((6, 5), order="F")):
        assert ops.mm(a, b, out=out) is out
        np.testing.assert_allclose(out, a @ b, rtol=1e-14)
        np.testing.assert_allclose(ops.mm(np.asfortranarray(a), b.T.copy().T, out=out), a @ b)


@pytest.mark.parametrize("shape", [(30, 8), (12, 40)])
def test_spectrum_is_the_thin_svd_without_the_null_space(shape):
    rng = np.random.default_rng(1)
    x = rng.normal(size=shape)
    xc = x - x.mean(0)
    ops = get_backend("numpy")
    u, s, v = ridge.spectrum(ops, xc)
    np.testing.assert_allclose(u * s @ v.T, xc, atol=1e-12)
    test = rng.normal(size=(5, shape[1]))  # projected without V when units outnumber stimuli
    np.testing.assert_allclose(ridge.spectrum(ops, xc, test)[2], test @ v, atol=1e-12)
    expected = np.linalg.svd(xc, compute_uv=False)
    np.testing.assert_allclose(s[::-1] if s[0] < s[-1] else s, expected[: len(s)], rtol=1e-10)
    assert len(s) == min(shape[0] - 1, shape[1])  # centring removes one direction


def test_a_source_with_weak_directions_is_decomposed_by_svd():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(30, 6)) * np.array([1, 1, 1, 1, 1, 1e-6])
    xc = x - x.mean(0)
    ops = get_backend("numpy")
    u, s, v = ridge.spectrum(ops, xc)
    np.testing.assert_allclose(u * s @ v.T, xc, atol=1e-13)
    np.testing.assert_allclose(ridge.spectrum(ops, xc, xc[:4])[2], xc[:4] @ v, atol=1e-13)
    assert s.min() == pytest.approx(np.linalg.svd(xc, compute_uv=False).min(), rel=1e-6)


def _world() -> tuple[list[np.ndarray], tuple[list[int], list[int]]]:
    """Representations and a train/test split in which one target unit is exactly constant
    over the test stimuli (its R^2 by scikit-learn's convention: the explicit path)."""
    rng = np.random.default_rng(4)
    z = rng.normal(size=(47, 4))
    reps = [z @ rng.normal(size=(4, p)) + rng.normal(size=(47, p)) for p in (6, 60, 12, 3)]
    flat = rng.normal(size=(47, 5))
    flat[:40, 2] = np.tile([1.0, -1.0], 20)  # z-scores to itself over the training stimuli
    flat[40:, 2] = 1.0
    reps.append(flat)
    return reps, (list(range(40)), list(range(40, 47)))


def _scores(backend: str, reps: list[np.ndarray], **kwargs) -> np.ndarray:
    metric = ca.get_metric("predictivity", seed=3, **kwargs)
    ctx = Context(get_backend(backend))
    return metric.cross(metric.prepare(reps, ctx=ctx), metric.prepare(reps, ctx=ctx), ctx=ctx)


def test_a_unit_constant_over_the_test_stimuli_scores_as_scikit_learn():
    from sklearn.linear_model import RidgeCV
    from sklearn.metrics import r2_score
    from sklearn.model_selection import KFold

    reps, (train, test) = _world()
    ours = _scores("numpy", reps, test="train-fitted", split=(train, test))
    x, y = (r - r[train].mean(0) for r in (reps[0], reps[4]))
    x, y = x / reps[0][train].std(0), y / reps[4][train].std(0)
    scores = []
    for tr, _ in KFold(5, shuffle=True, random_state=3).split(train):
        model = RidgeCV(alphas=np.logspace(0, 9, 19)).fit(x[train][tr], y[train][tr])
        scores.append(r2_score(y[test], model.predict(x[test])))
    assert ours[0, 4] == pytest.approx(np.mean(scores), abs=1e-10)


@pytest.mark.skipif(not TORCH, reason="needs PyTorch")
def test_torch_kernels_equal_numpy():
    reps, split = _world()
    for kwargs in ({}, {"fold_weights": "size"}, {"test": "train-fitted", "split": split}):
        ours = _scores(TORCH[0], reps, **kwargs)
        np.testing.assert_allclose(ours, _scores("numpy", reps, **kwargs), rtol=0, atol=1e-10)
    assert get_backend(TORCH[0]).family == "torch"


def test_folds_are_parts_that_sum_to_the_scores_exactly():
    rng = np.random.default_rng(5)
    reps = [rng.normal(size=(40, p)) for p in (5, 9, 30)]
    for kwargs in (
        {},
        {"fold_weights": "size"},
        {"test": "train-fitted", "split": (list(range(30)), list(range(30, 40)))},
    ):
        metric = ca.get_metric("predictivity", **kwargs)
        a = metric.prepare(reps, ctx=NUMPY)
        whole = metric.cross(a, a, ctx=NUMPY)
        summed = np.zeros_like(whole)
        for part in range(metric.parts):
            summed += metric.cross_part(a, a, part, ctx=NUMPY)
        np.testing.assert_array_equal(summed, whole)
    with pytest.raises(InputError, match=r"'part' argument .* fold in \[0, 5\)\. Got 5"):
        metric.cross_part(a, a, 5, ctx=NUMPY)


@pytest.mark.parametrize("backend", ["numpy", *TORCH])
def test_pairs_alone_equal_the_diagonal_of_all_pairs(backend):
    reps, split = _world()
    rng = np.random.default_rng(8)
    wide = rng.normal(size=(47, 90))  # more units than any source's rank: the r x r form
    sources, targets = [reps[1], reps[0], reps[2], reps[4], reps[3]], [*reps[:4], wide]
    for kwargs in (
        {},
        {"fold_weights": "size", "seed": 1},
        {"test": "train-fitted", "split": split},
    ):
        metric = ca.get_metric("predictivity", **kwargs)
        a, b = metric.prepare(sources, ctx=NUMPY), metric.prepare(targets, ctx=NUMPY)
        ours = metric.paired(a, b, ctx=Context(get_backend(backend)))
        whole = metric.cross(a, b, ctx=NUMPY)
        np.testing.assert_allclose(ours, np.diag(whole), rtol=0, atol=1e-10)


def test_paired_scoring_is_recorded_and_refuses_unequal_stacks():
    reps, _ = _world()
    metric = ca.get_metric("predictivity")
    a = metric.prepare(reps[:2], ctx=NUMPY)
    with recording() as work:
        metric.paired(a, a, ctx=current_context())
    assert len(work) == 2 * 5 and all(c.direct and c.maps == (1,) for c in work)
    with pytest.raises(InputError, match=r"come in pairs\. Got 2 sources and 3 targets"):
        metric.paired(a, metric.prepare(reps[:3], ctx=NUMPY), ctx=NUMPY)
