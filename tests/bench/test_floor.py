"""The predictivity floor: a run's recorded work, priced product by product."""

import numpy as np
import pytest

import crossalign as ca
from crossalign.bench.floor import bench_predictivity_floor, price_floor
from crossalign.compute.context import current_context
from crossalign.compute.ridge import ChunkWork, recording


def test_recording_keeps_every_chunk_with_its_shapes():
    rng = np.random.default_rng(0)
    reps = [rng.normal(size=(50, p)) for p in (4, 70, 9)]
    metric = ca.get_metric("predictivity")
    prepared = metric.prepare(reps, ctx=current_context())
    with recording() as work:
        metric.cross(prepared, prepared, ctx=current_context())
    metric.cross(prepared, prepared, ctx=current_context())  # outside the block: not recorded
    assert len(work) == 5  # one chunk per fold
    assert [c.fills_targets for c in work] == [True] * 5
    assert {(c.n_train, c.n_test, c.n_alphas) for c in work} == {(40, 10, 19)}
    # ranks: the centred training matrix (40 stimuli) has rank min(39, units)
    assert work[0].sources == ((4, 4), (70, 39), (9, 9))
    assert work[0].targets == (4, 70, 9)
    assert all(1 <= m <= 3 for c in work for m in c.maps)  # 3 targets: at most 3 alphas


def test_the_floor_counts_each_product_as_often_as_the_work_needs_it(monkeypatch):
    from crossalign.bench import floor

    monkeypatch.setattr(floor, "_best", lambda func, repeats: 1.0)  # every product: 1 s
    one = ChunkWork(30, 8, 19, ((10, 10), (50, 29)), (5, 7), (1, 3), True)
    single = price_floor([one])
    # per source: Gram + eigh + test projection; 19 alphas x (U phi U^T, F^T F)
    assert single["spectrum"] == 6 and single["loo_matrices"] == 2 * 19 * 2
    assert single["loo_errors"] == 1  # the chunk's stacked product
    assert single["held_out"] == 4 * 2 + 2  # 4 maps x (map, P^T P) + the two stacked products
    assert single["targets"] == 2 * 3  # per target: two symmetric products and a cross product
    double = price_floor([one, ChunkWork(30, 8, 19, ((10, 10),), (5, 7), (0,), False)])
    assert double["loo_matrices"] == 3 * 19 * 2 and double["targets"] == 6
    assert double["floor_s"] == sum(
        v for k, v in double.items() if k not in ("floor_s", "shapes_timed")
    )
    # the first source's penalties remembered: its E and the targets' Grams are not needed
    reused = ChunkWork(30, 8, 19, ((10, 10), (50, 29)), (5, 7), (1, 3), True, loo=(False, True))
    part = price_floor([reused])
    assert part["loo_matrices"] == 19 * 2 and part["loo_errors"] == 1
    none = ChunkWork(30, 8, 19, ((10, 10),), (5, 7), (1,), True, loo=(False,), grams=False)
    nothing = price_floor([none])
    assert nothing.get("loo_matrices", 0) == 0 and nothing.get("loo_errors", 0) == 0
    assert nothing["targets"] == 2 * 2  # per target: the weighted Gram and the cross product


def test_bench_predictivity_floor_reports_both_times_and_their_ratio():
    out = bench_predictivity_floor("small")
    assert out["ratio_to_floor"] == pytest.approx(out["crossalign_s"] / out["floor_s"])
    assert out["prediction_maps"] >= 8 * 5  # at least one map per source and fold
