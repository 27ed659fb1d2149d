"""Alignment patterns and APS against plain loops written straight from DESIGN section 1."""

import itertools

import numpy as np
import pytest
from scipy import stats

import crossalign as ca
from crossalign.analysis.aps import aps_kernels, brain_aps_kernel, model_aps_kernel


def corr(x, y, similarity="pearson"):
    """The pattern similarities as the paper's analysis code defines them, written from
    their formulas with numpy and scipy."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if similarity == "spearman":
        return stats.spearmanr(x, y).statistic
    if similarity == "cosine":
        return x @ y / (np.linalg.norm(x) * np.linalg.norm(y))
    if similarity == "mse":
        return 1 / (1 + np.mean((x - y) ** 2))
    if similarity == "mae":
        return 1 / (1 + np.mean(np.abs(x - y)))
    if similarity == "r2":
        return stats.pearsonr(x, y).statistic ** 2
    return stats.pearsonr(x, y).statistic


def tensor_slow(data):
    """T[a, r, b, q] = Spearman(X[a, r], X[b, q]) with an independent implementation."""
    ranks = stats.rankdata(data.rdm_vectors(), axis=1)
    s, r = len(data.subjects), len(data.regions)
    return np.corrcoef(ranks).reshape(s, r, s, r)


def targets(r, n_regions, include_same_region):
    return [q for q in range(n_regions) if include_same_region or q != r]


def brain_aps_slow(t, include_same_region=True, similarity="pearson", ids=None):
    """APS_brain(r, s) = mean_{a != s} corr(Ref[-s](r), AP[a->s](r)); ``ids`` marks copies."""
    n_sub, n_reg = t.shape[:2]
    ids = np.arange(n_sub) if ids is None else ids
    out = np.zeros((n_reg, n_sub))
    for r in range(n_reg):
        qs = targets(r, n_reg, include_same_region)
        for s in range(n_sub):
            pairs = [
                (a, b)
                for a in range(n_sub)
                for b in range(n_sub)
                if ids[a] != ids[b] and ids[a] != ids[s] and ids[b] != ids[s]
            ]
            ref = np.mean([[t[a, r, b, q] for q in qs] for a, b in pairs], axis=0)
            vals = [
                corr(ref, [t[a, r, s, q] for q in qs], similarity)
                for a in range(n_sub)
                if ids[a] != ids[s]
            ]
            out[r, s] = np.mean(vals)
    return out


def model_aps_slow(u, t, include_same_region=True, similarity="pearson"):
    """APS_model(l, r, s) = mean_{a != s} corr(AP[m,l](s), AP[a->s](r))."""
    n_sub, n_reg = t.shape[:2]
    out = np.zeros((u.shape[0], n_reg, n_sub))
    for layer in range(u.shape[0]):
        for r in range(n_reg):
            qs = targets(r, n_reg, include_same_region)
            for s in range(n_sub):
                model_pattern = [u[layer, s, q] for q in qs]
                out[layer, r, s] = np.mean(
                    [
                        corr(model_pattern, [t[a, r, s, q] for q in qs], similarity)
                        for a in range(n_sub)
                        if a != s
                    ]
                )
    return out


@pytest.mark.parametrize("task", ["both", "num"])
@pytest.mark.slow  # over 0.5 s: in make test, not the everyday subset
def test_brain_aps_equals_slow_twin_on_castaldi(data_dir, task):
    data = ca.load_dataset("castaldi2019", task=task)
    t = tensor_slow(data)
    np.testing.assert_allclose(ca.brain_patterns(data).values, t, atol=1e-12)
    for include in (True, False):
        fast = ca.brain_aps(data, include_same_region=include)
        assert fast.dims == ("region", "subject") and fast.shape == (10, 20)
        np.testing.assert_allclose(fast.values, brain_aps_slow(t, include), rtol=0, atol=1e-10)


@pytest.mark.slow  # over 0.5 s: in make test, not the everyday subset
def test_brain_aps_spearman_similarity_equals_slow_twin(castaldi):
    data = castaldi.select(sources=castaldi.subjects[:7])
    fast = ca.brain_aps(data, similarity="spearman").values
    np.testing.assert_allclose(
        fast, brain_aps_slow(tensor_slow(data), similarity="spearman"), atol=1e-10
    )


def test_bootstrap_kernel_treats_copies_as_one_subject(castaldi):
    data = castaldi.select(sources=castaldi.subjects[:8])
    t = tensor_slow(data)
    idx = np.array([0, 0, 3, 5, 5, 5, 6, 7])
    tb = t[np.ix_(idx, range(10), idx, range(10))]
    fast = brain_aps_kernel(tb, idx[:, None] != idx[None, :])
    np.testing.assert_allclose(fast, brain_aps_slow(tb, ids=idx), atol=1e-10)


def synthetic_world(seed=0, n=30, n_sub=6, n_reg=5, noise=1.0):
    rng = np.random.default_rng(seed)
    base = rng.normal(size=(4, n, 6))
    weights = rng.uniform(0, 1, size=(n_reg, 4)) ** 2
    latent = [
        np.einsum("k,knd->nd", weights[r], base) + 0.6 * rng.normal(size=(n, 6))
        for r in range(n_reg)
    ]
    regions = [f"R{r}" for r in range(n_reg)]
    stimuli = [f"x{i}" for i in range(n)]
    brain = ca.BrainData.from_responses(
        {
            (f"s{s}", regions[r]): latent[r] @ rng.normal(size=(6, 25))
            + noise * rng.normal(size=(n, 25))
            for s in range(n_sub)
            for r in range(n_reg)
        },
        stimuli=stimuli,
    )
    return rng, latent, regions, stimuli, brain


@pytest.mark.slow  # over 0.5 s: in make test, not the everyday subset
def test_model_aps_equals_slow_twin_on_synthetic_data():
    rng, latent, _regions, stimuli, brain = synthetic_world()
    acts = {
        f"L{r}": latent[r] @ rng.normal(size=(6, 20)) + 0.3 * rng.normal(size=(30, 20))
        for r in range(5)
    }
    model = ca.ModelData.from_activations(acts, model="m", stimuli=stimuli)
    t = tensor_slow(brain)
    u = ca.model_patterns(model, brain).values  # (layer, subject, region)
    assert ca.model_patterns(model, brain).dims == ("layer", "subject", "region")
    for include in (True, False):
        for sim in ("pearson", "spearman"):
            np.testing.assert_allclose(
                model_aps_kernel(u, t, include_same_region=include, similarity=sim),
                model_aps_slow(u, t, include, sim),
                atol=1e-10,
            )
    np.testing.assert_allclose(ca.brain_aps(brain).values, brain_aps_slow(t), atol=1e-10)
    layers = {f"R{r}": f"L{r}" for r in range(5)}
    given = ca.model_aps(model, brain, layers)
    expected = model_aps_slow(u, t)[range(5), range(5)]
    np.testing.assert_allclose(given.values, expected, atol=1e-10)
    assert list(given.coords["layer"].values) == [f"L{r}" for r in range(5)]


@pytest.mark.slow
def test_castaldi_brain_aps_with_bootstrap_cis(castaldi):
    predictors = castaldi.attrs["models"]
    # a hand-built "model" whose single layer is the Number predictor, to run the full pipeline
    model = ca.ModelData.from_rdms(
        {"rdm": predictors.rdms().sel(layer="rdm").values[[0]]},
        sources=["Number"],
        stimuli=castaldi.stimuli,
    )
    ev = ca.evaluate_model(
        model, castaldi, {r: "rdm" for r in castaldi.regions}, n_bootstrap=1000, seed=1
    )
    assert list(ev.region.values) == list(castaldi.regions)
    means, low, high = ev["brain_aps_mean"], ev["brain_aps_low"], ev["brain_aps_high"]
    assert bool(((low <= means) & (means <= high)).all())
    assert float(means.sel(region="V1")) > float(means.sel(region="IPS345"))
    assert float(low.sel(region="V1")) > float(high.sel(region="IPS345"))
    assert ev["samples"].shape == (1000, 3, 10)
    assert ev["ceiling"].dims == ("region", "bound")
    # the same brain APS CIs without any model
    direct = ca.brain_aps_ci(castaldi, n_bootstrap=1000, seed=1)
    np.testing.assert_allclose(direct["mean"].values, means.values, atol=1e-12)
    assert float(direct["mean"].sel(region="V1")) > float(direct["mean"].sel(region="IPS345"))
    assert bool(((direct["low"] <= direct["mean"]) & (direct["mean"] <= direct["high"])).all())
    # the matrix-level comparison sits beside the APS, and matches compare_matrices
    brain_matrix = ca.cross_region_matrix(castaldi)
    np.testing.assert_allclose(ev["brain_matrix"].values, brain_matrix.values, atol=1e-12)
    expected = ca.compare_matrices(brain_matrix, ev["model_matrix"].values, seed=1)
    assert float(ev["matrix_pattern_correlation"]) == pytest.approx(
        expected.pattern_correlation, nan_ok=True
    )
    assert float(ev["matrix_p_value"]) == pytest.approx(expected.p_value, nan_ok=True)
    # the numbers are data: they survive selections, which drop nothing but attributes
    np.testing.assert_equal(
        float(ev.sel(region="V1").drop_attrs()["matrix_p_value"]), expected.p_value
    )
    np.testing.assert_allclose(
        ev["score_normalised"].values,
        ev["score_mean"].values / ev["ceiling"].sel(bound="upper").values,
    )


def test_noise_ceiling_matches_reference_and_rsatoolbox(cichy):
    import rsatoolbox

    nc = ca.noise_ceiling(cichy, "spearman")
    # PROVENANCE.md: EVC 0.239/0.386, IT 0.449/0.535 (RDM averaging)
    np.testing.assert_array_equal(np.round(nc.values, 3), [[0.239, 0.386], [0.449, 0.535]])
    for metric, name in (("spearman", "spearman"), ("pearson", "corr"), ("cosine", "cosine")):
        ours = ca.noise_ceiling(cichy, metric, pool="metric")
        for region in cichy.regions:
            vec = cichy.select(areas=[region]).rdm_vectors()
            ref = rsatoolbox.inference.boot_noise_ceiling(rsatoolbox.rdm.RDMs(vec), method=name)
            np.testing.assert_allclose(ours.sel(region=region).values, ref, atol=1e-10)


def test_noise_ceiling_equals_slow_twin(castaldi):
    nc = ca.noise_ceiling(castaldi)
    for region in ("V1", "IPS345"):
        v = castaldi.select(areas=[region]).rdm_vectors()
        s = len(v)
        upper = np.mean([stats.spearmanr(v.mean(0), v[i]).statistic for i in range(s)])
        lower = np.mean(
            [stats.spearmanr(np.delete(v, i, 0).mean(0), v[i]).statistic for i in range(s)]
        )
        np.testing.assert_allclose(nc.sel(region=region).values, [lower, upper], atol=1e-10)


@pytest.mark.parametrize("metric", ["spearman", "predictivity"])
def test_noise_ceiling_reads_pairs_from_a_score_tensor_with_the_same_numbers(metric):
    _, _, _, _, brain = synthetic_world(seed=4, n=40, n_sub=4)
    brain = brain.select(sources=list(brain.subjects), areas=list(brain.regions)[:3])
    tensor = ca.score_tensor(brain, metric=metric)
    for definition in ("hoefling2026", "nili2014"):
        fresh = ca.noise_ceiling(brain, metric, definition=definition)
        reused = ca.noise_ceiling(brain, metric, definition=definition, scores=tensor)
        np.testing.assert_allclose(reused.values, fresh.values, rtol=0, atol=1e-12)
        assert reused.attrs["subject_upper"] == fresh.attrs["subject_upper"]
    with pytest.raises(ValueError, match=r"'scores' tensor's subject labels do not match"):
        ca.noise_ceiling(brain, metric, scores=tensor.isel(subject=[1, 0, 2, 3]))
    with pytest.raises(ValueError, match=r"'scores' argument of noise_ceiling must be"):
        ca.noise_ceiling(brain, metric, scores=tensor.values)


def test_aps_needs_three_subjects_and_regions(cichy):
    with pytest.raises(ValueError, match=r"at least 3 regions.*Got 2"):
        ca.brain_aps(cichy)
    _, _, _, _, brain = synthetic_world(n_sub=2)
    with pytest.raises(ValueError, match=r"at least 3 subjects.*Got 2"):
        ca.brain_aps(brain)


# ---------------------------------------------------------------- planted ground truth
@pytest.mark.slow  # over 0.5 s: in make test, not the everyday subset
def test_planted_truth_double_criterion():
    rng, latent, _regions, stimuli, brain = synthetic_world(seed=3, n=40, n_sub=8, noise=1.5)
    projections = [rng.normal(size=(6, 30)) for _ in range(5)]
    copy = ca.ModelData.from_activations(
        {f"L{r}": latent[r] @ projections[r] + 0.5 * rng.normal(size=(40, 30)) for r in range(5)},
        model="copy",
        stimuli=stimuli,
    )
    copy_r0 = copy[("copy", "L0")].values
    single = ca.ModelData.from_activations(  # every layer is the copy's R0 layer, re-noised
        {f"L{r}": copy_r0 + 0.05 * rng.normal(size=(40, 30)) for r in range(5)},
        model="single",
        stimuli=stimuli,
    )
    evals = {
        m.models[0]: ca.evaluate_model(m, brain, n_bootstrap=500, seed=2) for m in (copy, single)
    }
    assert dict(zip(evals["copy"].region.values, evals["copy"].layer.values, strict=True)) == {
        f"R{r}": f"L{r}" for r in range(5)
    }
    crit = ca.double_criterion(evals)
    assert bool(crit["double"].sel(model="copy").all())
    assert not bool(crit["aps_equivalent"].sel(model="single").all())
    assert bool(crit["aps_equivalent"].sel(model="single", region="R0"))


def test_layer_selection_never_sees_test_stimuli():
    rng, latent, _regions, stimuli, brain = synthetic_world(seed=5)
    model = ca.ModelData.from_activations(
        {f"L{r}": latent[r] @ rng.normal(size=(6, 20)) for r in range(5)}, stimuli=stimuli
    )
    ev = ca.evaluate_model(model, brain, n_bootstrap=0, test_fraction=0.4, seed=9)
    train, test = ca.split_stimuli(stimuli, 0.4, seed=9)
    assert ev.attrs["test_stimuli"] == test and ev.attrs["n_train"] == len(train)
    assert list(ev["test_stimulus"].values) == test  # ids of their own type, as a coordinate
    selection = ca.layer_scores(model, brain, stimuli=train)
    expected = ca.assign_layers(selection)
    assert dict(zip(ev.region.values, ev.layer.values, strict=True)) == expected
    with pytest.raises(ValueError, match=r"train and test stimuli overlap in 1 id"):
        ca.evaluate_model(model, brain, train_stimuli=stimuli[:10], test_stimuli=stimuli[9:])


def test_joint_assignments():
    import xarray as xr

    scores = xr.DataArray(
        [[0.9, 0.8, 0.1], [0.85, 0.1, 0.2], [0.1, 0.7, 0.6]],
        dims=("layer", "region"),
        coords={"layer": ["a", "b", "c"], "region": ["V1", "V4", "IT"]},
    )
    assert ca.assign_layers(scores) == {"V1": "a", "V4": "a", "IT": "c"}
    assert ca.assign_layers(scores, "one-to-one") == {"V1": "b", "V4": "a", "IT": "c"}
    best = max(
        itertools.product(range(3), repeat=3),
        key=lambda c: (
            sum(scores.values[c[j], j] for j in range(3)) if c[0] <= c[1] <= c[2] else -np.inf
        ),
    )
    mono = ca.assign_layers(scores, "monotone")
    assert [mono[r] for r in ("V1", "V4", "IT")] == [["a", "b", "c"][i] for i in best]
    with pytest.raises(ValueError, match=r"'assignment' parameter must be one of"):
        ca.assign_layers(scores, "greedy")


def test_stratified_split_keeps_category_proportions():
    ids = [f"i{k}" for k in range(40)]
    labels = ["face"] * 10 + ["body"] * 10 + ["object"] * 20
    train, test = ca.split_stimuli(ids, 0.5, seed=0, labels=labels)
    lab = dict(zip(ids, labels, strict=True))
    assert sorted(lab[i] for i in test).count("face") == 5
    assert sorted(lab[i] for i in test).count("object") == 10
    assert not set(train) & set(test)


@pytest.mark.parametrize("similarity", ["pearson", "spearman", "cosine", "mse", "mae", "r2"])
@pytest.mark.parametrize("missing", [False, True])
@pytest.mark.slow  # over 0.5 s: in make test, not the everyday subset
def test_every_aps_similarity_equals_its_formula(similarity, missing):
    rng, latent, _regions, stimuli, brain = synthetic_world(seed=3)
    acts = {f"L{r}": latent[r] @ rng.normal(size=(6, 20)) for r in range(5)}
    model = ca.ModelData.from_activations(acts, model="m", stimuli=stimuli)
    t = tensor_slow(brain)
    u = ca.model_patterns(model, brain).values
    if missing:  # a missing (subject, region) cell takes the masked path
        t, u = t.copy(), u.copy()
        t[2, 1], t[:, :, 2, 1], u[:, 2, 1] = np.nan, np.nan, np.nan
    for include in (True, False):
        got_brain = brain_aps_kernel(t, include_same_region=include, similarity=similarity)
        got_model = model_aps_kernel(u, t, include_same_region=include, similarity=similarity)
        if missing:
            assert np.isfinite(got_brain).all() and np.isfinite(got_model).mean() > 0.9
            continue
        np.testing.assert_allclose(
            got_brain, brain_aps_slow(t, include, similarity), rtol=1e-10, atol=1e-10
        )
        np.testing.assert_allclose(
            got_model, model_aps_slow(u, t, include, similarity), rtol=1e-10, atol=1e-10
        )
    if not missing:
        labelled = ca.brain_aps(brain, similarity=similarity)
        np.testing.assert_allclose(labelled.values, brain_aps_slow(t, True, similarity), atol=1e-10)
        assert labelled.attrs["similarity"] == similarity
    with pytest.raises(ca.errors.InputError, match="similarity"):
        ca.brain_aps(brain, similarity="euclid")


@pytest.mark.parametrize("similarity", ["pearson", "spearman", "cosine", "mse", "r2"])
@pytest.mark.parametrize("same", [True, False])
@pytest.mark.parametrize("missing", [False, True])
def test_both_kernels_at_once_equal_each_apart_bit_for_bit(similarity, same, missing):
    """What a bootstrap computes per resample: the two kernels sharing the brain's patterns
    give exactly (not nearly) what each gives alone, for resampled subjects (repeated
    subjects' pairs left out) and with missing cells."""
    rng = np.random.default_rng(7)
    n_sub, n_reg, n_lay = 6, 5, 3
    t = rng.normal(size=(n_sub, n_reg, n_sub, n_reg))
    u = rng.normal(size=(n_lay, n_sub, n_reg))
    if missing:
        t[1, 2] = np.nan
        t[:, :, 1, 2] = np.nan
        u[:, 1, 2] = np.nan
    idx = rng.integers(0, n_sub, n_sub)
    for valid in (None, idx[:, None] != idx[None, :]):
        kw = {"include_same_region": same, "similarity": similarity}
        model, brain = aps_kernels(u, t, valid, **kw)
        np.testing.assert_array_equal(model, model_aps_kernel(u, t, valid, **kw))
        np.testing.assert_array_equal(brain, brain_aps_kernel(t, valid, **kw))
        assert np.isfinite(brain).sum() > 0 and np.isfinite(model).sum() > 0
