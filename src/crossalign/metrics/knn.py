"""Mutual k-nearest-neighbour alignment (Huh et al. 2024, ICML, "The Platonic
Representation Hypothesis").

For each stimulus, its k nearest neighbours (cosine similarity of the stimulus' response
patterns, the stimulus itself excluded) are found in each representation; the alignment is
the mean over stimuli of the fraction of neighbours the two representations share. It lies in
[0, 1]; two unrelated representations score about k / (n - 1).

Preparation stores each representation's neighbour sets as a binary n x n matrix; all pairs
are then one product of those matrices' flattened vectors. Ties in similarity are broken by
stimulus order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from crossalign.compute.context import Context
from crossalign.errors import InputError
from crossalign.metrics._responses import as_responses
from crossalign.metrics.base import Metric, check_parameter

__all__ = ["MutualKNN"]

_HUH = """@inproceedings{huh2024platonic,
  title={The Platonic Representation Hypothesis},
  author={Huh, Minyoung and Cheung, Brian and Wang, Tongzhou and Isola, Phillip},
  booktitle={International Conference on Machine Learning (ICML)}, year={2024}}"""


def neighbours(x: np.ndarray, k: int) -> np.ndarray:
    """Indices (n, k) of each stimulus' k nearest neighbours by cosine similarity."""
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    z = x / np.where(norms > 0, norms, 1.0)
    sim = z @ z.T
    np.fill_diagonal(sim, -np.inf)
    # stable sort of -sim: ties keep stimulus order
    return np.argsort(-sim, axis=1, kind="stable")[:, :k]


@dataclass(frozen=True)
class _Neighbours:
    matrix: np.ndarray  # (K, n*n) binary neighbour indicators
    n_k: int  # n stimuli x k neighbours


@dataclass(frozen=True)
class MutualKNN(Metric):
    """Mutual k-nearest-neighbour alignment (Huh et al. 2024): the mean share of each stimulus's
    ``k`` nearest neighbours (cosine similarity) that the two representations have in common.

    Parameters
    ----------
    k : int
        Neighbours per stimulus (>= 1, and below the number of stimuli).
    """

    name: ClassVar = "mutual_knn"
    input_kind: ClassVar = "responses"
    symmetric: ClassVar = True
    citation: ClassVar = _HUH
    description: ClassVar = "mutual k-nearest-neighbour alignment (cosine neighbours)"
    k: int = 10

    def __post_init__(self) -> None:
        ok = isinstance(self.k, int | np.integer) and not isinstance(self.k, bool) and self.k >= 1
        check_parameter(self, "k", ok, "a positive integer")
        object.__setattr__(self, "k", int(self.k))

    def neighbours(self, n: int) -> int:
        """The number of neighbours on ``n`` stimuli (``k``, which must be below ``n``).

        Parameters
        ----------
        n : int
            The number of stimuli.

        Returns
        -------
        int
        """
        if not self.k <= n - 1:
            raise InputError(
                f"The 'k' parameter of mutual_knn must be an integer in [1, n_stimuli - 1 = "
                f"{n - 1}]. Got {self.k!r}."
            )
        return self.k

    def prepare(
        self, reps: Any, labels: Sequence[Any] | None = None, *, ctx: Context
    ) -> _Neighbours:
        """Each representation's k nearest neighbours (cosine), as indicator rows.

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
        xs = as_responses(reps, labels, self.name)
        n = xs[0].shape[0]
        k = self.neighbours(n)
        # binary neighbour matrices; float32 counts are exact up to 2^24 shared neighbours
        out = np.zeros((len(xs), n, n), dtype=np.float32)
        rows = np.repeat(np.arange(n), k)
        for i, x in enumerate(xs):
            out[i, rows, neighbours(x, k).ravel()] = 1.0
        return _Neighbours(out.reshape(len(xs), n * n), n * k)

    def cross(self, a: _Neighbours, b: _Neighbours, *, ctx: Context) -> np.ndarray:
        """The share of neighbours two representations have in common.

        Parameters
        ----------
        a, b : object
            Prepared stacks (``b is a``: a stack against itself).
        ctx : Context
            The execution context (backend, precision, memories).

        Returns
        -------
        numpy.ndarray
            (Ka, Kb).
        """
        if a.n_k != b.n_k:
            raise InputError("mutual_knn: both sides must use the same stimuli and k.")
        shared = a.matrix @ a.matrix.T if a is b else a.matrix @ b.matrix.T
        return shared.astype(np.float64) / a.n_k
