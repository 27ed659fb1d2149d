"""RSA comparators against scipy, rsatoolbox and a per-pair slow twin; property tests."""

import itertools

import numpy as np
import pytest
import rsatoolbox
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats
from scipy.spatial.distance import cosine as cosine_distance

import crossalign as ca
from crossalign.engine.core import pairwise_scores
from crossalign.metrics import get_metric

# every engine test runs once per installed backend (numpy, torch:cpu, torch:cuda)
pytestmark = pytest.mark.usefixtures("engine_backend")

RSA = ["spearman", "pearson", "kendall_taua", "cosine"]
RSATOOLBOX_NAME = {
    "spearman": "spearman",
    "pearson": "corr",
    "kendall_taua": "tau-a",
    "cosine": "cosine",
}


def tau_a_slow(x, y):
    """Kendall's tau-a straight from its definition, O(m^2)."""
    m = len(x)
    s = 0.0
    for i, j in itertools.combinations(range(m), 2):
        s += np.sign(x[i] - x[j]) * np.sign(y[i] - y[j])
    return s / (m * (m - 1) / 2)


def scipy_score(metric, x, y):
    if metric == "spearman":
        return stats.spearmanr(x, y).statistic
    if metric == "pearson":
        return stats.pearsonr(x, y).statistic
    if metric == "cosine":
        return 1.0 - cosine_distance(x, y)
    return tau_a_slow(x, y)


@pytest.fixture(scope="module")
def real_vectors(cichy):
    # 5 subjects x 2 regions of real fMRI RDMs (92 images -> 4186 dissimilarities)
    return cichy.select(sources=cichy.subjects[:5]).rdm_vectors()


@pytest.mark.parametrize("metric", RSA)
def test_matches_rsatoolbox_on_real_rdms(metric, real_vectors):
    ours = pairwise_scores(real_vectors, metric=metric)
    rdms = rsatoolbox.rdm.RDMs(real_vectors)
    ref = rsatoolbox.rdm.compare(rdms, rdms, method=RSATOOLBOX_NAME[metric])
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-10)


@pytest.mark.parametrize("metric", ["spearman", "pearson", "cosine"])
def test_batched_equals_per_pair_scipy_on_real_rdms(metric, real_vectors):
    a, b = real_vectors[:6], real_vectors[4:]
    batched = pairwise_scores(a, b, metric=metric)
    slow = np.array([[scipy_score(metric, x, y) for y in b] for x in a])
    np.testing.assert_allclose(batched, slow, rtol=0, atol=1e-10)


@pytest.mark.slow  # over 0.5 s: in make test, not the everyday subset
def test_kendall_taua_equals_definition_on_real_rdms(cichy):
    # 20 images -> 190 dissimilarities keeps the O(m^2) twin quick
    sub = cichy.subset_stimuli(cichy.stimuli[:20]).select(sources=cichy.subjects[:3])
    v = sub.rdm_vectors()
    batched = pairwise_scores(v, metric="kendall_taua")
    slow = np.array([[tau_a_slow(x, y) for y in v] for x in v])
    np.testing.assert_allclose(batched, slow, rtol=0, atol=1e-12)


@pytest.mark.parametrize("metric", RSA)
def test_single_pair_score_equals_batched(metric, real_vectors):
    m = get_metric(metric)
    full = pairwise_scores(real_vectors, metric=metric)
    assert m.score(real_vectors[0], real_vectors[3]) == pytest.approx(full[0, 3], abs=1e-12)


# ---------------------------------------------------------------- properties
ints = st.lists(st.integers(0, 12), min_size=10, max_size=10)  # many ties on purpose


@st.composite
def rdm_pairs(draw, tied=True):
    m = draw(st.sampled_from([6, 10, 15]))
    elems = st.integers(0, 8) if tied else st.floats(0.01, 5, allow_nan=False)
    x = np.array(draw(st.lists(elems, min_size=m, max_size=m)), dtype=float)
    y = np.array(draw(st.lists(elems, min_size=m, max_size=m)), dtype=float)
    if np.ptp(x) == 0 or np.ptp(y) == 0:
        x[0], y[-1] = x[0] + 1.0, y[-1] + 2.0
    return x, y


@pytest.mark.parametrize("metric", RSA)
@given(pair=rdm_pairs())
def test_symmetry(metric, pair):
    x, y = pair
    m = get_metric(metric)
    assert m.score(x, y) == pytest.approx(m.score(y, x), abs=1e-12)


@pytest.mark.parametrize("metric", ["spearman", "pearson", "cosine"])
@given(pair=rdm_pairs())
def test_identity_gives_one(metric, pair):
    x, _ = pair
    assert get_metric(metric).score(x, x) == pytest.approx(1.0, abs=1e-12)


@given(pair=rdm_pairs(tied=False))
def test_kendall_identity_without_ties_gives_one(pair):
    x, _ = pair
    if len(np.unique(x)) == len(x):
        assert get_metric("kendall_taua").score(x, x) == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("metric", ["spearman", "kendall_taua"])
@given(pair=rdm_pairs(), shift=st.floats(-3, 3), power=st.sampled_from([1, 3, 5]))
def test_rank_metrics_invariant_to_monotone_transforms(metric, pair, shift, power):
    x, y = pair
    m = get_metric(metric)
    transformed = np.exp(x / 4.0) ** power + shift  # strictly increasing, keeps ties
    assert m.score(transformed, y) == pytest.approx(m.score(x, y), abs=1e-12)


@pytest.mark.parametrize("metric", RSA)
@given(pair=rdm_pairs())
def test_ties_match_reference(metric, pair):
    x, y = pair
    expected = scipy_score(metric, x, y)
    assert get_metric(metric).score(x, y) == pytest.approx(expected, abs=1e-12)


@given(pair=rdm_pairs())
def test_pearson_invariant_to_affine_transforms(pair):
    x, y = pair
    m = get_metric("pearson")
    assert m.score(3.0 * x + 2.0, y) == pytest.approx(m.score(x, y), abs=1e-12)


# ---------------------------------------------------------------- errors
@pytest.mark.parametrize("metric", ["spearman", "pearson"])
def test_constant_rdm_is_refused(metric):
    v = np.vstack([np.arange(10.0), np.full(10, 0.7)])
    with pytest.raises(
        ValueError,
        match=rf"'{metric}' comparison is undefined.*constant RDM.*"
        r"e\.g\. 'flat'",
    ):
        pairwise_scores(v, metric=metric, labels_a=["ok", "flat"])


def test_kendall_taua_of_constant_rdm_is_zero():
    v = np.vstack([np.arange(10.0), np.full(10, 0.7)])
    assert pairwise_scores(v, metric="kendall_taua")[0, 1] == 0.0


def test_unknown_metric_name():
    with pytest.raises(
        ValueError,
        match=r"'metric' parameter must be one of \[.*'spearman'.*\]"
        r"\. Got 'spearmn' instead\. Did you mean 'spearman'",
    ):
        ca.get_metric("spearmn")


def test_registry_declares_properties():
    names = {r["name"]: r for r in ca.list_metrics()}
    assert set(RSA) <= set(names)
    for name in RSA:
        assert names[name]["symmetric"] is True
        assert names[name]["input"] == "rdm"
        assert names[name]["citation"].startswith("@article")


@pytest.mark.parametrize("metric", RSA)
def test_prepare_never_mutates_its_input(metric, rng):
    v = rng.uniform(0.1, 2.0, size=(4, 30))
    before = v.copy()
    pairwise_scores(v, metric=metric)
    np.testing.assert_array_equal(v, before)
