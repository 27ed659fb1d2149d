"""Linear predictivity: cross-validated ridge regression from X to Y (asymmetric).

The protocol of the APA paper (Hoefling et al. 2026): both representations z-scored over
stimuli; 5-fold cross-validation (shuffled, seeded; the folds of scikit-learn's
``KFold(5, shuffle=True, random_state=seed)``); in each training fold one ridge penalty for the
whole target representation is chosen from ``logspace(0, 9, 19)`` by exact leave-one-out error
(as scikit-learn's ``RidgeCV`` with its default efficient LOO, intercept fitted); R^2 of the
held-out fold per target unit, averaged over units, then over folds. Units that are constant
over all stimuli are left out of the average (they carry nothing to predict).

All pairs at once
-----------------
Per fold, with the training source centred, ``Xc = U diag(s) V^T`` (one SVD per source and
fold, shared by every target) and the ridge smoother ``G = U diag(w) U^T + I / alpha`` with
``w = 1/(s^2 + alpha) - 1/alpha`` (the intercept direction unpenalised), the leave-one-out
residuals of a centred target ``Yc`` are ``c_i / d_i`` with ``c = G Yc`` and ``d = diag(G)``
(corrected for the intercept as scikit-learn does). Their summed square over samples *and*
target units is

    SSE(alpha) = < G diag(1/d^2) G , Yc Yc^T >_F ,

an inner product of an n x n matrix that depends only on the source and alpha with the
target's n x n Gram matrix, which depends only on the target and fold. So the penalty path of
every (source, target) pair costs one small product, instead of a full ridge path per pair.
Held-out predictions use the chosen alpha: ``Y_hat = (X_te - mean) V diag(s/(s^2+alpha)) U^T Yc
+ mean(Y_train)``. The kernels (:mod:`crossalign.compute.ridge`) run on NumPy (SciPy's BLAS,
symmetric products as one triangle) or PyTorch (``options(backend="torch")``, arrays kept on
the device), always in float64; on a Dask cluster each fold of each block of sources is one
task (:attr:`Predictivity.parts`).

Two protocols
-------------
``test="cross-validated"`` (default): the score of the given stimuli is the cross-validated
R^2 within them; fold scores are averaged equally (``fold_weights="equal"``) or weighted by
fold size (``"size"``, as the paper's code does for its training-set scores).

``test="train-fitted"`` with ``split=(train, test)`` (positions of the stimulus axis): the
paper's held-out protocol. Responses are z-scored with the *training* stimuli's mean and SD;
the five fold models are fitted on the training stimuli only (each fold's training part, its
penalty chosen by leave-one-out as above) and each predicts all test stimuli; the score is the
mean over the fold models of the test R^2 (per unit around the test mean, averaged over units).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from crossalign.compute.context import Context
from crossalign.compute.ridge import cross_scores, paired_scores
from crossalign.errors import InputError
from crossalign.metrics._responses import as_responses
from crossalign.metrics.base import Metric, check_parameter

__all__ = ["Predictivity", "kfold_indices"]

from crossalign.citations import HOEFLING2026 as _HOEFLING

_YAMINS = """@article{yamins2014performance,
  title={Performance-optimized hierarchical models predict neural responses in higher visual
         cortex},
  author={Yamins, Daniel L K and Hong, Ha and Cadieu, Charles F and Solomon, Ethan A and
          Seibert, Darren and DiCarlo, James J},
  journal={Proceedings of the National Academy of Sciences}, volume={111}, number={23},
  pages={8619--8624}, year={2014}}"""


def kfold_indices(n: int, n_folds: int, seed: int | None) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train, test) index pairs identical to scikit-learn's
    ``KFold(n_folds, shuffle=True, random_state=seed)`` (both sorted ascending).

    Parameters
    ----------
    n : int
        Stimuli.
    n_folds : int
        Folds.
    seed : int or None
        ``random_state`` of the shuffle.

    Returns
    -------
    list of tuple
    """
    if n_folds < 2 or n < n_folds:
        raise InputError(
            f"Predictivity needs 2 <= folds <= n_stimuli. Got folds={n_folds} for {n} stimuli."
        )
    order = np.arange(n)
    np.random.RandomState(seed).shuffle(order)  # the generator KFold(shuffle=True) uses
    sizes = np.full(n_folds, n // n_folds)
    sizes[: n % n_folds] += 1
    out = []
    start = 0
    for size in sizes:
        test_mask = np.zeros(n, dtype=bool)
        test_mask[order[start : start + size]] = True
        out.append((np.flatnonzero(~test_mask), np.flatnonzero(test_mask)))
        start += size
    return out


_TESTS = ("cross-validated", "train-fitted")
_WEIGHTS = ("equal", "size")


def zscore(x: np.ndarray, rows: Any = slice(None)) -> np.ndarray:
    """Columns to mean 0 and (population) SD 1 over ``rows`` (default all); constant columns
    keep SD 1 (as scikit-learn's StandardScaler)."""
    mean = x[rows].mean(axis=0)
    sd = x[rows].std(axis=0)
    sd[sd == 0] = 1.0
    return (x - mean) / sd


@dataclass(frozen=True)
class _Prepared:
    data: list[np.ndarray]  # z-scored responses
    varying: list[np.ndarray]  # per representation, which units vary over stimuli


@dataclass(frozen=True)
class Predictivity(Metric):
    """Linear predictivity: cross-validated ridge R^2 from a source to a target representation
    (see the module docstring for the protocols and the all-pairs algebra).

    Parameters
    ----------
    folds : int
        Cross-validation folds (>= 2).
    alphas : tuple of float
        Ridge penalties, chosen per fold by exact leave-one-out error.
    seed : int or None
        Seed of the fold shuffle (None: the evaluation protocol's, else 0).
    fold_weights : {"equal", "size"} or None
        How fold scores are averaged (None: the protocol's, else equal).
    test : {"cross-validated", "train-fitted"}
        Cross-validate within the given stimuli, or fit on ``split``'s training stimuli and
        score its test stimuli.
    split : tuple of two sequences of int, optional
        Train and test positions, for ``test="train-fitted"``.
    """

    name: ClassVar = "predictivity"
    input_kind: ClassVar = "responses"
    symmetric: ClassVar = False
    backends: ClassVar = ("numpy", "torch")
    citation: ClassVar = _HOEFLING + "\n" + _YAMINS
    description: ClassVar = (
        "cross-validated ridge R^2 from X to Y (z-scored, 5 folds, LOO alpha; asymmetric)"
    )
    folds: int = 5
    alphas: tuple[float, ...] = tuple(float(a) for a in np.logspace(0, 9, 19))
    seed: int | None = None
    fold_weights: str | None = None
    test: str = "cross-validated"
    split: tuple[tuple[int, ...], tuple[int, ...]] | None = None

    def __post_init__(self) -> None:
        ok = isinstance(self.folds, int | np.integer) and not isinstance(self.folds, bool)
        check_parameter(self, "folds", ok and self.folds >= 2, "an integer >= 2")
        try:
            alphas = np.asarray(self.alphas, dtype=np.float64)
        except (TypeError, ValueError):
            alphas = np.array([np.nan])
        good = alphas.ndim == 1 and alphas.size > 0 and bool((alphas > 0).all())
        check_parameter(
            self,
            "alphas",
            good and bool(np.isfinite(alphas).all()),
            "a non-empty sequence of positive numbers",
        )
        seed_ok = self.seed is None or (
            isinstance(self.seed, int | np.integer) and not isinstance(self.seed, bool)
        )
        check_parameter(self, "seed", seed_ok, "an integer or None")
        check_parameter(
            self,
            "fold_weights",
            self.fold_weights in (None, *_WEIGHTS),
            f"one of {list(_WEIGHTS)} (or None: 'equal')",
        )
        check_parameter(self, "test", self.test in _TESTS, f"one of {list(_TESTS)}")
        object.__setattr__(self, "folds", int(self.folds))
        object.__setattr__(self, "alphas", tuple(float(a) for a in alphas))
        object.__setattr__(self, "seed", None if self.seed is None else int(self.seed))
        object.__setattr__(self, "split", self._normalised_split())

    def _normalised_split(self) -> tuple[tuple[int, ...], tuple[int, ...]] | None:
        split = self.split
        if self.test == "cross-validated":
            check_parameter(self, "split", split is None, "None unless test='train-fitted'")
            return None
        if split is None or len(split) != 2:
            raise InputError(
                "predictivity with test='train-fitted' needs split=(train, test): the "
                f"positions of the training and test stimuli. Got {split!r}."
            )
        parts = tuple(np.asarray(part).ravel() for part in split)
        ints = all(p.dtype.kind in "iu" or p.size == 0 for p in parts)
        check_parameter(self, "split", ints, "two sequences of integer positions")
        train, test = (tuple(int(i) for i in p) for p in parts)
        return train, test

    @property
    def seed_value(self) -> int:
        """The fold seed in use (``seed``, 0 when it is None)."""
        return 0 if self.seed is None else self.seed

    def _split(self, n: int) -> tuple[np.ndarray, np.ndarray] | None:
        """The (train, test) positions of the train-fitted protocol; None when
        cross-validating within the given stimuli."""
        if self.split is None:
            return None
        train, test = (np.asarray(part, dtype=int) for part in self.split)
        together = np.concatenate([train, test])
        if (
            len(np.unique(together)) != len(together)
            or (together < 0).any()
            or (together >= n).any()
        ):
            raise InputError(
                f"The predictivity split must hold distinct positions below {n} (the number of "
                f"stimuli), in disjoint train and test parts. Got {len(train)} train and "
                f"{len(test)} test positions."
            )
        return train, test

    def prepare(self, reps: Any, labels: Sequence[Any] | None = None, *, ctx: Context) -> _Prepared:
        """Responses z-scored (over the training stimuli with a split), with the units that vary.

        Parameters
        ----------
        reps : sequence of numpy.ndarray
        labels : sequence, optional
            The representations' labels, for error messages.
        ctx : Context
            The execution context (backend, precision, memories).

        Returns
        -------
        object
        """
        xs = as_responses(reps, labels, self.name, min_stimuli=2 * self.folds)
        split = self._split(xs[0].shape[0])
        rows = slice(None) if split is None else split[0]  # statistics of the training stimuli
        data, varying = [], []
        xs.reverse()
        while xs:  # each float64 copy is released once z-scored: one extra array at a time
            x = xs.pop()
            varying.append(np.ptp(x[rows], axis=0) > 0)
            data.append(zscore(x, rows))
        return _Prepared(data, varying)

    def _folds(self, n: int) -> tuple[list[tuple[np.ndarray, np.ndarray]], np.ndarray]:
        """(fitting rows, scored rows) per fold, and the weight of each fold's score."""
        split = self._split(n)
        k = self.folds
        if split is None:
            folds = kfold_indices(n, k, self.seed_value)
        else:
            train, test = split
            folds = [(train[tr], test) for tr, _ in kfold_indices(len(train), k, self.seed_value)]
        if split is None and self.fold_weights == "size":
            weights = np.array([len(te) for _, te in folds], dtype=float) / n
        else:
            weights = np.full(len(folds), 1.0 / len(folds))
        return folds, weights

    @property
    def parts(self) -> int:
        """The folds: :meth:`cross` is the weighted sum of each fold's held-out scores.

        Returns
        -------
        int
        """
        return self.folds

    def cross(self, a: _Prepared, b: _Prepared, *, ctx: Context) -> np.ndarray:
        """R^2 (Ka, Kb): ``out[i, j]`` predicts target ``b_j`` from source ``a_i``.

        Parameters
        ----------
        a, b : object
            Prepared sources and targets.
        ctx : Context
            The execution context (backend, precision, memories).

        Returns
        -------
        numpy.ndarray
        """
        return self._scores(a, b, None, ctx)

    def cross_part(self, a: _Prepared, b: _Prepared, part: int, *, ctx: Context) -> np.ndarray:
        """Fold ``part``'s weighted share of :meth:`cross`.

        Parameters
        ----------
        a, b : object
            Prepared sources and targets.
        part : int
            The fold, ``0 <= part < folds``.
        ctx : Context
            The execution context (backend, precision, memories).

        Returns
        -------
        numpy.ndarray
        """
        if not isinstance(part, int | np.integer) or not 0 <= part < self.folds:
            raise InputError(
                f"The 'part' argument of predictivity.cross_part must be a fold in "
                f"[0, {self.folds}). Got {part!r}."
            )
        return self._scores(a, b, part, ctx)

    def paired(self, a: _Prepared, b: _Prepared, *, ctx: Context) -> np.ndarray:
        """R^2 of target ``b_i`` from source ``a_i`` (the diagonal of :meth:`cross`), by the
        per-pair form: one n x r x q product per alpha instead of n x n matrices.

        Parameters
        ----------
        a, b : object
            Prepared sources and targets, of equal length.
        ctx : Context
            The execution context (backend, precision, memories).

        Returns
        -------
        numpy.ndarray
        """
        n = a.data[0].shape[0]
        if b.data[0].shape[0] != n or len(a.data) != len(b.data):
            raise InputError(
                "predictivity.paired: sources and targets must share their stimuli and come "
                f"in pairs. Got {len(a.data)} sources and {len(b.data)} targets."
            )
        return paired_scores(*self._kernel_inputs(a, b, self._folds(n), ctx))

    def _scores(self, a: _Prepared, b: _Prepared, part: int | None, ctx: Context) -> np.ndarray:
        n = a.data[0].shape[0]
        if b.data[0].shape[0] != n:
            raise InputError("predictivity: sources and targets must share their stimuli.")
        folds, weights = self._folds(n)
        if part is not None:
            folds, weights = folds[part : part + 1], weights[part : part + 1]
        return cross_scores(*self._kernel_inputs(a, b, (folds, weights), ctx))

    def _kernel_inputs(
        self, a: _Prepared, b: _Prepared, folds: tuple[list, np.ndarray], ctx: Context
    ) -> tuple[Context, list[np.ndarray], list[np.ndarray], list, np.ndarray, np.ndarray]:
        """What the ridge kernels take: the execution context, the sources, the
        targets' varying units, the folds and their weights, the penalties."""
        ys = [y if keep.all() else y[:, keep] for y, keep in zip(b.data, b.varying, strict=True)]
        return ctx, a.data, ys, folds[0], folds[1], np.asarray(self.alphas)
