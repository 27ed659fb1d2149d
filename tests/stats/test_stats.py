"""Inference: bootstrap (coverage, resampling), permutation nulls, FDR/FWER, equivalence."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

import crossalign as ca
import crossalign.functional as caf
from crossalign.stats.permutation import permutation_p_value
from crossalign.stats.resampling import resample_rdm_vectors

from ..analysis.test_aps import synthetic_world


@given(st.lists(st.floats(0, 1), min_size=1, max_size=30))
def test_fdr_bh_matches_scipy(p):
    np.testing.assert_allclose(
        ca.fdr_bh(p), stats.false_discovery_control(p, method="bh"), atol=1e-12
    )


def test_fwer_maxstat_equals_loop():
    rng = np.random.default_rng(0)
    null = rng.normal(size=(200, 6))
    obs = np.array([0.5, 1.5, 2.5, 3.0, -1.0, 0.0])
    expected = [(1 + sum(null[i].max() >= o for i in range(200))) / 201 for o in obs]
    np.testing.assert_allclose(ca.fwer_maxstat(obs, null), expected)
    # FWER-adjusted p-values are never below the per-test ones
    assert np.all(ca.fwer_maxstat(obs, null) >= permutation_p_value(obs, null) - 1e-12)


def test_two_factor_variance_against_hand_computed_values():
    """Values worked out by hand from Schuett et al. 2023 (eLife 12:e82566), eq. for the
    two-factor bootstrap; not from the code under test."""
    vb = np.array([0.05, 0.03, 0.05])
    vs = np.array([0.03, 0.02, 0.01])
    vc = np.array([0.015, 0.01, 0.005])
    # large-sample 2 (V_s + V_c) - V_b = 0.04, 0.03, -0.02; the last clipped up to max(V_s, V_c)
    np.testing.assert_allclose(ca.two_factor_variance(vb, vs, vc), [0.04, 0.03, 0.01])
    # small-sample form with 10 subjects and 50 stimuli, first column:
    # 10/9 * 0.03 + 50/49 * 0.015 - 500/441 * (0.05 - 0.045) = 0.0429705215...
    got = ca.two_factor_variance(vb[:1], vs[:1], vc[:1], 10, 50)
    np.testing.assert_allclose(got, [0.042970521541950], rtol=1e-12)
    # clipped down to V_both when the correction overshoots
    assert ca.two_factor_variance(np.array([0.02]), np.array([0.019]), np.array([0.018]))[0] == 0.02


def test_equivalence_rule():
    eq = ca.equivalence({"a": 0.50, "b": 0.46, "c": 0.30}, {"a": 0.45, "b": 0.40, "c": 0.2})
    assert eq == {"a": True, "b": True, "c": False}


def test_resampled_rdm_vectors_equal_explicit_construction(rng):
    x = rng.normal(size=(7, 5))
    d = caf.compute_rdm(x)
    idx = np.array([3, 3, 0, 6, 1, 1, 2])
    got = resample_rdm_vectors(ca.upper_triangle(d)[None], idx)[0]
    expected = [d[idx[i], idx[j]] for i in range(7) for j in range(i + 1, 7) if idx[i] != idx[j]]
    np.testing.assert_array_equal(got, expected)


def test_percentile_ci_and_bootstrap_indices():
    idx = ca.bootstrap_indices(5, 100, seed=3)
    assert idx.shape == (100, 5) and idx.min() >= 0 and idx.max() <= 4
    np.testing.assert_array_equal(idx, ca.bootstrap_indices(5, 100, seed=3))
    low, high = ca.percentile_ci(np.arange(1001.0)[:, None], 0.9)
    assert low[0] == pytest.approx(50.0) and high[0] == pytest.approx(950.0)
    with pytest.raises(ValueError, match=r"'n_bootstrap' argument must be a positive integer"):
        ca.bootstrap_indices(5, 0)


@pytest.mark.slow
def test_subject_bootstrap_ci_coverage():
    """Percentile CIs of the mean pointwise score cover the population value ~95% of the time.

    Each subject's RDM is a shared stimulus structure plus subject noise; the population value
    (the expected subject score of a fixed model) is estimated from 4000 simulated subjects.
    """
    rng = np.random.default_rng(11)
    n, n_reg = 12, 3
    signal = [rng.normal(size=(n, 8)) for _ in range(n_reg)]
    model_acts = {f"L{r}": signal[r] @ rng.normal(size=(8, 10)) for r in range(n_reg)}
    stimuli = [f"x{i}" for i in range(n)]
    model = ca.ModelData.from_activations(model_acts, stimuli=stimuli)
    layers = {f"R{r}": f"L{r}" for r in range(n_reg)}

    def subjects(k, rng):
        return ca.BrainData.from_responses(
            {
                (f"s{s}", f"R{r}"): signal[r] @ rng.normal(size=(8, 15))
                + 2.0 * rng.normal(size=(n, 15))
                for s in range(k)
                for r in range(n_reg)
            },
            stimuli=stimuli,
        )

    population = ca.model_to_brain_matrix(model, subjects(4000, rng), layers)
    truth = np.diag(population.values)
    hits, n_sim = 0, 100
    for _ in range(n_sim):
        ev = ca.evaluate_model(
            model, subjects(20, rng), layers, n_bootstrap=300, seed=int(rng.integers(1 << 30))
        )
        hits += ((ev["score_low"].values <= truth) & (truth <= ev["score_high"].values)).sum()
    coverage = hits / (n_sim * n_reg)
    # nominal 0.95; percentile intervals with 20 subjects run slightly narrow; +-4 MC SDs
    assert 0.88 <= coverage <= 0.99, coverage


@pytest.mark.slow  # over 0.5 s: in make test, not the everyday subset
def test_stimulus_and_two_factor_bootstraps():
    rng, latent, _regions, stimuli, brain = synthetic_world(seed=1, n=24)
    model = ca.ModelData.from_activations(
        {f"L{r}": latent[r] @ rng.normal(size=(6, 20)) for r in range(5)}, stimuli=stimuli
    )
    layers = {f"R{r}": f"L{r}" for r in range(5)}
    subj = ca.evaluate_model(model, brain, layers, n_bootstrap=200, bootstrap="subjects")
    stim = ca.evaluate_model(model, brain, layers, n_bootstrap=200, bootstrap="stimuli")
    both = ca.evaluate_model(model, brain, layers, n_bootstrap=200, bootstrap="both")
    for ev in (subj, stim, both):
        assert bool((ev["score_low"] <= ev["score_mean"]).all())
        assert bool((ev["score_mean"] <= ev["score_high"]).all())
    assert both.attrs["interval"].startswith("t interval")
    width = {
        k: float((v["score_high"] - v["score_low"]).mean())
        for k, v in (("subj", subj), ("stim", stim), ("both", both))
    }
    # the corrected two-factor interval is at least as wide as either factor alone (up to MC)
    assert width["both"] >= 0.9 * max(width["subj"], width["stim"])
    with pytest.raises(ValueError, match=r"'bootstrap' option must be one of \['fixed'"):
        ca.evaluate_model(model, brain, layers, bootstrap="pairs")


@pytest.mark.slow  # over 0.5 s: in make test, not the everyday subset
def test_aps_permutation_nulls():
    rng, latent, _regions, stimuli, brain = synthetic_world(seed=2, n=30, n_sub=5)
    good = ca.ModelData.from_activations(
        {f"L{r}": latent[r] @ rng.normal(size=(6, 20)) for r in range(5)},
        stimuli=stimuli,
        model="good",
    )
    bad = ca.ModelData.from_activations(
        {f"L{r}": rng.normal(size=(30, 20)) for r in range(5)}, stimuli=stimuli, model="bad"
    )
    layers = {f"R{r}": f"L{r}" for r in range(5)}
    results = {}
    for model in (good, bad):
        ev = ca.Evaluation.fit(model, brain, layers)
        results[model.models[0]] = {
            null: ca.aps_permutation_test(ev, null=null, n_permutations=200)
            for null in ("regions", "stimuli")
        }
    stim_good = results["good"]["stimuli"]
    assert (stim_good["p_value"].sel(statistic="score") < 0.01).all()
    assert (stim_good["p_fwer"] >= stim_good["p_value"] - 1e-12).all()
    stim_bad = results["bad"]["stimuli"]
    assert float(stim_bad["p_value"].sel(statistic="score").min()) > 0.01
    reg = results["good"]["regions"]
    assert reg.attrs["exact"] and reg.attrs["n_permutations"] == 120
    assert np.isnan(reg["p_value"].sel(statistic="score")).all()
    # 5 regions allow only 120 relabellings, some of which keep part of the pattern
    assert int((reg["p_value"].sel(statistic="aps") < 0.05).sum()) >= 3
