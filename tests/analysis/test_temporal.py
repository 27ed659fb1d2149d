"""Time-resolved analysis: RDM movies against rsatoolbox's calc_rdm_movie, time courses against
per-time-point rsatoolbox comparisons, temporal generalisation and planted lags."""

import numpy as np
import pytest
from scipy import stats

from crossalign.analysis.temporal import (
    cross_region_movie,
    lag_profiles,
    latencies,
    rdm_movie,
    sliding_windows,
    temporal_generalisation,
    time_course,
    time_courses,
)
from crossalign.errors import InputError

rsatoolbox = pytest.importorskip("rsatoolbox")

N_COND, N_REP, N_CHAN, N_TIME = 20, 3, 60, 50


def _recording(seed=0):
    """20 conditions x 3 repetitions x 60 channels x 50 time points: a pattern that changes
    smoothly over time plus noise."""
    rng = np.random.default_rng(seed)
    drift = np.cumsum(rng.normal(size=(N_COND, N_CHAN, N_TIME)), axis=-1) / 5
    return drift[:, :, None, :] + rng.normal(size=(N_COND, N_CHAN, N_REP, N_TIME))


def _temporal_dataset(x):
    from rsatoolbox.data import TemporalDataset

    n, p, r, t = x.shape
    measurements = x.transpose(2, 0, 1, 3).reshape(r * n, p, t)  # rows: rep-major
    return TemporalDataset(
        measurements,
        obs_descriptors={"conds": np.tile(np.arange(n), r), "reps": np.repeat(np.arange(r), n)},
        time_descriptors={"time": np.arange(t) * 0.01},
    )


@pytest.mark.parametrize(
    ("ours", "theirs", "scale"),
    [("sqeuclidean", "euclidean", 1 / N_CHAN), ("correlation", "correlation", 1.0)],
)
def test_rdm_movies_equal_rsatoolbox(ours, theirs, scale):
    from rsatoolbox.rdm import calc_rdm_movie

    x = _recording()
    ref = calc_rdm_movie(_temporal_dataset(x), method=theirs, descriptor="conds")
    got = rdm_movie(x, ours) * scale
    assert got.shape == (N_TIME, N_COND * (N_COND - 1) // 2)
    np.testing.assert_allclose(got, ref.dissimilarities, rtol=0, atol=1e-10)


def test_crossnobis_movies_equal_rsatoolbox_with_repetitions_as_folds():
    from rsatoolbox.data.noise import prec_from_measurements
    from rsatoolbox.rdm import calc_rdm, calc_rdm_movie

    x = _recording(1)
    ds = _temporal_dataset(x)
    # one precision for every time point (rsatoolbox's noise=): the identity, then a given one
    plain = calc_rdm_movie(ds, method="crossnobis", descriptor="conds", cv_descriptor="reps")
    np.testing.assert_allclose(rdm_movie(x, "cv_euclidean"), plain.dissimilarities, atol=1e-10)
    flat = ds.time_as_observations("time")
    precision = prec_from_measurements(flat, obs_desc="conds", method="shrinkage_diag")
    given = calc_rdm_movie(
        ds, method="crossnobis", descriptor="conds", cv_descriptor="reps", noise=precision
    )
    got = rdm_movie(x, "crossnobis", noise=precision)
    np.testing.assert_allclose(got, given.dissimilarities, rtol=0, atol=1e-10)
    # the noise estimated at each time point equals rsatoolbox's per time slice
    for t in (0, 17, 49):
        ds_t = ds.split_time("time")[t].time_as_observations("time")
        prec_t = prec_from_measurements(ds_t, obs_desc="conds", method="shrinkage_diag")
        ref_t = calc_rdm(
            ds_t, method="crossnobis", descriptor="conds", cv_descriptor="reps", noise=prec_t
        )
        np.testing.assert_allclose(
            rdm_movie(x[..., t : t + 1], "crossnobis")[0], ref_t.dissimilarities[0], atol=1e-10
        )


def test_a_time_course_equals_per_time_point_rsatoolbox_comparisons_and_the_diagonal():
    from rsatoolbox.rdm import RDMs, compare

    x = _recording(2)
    movie = rdm_movie(x, "correlation")
    model = np.random.default_rng(3).normal(size=movie.shape[1])
    course = time_course(model, movie, metric="spearman")
    for t in range(0, N_TIME, 7):
        ref = compare(RDMs(model[None]), RDMs(movie[t][None]), method="spearman")[0, 0]
        assert abs(course[t] - ref) <= 1e-10
    other = rdm_movie(_recording(4), "correlation")
    general = temporal_generalisation(movie, other, metric="pearson")
    assert general.shape == (N_TIME, N_TIME)
    diagonal = time_course(movie, other, metric="pearson")
    np.testing.assert_allclose(np.diagonal(general), diagonal, rtol=0, atol=1e-12)
    assert abs(general[3, 40] - stats.pearsonr(movie[3], other[40])[0]) <= 1e-12


def test_a_planted_lag_peaks_at_its_lag():
    """Region B repeats region A's representation 4 bins later; C is unrelated."""
    rng = np.random.default_rng(5)
    n_time, lag = 40, 4
    latent = np.cumsum(rng.normal(size=(12, 30, n_time + lag)), axis=-1)
    a = latent[..., lag:] + 0.3 * rng.normal(size=(12, 30, n_time))
    b = latent[..., :n_time] + 0.3 * rng.normal(size=(12, 30, n_time))  # b(t + lag) = a(t)
    c = np.cumsum(rng.normal(size=(12, 30, n_time)), axis=-1)
    movies = {r: rdm_movie(v, "correlation") for r, v in {"A": a, "B": b, "C": c}.items()}
    profiles, regions, lags = lag_profiles(movies, 8, metric="pearson")
    assert regions == ["A", "B", "C"] and list(lags) == list(range(-8, 9))
    assert lags[np.argmax(profiles[0, 1])] == lag  # A at t matches B at t + 4
    assert lags[np.argmax(profiles[1, 0])] == -lag
    assert profiles[0, 1].max() > profiles[0, 2].max() + 0.3
    np.testing.assert_allclose(profiles[0, 0, 8], 1.0)  # a movie against itself, lag 0


def test_sliding_windows_average_the_bins_and_bad_input_names_the_argument():
    x = np.arange(2 * 3 * 10, dtype=float).reshape(2, 3, 10)
    w = sliding_windows(x, 4, 3)
    assert w.shape == (2, 3, 3)
    np.testing.assert_array_equal(w[..., 1], x[..., 3:7].mean(axis=-1))
    with pytest.raises(InputError, match=r"'window' argument \(11 bins\) is longer"):
        sliding_windows(x, 11)
    with pytest.raises(InputError, match=r"'step' argument must be a positive integer. Got 0"):
        sliding_windows(x, 2, 0)
    with pytest.raises(InputError, match=r"'crossnobis' distance needs repetitions"):
        rdm_movie(np.ones((4, 3, 5)), "crossnobis")
    with pytest.raises(InputError, match=r"must be \(stimulus, unit, time\)"):
        rdm_movie(np.ones((4, 3)), "correlation")
    with pytest.raises(InputError, match=r"same time points. Got 3 and 4"):
        time_course(np.ones((3, 6)), np.ones((4, 6)))


def test_the_cross_region_movie_equals_the_same_time_blocks_of_temporal_generalisation():
    movies = {
        r: rdm_movie(_recording(seed)[..., :12], "correlation") for seed, r in enumerate("ABC")
    }
    matrices, regions = cross_region_movie(movies, metric="spearman")
    assert matrices.shape == (12, 3, 3) and regions == ["A", "B", "C"]
    full = temporal_generalisation(np.concatenate(list(movies.values())), metric="spearman")
    for t in (0, 5, 11):
        block = full[t::12, t::12]  # region-major stacking: rows t, 12 + t, 24 + t
        np.testing.assert_allclose(matrices[t], block, rtol=0, atol=1e-12)
    np.testing.assert_allclose(np.diagonal(matrices, axis1=1, axis2=2), 1.0)


def test_latency_intervals_contain_the_planted_onset_and_peak():
    """Each subject's course rises from 0 at a planted onset (120 ms) to a peak (200 ms)."""
    rng = np.random.default_rng(8)
    times = np.arange(0, 0.5, 0.001)
    ramp = np.clip((times - 0.12) / 0.08, 0, None)
    bump = np.where(times <= 0.2, ramp, np.exp(-(times - 0.2) / 0.05))
    courses = bump[None] * rng.uniform(0.8, 1.2, size=(15, 1)) + 0.05 * rng.normal(size=(15, 500))
    lat = latencies(courses, times, fraction=0.5, n_bootstrap=500)
    assert lat.peak_ci[0] <= 0.2 <= lat.peak_ci[1]
    assert lat.onset_ci[0] <= 0.16 <= lat.onset_ci[1]  # half of the peak: 120 + 40 ms
    assert abs(lat.onset - 0.16) <= 0.01 and lat.peak_ci[1] - lat.peak_ci[0] < 0.1
    with pytest.raises(InputError, match=r"'times' argument must have 500 values"):
        latencies(courses, times[:10])


def test_time_courses_are_labelled_and_equal_each_pairs_time_course():
    rng = np.random.default_rng(9)
    movies = {(s, r): rdm_movie(_recording(10 * i + k)[..., :8], "correlation")
              for i, s in enumerate(("s1", "s2")) for k, r in enumerate(("V1", "IT"))}  # fmt: skip
    layers = {"conv": rng.normal(size=190), "fc": rng.normal(size=190)}
    out = time_courses(layers, movies, times=np.arange(8) * 0.01, metric="pearson")
    assert out.dims == ("reference", "subject", "region", "time") and out.shape == (2, 2, 2, 8)
    assert list(out.reference.values) == ["conv", "fc"] and out.attrs["metric"] == "pearson"
    np.testing.assert_allclose(
        out.sel(reference="fc", subject="s2", region="IT").values,
        time_course(layers["fc"], movies[("s2", "IT")], metric="pearson"),
        rtol=0,
        atol=1e-12,
    )
    with pytest.raises(InputError, match=r"must map \(subject, region\)"):
        time_courses(layers, {"V1": movies[("s1", "V1")]})
