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

__all__ = ["Procrustes", "ShapeMetric"]

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
