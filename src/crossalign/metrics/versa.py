"""VERSA (voxel-wise encoding RSA): the representational geometry of a ridge encoding model's
predicted responses against that of the measured responses (Hoefling et al. 2026; Net2Brain's
``VeRSA``).

On training stimuli a ridge regression from the source's features to the target's responses
(with an intercept; no z-scoring) takes the penalty with the best mean held-out R^2 over
``KFold(5, shuffle=True, random_state=seed)`` among ``alphas`` (1e2 ... 1e7 in decades), as
scikit-learn's ``RidgeCV(alphas, cv=KFold(...))`` chooses it, and is refitted on every training
stimulus. Its predictions for the test stimuli give an RDM (1 - Pearson between stimulus
patterns); the score is the Pearson correlation of the upper triangles of that RDM and the
measured test responses' RDM. Without a split the score is cross-validated: the mean over
``folds`` outer folds of the score with each fold held out. Net2Brain draws its folds with
``random_state=42`` (crossalign's default seed) and uses the alphas it is given; the paper
fits over 1e2 ... 1e7.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, ClassVar

import numpy as np

from crossalign.citations import HOEFLING2026
from crossalign.compute.context import Context
from crossalign.compute.linear import kfold_scores, predict_ridges
from crossalign.metrics._held_out import checked_split, split_rows
from crossalign.metrics._responses import as_responses
from crossalign.metrics.base import Metric, check_parameter
from crossalign.metrics.predictivity import kfold_indices

__all__ = ["Versa", "versa_scores"]

#: The paper's penalties: 1e2 ... 1e7.
VERSA_ALPHAS = tuple(float(a) for a in np.logspace(2, 7, 6))


def _rdm_vector(x: np.ndarray) -> np.ndarray:
    """Upper triangle of 1 - Pearson between the rows (stimulus patterns)."""
    iu = np.triu_indices(x.shape[0], k=1)
    return (1.0 - np.corrcoef(x))[iu]


def versa_scores(
    x: np.ndarray,
    ys: Sequence[np.ndarray],
    train: np.ndarray,
    test: np.ndarray,
    alphas: Sequence[float] = VERSA_ALPHAS,
    seed: int = 42,
    inner_folds: int = 5,
) -> np.ndarray:
    """VERSA of one source against every target on one split (see the module text): the
    source's SVDs (one per inner fold, one for the refit) are shared by all targets.

    Parameters
    ----------
    x : numpy.ndarray
        Source features (n_stimuli, units).
    ys : sequence of numpy.ndarray
        Target responses (n_stimuli, units_k).
    train, test : numpy.ndarray of int
        Row positions.
    alphas : sequence of float
    seed : int
        Seed of the inner folds.
    inner_folds : int

    Returns
    -------
    numpy.ndarray
        (n_targets,).
    """
    folds = kfold_indices(len(train), inner_folds, seed)
    fitting = [y[train] for y in ys]
    best = kfold_scores(x[train], fitting, alphas, folds).argmax(axis=1)
    predicted = predict_ridges(x[train], fitting, x[test], [alphas[k] for k in best])
    return np.array(
        [_pearson(_rdm_vector(p), _rdm_vector(y[test])) for p, y in zip(predicted, ys, strict=True)]
    )


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a - a.mean(), b - b.mean()
    denominator = np.sqrt((a @ a) * (b @ b))
    return float(a @ b / denominator) if denominator > 0 else float("nan")


@dataclass(frozen=True)
class Versa(Metric):
    """VERSA: RSA of a ridge encoding model's predicted test responses (see the module text).

    Parameters
    ----------
    split : tuple of two sequences of int, optional
        Training and test positions (an evaluation sets them); without one, the mean over
        ``folds`` outer folds.
    alphas : tuple of float
        Ridge penalties (default 1e2 ... 1e7).
    seed : int
        Seed of the folds (inner and outer).
    folds : int
        Inner folds of the penalty choice, and outer folds without a split.
    """

    name: ClassVar = "versa"
    input_kind: ClassVar = "responses"
    symmetric: ClassVar = False
    held_out: ClassVar = True
    citation: ClassVar = HOEFLING2026
    description: ClassVar = (
        "RSA (Pearson of 1 - Pearson RDMs) of ridge-predicted test responses against the "
        "measured ones (alphas 1e2..1e7 by 5-fold R^2)"
    )
    split: tuple[tuple[int, ...], tuple[int, ...]] | None = None
    alphas: tuple[float, ...] = VERSA_ALPHAS
    seed: int = 42
    folds: int = 5

    def __post_init__(self) -> None:
        ok = isinstance(self.folds, int | np.integer) and not isinstance(self.folds, bool)
        check_parameter(self, "folds", ok and self.folds >= 2, "an integer >= 2")
        ok = isinstance(self.seed, int | np.integer) and not isinstance(self.seed, bool)
        check_parameter(self, "seed", ok, "an integer")
        alphas = np.asarray(self.alphas, dtype=float).ravel()
        good = alphas.size > 0 and bool((np.isfinite(alphas) & (alphas > 0)).all())
        check_parameter(self, "alphas", good, "a non-empty sequence of positive numbers")
        object.__setattr__(self, "alphas", tuple(float(a) for a in alphas))
        split = checked_split(self, self.split, 2 * self.folds, 3)
        object.__setattr__(self, "split", split)

    def with_split(self, n_train: int, n_test: int) -> Versa:
        """The metric scoring the last ``n_test`` of ``n_train + n_test`` stimuli.

        Parameters
        ----------
        n_train, n_test : int

        Returns
        -------
        Versa
        """
        return replace(self, split=(tuple(range(n_train)), tuple(range(n_train, n_train + n_test))))

    def for_selection(self) -> Versa:
        """The metric layers are selected with on training stimuli: cross-validated.

        Returns
        -------
        Versa
        """
        return replace(self, split=None)

    def prepare(
        self, reps: Any, labels: Sequence[Any] | None = None, *, ctx: Context
    ) -> list[np.ndarray]:
        """The response matrices (checked).

        Parameters
        ----------
        reps : sequence of numpy.ndarray
        labels : sequence, optional
        ctx : Context
            The execution context (backend, precision, memories).

        Returns
        -------
        list of numpy.ndarray
        """
        return as_responses(reps, labels, self.name, min_stimuli=2 * self.folds)

    def _splits(self, n: int) -> list[tuple[np.ndarray, np.ndarray]]:
        return split_rows(self.name, self.split, n, self.folds, self.seed)

    def cross(self, a: list[np.ndarray], b: list[np.ndarray], *, ctx: Context) -> np.ndarray:
        """VERSA of every (source a_i, target b_j) pair.

        Parameters
        ----------
        a, b : list of numpy.ndarray
            Prepared sources and targets.
        ctx : Context
            The execution context (backend, precision, memories).

        Returns
        -------
        numpy.ndarray
            (Ka, Kb).
        """
        splits = self._splits(a[0].shape[0]) if a else []
        out = np.zeros((len(a), len(b)))
        for i, x in enumerate(a):  # each source's fits are shared by every target
            for tr, te in splits:
                out[i] += versa_scores(x, b, tr, te, self.alphas, self.seed, self.folds)
        return out / max(len(splits), 1)
