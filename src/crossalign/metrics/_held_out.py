"""The split of held-out metrics (fitted on training stimuli, scored on test stimuli): one
check of the ``split`` parameter and one rule for the (train, test) rows, shared by
``procrustes_cv`` and ``versa``."""

from __future__ import annotations

from typing import Any

import numpy as np

from crossalign.errors import InputError
from crossalign.metrics.base import Metric, check_parameter
from crossalign.metrics.predictivity import kfold_indices

Split = tuple[tuple[int, ...], tuple[int, ...]]


def checked_split(metric: Metric, split: Any, min_train: int, min_test: int) -> Split | None:
    """``split`` as two tuples of int positions, refused (naming the parameter) when it is
    not two integer sequences of at least ``min_train`` and ``min_test`` positions."""
    if split is None:
        return None
    parts = tuple(np.asarray(p).ravel() for p in split)
    ints = len(parts) == 2 and all(p.dtype.kind in "iu" for p in parts)
    check_parameter(metric, "split", ints, "two sequences of integer positions")
    train, test = (tuple(int(i) for i in p) for p in parts)
    check_parameter(
        metric,
        "split",
        len(train) >= min_train and len(test) >= min_test,
        f"(>= {min_train} train, >= {min_test} test positions)",
    )
    return train, test


def split_rows(
    name: str, split: Split | None, n: int, folds: int, seed: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """The (train, test) rows to score: the split's, or each fold of ``KFold(folds,
    shuffle=True, random_state=seed)`` without one."""
    if split is None:
        return kfold_indices(n, folds, seed)
    train, test = (np.asarray(p, dtype=np.intp) for p in split)
    top = int(max(train.max(), test.max()))
    if top >= n:
        raise InputError(f"The 'split' of {name} names positions up to {top} for {n} stimuli.")
    return [(train, test)]


def first_n_split(n_train: int, n_test: int) -> Split:
    """The split of an evaluation's stimuli: the first ``n_train`` train, the next test."""
    return tuple(range(n_train)), tuple(range(n_train, n_train + n_test))
