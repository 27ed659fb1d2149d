"""Centred kernel alignment (CKA) on raw responses.

``cka``           linear CKA (Kornblith et al. 2019, ICML): with centred Gram matrices
                  ``K = Xc Xc^T``, ``CKA = <K, L>_F / (||K||_F ||L||_F)`` (the biased HSIC
                  estimator; the centring constants cancel).
``cka_debiased``  the same with the unbiased HSIC estimator (Song et al. 2012, JMLR 13:1393),
                  written as the inner product of U-centred Gram matrices (Székely & Rizzo
                  2014, Ann. Stat. 42:2382): free of the bias that makes linear CKA grow with
                  dimension for unrelated data; expectation ~0 for independent data.
``cka_rbf``       CKA with Gaussian kernels ``exp(-||x_i - x_j||^2 / (2 sigma^2))``, sigma a
                  fraction (``bandwidth``) of the median pairwise distance.

Each representation is prepared once (its normalised, centred Gram matrix flattened); all pairs
are then one matrix product of those vectors.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from crossalign.compute.context import Context
from crossalign.compute.rdm import unit_rows
from crossalign.errors import InputError
from crossalign.metrics._responses import as_responses, centre
from crossalign.metrics.base import Metric, check_parameter, is_number, unit_inner_products

__all__ = ["CKA", "DebiasedCKA", "RbfCKA", "u_centre"]

_KORNBLITH = """@inproceedings{kornblith2019similarity,
  title={Similarity of Neural Network Representations Revisited},
  author={Kornblith, Simon and Norouzi, Mohammad and Lee, Honglak and Hinton, Geoffrey},
  booktitle={International Conference on Machine Learning (ICML)}, pages={3519--3529},
  year={2019}}"""

_SONG = """@article{song2012feature,
  title={Feature Selection via Dependence Maximization},
  author={Song, Le and Smola, Alex and Gretton, Arthur and Bedo, Justin and Borgwardt, Karsten},
  journal={Journal of Machine Learning Research}, volume={13}, pages={1393--1434}, year={2012}}"""


def _centred_gram(k: np.ndarray) -> np.ndarray:
    """H K H with H = I - 11^T/n."""
    row = k.mean(axis=0, keepdims=True)
    return k - row - row.T + row.mean()


def u_centre(k: np.ndarray) -> np.ndarray:
    """U-centring (Székely & Rizzo 2014): zero diagonal, and for i != j
    ``K_ij - r_i/(n-2) - r_j/(n-2) + s/((n-1)(n-2))`` with r the row sums and s the total of
    K with its diagonal set to zero. ``sum_{i != j} U(K)_ij U(L)_ij / (n (n-3))`` is the
    unbiased HSIC estimator.

    Parameters
    ----------
    k : numpy.ndarray
        A Gram matrix (n, n), or a stack (..., n, n).

    Returns
    -------
    numpy.ndarray
    """
    n = k.shape[0]
    k = k.copy()
    np.fill_diagonal(k, 0.0)
    r = k.sum(axis=1)
    s = r.sum()
    u = k - r[:, None] / (n - 2) - r[None, :] / (n - 2) + s / ((n - 1) * (n - 2))
    np.fill_diagonal(u, 0.0)
    return u


@dataclass(frozen=True)
class _GramMetric(Metric):
    input_kind: ClassVar = "responses"
    symmetric: ClassVar = True
    min_stimuli: ClassVar[int] = 3

    backends: ClassVar = ("numpy", "torch")

    def gram(self, x: np.ndarray, ctx: Context) -> np.ndarray:
        """The kernel matrix of one representation.

        Parameters
        ----------
        x : numpy.ndarray
            (n_stimuli, n_units).
        ctx : Context
            Where the product runs, in its precision.

        Returns
        -------
        numpy.ndarray
            (n_stimuli, n_stimuli).
        """
        return ctx.gram(centre(x))

    def transform(self, k: np.ndarray) -> np.ndarray:
        """The centring applied to a kernel matrix before the HSIC inner product.

        Parameters
        ----------
        k : numpy.ndarray
            (n, n).

        Returns
        -------
        numpy.ndarray
        """
        return _centred_gram(k)

    def prepare(
        self, reps: Any, labels: Sequence[Any] | None = None, *, ctx: Context
    ) -> np.ndarray:
        xs = as_responses(reps, labels, self.name, min_stimuli=self.min_stimuli)
        n = xs[0].shape[0]
        out = np.empty((len(xs), n * n))
        for i, x in enumerate(xs):
            out[i] = self.transform(self.gram(x, ctx)).ravel()
        rows, flat = unit_rows(out, atol=1e-12 * max(float(np.abs(out).max(initial=0.0)), 1e-300))
        if flat.any():
            labs = list(labels) if labels is not None else list(range(len(out)))
            raise InputError(
                f"The '{self.name}' metric is undefined for a representation whose centred Gram "
                f"matrix is zero (constant responses). Got {labs[int(np.argmax(flat))]!r}."
            )
        return rows

    def cross(self, a: np.ndarray, b: np.ndarray, *, ctx: Context) -> np.ndarray:
        return unit_inner_products(a, b, ctx)


@dataclass(frozen=True)
class CKA(_GramMetric):
    name: ClassVar = "cka"
    citation: ClassVar = _KORNBLITH
    description: ClassVar = "linear centred kernel alignment (biased HSIC)"


@dataclass(frozen=True)
class DebiasedCKA(_GramMetric):
    name: ClassVar = "cka_debiased"
    citation: ClassVar = _KORNBLITH + "\n" + _SONG
    description: ClassVar = "linear CKA with the unbiased HSIC estimator (~0 for independent data)"
    min_stimuli: ClassVar = 4

    def transform(self, k: np.ndarray) -> np.ndarray:
        """U-centring of a kernel matrix (:func:`u_centre`): the unbiased HSIC estimator.

        Parameters
        ----------
        k : numpy.ndarray
            (n, n).

        Returns
        -------
        numpy.ndarray
        """
        return u_centre(k)


@dataclass(frozen=True)
class RbfCKA(_GramMetric):
    """CKA with Gaussian (RBF) kernels (Kornblith et al. 2019).

    Parameters
    ----------
    bandwidth : float
        The kernel width as a fraction of the median distance between stimuli (> 0).
    """

    name: ClassVar = "cka_rbf"
    citation: ClassVar = _KORNBLITH
    description: ClassVar = "CKA with Gaussian kernels, bandwidth a fraction of the median distance"
    bandwidth: float = 1.0

    def __post_init__(self) -> None:
        ok = is_number(self.bandwidth) and self.bandwidth > 0 and np.isfinite(self.bandwidth)
        check_parameter(self, "bandwidth", ok, "a positive number (times the median distance)")
        object.__setattr__(self, "bandwidth", float(self.bandwidth))

    def gram(self, x: np.ndarray, ctx: Context) -> np.ndarray:
        """The Gaussian kernel matrix, with the bandwidth a multiple of the median distance.

        Parameters
        ----------
        x : numpy.ndarray
            (n_stimuli, n_units).
        ctx : Context
            Where the product runs, in its precision.

        Returns
        -------
        numpy.ndarray
            (n_stimuli, n_stimuli).
        """
        sq = np.sum(x * x, axis=1)
        d2 = np.maximum(sq[:, None] + sq[None, :] - 2.0 * ctx.gram(x), 0.0)
        np.fill_diagonal(d2, 0.0)
        iu = np.triu_indices(len(x), k=1)
        median = float(np.median(np.sqrt(d2[iu])))
        bandwidth = self.bandwidth
        if median == 0.0:
            raise InputError("cka_rbf is undefined when all stimuli evoke identical responses.")
        sigma = bandwidth * median
        return np.exp(-d2 / (2.0 * sigma**2))
