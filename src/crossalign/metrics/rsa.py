"""RSA comparators: how similar are two RDMs?

All operate on the strict upper triangles of RDMs and follow rsatoolbox's definitions
(Nili et al. 2014, PLoS Comput. Biol. 10:e1003553; Schütt et al. 2023, eLife 12:e82566):

``spearman``      Pearson correlation of the average-tie ranks.
``pearson``       Pearson correlation.
``cosine``        cosine similarity (no centring).
``kendall_taua``  Kendall's tau-a: (concordant - discordant) / (m (m-1) / 2), ties count zero.

Spearman, Pearson and cosine prepare each RDM once (rank, centre, scale to unit norm) and score
all pairs with one matrix product. Kendall's tau-a has no inner-product form; it is computed
per pair in O(m log m) from scipy's tau-b and each RDM's tie counts, which are prepared once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from scipy import stats

from crossalign.compute.context import Context
from crossalign.errors import InputError
from crossalign.metrics.base import Metric, unit_inner_products

__all__ = ["Cosine", "KendallTauA", "Pearson", "Spearman"]

_NILI = """@article{nili2014toolbox,
  title={A toolbox for representational similarity analysis},
  author={Nili, Hamed and Wingfield, Cai and Walther, Alexander and Su, Li and
          Marslen-Wilson, William and Kriegeskorte, Nikolaus},
  journal={PLoS Computational Biology}, volume={10}, number={4}, pages={e1003553}, year={2014}}"""

_KRIEGESKORTE = """@article{kriegeskorte2008rsa,
  title={Representational similarity analysis -- connecting the branches of systems neuroscience},
  author={Kriegeskorte, Nikolaus and Mur, Marieke and Bandettini, Peter},
  journal={Frontiers in Systems Neuroscience}, volume={2}, pages={4}, year={2008}}"""


def _labels(labels: Sequence[Any] | None, k: int) -> list[Any]:
    return list(labels) if labels is not None else list(range(k))


def _check_vectors(vectors: np.ndarray) -> np.ndarray:
    v = np.asarray(vectors, dtype=np.float64)
    if v.ndim != 2 or v.shape[1] < 2:
        raise InputError(
            "RSA comparators take a stack of RDM upper-triangle vectors (K, m) with m >= 2. "
            f"Got an array of shape {v.shape} instead."
        )
    return v


def _unit(
    v: np.ndarray,
    labels: Sequence[Any] | None,
    name: str,
    what: str,
    *,
    inplace: bool = False,
    bounded: bool = False,
) -> np.ndarray:
    """``v`` scaled to unit row norms; ``inplace`` only for arrays this module created;
    ``bounded`` for values known to be small (centred ranks), whose squares cannot overflow."""
    if bounded:
        top = float(v.shape[1])
    else:
        peak = np.maximum(v.max(axis=1, initial=0.0), -v.min(axis=1, initial=0.0))
        top = float(peak.max(initial=0.0))
        if np.isfinite(top) and top > 1e150:  # squares would overflow
            v = v / np.where(peak > 0, peak, 1.0)[:, None]
            inplace, top = True, 1.0
    norms = np.sqrt(np.einsum("ij,ij->i", v, v))
    bad = norms <= 1e-12 * max(top, 1.0) * np.sqrt(v.shape[1])
    if bad.any():
        labs = _labels(labels, len(v))
        raise InputError(
            f"The '{name}' comparison is undefined for an RDM whose dissimilarities are all "
            f"{what}. Got {int(bad.sum())} such RDM(s), e.g. {labs[int(np.argmax(bad))]!r}. "
            "Expected RDMs with varying dissimilarities."
        )
    if not inplace:
        return v / norms[:, None]
    v /= norms[:, None]
    return v


@dataclass(frozen=True)
class _InnerProduct(Metric):
    """Comparators of the form <f(a), f(b)> with f a per-RDM transform to unit norm."""

    input_kind: ClassVar = "rdm"
    symmetric: ClassVar = True

    backends: ClassVar = ("numpy", "torch")

    def cross(self, a: np.ndarray, b: np.ndarray, *, ctx: Context) -> np.ndarray:
        return unit_inner_products(a, b, ctx)


@dataclass(frozen=True)
class Spearman(_InnerProduct):
    name: ClassVar = "spearman"
    citation: ClassVar = _NILI
    description: ClassVar = "Spearman rank correlation of RDM upper triangles (average ties)"

    def pool_inputs(self, reps: np.ndarray) -> np.ndarray:
        """Average-tie ranks (what Spearman compares).

        Parameters
        ----------
        reps : numpy.ndarray
            RDM vectors (K, m).

        Returns
        -------
        numpy.ndarray
        """
        return stats.rankdata(_check_vectors(reps), axis=1, method="average")

    def prepare(
        self, reps: np.ndarray, labels: Sequence[Any] | None = None, *, ctx: Context
    ) -> np.ndarray:
        """Average-tie ranks, centred and scaled to unit norm, on the current backend.

        Parameters
        ----------
        reps : numpy.ndarray
        labels : sequence, optional
            The representations' labels, for error messages.
        ctx : Context
            The execution context (backend, precision, memories).

        Returns
        -------
        numpy.ndarray
        """
        v = _check_vectors(reps)
        r = ctx.backend.rank(v, np.empty_like(v))
        r -= (v.shape[1] + 1) / 2.0  # average ranks of 1..m always have mean (m + 1) / 2
        return _unit(r, labels, self.name, "tied (a constant RDM)", inplace=True, bounded=True)


@dataclass(frozen=True)
class Pearson(_InnerProduct):
    name: ClassVar = "pearson"
    citation: ClassVar = _KRIEGESKORTE
    description: ClassVar = "Pearson correlation of RDM upper triangles"

    def pool_inputs(self, reps: np.ndarray) -> np.ndarray:
        """Vectors standardised (what Pearson compares).

        Parameters
        ----------
        reps : numpy.ndarray
            RDM vectors (K, m).

        Returns
        -------
        numpy.ndarray
        """
        v = _check_vectors(reps)
        return (v - v.mean(axis=1, keepdims=True)) / v.std(axis=1, keepdims=True)

    def prepare(
        self, reps: np.ndarray, labels: Sequence[Any] | None = None, *, ctx: Context
    ) -> np.ndarray:
        """Vectors centred and scaled to unit norm.

        Parameters
        ----------
        reps : numpy.ndarray
        labels : sequence, optional
            The representations' labels, for error messages.
        ctx : Context
            The execution context (backend, precision, memories).

        Returns
        -------
        numpy.ndarray
        """
        v = _check_vectors(reps)
        v = v - v.mean(axis=1, keepdims=True)
        return _unit(v, labels, self.name, "equal (a constant RDM)", inplace=True)


@dataclass(frozen=True)
class Cosine(_InnerProduct):
    name: ClassVar = "cosine"
    citation: ClassVar = _NILI
    description: ClassVar = "cosine similarity of RDM upper triangles (no centring)"

    def pool_inputs(self, reps: np.ndarray) -> np.ndarray:
        """Vectors scaled to unit root mean square (what cosine compares).

        Parameters
        ----------
        reps : numpy.ndarray
            RDM vectors (K, m).

        Returns
        -------
        numpy.ndarray
        """
        v = _check_vectors(reps)
        return v / np.sqrt(np.mean(v**2, axis=1, keepdims=True))

    def prepare(
        self, reps: np.ndarray, labels: Sequence[Any] | None = None, *, ctx: Context
    ) -> np.ndarray:
        """Vectors scaled to unit norm.

        Parameters
        ----------
        reps : numpy.ndarray
        labels : sequence, optional
            The representations' labels, for error messages.
        ctx : Context
            The execution context (backend, precision, memories).

        Returns
        -------
        numpy.ndarray
        """
        return _unit(_check_vectors(reps), labels, self.name, "zero")


@dataclass(frozen=True)
class _TauPrepared:
    vectors: np.ndarray
    untied: np.ndarray  # number of entry pairs not tied, per RDM: m(m-1)/2 - ties


@dataclass(frozen=True)
class KendallTauA(Metric):
    name: ClassVar = "kendall_taua"
    input_kind: ClassVar = "rdm"
    symmetric: ClassVar = True
    citation: ClassVar = _NILI
    description: ClassVar = (
        "Kendall's tau-a of RDM upper triangles (ties count zero; recommended for "
        "categorical model RDMs by Nili et al. 2014)"
    )

    def pool_inputs(self, reps: np.ndarray) -> np.ndarray:
        """Average-tie ranks (what tau-a compares).

        Parameters
        ----------
        reps : numpy.ndarray
            RDM vectors (K, m).

        Returns
        -------
        numpy.ndarray
        """
        return stats.rankdata(_check_vectors(reps), axis=1, method="average")

    def prepare(
        self, reps: np.ndarray, labels: Sequence[Any] | None = None, *, ctx: Context
    ) -> _TauPrepared:
        """Vectors with their tie counts, computed once.

        Parameters
        ----------
        reps : numpy.ndarray
        labels : sequence, optional
            The representations' labels, for error messages.
        ctx : Context
            The execution context (backend, precision, memories).

        Returns
        -------
        object
        """
        v = _check_vectors(reps)
        m = v.shape[1]
        total = m * (m - 1) // 2
        untied = np.empty(len(v), dtype=np.float64)
        for i, row in enumerate(v):
            _, counts = np.unique(row, return_counts=True)
            untied[i] = total - float((counts * (counts - 1) // 2).sum())
        return _TauPrepared(v, untied)

    def cross(self, a: _TauPrepared, b: _TauPrepared, *, ctx: Context) -> np.ndarray:
        """Kendall's tau-a per pair, from scipy's tau-b and the prepared tie counts.

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
        m = a.vectors.shape[1]
        total = m * (m - 1) / 2
        out = np.empty((len(a.vectors), len(b.vectors)))
        for i, x in enumerate(a.vectors):
            for j, y in enumerate(b.vectors):
                if a is b and j < i:
                    out[i, j] = out[j, i]
                    continue
                if a.untied[i] == 0 or b.untied[j] == 0:
                    out[i, j] = 0.0  # a constant vector has no concordant or discordant pair
                    continue
                # tau_b = (C - D) / sqrt(untied_x * untied_y)  =>  tau_a = (C - D) / total
                tau_b = stats.kendalltau(x, y, variant="b").statistic
                out[i, j] = tau_b * np.sqrt(a.untied[i] * b.untied[j]) / total
        return np.clip(out, -1.0, 1.0, out=out)
