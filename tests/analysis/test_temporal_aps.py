"""Alignment patterns over time: every number against a slow twin written from the paper's
definitions (scipy correlations in loops), and a single time point against the static API."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from scipy.spatial.distance import squareform

import crossalign as ca
from crossalign.errors import InputError

SUBJECTS, REGIONS, N_STIM, N_TIME = ["s0", "s1", "s2", "s3"], ["V1", "V2", "IT", "PFC"], 10, 4
PAIRS = N_STIM * (N_STIM - 1) // 2


def _movies(seed=0):
    """Region RDM movies sharing a per-region structure across subjects, drifting in time."""
    rng = np.random.default_rng(seed)
    shared = {r: rng.random((N_TIME, PAIRS)) for r in REGIONS}
    return {
        (s, r): shared[r] + 0.8 * rng.random((N_TIME, PAIRS)) for s in SUBJECTS for r in REGIONS
    }


def _twin(movies, refs):
    """APS_brain (time, S, R), APS_model (L, time, S, R) and the cross-region matrices
    (time, R, R) from the definitions (Hoefling et al. 2026), one correlation at a time."""
    n_s, n_r = len(SUBJECTS), len(REGIONS)
    brain = np.zeros((N_TIME, n_s, n_r))
    model = np.zeros((len(refs), N_TIME, n_s, n_r))
    crm = np.zeros((N_TIME, n_r, n_r))
    for t in range(N_TIME):
        x = {k: v[t] for k, v in movies.items()}
        big_t = np.zeros((n_s, n_r, n_s, n_r))
        for a, sa in enumerate(SUBJECTS):
            for r, ra in enumerate(REGIONS):
                for b, sb in enumerate(SUBJECTS):
                    for q, rb in enumerate(REGIONS):
                        big_t[a, r, b, q] = stats.spearmanr(x[(sa, ra)], x[(sb, rb)])[0]
        for r in range(n_r):
            for q in range(n_r):
                crm[t, r, q] = np.mean(
                    [big_t[a, r, b, q] for a in range(n_s) for b in range(n_s) if a != b]
                )
        for s in range(n_s):
            others = [a for a in range(n_s) if a != s]
            for r in range(n_r):
                ref = np.mean([big_t[a, r, b] for a in others for b in others if a != b], axis=0)
                brain[t, s, r] = np.mean([stats.pearsonr(ref, big_t[a, r, s])[0] for a in others])
                for li, f in enumerate(refs):
                    f_t = f if f.ndim == 1 else f[t]
                    pattern = [stats.spearmanr(f_t, x[(SUBJECTS[s], rq)])[0] for rq in REGIONS]
                    model[li, t, s, r] = np.mean(
                        [stats.pearsonr(pattern, big_t[a, r, s])[0] for a in others]
                    )
    return brain, model, crm


@pytest.mark.slow  # over 0.5 s: the twin's loops
def test_aps_over_time_equals_the_definitions_at_every_time_point():
    movies = _movies()
    rng = np.random.default_rng(1)
    static = movies[("s0", "IT")][0] + rng.random(PAIRS)
    moving = movies[("s1", "V1")] + rng.random((N_TIME, PAIRS))
    times = np.linspace(-0.1, 0.2, N_TIME)
    got = ca.aps_time_courses(movies, {"layer4": static, "video": moving}, times)
    brain, model, crm = _twin(movies, [static, moving])
    aps = got["aps"].transpose("reference", "time", "subject", "region").values
    np.testing.assert_allclose(aps[0], brain, atol=1e-12)
    np.testing.assert_allclose(aps[1:], model, atol=1e-12)
    np.testing.assert_allclose(got["cross_region"].values, crm, atol=1e-12)
    assert list(got["reference"].values) == ["brain", "layer4", "video"]
    np.testing.assert_array_equal(got["time"].values, times)
    assert (got["pairs"].values == 12).all()  # 4 x 3 ordered pairs of different subjects
    assert got.attrs["metric"] == "spearman" and got.attrs["similarity"] == "pearson"
    only = ca.aps_time_courses(movies, {"layer4": static}, times)  # static ones prepared once
    np.testing.assert_allclose(only["aps"], got["aps"].sel(reference=["brain", "layer4"]), atol=0)


@pytest.mark.slow  # over 0.5 s
def test_one_time_point_equals_the_static_brain_aps():
    movies = _movies(2)
    got = ca.aps_time_courses({k: v[:1] for k, v in movies.items()})
    static = ca.brain_aps(_static(movies, 0), "spearman")
    np.testing.assert_allclose(
        got["aps"].sel(reference="brain").isel(time=0).transpose("region", "subject").values,
        static.sel(region=REGIONS, subject=SUBJECTS).values,
        atol=1e-12,
    )


def _static(movies, t):
    """The movies' time point ``t`` as a BrainData (an entirely NaN RDM marks a missing cell)."""
    nan = np.full((N_STIM, N_STIM), np.nan)
    rdms = {
        r: np.stack([squareform(movies[(s, r)][t]) if (s, r) in movies else nan for s in SUBJECTS])
        for r in REGIONS
    }
    return ca.BrainData.from_rdms(rdms, subjects=SUBJECTS)


def test_a_missing_cell_is_skipped_as_in_the_static_analysis_and_a_late_model_shows_when():
    """A missing (subject, region) movie: every time point equals the static brain APS of
    that time's data with the cell missing. A reference carrying region IT's shared structure
    only from time 2 on: its APS for IT rises there."""
    movies = _movies(3)
    shared = np.mean([movies[(s, "IT")] for s in SUBJECTS], axis=0)
    rng = np.random.default_rng(4)
    late = np.where(np.arange(N_TIME)[:, None] >= 2, shared, rng.random((N_TIME, PAIRS)))
    del movies[("s3", "PFC")]
    got = ca.aps_time_courses(movies, {"late": late})
    it = got["aps"].sel(reference="late", region="IT").mean("subject").values
    assert it[2:].min() > it[:2].max(), it
    for t in range(N_TIME):
        static = ca.brain_aps(_static(movies, t), "spearman")
        np.testing.assert_allclose(
            got["aps"].sel(reference="brain").isel(time=t).transpose("region", "subject"),
            static.sel(region=REGIONS, subject=SUBJECTS),
            atol=1e-12,
        )
    assert got["pairs"].sel(region="PFC", target_region="PFC").item() == 6  # 3 x 2
    assert got["pairs"].sel(region="V1", target_region="PFC").item() == 9  # 4 x 3 - 3


def test_aps_over_time_refuses_what_it_cannot_compute():
    movies = _movies()
    few = {k: v for k, v in movies.items() if k[0] != "s3" and k[0] != "s2"}
    with pytest.raises(InputError, match=r"at least 3 subjects and 3 regions. Got 2 subjects"):
        ca.aps_time_courses(few)
    with pytest.raises(InputError, match=r"at least 3 subjects and 4 regions"):
        three = {k: v for k, v in movies.items() if k[1] != "PFC"}
        ca.aps_time_courses(three, include_same_region=False)
    with pytest.raises(InputError, match=r"reference 'f' must be an RDM vector \(45,\)"):
        ca.aps_time_courses(movies, {"f": np.ones(44)})
    with pytest.raises(InputError, match=r"'movies' argument must map \(subject, region\)"):
        ca.aps_time_courses({"V1": movies[("s0", "V1")]})
    with pytest.raises(InputError, match=r"same time points and stimuli"):
        ca.aps_time_courses({**movies, ("s0", "V1"): movies[("s0", "V1")][:2]})
    with pytest.raises(InputError, match=r"'similarity'.*'pearson'"):
        ca.aps_time_courses(movies, similarity="pearsn")
    lone = {**movies, ("s0", "MT"): movies[("s0", "V1")]}
    with pytest.raises(InputError, match=r"at least 2 subjects; \['MT'\] have one"):
        ca.aps_time_courses(lone)


@pytest.mark.slow  # over 0.5 s: a figure
def test_the_time_course_figure_draws_aps_over_time():
    pytest.importorskip("matplotlib")
    got = ca.aps_time_courses(_movies(), {"layer": _movies()[("s0", "V1")][0]})
    fig = ca.viz.plot_time_courses(got["aps"], n_bootstrap=50, n_permutations=64, ylabel="APS")
    assert len(fig.axes) == len(REGIONS)
    labels = {label for ax in fig.axes for label in ax.get_legend_handles_labels()[1]}
    assert {"brain", "layer"} <= labels, labels


@settings(max_examples=100)  # ~30 ms an example: 100 orders are plenty for a relabelling
@given(seed=st.integers(0, 2**16), order=st.permutations(range(len(SUBJECTS) * len(REGIONS))))
def test_the_order_of_the_movies_changes_no_labelled_value(seed, order):
    """APS over time is a function of the labelled movies, not of their order in the mapping."""
    movies = _movies(seed)
    keys = list(movies)
    shuffled = {keys[i]: movies[keys[i]] for i in order}
    a = ca.aps_time_courses(movies, {"f": movies[keys[0]][1]})
    b = ca.aps_time_courses(shuffled, {"f": movies[keys[0]][1]})
    b = b.sel(subject=a["subject"], region=a["region"], target_region=a["target_region"])
    np.testing.assert_allclose(b["aps"], a["aps"], atol=1e-12)
    np.testing.assert_allclose(b["cross_region"], a["cross_region"], atol=1e-12)
