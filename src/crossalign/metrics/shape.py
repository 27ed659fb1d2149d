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
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from crossalign.errors import InputError
from crossalign.metrics._responses import as_responses, centre
from crossalign.metrics.base import Cost, Metric, check_parameter, is_number

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

    def cost(self, n: int, p: int) -> Cost:
        """A whitening per representation; per pair a cross-covariance and its singular
        values."""
        copies = 3.0 * n * p * 8
        return Cost(
            n * p * 8.0,
            n * p * 16.0,
            3.0 * n * p * 8 + copies,
            prepare_products=float(n**3),
            prepare_copied=copies,
            pair_products=float(n * n * p),
        )

    def whitening(self) -> float:
        """The partial-whitening parameter (1: Procrustes, no whitening)."""
        return 1.0

    def prepare(self, reps: Any, labels: Sequence[Any] | None = None) -> list[np.ndarray]:
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

    def cross(self, a: list[np.ndarray], b: list[np.ndarray]) -> np.ndarray:
        """Procrustes similarity: the nuclear norm of each pair's cross-covariance.

        Parameters
        ----------
        a, b : list of numpy.ndarray
            Prepared stacks (``b is a``: a stack against itself).

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

    def cross(self, a: list[np.ndarray], b: list[np.ndarray]) -> np.ndarray:
        """The angular shape distance: the arc cosine of the similarity.

        Parameters
        ----------
        a, b : list of numpy.ndarray
            Prepared stacks (``b is a``: a stack against itself).

        Returns
        -------
        numpy.ndarray
            (Ka, Kb).
        """
        return np.arccos(self.similarity(a, b))


@dataclass(frozen=True)
class _Reduced:
    """One representation's held-out Procrustes form: its training rows centred (by their
    mean) and its principal axes, and its test rows centred by the same mean."""

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
        Training and test positions of the stimulus axis (an evaluation sets them). Without
        a split every stimulus is a training stimulus and only ``part="train"`` is defined.
    components : int
        The most dimensions kept (the paper: 64).
    part : {"test", "train"}
        Which score: held-out (default) or in-sample on the training stimuli.
    """

    name: ClassVar = "procrustes_cv"
    input_kind: ClassVar = "responses"
    symmetric: ClassVar = False
    citation: ClassVar = _SCHONEMANN + "\n" + _WILLIAMS
    description: ClassVar = (
        "orthogonal Procrustes fitted on training stimuli (PCA to min(64, p), unit norm), "
        "scored on test stimuli"
    )
    split: tuple[tuple[int, ...], tuple[int, ...]] | None = None
    components: int = 64
    part: str = "test"

    def __post_init__(self) -> None:
        ok = isinstance(self.components, int | np.integer) and not isinstance(self.components, bool)
        check_parameter(self, "components", ok and self.components >= 1, "an integer >= 1")
        check_parameter(self, "part", self.part in ("test", "train"), "'test' or 'train'")
        if self.split is not None:
            parts = tuple(np.asarray(p).ravel() for p in self.split)
            ints = len(parts) == 2 and all(p.dtype.kind in "iu" for p in parts)
            check_parameter(self, "split", ints, "two sequences of integer positions")
            train, test = (tuple(int(i) for i in p) for p in parts)
            check_parameter(
                self, "split", len(train) >= 2 and len(test) >= 1, "(>= 2 train, >= 1 test)"
            )
            object.__setattr__(self, "split", (train, test))
        object.__setattr__(self, "components", int(self.components))

    def prepare(self, reps: Any, labels: Sequence[Any] | None = None) -> list[_Reduced]:
        """Centre each representation by its training mean and find its principal axes.

        Parameters
        ----------
        reps : list of numpy.ndarray
            Response matrices (n_stimuli, p).
        labels : sequence, optional

        Returns
        -------
        list
        """
        xs = as_responses(reps, labels, self.name)
        labs = list(labels) if labels is not None else list(range(len(xs)))
        out = []
        for lab, x in zip(labs, xs, strict=True):
            train_rows, test_rows = self._rows(x.shape[0])
            mean = x[train_rows].mean(axis=0, keepdims=True)
            train, test = x[train_rows] - mean, x[test_rows] - mean
            _, s, vt = np.linalg.svd(train, full_matrices=False)
            if s.max(initial=0.0) <= 1e-12:
                raise InputError(
                    f"The '{self.name}' metric is undefined for constant responses. Got {lab!r}."
                )
            out.append(_Reduced(train, test, vt.T))
        return out

    def _rows(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        if self.split is None:
            if self.part == "test":
                raise InputError(
                    "procrustes_cv scores held-out stimuli: give split=(train, test) "
                    "positions (an evaluation sets them from its split), or part='train'."
                )
            return np.arange(n), np.arange(0)
        train, test = (np.asarray(p, dtype=np.intp) for p in self.split)
        if max(train.max(), test.max()) >= n:
            raise InputError(
                f"The 'split' of {self.name} names positions up to "
                f"{int(max(train.max(), test.max()))} for {n} stimuli."
            )
        return train, test

    def cross(self, a: list[_Reduced], b: list[_Reduced]) -> np.ndarray:
        """Held-out (or training) Procrustes score of every (a_i, b_j) pair.

        Parameters
        ----------
        a, b : list
            Prepared stacks.

        Returns
        -------
        numpy.ndarray
            (Ka, Kb).
        """
        return np.array([[self._pair(x, y) for y in b] for x in a], dtype=np.float64)

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
