"""Labelled containers: construction, stimulus ids, selection and bad input."""

import numpy as np
import pytest
import xarray as xr

import crossalign as ca


def responses(rng, subjects=("s1", "s2"), regions=("V1", "IT"), n=12, p=8):
    return {(s, r): rng.normal(size=(n, p)) for s in subjects for r in regions}


def test_from_rdms_labels_and_shapes(cichy):
    assert cichy.subjects[:2] == ["sub01", "sub02"] and len(cichy.subjects) == 15
    assert cichy.regions == ["EVC", "IT"]
    assert cichy.n_stimuli == 92 and cichy.stimuli[0] == "image_01"
    entry = cichy[("sub03", "IT")]
    assert entry.dims == ("stimulus", "stimulus2")
    assert entry.attrs == {"subject": "sub03", "region": "IT", "kind": "rdm"}
    stack = cichy.rdms()
    assert stack.dims == ("subject", "region", "stimulus", "stimulus2")
    assert stack.shape == (15, 2, 92, 92)
    np.testing.assert_allclose(
        stack.sel(subject="sub03", region="IT").values, entry.values, atol=1e-15
    )


def test_from_responses_orders_grid_whatever_the_dict_order(rng):
    data = responses(rng)
    # region-major dict order, same first appearance: entries are stored subject-major
    reordered = {(s, r): data[(s, r)] for r in ("V1", "IT") for s in ("s1", "s2")}
    assert list(reordered) != list(data)
    a = ca.BrainData.from_responses(data)
    b = ca.BrainData.from_responses(reordered)
    assert a.keys() == b.keys()
    np.testing.assert_array_equal(a.rdm_vectors(), b.rdm_vectors())


def test_stimuli_matched_by_id_not_position(rng):
    ids = [f"img{i}" for i in range(12)]
    data = responses(rng)
    perm = rng.permutation(12)
    shuffled = {
        k: xr.DataArray(
            v[perm], dims=("stimulus", "unit"), coords={"stimulus": np.array(ids)[perm]}
        )
        for k, v in data.items()
    }
    a = ca.BrainData.from_responses(data, stimuli=ids)
    b = ca.BrainData.from_responses(shuffled, stimuli=ids)
    np.testing.assert_allclose(a.rdm_vectors(), b.rdm_vectors(), atol=1e-14)


def test_mismatched_and_duplicate_ids(rng):
    data = responses(rng)
    with pytest.raises(
        ValueError,
        match=r"'stimuli' argument must hold unique stimulus ids.*"
        r"1 duplicated",
    ):
        ca.BrainData.from_responses(data, stimuli=["a"] * 2 + [str(i) for i in range(10)])
    with pytest.raises(ValueError, match=r"one id per stimulus \(12 expected\).*Got 5"):
        ca.BrainData.from_responses(data, stimuli=list("abcde"))
    key = ("s1", "V1")
    wrong = dict(data)
    wrong[key] = xr.DataArray(
        data[key], dims=("stimulus", "unit"), coords={"stimulus": [f"x{i}" for i in range(12)]}
    )
    with pytest.raises(
        ValueError,
        match=r"does not cover the same stimuli: 12 expected id\(s\) "
        r"missing",
    ):
        ca.BrainData.from_responses(wrong, stimuli=list(range(12)))


def test_model_and_brain_stimuli_must_match(rng):
    brain = ca.BrainData.from_responses(responses(rng), stimuli=[f"i{k}" for k in range(12)])
    model = ca.ModelData.from_activations(
        {"l1": rng.normal(size=(12, 5))}, stimuli=[f"j{k}" for k in range(12)]
    )
    with pytest.raises(ValueError, match=r"does not cover the same stimuli"):
        ca.model_to_brain_matrix(model, brain, {"V1": "l1"})


def test_missing_region_for_a_subject_is_a_missing_cell(rng):
    data = responses(rng, subjects=("s1", "s2", "s3"))
    del data[("s2", "IT")]
    brain = ca.BrainData.from_responses(data)
    assert brain.present().values.tolist() == [[True, True], [True, False], [True, True]]
    assert brain.subjects_with("IT") == ["s1", "s3"]
    rdms = brain.rdms().values
    assert np.isnan(rdms[1, 1]).all() and np.isfinite(rdms[1, 0]).all()
    # an entirely NaN RDM in a stack is the same missing cell
    stack = np.stack([brain.rdms().values[:, r] for r in range(2)], axis=0)
    again = ca.BrainData.from_rdms({"V1": stack[0], "IT": stack[1]}, subjects=["s1", "s2", "s3"])
    assert again.keys() == brain.keys()
    # a region in one subject only is refused by statistics that need two
    del data[("s3", "IT")]
    one = ca.BrainData.from_responses(data)
    with pytest.raises(ValueError, match=r"at least 2 subjects.*'IT' in 1 subject"):
        ca.cross_region_matrix(one)
    with pytest.raises(ValueError, match=r"stacks 2 RDMs but earlier areas stack 3"):
        ca.BrainData.from_rdms({"V1": np.zeros((3, 5, 5)), "IT": np.zeros((2, 5, 5))})
    with pytest.raises(ValueError, match=r"ModelData cannot have missing entries"):
        ca.ModelData.from_rdms({"l1": np.full((1, 5, 5), np.nan), "l2": np.zeros((1, 5, 5))})


def test_nan_and_inf_rejected(rng):
    data = responses(rng)
    data[("s1", "IT")][4, 2] = np.inf
    with pytest.raises(ValueError, match=r"responses\[\('s1', 'IT'\)\]' argument must hold finite"):
        ca.BrainData.from_responses(data)
    rdm = np.zeros((2, 5, 5))
    rdm[0, 1, 2] = rdm[0, 2, 1] = np.nan
    with pytest.raises(ValueError, match=r"rdms\['V1'\]' argument must hold finite"):
        ca.BrainData.from_rdms({"V1": rdm})


def test_constant_responses(rng):
    data = responses(rng)
    data[("s1", "V1")] = np.ones((12, 8))
    with pytest.raises(ValueError, match=r"constant across stimuli in all its 8 units"):
        ca.BrainData.from_responses(data)
    data = responses(rng)
    data[("s1", "V1")][:, 3] = 5.0
    with pytest.raises(
        ValueError,
        match=r"1 constant unit\(s\).*first at unit 3.*"
        r"constant_units='drop'",
    ):
        ca.BrainData.from_responses(data)
    dropped = ca.BrainData.from_responses(data, constant_units="drop")
    assert dropped[("s1", "V1")].shape == (12, 7)
    kept = ca.ModelData.from_responses(data)  # models keep dead units by default
    assert kept[("s1", "V1")].shape == (12, 8)


def test_bad_rdms_rejected():
    square = np.zeros((2, 4, 5))
    with pytest.raises(ValueError, match=r"square RDM.*shape \(2, 4, 5\)"):
        ca.BrainData.from_rdms({"V1": square})
    asym = np.tile(np.arange(16.0).reshape(4, 4), (2, 1, 1))
    with pytest.raises(ValueError, match=r"'rdms\['V1'\]' argument must be symmetric"):
        ca.BrainData.from_rdms({"V1": asym})


def test_bad_types_rejected():
    with pytest.raises(TypeError, match=r"'rdms' argument must be a non-empty mapping"):
        ca.BrainData.from_rdms(np.zeros((2, 4, 4)))
    with pytest.raises(TypeError, match=r"keys of 'responses' must be \(subject, region\) tuples"):
        ca.BrainData.from_responses({"s1": np.zeros((4, 3))})
    with pytest.raises(ValueError, match=r"\(n_stimuli, n_units\).*shape \(5,\)"):
        ca.BrainData.from_responses({("s", "r"): np.arange(5.0)})
    obj = np.empty((4, 3), dtype=object)
    with pytest.raises(TypeError, match=r"numeric array.*object array"):
        ca.BrainData.from_responses({("s", "r"): obj})


def test_select_and_subset_stimuli(cichy):
    sub = cichy.select(sources=["sub02", "sub01"], areas=["IT"])
    assert sub.subjects == ["sub02", "sub01"] and sub.regions == ["IT"]
    ids = ["image_05", "image_01", "image_09", "image_02"]
    small = sub.subset_stimuli(ids)
    np.testing.assert_array_equal(
        small[("sub01", "IT")].values,
        cichy[("sub01", "IT")].sel(stimulus=ids, stimulus2=ids).values,
    )
    with pytest.raises(ValueError, match=r"unknown subject\(s\) \['sub99'\]"):
        cichy.select(sources=["sub99"])
    with pytest.raises(ValueError, match=r"names 1 unknown stimulus id\(s\), e\.g\. \['nope'\]"):
        cichy.subset_stimuli(["image_01", "image_02", "nope"])
    with pytest.raises(KeyError, match=r"No entry \('sub01', 'V4'\)"):
        cichy[("sub01", "V4")]


def test_model_data_flattens_and_lists_layers(rng):
    md = ca.ModelData.from_activations(
        {"conv": rng.normal(size=(10, 3, 4, 4)), "fc": rng.normal(size=(10, 7))}, model="net"
    )
    assert md.models == ["net"] and md.layers() == ["conv", "fc"]
    assert md[("net", "conv")].shape == (10, 48)
    with pytest.raises(ValueError, match=r"'model' argument must be one of \['net'\]"):
        md.layers("other")


def test_repetitions_are_averaged_for_rdms(rng):
    reps = rng.normal(size=(10, 6, 4))
    a = ca.BrainData.from_responses({("s", "r"): reps, ("t", "r"): reps})
    b = ca.BrainData.from_responses({("s", "r"): reps.mean(-1), ("t", "r"): reps.mean(-1)})
    np.testing.assert_allclose(a.rdm_vectors(), b.rdm_vectors(), atol=1e-14)
    assert a[("s", "r")].dims == ("stimulus", "unit", "repetition")


def test_reading_layers_by_region_changes_nothing():
    md = ca.ModelData.from_activations({"l1": np.random.default_rng(0).normal(size=(5, 3))})
    assert md.layers_by_region == {} and "layers_by_region" not in md.attrs
    md.layers_by_region["model"] = {"V1": "l1"}  # a copy: the record is unchanged
    assert md.layers_by_region == {} and md.attrs == {}
    md.attrs["layers_by_region"] = {"model": {"V1": "l1"}}
    assert md.layers_by_region == {"model": {"V1": "l1"}}


def test_subset_rdms_index_the_cached_ones_and_stay_read_only():
    from scipy.spatial.distance import pdist

    rng = np.random.default_rng(1)
    x = rng.normal(size=(9, 4))
    data = ca.BrainData.from_responses({("s", "r"): x, ("t", "r"): x + rng.normal(size=(9, 4))})
    full = data.rdm_vectors("euclidean")
    assert not full.flags.writeable
    ids = [7, 2, 5, 0]
    sub = data.subset_stimuli(ids)
    assert sub._rdm_cache  # carried over, not recomputed
    np.testing.assert_allclose(sub.rdm_vectors("euclidean")[0], pdist(x[ids]), atol=1e-12)
    picked = data.select(sources=["t"])
    np.testing.assert_array_equal(picked.rdm_vectors("euclidean"), full[1:])


def test_entry_shape_equals_the_labelled_arrays_shape_for_every_kind():
    rng = np.random.default_rng(0)
    brain = ca.BrainData.from_responses(
        {("s1", "V1"): rng.normal(size=(6, 4)), ("s1", "V2"): rng.normal(size=(6, 9, 2))}
    )
    rdms = ca.BrainData.from_rdms({("s1", "IT"): np.ones((6, 6)) - np.eye(6)})
    for data in (brain, rdms):
        for key in data:
            assert data.entry_shape(key) == data[key].shape
    assert brain.entry_shape(("s1", "V2")) == (6, 9, 2)
    with pytest.raises(KeyError):
        brain.entry_shape(("s1", "V3"))
