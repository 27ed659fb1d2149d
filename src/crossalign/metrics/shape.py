"""Shape metrics: orthogonal Procrustes and the generalised shape metric.

After centring, each representation is (partially) whitened and scaled to unit Frobenius norm;
the similarity of two representations is the largest ``<X, Y Q>_F`` over orthogonal Q, which is
the nuclear norm ``||X^T Y||_*`` (Schönemann 1966; Williams et al. 2021, NeurIPS,
"Generalized shape metrics on neural representations").

``procrustes``  that similarity (in [0, 1]; 1 iff the two differ by a rotation/reflection and
                scale), partial whitening ``alpha = 1`` (none).
``shape``       the angular shape distance ``arccos(||X~^T Y~||_*)`` with partial whitening
                ``X~ = Xc (alpha I + (1 - alpha) C)^(-1/2)``, ``C = Xc^T Xc / n``:
                ``alpha = 1`` is Procrustes, ``alpha = 0`` whitens fully (CCA-like). A true
                metric: symmetric, zero on identical shapes, triangle inequality. Lower is
                more similar.

Representations of different widths are compared as if zero-padded. Each is reduced once to
``U diag(s')`` from its thin SVD (s' the whitened, normalised singular values), so a pair costs
one small product and one singular-value decomposition.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, ClassVar

import numpy as np

from crossalign.compute.context import Context
from crossalign.errors import InputError
from crossalign.metrics._held_out import checked_split, first_n_split, split_rows
from crossalign.metrics._responses import as_responses, centre
from crossalign.metrics.base import Metric, check_parameter, is_number

__all__ = ["HeldOutProcrustes", "Procrustes", "ShapeMetric"]

_WILLIAMS = """@inproceedings{williams2021generalized,
  title={Generalized Shape Metrics on Neural Representations},
  author={Williams, Alex H and Kunz, Erin and Kornblith, Simon and Linderman, Scott W},
  booktitle={Advances in Neural Information Processing Systems (NeurIPS)}, volume={34},
  pages={4738--4750}, year={2021}}"""

_SCHONEMANN = """@article{schonemann1966generalized,
  title={A generalized solution of the orthogonal Procrustes problem},
  author={Sch{\\"o}nemann, Peter H},
  journal={Psychometrika}, volume={31}, number={1}, pages={1--10}, year={1966}}"""


def _reduce(x: np.ndarray, alpha: float, label: Any, metric: str) -> np.ndarray:
    xc = centre(x)
    u, s, _ = np.linalg.svd(xc, full_matrices=False)
    keep = s > s.max(initial=0.0) * max(xc.shape) * np.finfo(float).eps
    if not keep.any():
        raise InputError(
            f"The '{metric}' metric is undefined for constant responses. Got {label!r}."
        )
    u, s = u[:, keep], s[keep]
    n = x.shape[0]
    scaled = s / np.sqrt(alpha + (1.0 - alpha) * s**2 / n)
    scaled /= np.linalg.norm(scaled)
    return u * scaled[None, :]


@dataclass(frozen=True)
class _Nuclear(Metric):
    input_kind: ClassVar = "responses"
    symmetric: ClassVar = True

    def whitening(self) -> float:
        """The partial-whitening parameter (1: Procrustes, no whitening)."""
        return 1.0

    def prepare(
        self, reps: Any, labels: Sequence[Any] | None = None, *, ctx: Context
    ) -> list[np.ndarray]:
        xs = as_responses(reps, labels, self.name)
        alpha = self.whitening()
        labs = list(labels) if labels is not None else list(range(len(xs)))
        return [_reduce(x, alpha, lab, self.name) for x, lab in zip(xs, labs, strict=True)]

    def similarity(self, a: list[np.ndarray], b: list[np.ndarray]) -> np.ndarray:
        out = np.empty((len(a), len(b)))
        for i, x in enumerate(a):
            for j, y in enumerate(b):
                if a is b and j < i:
                    out[i, j] = out[j, i]
                    continue
                out[i, j] = np.linalg.svd(x.T @ y, compute_uv=False).sum()
        return np.clip(out, 0.0, 1.0, out=out)


@dataclass(frozen=True)
class Procrustes(_Nuclear):
    name: ClassVar = "procrustes"
    citation: ClassVar = _SCHONEMANN + "\n" + _WILLIAMS
    description: ClassVar = (
        "orthogonal Procrustes similarity ||X^T Y||_* of centred, unit-norm representations"
    )

    def cross(self, a: list[np.ndarray], b: list[np.ndarray], *, ctx: Context) -> np.ndarray:
        """Procrustes similarity: the nuclear norm of each pair's cross-covariance.

        Parameters
        ----------
        a, b : list of numpy.ndarray
            Prepared stacks (``b is a``: a stack against itself).
        ctx : Context
            The execution context (backend, precision, memories).

        Returns
        -------
        numpy.ndarray
            (Ka, Kb).
        """
        return self.similarity(a, b)


@dataclass(frozen=True)
class ShapeMetric(_Nuclear):
    """Angular generalised shape distance (Williams et al. 2021): the arc cosine of the nuclear
    norm of the cross-covariance of partially whitened representations.

    Parameters
    ----------
    alpha : float
        Partial whitening in [0, 1]: 1 is Procrustes (no whitening), 0 is CCA.
    """

    name: ClassVar = "shape"
    higher_is_better: ClassVar = False
    citation: ClassVar = _WILLIAMS
    description: ClassVar = (
        "angular generalised shape distance, partial whitening alpha (1 Procrustes, 0 CCA)"
    )
    alpha: float = 1.0

    def __post_init__(self) -> None:
        ok = is_number(self.alpha) and 0.0 <= self.alpha <= 1.0
        check_parameter(self, "alpha", ok, "a number in [0, 1] (1 Procrustes, 0 CCA)")
        object.__setattr__(self, "alpha", float(self.alpha))

    def whitening(self) -> float:
        """The partial-whitening parameter, ``alpha``.

        Returns
        -------
        float
        """
        return self.alpha

    def cross(self, a: list[np.ndarray], b: list[np.ndarray], *, ctx: Context) -> np.ndarray:
        """The angular shape distance: the arc cosine of the similarity.

        Parameters
        ----------
        a, b : list of numpy.ndarray
            Prepared stacks (``b is a``: a stack against itself).
        ctx : Context
            The execution context (backend, precision, memories).

        Returns
        -------
        numpy.ndarray
            (Ka, Kb).
        """
        return np.arccos(self.similarity(a, b))


@dataclass(frozen=True)
class _Reduced:
    """One representation's held-out Procrustes form for one split: its training rows
    centred (by their mean) and their principal axes, and its test rows centred by the same
    mean."""

    train: np.ndarray  # (n_train, p)
    test: np.ndarray  # (n_test, p)
    axes: np.ndarray  # (p, min(n_train, p)): principal axes of the training rows, in order


@dataclass(frozen=True)
class HeldOutProcrustes(Metric):
    """Orthogonal Procrustes fitted on training stimuli and scored on test stimuli, as
    Hoefling et al. (2026) compute it: both sides centred by their training means, reduced to
    ``k = min(components, p_x, p_y, n_train)`` dimensions by the principal axes of their
    training rows, each scaled to unit Frobenius norm; the rotation ``R = U W^T`` from the SVD
    ``A^T B = U S W^T`` of the training matrices; the training score is ``sum(S)`` (the nuclear
    norm), the test score ``tr((A_test R)^T B_test)``, with the training means and axes and
    the test matrices scaled to unit norm.

    Parameters
    ----------
    split : tuple of two sequences of int, optional
        Training and test positions of the stimulus axis (an evaluation sets them from its
        split). Without one, the score is cross-validated: the mean over ``folds`` folds
        (scikit-learn's ``KFold(folds, shuffle=True, random_state=seed)``) of the score with
        each fold held out.
    components : int
        The most dimensions kept (the paper: 64).
    part : {"test", "train"}
        Which score: held-out (default) or in-sample on the training stimuli (on every
        stimulus without a split: how an evaluation selects layers).
    folds : int
        Folds without a split (>= 2).
    seed : int
        Seed of the folds' shuffle.
    """

    name: ClassVar = "procrustes_cv"
    input_kind: ClassVar = "responses"
    symmetric: ClassVar = False
    held_out: ClassVar = True
    citation: ClassVar = _SCHONEMANN + "\n" + _WILLIAMS
    description: ClassVar = (
        "orthogonal Procrustes fitted on training stimuli (PCA to min(64, p), unit norm), "
        "scored on test stimuli (5-fold cross-validated without a split)"
    )
    split: tuple[tuple[int, ...], tuple[int, ...]] | None = None
    components: int = 64
    part: str = "test"
    folds: int = 5
    seed: int = 0

    def __post_init__(self) -> None:
        for name, low in (("components", 1), ("folds", 2)):
            value = getattr(self, name)
            ok = isinstance(value, int | np.integer) and not isinstance(value, bool)
            check_parameter(self, name, ok and value >= low, f"an integer >= {low}")
            object.__setattr__(self, name, int(value))
        ok = isinstance(self.seed, int | np.integer) and not isinstance(self.seed, bool)
        check_parameter(self, "seed", ok, "an integer")
        check_parameter(self, "part", self.part in ("test", "train"), "'test' or 'train'")
        object.__setattr__(self, "split", checked_split(self, self.split, 2, 1))

    def with_split(self, n_train: int, n_test: int) -> HeldOutProcrustes:
        """The metric fitted on the first ``n_train`` stimuli and scoring the next ``n_test``.

        Parameters
        ----------
        n_train, n_test : int

        Returns
        -------
        HeldOutProcrustes
        """
        return replace(self, split=first_n_split(n_train, n_test), part="test")

    def for_selection(self) -> HeldOutProcrustes:
        """The in-sample score on the training stimuli (how the paper selects layers).

        Returns
        -------
        HeldOutProcrustes
        """
        return replace(self, split=None, part="train")

    def prepare(
        self, reps: Any, labels: Sequence[Any] | None = None, *, ctx: Context
    ) -> list[list[_Reduced]]:
        """Per representation and split: centre by the training mean and find the principal
        axes of the training rows.

        Parameters
        ----------
        reps : list of numpy.ndarray
            Response matrices (n_stimuli, p).
        labels : sequence, optional
        ctx : Context
            The execution context (backend, precision, memories).

        Returns
        -------
        list
        """
        xs = as_responses(reps, labels, self.name)
        labs = list(labels) if labels is not None else list(range(len(xs)))
        splits = self._splits(xs[0].shape[0]) if xs else []
        out = []
        for lab, x in zip(labs, xs, strict=True):
            forms = []
            for train_rows, test_rows in splits:
                mean = x[train_rows].mean(axis=0, keepdims=True)
                train, test = x[train_rows] - mean, x[test_rows] - mean
                _, s, vt = np.linalg.svd(train, full_matrices=False)
                if s.max(initial=0.0) <= 1e-12:
                    raise InputError(
                        f"The '{self.name}' metric is undefined for responses constant over "
                        f"the training stimuli. Got {lab!r}."
                    )
                forms.append(_Reduced(train, test, vt.T))
            out.append(forms)
        return out

    def _splits(self, n: int) -> list[tuple[np.ndarray, np.ndarray]]:
        """The (train, test) positions: the given split, or the folds."""
        if self.split is None and self.part == "train":  # in-sample on every stimulus
            return [(np.arange(n), np.arange(0))]
        return split_rows(self.name, self.split, n, self.folds, self.seed)

    def cross(
        self, a: list[list[_Reduced]], b: list[list[_Reduced]], *, ctx: Context
    ) -> np.ndarray:
        """Held-out (or training) Procrustes score of every (a_i, b_j) pair, averaged over
        the splits.

        Parameters
        ----------
        a, b : list
            Prepared stacks.
        ctx : Context
            The execution context (backend, precision, memories).

        Returns
        -------
        numpy.ndarray
            (Ka, Kb).
        """
        return np.array(
            [
                [np.mean([self._pair(u, v) for u, v in zip(x, y, strict=True)]) for y in b]
                for x in a
            ],
            dtype=np.float64,
        )

    def _pair(self, x: _Reduced, y: _Reduced) -> float:
        k = min(self.components, x.axes.shape[0], y.axes.shape[0], x.train.shape[0])
        ax, ay = x.axes[:, :k], y.axes[:, :k]
        a, b = _unit(x.train @ ax), _unit(y.train @ ay)
        u, s, wt = np.linalg.svd(a.T @ b)
        if self.part == "train":
            return float(s.sum())
        rotated = _unit(x.test @ ax) @ (u @ wt)
        return float(np.sum(rotated * _unit(y.test @ ay)))


def _unit(m: np.ndarray) -> np.ndarray:
    norm = np.linalg.norm(m)
    return m / norm if norm > 0 else m
