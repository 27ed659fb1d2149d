"""What scoring with each metric costs, for the planner: memory per representation and work
per preparation and per pair, declared per metric class.

The metrics hold their algorithms only; the planner (:mod:`crossalign.engine.plan`) asks
:func:`metric_cost`, which dispatches on the metric's class (a metric from another package
declares its cost with ``@metric_cost.register(MyMetric)``). A metric with no declaration of its
own gets the default, which suits an RDM metric scored by one inner product per pair or a
response metric prepared by an ``n x n x p`` product and scored by ``n x n`` ones (CKA-like).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace

from crossalign.metrics.base import Metric
from crossalign.metrics.cka import CKA, DebiasedCKA, RbfCKA
from crossalign.metrics.knn import MutualKNN
from crossalign.metrics.predictivity import Predictivity
from crossalign.metrics.rsa import KendallTauA, Spearman
from crossalign.metrics.shape import Procrustes, ShapeMetric
from crossalign.metrics.versa import Versa

__all__ = ["Cost", "metric_cost"]


@dataclass(frozen=True)
class Cost:
    """What scoring with a metric costs, as the planner sees it.

    For ``n`` stimuli and representations of ``p`` units (or RDM vectors of length
    ``n (n - 1) / 2``): bytes of one representation as metric input and as prepared, the fixed
    working set of one preparation and one product, and the work of preparing one
    representation and of scoring one pair, as multiply-adds (``*_products``), ranked
    elements (``*_ranked``) and copied bytes (``*_copied``), which the planner turns into
    seconds with rates measured on the machine.

    Parameters
    ----------
    input_bytes, prepared_bytes : float
        One representation as metric input, and as prepared.
    working_bytes : float
        The fixed working set of one preparation and one product.
    prepare_products, prepare_ranked, prepare_copied : float
        Work of preparing one representation.
    pair_products, pair_ranked : float
        Work of scoring one pair.
    spillable : bool
        Whether the prepared form is one array per block, so a streamed run keeps each
        prepared block on disk instead of preparing it again.
    """

    input_bytes: float
    prepared_bytes: float
    working_bytes: float
    prepare_products: float = 0.0
    prepare_ranked: float = 0.0
    prepare_copied: float = 0.0
    pair_products: float = 0.0
    pair_ranked: float = 0.0
    spillable: bool = False


def _responses_cost(n: int, p: int, prepared: float, working: float, prepare: float) -> Cost:
    """A response metric prepared by ``prepare`` multiply-adds and scored by ``n x n``."""
    copies = 3.0 * n * p * 8
    return Cost(
        n * p * 8.0,
        prepared,
        working + copies,
        prepare_products=prepare,
        prepare_copied=copies,
        pair_products=float(n * n),
    )


@functools.singledispatch
def metric_cost(metric: Metric, n: int, p: int) -> Cost:
    """The cost of scoring with ``metric`` on ``n`` stimuli and ``p`` units (see :class:`Cost`).

    Parameters
    ----------
    metric : Metric
    n : int
        Stimuli.
    p : int
        Units per representation.

    Returns
    -------
    Cost
    """
    if metric.input_kind == "rdm":
        vec = n * (n - 1) / 2
        working = 9.0 * n * n + 8 * vec + 3.0 * n * p * 8
        return Cost(vec * 8, vec * 8, working, pair_products=vec, spillable=True)
    return _responses_cost(n, p, n * p * 16.0, 3.0 * n * p * 8, float(n * n * p))


@metric_cost.register
def _spearman_cost(metric: Spearman, n: int, p: int) -> Cost:
    """RDM inner products, plus ranking each RDM (whose working set on the backend the
    planner adds: :meth:`crossalign.compute.backends.Backend.rank_bytes`)."""
    return replace(
        metric_cost.dispatch(Metric)(metric, n, p), prepare_ranked=float(n * (n - 1) // 2)
    )


@metric_cost.register
def _kendall_cost(metric: KendallTauA, n: int, p: int) -> Cost:
    """Sorting copies of each pair's RDM vectors: no product to batch."""
    base = metric_cost.dispatch(Metric)(metric, n, p)
    vec = n * (n - 1) / 2
    return replace(
        base,
        working_bytes=base.working_bytes + 12 * vec * 8,
        pair_products=0.0,
        pair_ranked=1.5 * vec,
    )


@metric_cost.register(CKA)
@metric_cost.register(DebiasedCKA)
@metric_cost.register(RbfCKA)
def _gram_cost(metric: Metric, n: int, p: int) -> Cost:
    """A centred n x n Gram matrix per representation; one inner product per pair."""
    return _responses_cost(n, p, n * n * 8.0, 3.0 * n * n * 8, float(n * n * p))


@metric_cost.register
def _knn_cost(metric: MutualKNN, n: int, p: int) -> Cost:
    """A distance matrix per representation, neighbour sets compared per pair."""
    return _responses_cost(n, p, n * n * 4.0, 3.0 * n * n * 8, float(n * n * p))


@metric_cost.register(Procrustes)
@metric_cost.register(ShapeMetric)
def _nuclear_cost(metric: Metric, n: int, p: int) -> Cost:
    """A whitening per representation; per pair a cross-covariance and its singular values."""
    return replace(
        _responses_cost(n, p, n * p * 16.0, 3.0 * n * p * 8, float(n**3)),
        pair_products=float(n * n * p),
    )


@metric_cost.register
def _versa_cost(metric: Versa, n: int, p: int) -> Cost:
    """Per pair an SVD of the training rows per inner fold and alpha path."""
    per_pair = (metric.folds + 1) * (n * min(n, p) ** 2 + n * n * p)
    return Cost(n * p * 8.0, n * p * 8.0, 4.0 * n * p * 8, pair_products=float(per_pair))


@metric_cost.register
def _predictivity_cost(metric: Predictivity, n: int, p: int) -> Cost:
    """Per fold: every target's two symmetric n x n matrices (one packed triangle each on
    NumPy) and its test cross matrix, and per source one spectrum and one n x n matrix per
    alpha (symmetric products); per pair one inner product per alpha. With a split, folds are
    drawn from its training stimuli and score its test stimuli."""
    folds, n_alpha = metric.folds, len(metric.alphas)
    fitted = n if metric.split is None else min(n, len(metric.split[0]))
    n_tr = fitted * (folds - 1) / folds
    n_te = n - n_tr if metric.split is None else min(n, len(metric.split[1]))
    r = min(n_tr, p)
    per_target = (n_tr * (n_tr + 1) + n_te * n_tr) * 8.0
    return Cost(
        n * p * 8.0,
        n * p * 8.0 + per_target,
        (n_alpha * n_tr * (n_tr + 1) / 2 + 3 * n_tr * n_tr) * 8.0 + 3.0 * n * p * 8,
        prepare_products=folds * (n_alpha * (n_tr**2 * r + n_tr**3) / 2 + 2 * n_tr**2 * p),
        prepare_copied=folds * n_alpha * n_tr * n_tr * 8.0,
        pair_products=folds * n_alpha * n_tr * (n_tr + 1) / 2,
    )
