"""The seed's example workflow (Steps 1-5, Applications 1-2), end to end, on synthetic data."""

import numpy as np
import pytest

import crossalign as ca
import crossalign.functional as caf

REGIONS = ["V1", "V4", "IT"]
SUBJECTS = [f"sub{i}" for i in range(6)]
N = 60


class World:
    """Synthetic multi-subject, multi-region responses with a planted model correspondence."""

    def __init__(self, seed=0):
        rng = np.random.default_rng(seed)
        self.stimuli = [f"img{i:03d}" for i in range(N)]
        base = rng.normal(size=(N, 8))
        # regions share part of their structure (a cross-region pattern), plus their own
        self.latent = {
            r: base * w + rng.normal(size=(N, 8))
            for r, w in zip(REGIONS, (1.5, 1.0, 0.5), strict=True)
        }
        self.proj = {(s, r): rng.normal(size=(8, 40)) for s in SUBJECTS for r in REGIONS}
        self.noise = {(s, r): rng.normal(size=(N, 40)) for s in SUBJECTS for r in REGIONS}
        self.model_proj = {r: rng.normal(size=(8, 50)) for r in REGIONS}
        self.random_net_weights = rng.normal(size=(N, 50))

    def loader(self, subject, region, stimuli):
        rows = [self.stimuli.index(s) for s in stimuli]
        x = self.latent[region] @ self.proj[(subject, region)] + 1.5 * self.noise[(subject, region)]
        return x[rows]

    def trained_net(self, stimuli):
        rows = [self.stimuli.index(s) for s in stimuli]
        return {
            f"block{i}": (self.latent[r] @ self.model_proj[r])[rows]
            for i, r in enumerate(REGIONS, start=1)
        }

    def untrained_net(self, stimuli):
        rows = [self.stimuli.index(s) for s in stimuli]
        rng = np.random.default_rng(1)
        return {f"block{i}": rng.normal(size=(N, 50))[rows] for i in range(1, 4)}


@pytest.fixture(scope="module")
def world():
    return World()


@pytest.mark.slow  # over 0.5 s: in make test, not the everyday subset
def test_seed_workflow_steps_1_to_5(world):
    # Step 1: data collection
    brain = caf.collect_multi_region_data(SUBJECTS, REGIONS, world.stimuli, world.loader)
    assert isinstance(brain, ca.BrainData)
    assert brain.subjects == SUBJECTS and brain.regions == REGIONS
    assert list(brain.stimuli) == world.stimuli

    # Step 2: model responses at the layers assigned to regions
    net = world.trained_net  # named by its __name__
    layers = {"V1": "block1", "V4": "block2", "IT": "block3"}
    model_data = caf.collect_model_responses([net], world.stimuli, layers)
    assert model_data.models == ["trained_net"]
    assert model_data.layers_by_region == {"trained_net": layers}

    # Step 3: RDMs and an alignment score with a permutation p-value
    rdm_b = caf.compute_rdm(brain[("sub0", "IT")])
    rdm_m = caf.compute_rdm(model_data[("trained_net", "block3")])
    assert rdm_b.shape == (N, N)
    score, p = caf.compute_alignment_score(rdm_b, rdm_m, method="spearman")
    assert score > 0.3 and p == pytest.approx(1 / 1001)
    _score_p, p_p = caf.compute_alignment_score(rdm_b, rdm_m, method="pearson")
    assert p_p is not None and 0 < p_p <= 1  # the seed left Pearson p-values empty

    # Step 4: cross-region alignment matrices
    brain_matrix = caf.compute_cross_region_alignment(brain, REGIONS)
    model_matrix = caf.compute_cross_region_alignment(model_data, REGIONS)
    assert brain_matrix.shape == (3, 3)
    assert np.all(np.diag(brain_matrix.values) < 1.0)  # cross-subject reliability, not 1
    np.testing.assert_allclose(np.diag(model_matrix.values), 1.0)
    # same result from the seed's plain dict input
    as_dict = {k: brain[k].values for k in brain}
    np.testing.assert_allclose(
        caf.compute_cross_region_alignment(as_dict, REGIONS).values, brain_matrix.values
    )

    # Step 5: pattern comparison
    result = caf.compare_alignment_patterns(brain_matrix, {"trained_net": model_matrix}, REGIONS)
    assert set(result) == {"brain_to_brain", "model_to_brain", "comparisons"}
    cmp = result["comparisons"]["trained_net"]
    assert set(cmp) >= {"mean_diff", "pattern_similarity", "captures_cross_region", "p_value"}
    assert cmp["mean_diff"] == pytest.approx(
        result["brain_to_brain"]["mean_alignment"]
        - result["model_to_brain"]["trained_net"]["mean_alignment"]
    )
    assert cmp["exact_permutation_test"] and cmp["n_permutations"] == 6
    assert cmp["captures_cross_region"] == (cmp["pattern_similarity"] > 0.5)
    strict = caf.compare_alignment_patterns(
        brain_matrix, {"m": model_matrix}, REGIONS, threshold=cmp["pattern_similarity"] + 1e-9
    )
    assert strict["comparisons"]["m"]["captures_cross_region"] is False


@pytest.mark.slow  # over 0.5 s: in make test, not the everyday subset
def test_application_1_validate_model(world):
    brain = caf.collect_multi_region_data(SUBJECTS, REGIONS, world.stimuli, world.loader)
    report = caf.validate_model_comprehensive(world.trained_net, brain, world.stimuli, REGIONS)
    assert report["selected_layers"] == {"V1": "block1", "V4": "block2", "IT": "block3"}
    train, test = report["split"]["train"], report["split"]["test"]
    assert not set(train) & set(test) and len(train) + len(test) == N
    assert all(v > 0.2 for v in report["within_region_alignment"].values())
    assert report["overall_score"] == pytest.approx(
        np.mean(list(report["within_region_alignment"].values()))
    )
    assert report["model_to_brain_matrix"].dims == ("region", "target_region")
    assert isinstance(report["captures_global_dynamics"], bool)
    # the best layers selected by the seed's own function agree when given the same split
    assert (
        caf.identify_best_layers(
            world.trained_net, REGIONS, brain, world.stimuli, train_stimuli=train
        )
        == report["selected_layers"]
    )


@pytest.mark.slow  # over 0.5 s: in make test, not the everyday subset
def test_application_2_compare_paradigms(world):
    brain = caf.collect_multi_region_data(SUBJECTS, REGIONS, world.stimuli, world.loader)
    precomputed = ca.ModelData.from_activations(
        world.trained_net(world.stimuli), model="precomputed", stimuli=world.stimuli
    )
    out = caf.compare_model_paradigms(
        {
            "supervised": {"trained": world.trained_net, "precomputed": precomputed},
            "untrained": {"random": world.untrained_net},
        },
        brain,
        world.stimuli,
        REGIONS,
        n_permutations=100,
    )
    sup, unt = out["supervised"], out["untrained"]
    assert sup["n_models"] == 2 and unt["n_models"] == 1
    assert sup["mean_within_region"] > unt["mean_within_region"] + 0.2
    # a callable and its precomputed activations give identical reports
    a, b = sup["models"]["trained"], sup["models"]["precomputed"]
    assert a["within_region_alignment"] == pytest.approx(b["within_region_alignment"], abs=1e-12)
    assert 0.0 <= sup["captures_global"] <= 1.0
    # the paper's test on the same machinery: test-set score and APS with subject-bootstrap CIs
    for key in ("within_region", "aps"):
        low, high = sup[f"{key}_ci"]
        assert low <= sup[f"mean_{key}_test"] <= high
    assert sup["aps_ci"][0] > unt["aps_ci"][1]  # trained pattern clearly above untrained
    assert set(sup["evaluations"]) == {"trained", "precomputed"}


def test_seed_api_errors(world):
    with pytest.raises(TypeError, match=r"'loader' argument must be callable"):
        caf.collect_multi_region_data(SUBJECTS, REGIONS, world.stimuli, loader=None)
    with pytest.raises(ValueError, match=r"layer 'nope'.*Available layers"):
        caf.collect_model_responses([world.trained_net], world.stimuli, {"V1": "nope"})
    rdm = caf.compute_rdm(np.random.default_rng(0).normal(size=(10, 4)))
    with pytest.raises(ValueError, match=r"same shape"):
        caf.compute_alignment_score(rdm, rdm[:5, :5])
    with pytest.raises(ValueError, match=r"Did you mean 'spearman'"):
        caf.compute_alignment_score(rdm, rdm, method="spearmann")
    with pytest.raises(ValueError, match=r"'brain_matrix' argument must be a 2 x 2 matrix"):
        caf.compare_alignment_patterns(np.eye(3), {}, ["a", "b"])
    brain = caf.collect_multi_region_data(SUBJECTS, REGIONS, world.stimuli, world.loader)
    with pytest.raises(TypeError, match=r"must return a mapping \{layer: array"):
        caf.identify_best_layers(lambda s: np.zeros(3), REGIONS, brain, world.stimuli)
    with pytest.raises(TypeError, match=r"'brain_data' argument must be a BrainData or a mapping"):
        caf.identify_best_layers(world.trained_net, REGIONS, [1, 2], world.stimuli)


def test_alignment_score_p_value_unrelated_rdms_not_significant():
    rng = np.random.default_rng(4)
    a = caf.compute_rdm(rng.normal(size=(20, 10)))
    b = caf.compute_rdm(rng.normal(size=(20, 10)))
    score, p = caf.compute_alignment_score(a, b, n_permutations=2000, seed=1)
    assert abs(score) < 0.3 and p > 0.05
