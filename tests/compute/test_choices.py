"""Remembered ridge penalties: keyed by the bytes of the fitting rows, reused only for
bit-identical data, and a reusing analysis gives exactly the numbers of one that chose anew."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from crossalign.compute.backends import get_backend
from crossalign.compute.choices import Choices, FoldKeys
from crossalign.compute.context import Context
from crossalign.metrics.predictivity import Predictivity, kfold_indices

OPS = get_backend("numpy")
ALPHAS = np.logspace(0, 9, 19)


def _reps(seed: int = 0, n: int = 40) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, 3))
    return [z @ rng.normal(size=(3, p)) + rng.normal(size=(n, p)) for p in (4, 9, 30, 6)]


def test_keys_depend_on_the_fitting_rows_content_only():
    xs = _reps()
    folds = kfold_indices(30, 5, 1)
    keys = FoldKeys(OPS, xs, xs, folds, ALPHAS)
    # the same fitting rows inside larger arrays (extra scored rows): the same keys
    longer = [np.vstack([x[:30], np.full((7, x.shape[1]), 9.0)]) for x in xs]
    other = FoldKeys(OPS, longer, longer, [(tr, np.arange(30, 37)) for tr, _ in folds], ALPHAS)
    assert [keys.key(k, f) for k in range(4) for f in range(5)] == [
        other.key(k, f) for k in range(4) for f in range(5)
    ]
    nudged = [x.copy() for x in xs]
    nudged[2][3, 1] = np.nextafter(nudged[2][3, 1], np.inf)  # one ulp in a fitting row
    changed = FoldKeys(OPS, nudged, xs, folds, ALPHAS)
    assert changed.key(2, 0) != keys.key(2, 0) and changed.key(1, 0) == keys.key(1, 0)
    as_target = FoldKeys(OPS, xs, nudged, folds, ALPHAS)  # every source faces other targets
    assert all(as_target.key(k, 0) != keys.key(k, 0) for k in range(4))
    assert FoldKeys(OPS, xs, xs, kfold_indices(30, 5, 2), ALPHAS).key(0, 0) != keys.key(0, 0)
    assert FoldKeys(OPS, xs, xs, folds, ALPHAS[:-1]).key(0, 0) != keys.key(0, 0)


def test_choices_are_bounded_and_returned_as_copies():
    memo = Choices(capacity=16)  # bytes: four int32 indices
    memo.put(b"a", np.array([1, 2]))
    memo.put(b"b", np.array([3]))
    memo.get(b"a")[0] = 7  # a copy: the memory is unchanged
    np.testing.assert_array_equal(memo.get(b"a"), [1, 2])
    memo.put(b"c", np.array([0, 5]))  # 20 bytes: "b", used least recently, goes
    assert memo.get(b"b") is None and len(memo) == 2
    memo.put(b"a", np.array([4]))  # replaced in place: 8 bytes in all
    memo.put(b"d", np.array([6]))  # 16 bytes: all three kept
    assert len(memo) == 3 and memo.get(b"c") is not None
    memo.clear()
    assert len(memo) == 0 and memo.get(b"a") is None


@pytest.fixture
def ctx():
    return Context(get_backend("numpy"))  # its own memory of penalties, empty


def _run(metric: Predictivity, reps: list[np.ndarray], ctx: Context) -> tuple[np.ndarray, list]:
    work: list = []
    rec = dataclasses.replace(ctx, recorder=work)  # the same memories, recording
    out = metric.cross(metric.prepare(reps, ctx=rec), metric.prepare(reps, ctx=rec), ctx=rec)
    return out, work


def test_the_train_fitted_test_reuses_the_selection_choices_exactly(ctx):
    reps = _reps(n=45)
    train, test = tuple(range(30)), tuple(range(30, 45))
    selection = Predictivity(seed=1, fold_weights="size")
    fitted = Predictivity(seed=1, test="train-fitted", split=(train, test))
    _run(selection, [r[:30] for r in reps], ctx)  # chooses every penalty
    reused, work = _run(fitted, reps, ctx)
    assert work and all(c.loo == (False,) * len(c.sources) and not c.grams for c in work)
    ctx.penalties.clear()
    anew, work = _run(fitted, reps, ctx)
    assert all(c.loo == () and c.grams for c in work)
    np.testing.assert_array_equal(reused, anew)


def test_other_data_chooses_anew(ctx):
    reps = _reps()
    metric = Predictivity(seed=0)
    _run(metric, reps, ctx)
    changed = [r.copy() for r in reps]
    changed[1][0, 0] += 1e-9
    _, work = _run(metric, changed, ctx)
    assert all(c.loo == () and c.grams for c in work)  # every key changed: targets differ


def test_another_context_keeps_its_own_choices(ctx):
    reps = _reps()
    metric = Predictivity(seed=0)
    first, _ = _run(metric, reps, ctx)
    assert len(ctx.penalties) > 0
    other = Context(get_backend("numpy"))
    again, work = _run(metric, reps, other)  # nothing carried over: chosen anew, same numbers
    assert all(c.loo == () and c.grams for c in work)
    np.testing.assert_array_equal(first, again)
