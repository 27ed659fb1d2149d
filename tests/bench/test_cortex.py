"""The whole-cortex benchmark: its data carry the real HCP-MMP1 parcels and sizes, and the
streamed run (a memory budget far below the one-block need) gives the dense path's numbers."""

from __future__ import annotations

import numpy as np
import pytest

import crossalign as ca
from crossalign.bench.cortex import bench_cortex, cortex_world
from crossalign.engine.plan import estimate_bytes, plan_scores
from crossalign.evaluation.core import Evaluation

pytest.importorskip("nibabel")


def test_the_synthetic_brain_has_the_mmp1_parcels_and_their_sizes():
    brain, model = cortex_world("small")
    parcellation = ca.load_parcellation("hcp_mmp1")
    assert brain.regions == parcellation.regions[: len(brain.regions)]
    assert brain.attrs["parcellation"] == "hcp_mmp1"
    for region in brain.regions[:5]:
        width = brain[(brain.subjects[0], region)].values.shape[1]
        assert width == max(8, round(len(parcellation.members[region]) * 0.1))
    assert len(brain.attrs["split"]["train"]) == 60 and len(model) == 4


def test_the_streamed_analysis_equals_the_dense_one():
    brain, model = cortex_world("small")
    dense = Evaluation.fit(model, brain, protocol="hoefling2026", seed=0)
    train = brain.attrs["split"]["train"]
    need = estimate_bytes(model.subset_stimuli(train), brain.subset_stimuli(train), "pearson")
    with ca.options(memory_budget=need // 4):
        plan = plan_scores(model.subset_stimuli(train), brain.subset_stimuli(train), "pearson")
        assert plan.held and len(plan.column_blocks()) > 2
        streamed = Evaluation.fit(model, brain, protocol="hoefling2026", seed=0)
    assert streamed.layers == dense.layers
    np.testing.assert_allclose(
        streamed.layer_profile.values, dense.layer_profile.values, rtol=0, atol=1e-10
    )
    np.testing.assert_allclose(streamed.values(), dense.values(), rtol=0, atol=1e-10)


def test_bench_cortex_reports_time_memory_and_regions():
    out = bench_cortex("small")
    assert out["regions"] == 24 and out["cells"] == 96
    assert out["total_s"] > 0 and out["peak_rss_mb"] > 0
    assert -1 <= out["aps_mean"] <= 1 and set(out["equivalent"]) == {"score", "aps"}
