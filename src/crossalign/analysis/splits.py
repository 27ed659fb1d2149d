"""Train/test splits of stimuli: random or stratified by label, or a dataset's fixed split."""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np
import pandas as pd

from crossalign.data.labels import plain
from crossalign.errors import InputError
from crossalign.stats.permutation import random_order

__all__ = [
    "split_stimuli",
]


def split_stimuli(
    stimuli: pd.Index | Sequence[Hashable],
    test_fraction: float = 0.5,
    *,
    seed: int | None = 0,
    labels: Sequence[Hashable] | None = None,
) -> tuple[list[Hashable], list[Hashable]]:
    """A seeded random split of stimulus ids into (train, test), each with >= 3 stimuli.

    With ``labels`` (one category per stimulus) the split is stratified: each category
    contributes ``round(test_fraction * size)`` stimuli to the test set.

    Parameters
    ----------
    stimuli : sequence
        The stimulus ids.
    test_fraction : float
        The share of stimuli in the test set.
    seed : int or None
        Seed of the split.
    labels : sequence, optional
        One category per stimulus, for a stratified split.

    Returns
    -------
    tuple of list
        The training ids and the test ids.
    """
    ids = list(stimuli)
    if labels is not None:
        return _stratified_split(ids, list(labels), test_fraction, seed)
    if not 0.0 < test_fraction < 1.0:
        raise InputError(
            "The 'test_fraction' argument must lie strictly between 0 and 1. Got "
            f"{test_fraction!r}."
        )
    n_test = round(len(ids) * test_fraction)
    if n_test < 3 or len(ids) - n_test < 3:
        raise InputError(
            f"Splitting {len(ids)} stimuli with test_fraction={test_fraction} leaves "
            f"{len(ids) - n_test} train / {n_test} test stimuli; each split needs at least 3. "
            "Expected at least 6 stimuli or a different fraction."
        )
    order = random_order(len(ids), np.random.default_rng(seed))
    test = sorted(order[:n_test].tolist())
    train = sorted(order[n_test:].tolist())
    return [plain(ids[i]) for i in train], [plain(ids[i]) for i in test]


def _stratified_split(
    ids: list[Hashable], labels: list[Hashable], test_fraction: float, seed: int | None
) -> tuple[list[Hashable], list[Hashable]]:
    if len(labels) != len(ids):
        raise InputError(
            f"The 'labels' argument must give one category per stimulus ({len(ids)} expected). "
            f"Got {len(labels)}."
        )
    if not 0.0 < test_fraction < 1.0:
        raise InputError(
            "The 'test_fraction' argument must lie strictly between 0 and 1. Got "
            f"{test_fraction!r}."
        )
    rng = np.random.default_rng(seed)
    test_pos: list[int] = []
    for category in dict.fromkeys(labels):
        members = [i for i, lab in enumerate(labels) if lab == category]
        k = round(len(members) * test_fraction)
        test_pos.extend(random_order(np.asarray(members), rng)[:k].tolist())
    test_set = set(test_pos)
    train = [plain(ids[i]) for i in range(len(ids)) if i not in test_set]
    test = [plain(ids[i]) for i in sorted(test_set)]
    if len(train) < 3 or len(test) < 3:
        raise InputError(
            f"The stratified split leaves {len(train)} train / {len(test)} test stimuli; each "
            "needs at least 3."
        )
    return train, test
