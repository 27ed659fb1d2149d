"""The planner's cost declarations: one per metric class, found through the class hierarchy."""

from __future__ import annotations

import math
from dataclasses import fields

import pytest

from crossalign.engine.costs import Cost, metric_cost
from crossalign.metrics import METRICS, get_metric
from crossalign.metrics.cka import CKA


@pytest.mark.parametrize("name", sorted(METRICS.names()))
def test_every_metric_declares_a_finite_non_negative_cost(name):
    cost = metric_cost(get_metric(name), 50, 20)
    for f in fields(Cost):
        value = getattr(cost, f.name)
        if f.name != "spillable":
            assert math.isfinite(value) and value >= 0, (name, f.name, value)
    assert cost.input_bytes > 0 and cost.prepared_bytes > 0


def test_spearman_adds_ranking_to_pearsons_cost_and_kendall_sorts_instead_of_products():
    n, p = 40, 7
    pearson, spearman = (
        metric_cost(get_metric("pearson"), n, p),
        metric_cost(get_metric("spearman"), n, p),
    )
    assert spearman.prepare_ranked == n * (n - 1) // 2 == 780 and pearson.prepare_ranked == 0
    assert spearman.pair_products == pearson.pair_products == 780
    kendall = metric_cost(get_metric("kendall_taua"), n, p)
    assert kendall.pair_products == 0 and kendall.pair_ranked == 1.5 * 780


def test_a_subclass_inherits_its_parents_cost_and_may_declare_its_own():
    class MyCKA(CKA):
        pass

    n, p = 30, 500
    assert metric_cost(MyCKA(), n, p) == metric_cost(CKA(), n, p)
    assert metric_cost(CKA(), n, p).prepared_bytes == n * n * 8  # a Gram matrix, not n x p

    class Cheap(CKA):
        pass

    metric_cost.register(Cheap)(lambda metric, n, p: Cost(1.0, 2.0, 3.0))
    assert metric_cost(Cheap(), n, p) == Cost(1.0, 2.0, 3.0)


def test_predictivity_cost_follows_its_folds_and_split():
    m = get_metric("predictivity")
    full = metric_cost(m, 100, 50)
    split = (tuple(range(80)), tuple(range(80, 100)))
    held = metric_cost(get_metric("predictivity", test="train-fitted", split=split), 100, 50)
    assert held.pair_products < full.pair_products  # folds drawn from 80 training stimuli
    n_tr = 100 * (m.folds - 1) / m.folds
    assert full.pair_products == pytest.approx(m.folds * len(m.alphas) * n_tr * (n_tr + 1) / 2)
