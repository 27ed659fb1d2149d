"""Cluster-based permutation tests against MNE-Python's permutation_cluster_1samp_test (same
statistic, threshold, permutations and seed) and on planted effects."""

import numpy as np
import pytest

from crossalign.errors import InputError
from crossalign.stats.clusters import cluster_test, one_sample_t
from crossalign.stats.permutation import distinct_sign_flips

mne = pytest.importorskip("mne")


def _subjects(seed, n_sub=12, shape=(60,), effect=((15, 30, 0.9), (40, 46, -0.8))):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n_sub, *shape))
    for start, stop, size in effect:
        x[:, start:stop] += size
    return x


def _mne(x, seed, **kw):
    return mne.stats.permutation_cluster_1samp_test(
        x, out_type="mask", rng=seed, verbose=False, **kw
    )


def _same(ours, theirs):
    t_obs, clusters, p_values, h0 = theirs
    np.testing.assert_allclose(ours.statistic, t_obs, rtol=1e-12, atol=1e-12)
    assert len(ours.clusters) == len(clusters)
    for mine, ref in zip(ours.clusters, clusters, strict=True):
        theirs_mask = np.zeros(mine.shape, dtype=bool)
        theirs_mask[ref] = True  # a boolean mask, or a (slice,) for 1-D data
        np.testing.assert_array_equal(mine, theirs_mask)
    np.testing.assert_array_equal(ours.p_values, p_values)
    np.testing.assert_allclose(ours.null, h0, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize(
    ("n_sub", "n_perm", "tail", "threshold", "seed"),
    [
        (12, 500, 0, None, 0),  # random patterns (12 subjects: 2047 symmetric ones)
        (12, 3000, 0, 2.0, 7),  # more asked than exist: exact
        (9, 200, 1, 1.8, 3),  # one-sided
        (9, 200, -1, -1.8, 3),
        (24, 300, 0, 2.2, 11),  # over 20 subjects: MNE's uniform draws
    ],
)
def test_clusters_and_p_values_equal_mne(n_sub, n_perm, tail, threshold, seed):
    x = _subjects(seed, n_sub)
    kw = {"threshold": threshold, "n_permutations": n_perm, "tail": tail}
    _same(cluster_test(x, seed=seed, **kw), _mne(x.copy(), seed, **kw))


def test_a_time_by_time_map_equals_mne_with_lattice_neighbours():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(10, 20, 20))
    x[:, 5:11, 6:12] += 1.0
    kw = {"threshold": 2.0, "n_permutations": 256, "tail": 0}
    _same(cluster_test(x, seed=2, **kw), _mne(x.copy(), 2, **kw))


@pytest.mark.slow  # over 0.5 s: in make test, not the everyday subset
def test_planted_effects_are_found_and_null_data_rarely():
    found = cluster_test(_subjects(1, effect=((15, 30, 1.5), (40, 46, -1.5))), n_permutations=500)
    significant = found.significant(0.05)
    assert significant[15:30].mean() > 0.8 and significant[40:46].mean() > 0.8
    assert not significant[:12].any() and not significant[33:37].any()
    assert not significant[49:].any()
    false = sum(
        cluster_test(_subjects(s, effect=()), n_permutations=200, seed=s).significant().any()
        for s in range(40)
    )
    assert false <= 6  # FWER 5%: 2 expected of 40, 6 is p < 0.02


def test_sign_flips_are_distinct_and_the_t_statistic_is_scipys():
    from scipy import stats

    flips = distinct_sign_flips(10, 300, 5)
    assert flips.shape == (299, 10) and len({tuple(f) for f in flips}) == 299
    assert (flips[:, 0] == -1).all()  # symmetric: one of each +-pair
    x = np.random.default_rng(0).normal(size=(8, 30))
    np.testing.assert_allclose(one_sample_t(x), stats.ttest_1samp(x, 0).statistic, rtol=1e-12)
    with pytest.raises(InputError, match=r"'x' argument must be \(subject, time\)"):
        cluster_test(np.ones(5))
    with pytest.raises(InputError, match=r"'threshold' argument must be negative for tail=-1"):
        cluster_test(x, threshold=2.0, tail=-1)
    with pytest.raises(InputError, match=r"'tail' argument must be 0, 1 or -1. Got 2"):
        cluster_test(x, tail=2)
    empty = cluster_test(x * 0 + np.arange(8)[:, None] * 1e-3, threshold=1e9)
    assert empty.clusters == [] and empty.p_values.size == 0
