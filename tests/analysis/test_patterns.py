"""Cross-region matrices (brain, model, model-to-brain) and their comparison."""

import itertools

import numpy as np
import pytest
from scipy import stats
from scipy.spatial.distance import pdist

import crossalign as ca

from ..metrics.test_rsa import scipy_score


def brain_matrix_slow(data, metric):
    """DESIGN section 1 verbatim: C[r, q] = mean over s != t of M(X[s, r], X[t, q])."""
    regions, subjects = data.regions, data.subjects
    vec = {k: v for k, v in zip(data.keys(), data.rdm_vectors(), strict=True)}
    c = np.zeros((len(regions), len(regions)))
    for i, r in enumerate(regions):
        for j, q in enumerate(regions):
            vals = [
                scipy_score(metric, vec[(s, r)], vec[(t, q)])
                for s in subjects
                for t in subjects
                if s != t
            ]
            c[i, j] = np.mean(vals)
    return c


def test_cichy_spearman_matrix_matches_reference(cichy):
    c = ca.cross_region_matrix(cichy, metric="spearman")
    assert c.dims == ("region", "target_region")
    assert list(c.coords["region"].values) == ["EVC", "IT"]
    np.testing.assert_array_equal(np.round(c.values, 4), [[0.0988, 0.0798], [0.0798, 0.2514]])
    assert c.attrs["n_subjects"] == 15 and c.attrs["metric"] == "spearman"


@pytest.mark.parametrize("metric", ["spearman", "pearson", "cosine"])
@pytest.mark.slow  # over 0.5 s: in make test, not the everyday subset
def test_cichy_matrix_equals_slow_twin(cichy, metric):
    fast = ca.cross_region_matrix(cichy, metric=metric).values
    np.testing.assert_allclose(fast, brain_matrix_slow(cichy, metric), rtol=0, atol=1e-10)


@pytest.mark.slow  # over 0.5 s: in make test, not the everyday subset
def test_castaldi_matrix_equals_slow_twin_and_reference(castaldi):
    sub = castaldi.select(sources=castaldi.subjects[:8])
    np.testing.assert_allclose(
        ca.cross_region_matrix(sub).values, brain_matrix_slow(sub, "spearman"), rtol=0, atol=1e-10
    )
    full = ca.cross_region_matrix(castaldi).to_pandas()
    # PROVENANCE.md reference figures (taskBoth, Spearman)
    assert round(full.loc["V1", "V1"], 3) == 0.259
    assert round(full.loc["V2", "V2"], 3) == 0.329
    assert round(full.loc["IPS345", "IPS345"], 3) == 0.085
    assert round(full.loc["V1", "V2"], 3) == 0.287
    assert round(full.loc["V1", "IPS345"], 3) == 0.098


def test_brain_matrix_needs_two_subjects(cichy):
    with pytest.raises(ValueError, match=r"at least 2 subjects.*Got 1 subject"):
        ca.cross_region_matrix(cichy.select(sources=["sub01"]))


@pytest.mark.slow  # over 0.5 s: in make test, not the everyday subset
def test_kendall_matrix_is_symmetric(cichy):
    small = cichy.select(sources=cichy.subjects[:4]).subset_stimuli(cichy.stimuli[:30])
    c = ca.cross_region_matrix(small, "kendall_taua").values
    np.testing.assert_array_equal(c, c.T)
    np.testing.assert_allclose(c, brain_matrix_slow(small, "kendall_taua"), atol=1e-12)


# ---------------------------------------------------------------- model matrices
@pytest.fixture
def model_and_brain(rng):
    n = 25
    latent = {r: rng.normal(size=(n, 6)) for r in ("V1", "V4", "IT")}
    brain = ca.BrainData.from_responses(
        {
            (s, r): latent[r] @ rng.normal(size=(6, 30)) + rng.normal(size=(n, 30))
            for s in ("a", "b", "c")
            for r in latent
        },
        stimuli=[f"st{i}" for i in range(n)],
    )
    acts = {
        f"l{i}": latent[r] @ rng.normal(size=(6, 40)) + 0.5 * rng.normal(size=(n, 40))
        for i, r in enumerate(latent)
    }
    acts["l3"] = rng.normal(size=(n, 40))
    model = ca.ModelData.from_activations(acts, model="net", stimuli=brain.stimuli)
    return model, brain


def test_model_matrix_equals_slow_twin(model_and_brain):
    model, _ = model_and_brain
    layers = {"V1": "l0", "V4": "l1", "IT": "l3"}
    c = ca.model_cross_region_matrix(model, layers)
    rdm = {la: pdist(model[("net", la)].values, "correlation") for la in model.layers()}
    slow = np.array(
        [
            [stats.spearmanr(rdm[layers[r]], rdm[layers[q]]).statistic for q in layers]
            for r in layers
        ]
    )
    np.testing.assert_allclose(c.values, slow, atol=1e-10)
    assert np.allclose(np.diag(c.values), 1.0)
    assert c.attrs["layers"] == ["l0", "l1", "l3"]
    # the same call through the generic entry point
    np.testing.assert_array_equal(
        ca.cross_region_matrix(model, layers_by_region=layers).values, c.values
    )


def test_model_to_brain_matrix_equals_slow_twin(model_and_brain):
    model, brain = model_and_brain
    layers = {"V1": "l0", "V4": "l1", "IT": "l2"}
    c = ca.model_to_brain_matrix(model, brain, layers)
    rdm_m = {la: pdist(model[("net", la)].values, "correlation") for la in model.layers()}
    rdm_b = {k: pdist(brain[k].values, "correlation") for k in brain}
    slow = np.array(
        [
            [
                np.mean(
                    [
                        stats.spearmanr(rdm_m[layers[r]], rdm_b[(s, q)]).statistic
                        for s in brain.subjects
                    ]
                )
                for q in layers
            ]
            for r in layers
        ]
    )
    np.testing.assert_allclose(c.values, slow, atol=1e-10)
    # planted structure: each layer matches its own region best
    assert (np.argmax(c.values, axis=1) == np.arange(3)).all()


def test_model_to_brain_reorders_model_stimuli_by_id(model_and_brain):
    model, brain = model_and_brain
    layers = {"V1": "l0", "IT": "l2"}
    shuffled = model.subset_stimuli(list(reversed(model.stimuli)))
    np.testing.assert_allclose(
        ca.model_to_brain_matrix(shuffled, brain, layers).values,
        ca.model_to_brain_matrix(model, brain, layers).values,
        atol=1e-12,
    )


def test_unknown_layer_lists_available(model_and_brain):
    model, brain = model_and_brain
    with pytest.raises(
        ValueError,
        match=r"region 'V1' to layer 'l9'.*Available layers: "
        r"\['l0', 'l1', 'l2', 'l3'\]",
    ):
        ca.model_cross_region_matrix(model, {"V1": "l9"})
    with pytest.raises(ValueError, match=r"region\(s\) \['V9'\] that brain_data does not have"):
        ca.model_to_brain_matrix(model, brain, {"V9": "l0"})
    with pytest.raises(ValueError, match=r"'layers_by_region' argument must map each region"):
        ca.model_cross_region_matrix(model)


# ---------------------------------------------------------------- comparison
def corr_slow(a, b, mask):
    return np.corrcoef(a[mask], b[mask])[0, 1]


def sym(rng, n):
    x = rng.normal(size=(n, n))
    return x + x.T


def test_compare_matrices_exact_permutation_equals_brute_force(rng):
    b, m = sym(rng, 5), sym(rng, 5)
    m = m + 2 * b  # related
    res = ca.compare_matrices(b, m, n_permutations=1000)
    mask = np.triu(np.ones((5, 5), bool), 1)
    obs = corr_slow(b, m, mask)
    null = [corr_slow(b, m[np.ix_(p, p)], mask) for p in itertools.permutations(range(5))]
    assert res.exact and res.n_permutations == 120
    assert res.pattern_correlation == pytest.approx(obs, abs=1e-12)
    assert res.p_value == pytest.approx(np.mean(np.array(null) >= obs - 1e-12), abs=1e-12)
    diag_mask = np.triu(np.ones((5, 5), bool), 0)
    assert res.pattern_correlation_with_diagonal == pytest.approx(corr_slow(b, m, diag_mask))
    assert res.mean_difference == pytest.approx(b[mask].mean() - m[mask].mean())
    assert res.brain_std == pytest.approx(b[mask].std())


def test_compare_matrices_monte_carlo_p_value(rng):
    b = sym(rng, 9)
    res = ca.compare_matrices(b, b + 0.1 * sym(rng, 9), n_permutations=500, seed=3)
    assert not res.exact and res.n_permutations == 500
    assert res.pattern_correlation > 0.9
    assert res.p_value == pytest.approx(1 / 501)


def test_compare_matrices_null_is_calibrated():
    rng = np.random.default_rng(7)
    ps = np.array([ca.compare_matrices(sym(rng, 6), sym(rng, 6)).p_value for _ in range(300)])
    # uniform under the null (exact test over 720 relabellings): 5% +- 3 Monte-Carlo SDs
    assert 0.05 - 3 * 0.0126 < np.mean(ps < 0.05) < 0.05 + 3 * 0.0126


def test_compare_matrices_nonsymmetric_uses_all_offdiagonal(rng):
    b, m = rng.normal(size=(4, 4)), rng.normal(size=(4, 4))
    res = ca.compare_matrices(b, m)
    mask = ~np.eye(4, dtype=bool)
    assert res.pattern_correlation == pytest.approx(corr_slow(b, m, mask))


def test_compare_matrices_two_regions_undefined_off_diagonal():
    b = np.array([[0.3, 0.1], [0.1, 0.5]])
    res = ca.compare_matrices(b, b)
    assert np.isnan(res.pattern_correlation) and np.isnan(res.p_value)
    assert res.pattern_correlation_with_diagonal == pytest.approx(1.0)
    with_diag = ca.compare_matrices(b, b, include_diagonal=True)
    assert with_diag.pattern_correlation == pytest.approx(1.0)
    assert with_diag.p_value == pytest.approx(0.5)  # 2 relabellings, only identity fits


def test_compare_matrices_bad_input(rng):
    with pytest.raises(ValueError, match=r"'model_matrix' argument covers 3 regions; expected 4"):
        ca.compare_matrices(sym(rng, 4), sym(rng, 3))
    with pytest.raises(ValueError, match=r"'brain_matrix' argument must be a square"):
        ca.compare_matrices(np.zeros((3, 4)), np.zeros((3, 3)))
    with pytest.raises(ValueError, match=r"'method' parameter of compare_matrices must be one of"):
        ca.compare_matrices(sym(rng, 4), sym(rng, 4), method="kendal")
    with pytest.raises(ValueError, match=r"'n_permutations' argument must be a positive integer"):
        ca.compare_matrices(sym(rng, 4), sym(rng, 4), n_permutations=0)
