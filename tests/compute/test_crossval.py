"""Cross-validated distances (cv-Euclidean, crossnobis) against rsatoolbox and a slow twin
written from the definition; every analysis takes them; data without repetitions is refused."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import crossalign as ca
from crossalign.compute.crossval import (
    crossnobis_vector,
    cv_rdm_vector,
    noise_covariance,
    noise_precision,
)
from crossalign.errors import InputError

rsatoolbox = pytest.importorskip("rsatoolbox")


def _rsatoolbox_rdm(x, noise=None):
    """rsatoolbox's crossnobis RDM of x (stimulus, unit, repetition), folds = repetitions."""
    from rsatoolbox.data import Dataset
    from rsatoolbox.rdm import calc_rdm

    n, _, n_rep = x.shape
    meas = x.transpose(2, 0, 1).reshape(n_rep * n, -1)
    ds = Dataset(
        meas,
        obs_descriptors={
            "conds": np.tile(np.arange(n), n_rep),
            "rep": np.repeat(np.arange(n_rep), n),
        },
    )
    rdm = calc_rdm(ds, method="crossnobis", descriptor="conds", cv_descriptor="rep", noise=noise)
    return rdm.dissimilarities[0], ds


def _slow(x, w=None):
    """From the definition, term by term: each of the four inner products averaged over the
    ordered pairs of different repetitions that the stimuli have (NaN = missing)."""
    n, p, n_rep = x.shape
    w = np.eye(p) if w is None else w
    valid = [[a for a in range(n_rep) if not np.isnan(x[i, 0, a])] for i in range(n)]

    def term(i, j):
        pairs = [(a, b) for a in valid[i] for b in valid[j] if a != b]
        return np.mean([x[i, :, a] @ w @ x[j, :, b] for a, b in pairs])

    return np.array(
        [
            (term(i, i) + term(j, j) - term(i, j) - term(j, i)) / p
            for i, j in itertools.combinations(range(n), 2)
        ]
    )


def _world(seed=0, n_sub=4, regions=("V1", "V2", "V4"), n=10, p=7, n_rep=3, noise=(0.5, 1, 2)):
    rng = np.random.default_rng(seed)
    signal = rng.normal(size=(n, p))
    return ca.BrainData.from_responses(
        {
            (f"s{s}", r): (signal @ rng.normal(size=(p, p)))[:, :, None]
            + level * rng.normal(size=(n, p, n_rep))
            for s in range(n_sub)
            for r, level in zip(regions, noise, strict=True)
        }
    )


def test_brain_rdms_equal_rsatoolbox_crossnobis():
    data = _world()
    for distance, method in (
        ("cv_euclidean", None),
        ("crossnobis", "shrinkage_diag"),
        ("crossnobis_shrinkage_eye", "shrinkage_eye"),
    ):
        rdms = data.rdms(distance)
        for key in [("s0", "V1"), ("s3", "V4")]:
            x = data[key].values
            _, ds = _rsatoolbox_rdm(x)
            noise = None
            if method is not None:
                from rsatoolbox.data.noise import prec_from_measurements

                noise = prec_from_measurements(ds, obs_desc="conds", method=method)
                np.testing.assert_allclose(noise_precision(x, method), noise, atol=1e-8)
            ref, _ = _rsatoolbox_rdm(x, noise)
            got = ca.upper_triangle(rdms.sel(subject=key[0], region=key[1]).values)
            np.testing.assert_allclose(got, ref, atol=1e-8)


def test_the_cross_region_matrix_on_crossnobis_equals_one_from_rsatoolbox_rdms():
    from rsatoolbox.data.noise import prec_from_measurements

    data = _world(seed=1)
    stacks = {}
    for region in data.regions:
        per_subject = []
        for subject in data.subjects:
            x = data[(subject, region)].values
            _, ds = _rsatoolbox_rdm(x)
            vec, _ = _rsatoolbox_rdm(x, prec_from_measurements(ds, obs_desc="conds"))
            per_subject.append(ca.compute.rdm.square_from_vector(vec))
        stacks[region] = np.stack(per_subject)
    from_files = ca.BrainData.from_rdms(stacks, subjects=data.subjects, allow_negative=True)
    ours = ca.cross_region_matrix(data, "spearman", rdm="crossnobis")
    theirs = ca.cross_region_matrix(from_files, "spearman")
    np.testing.assert_allclose(ours.values, theirs.values, atol=1e-10)


@given(st.integers(0, 10_000), st.integers(2, 5))
def test_missing_repetitions_equal_the_slow_twin(seed, n_rep):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(6, 4, n_rep))
    if n_rep > 2:
        for i in rng.choice(6, size=2, replace=False):  # one repetition missing
            x[i, :, rng.integers(n_rep)] = np.nan
    w = np.diag(rng.uniform(0.5, 2.0, size=4))
    np.testing.assert_allclose(cv_rdm_vector(x), _slow(x), atol=1e-10)
    np.testing.assert_allclose(cv_rdm_vector(x, w), _slow(x, w), atol=1e-10)


def test_noise_does_not_bias_cross_validated_distances():
    """Identical stimuli, pure noise: cross-validated distances average to 0 (and can be
    negative); squared Euclidean distances of the averages are biased upwards."""
    rng = np.random.default_rng(3)
    x = np.ones((40, 50, 4)) + rng.normal(size=(40, 50, 4))
    d = cv_rdm_vector(x)
    assert (d < 0).any() and abs(d.mean()) < 0.02
    biased = ca.compute.rdm.rdm_vectors(x.mean(axis=2), "sqeuclidean") / 50
    assert biased.mean() > 0.4


def test_data_without_repetitions_is_refused_naming_the_cell():
    rng = np.random.default_rng(0)
    data = ca.BrainData.from_responses({("s1", "V1"): rng.normal(size=(6, 4))})
    with pytest.raises(InputError, match=r"cross-validated.*\('s1', 'V1'\) has none"):
        data.rdms("crossnobis")
    with pytest.raises(InputError, match="repetition 1 of stimulus 2 partly NaN"):
        x = rng.normal(size=(5, 3, 3))
        x[2, 0, 1] = np.nan
        cv_rdm_vector(x)


def test_models_use_the_noiseless_limit_and_every_analysis_runs():
    data = _world(seed=2)
    rng = np.random.default_rng(5)
    acts = {f"L{k}": rng.normal(size=(10, 12)) for k in range(3)}
    model = ca.ModelData.from_activations(acts, model="m")
    layer = model[("m", "L0")].values
    expected = ca.compute.rdm.rdm_vectors(layer, "sqeuclidean") / 12
    np.testing.assert_allclose(model.rdm_vectors("crossnobis")[0], expected, atol=1e-12)
    tensor = ca.score_tensor(model, data, rdm="crossnobis")
    assert np.isfinite(tensor.values).all()
    assert np.isfinite(ca.brain_aps(data, rdm="cv_euclidean").values).all()
    ev = ca.evaluate_model(model, data, rdm="crossnobis", n_bootstrap=50, n_permutations=50)
    assert np.isfinite(ev["score"].values).all()


def _general(x, method):
    """Crossnobis through the general path: the public precision, then the whitened RDM."""
    return cv_rdm_vector(x, noise_precision(x, method))


@given(
    st.integers(0, 10_000), st.integers(2, 4), st.sampled_from(["shrinkage_diag", "shrinkage_eye"])
)
def test_the_fused_kernel_equals_the_general_path(seed, n_rep, method):
    rng = np.random.default_rng(seed)
    n, p = int(rng.integers(3, 12)), int(rng.integers(2, 9))
    x = rng.normal(size=(n, p))[:, :, None] + rng.uniform(0.3, 2.0, p)[None, :, None] * (
        rng.normal(size=(n, p, n_rep))
    )
    np.testing.assert_allclose(crossnobis_vector(x, method), _general(x, method), atol=1e-10)


def test_the_torch_backend_and_missing_repetitions_take_the_general_path():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(9, 5, 3))
    expected = _general(x, "shrinkage_diag")
    pytest.importorskip("torch")
    with ca.options(backend="torch:cpu"):
        np.testing.assert_allclose(crossnobis_vector(x, "shrinkage_diag"), expected, atol=1e-10)
    x[2, :, 1] = np.nan
    np.testing.assert_allclose(
        crossnobis_vector(x, "shrinkage_diag"), _general(x, "shrinkage_diag"), atol=1e-12
    )


def test_shrinkage_sums_equal_the_unit_pair_products():
    """The O(observations x units) shrinkage sums equal rsatoolbox's unit x unit products."""
    from rsatoolbox.data.noise import cov_from_measurements

    rng = np.random.default_rng(8)
    x = rng.normal(size=(12, 6, 3)) * rng.uniform(0.2, 3.0, 6)[None, :, None]
    n, p, r = x.shape
    from rsatoolbox.data import Dataset

    ds = Dataset(
        x.transpose(2, 0, 1).reshape(r * n, p),
        obs_descriptors={"conds": np.tile(np.arange(n), r)},
    )
    for method in ("shrinkage_diag", "shrinkage_eye"):
        ref = cov_from_measurements(ds, obs_desc="conds", method=method)
        np.testing.assert_allclose(noise_covariance(x, method), ref, rtol=1e-12, atol=1e-14)


def test_a_unit_without_noise_is_refused_naming_it():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(6, 4, 3))
    x[:, 2, :] = x[:, 2, :1]  # unit 2 repeats itself exactly
    for run in (lambda: crossnobis_vector(x, "shrinkage_diag"), lambda: noise_precision(x)):
        with pytest.raises(InputError, match="no variation across repetitions in unit 2"):
            run()
