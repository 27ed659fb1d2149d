"""`crossalign bench time`: every step timed, the RDM movies equal to rsatoolbox's."""

import pytest

pytest.importorskip("rsatoolbox")


@pytest.mark.slow  # rsatoolbox's movies take a second
def test_bench_time_reports_every_step_and_equals_rsatoolbox():
    from crossalign.bench.temporal import bench_time

    out = bench_time("small", n_bootstrap=50)
    assert out["max_abs_diff"] < 1e-10
    for key in (
        "rdm_movies_s",
        "cross_region_matrices_s",
        "bootstrap_s",
        "rsatoolbox_rdm_movies_s",
    ):
        assert out[key] > 0
    assert out["rdm_movies_peak_mb"] > 0 and "200 time points" not in out["workload"]
