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


@pytest.mark.slow  # over 0.5 s: in make test, not the everyday subset
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


@pytest.mark.slow  # over 0.5 s: in make test, not the everyday subset
def test_bench_cortex_reports_time_memory_and_regions():
    out = bench_cortex("small")
    assert out["regions"] == 24 and out["cells"] == 96
    assert out["total_s"] > 0 and out["peak_rss_mb"] > 0
    assert -1 <= out["aps_mean"] <= 1 and set(out["equivalent"]) == {"score", "aps"}


@pytest.mark.slow  # over 0.5 s: in make test, not the everyday subset
def test_float32_storage_moves_scores_and_aps_by_less_than_1e_6():
    """The benchmark holds responses in float32 (half the memory) and computes in float64;
    rounding float64 responses to float32 moves every score and APS by < 1e-6 (2.2e-8
    measured here), and chooses the same layers."""
    brain, model = cortex_world("small")
    rng = np.random.default_rng(1)
    wide = {
        k: brain[k].values.astype(np.float64) + 1e-3 * rng.standard_normal(brain[k].values.shape)
        for k in brain
    }
    b64 = ca.BrainData.from_responses(wide, stimuli=brain.stimuli)
    b32 = ca.BrainData.from_responses(
        {k: v.astype(np.float32) for k, v in wide.items()}, stimuli=brain.stimuli, dtype=np.float32
    )
    for b in (b64, b32):
        b.attrs.update(brain.attrs)
    e64 = Evaluation.fit(model, b64, protocol="hoefling2026", seed=0)
    e32 = Evaluation.fit(model, b32, protocol="hoefling2026", seed=0)
    assert e64.layers == e32.layers
    diff = np.nanmax(np.abs(e64.values() - e32.values()))
    assert 0 < diff < 1e-6, diff
