"""xarray in and out: BrainData/ModelData <-> Dataset in memory and through every saver, with
labels and stimulus ids of their own type; comparison results as Datasets."""

import numpy as np
import pytest
import xarray as xr

import crossalign as ca
from crossalign.data import labels


def _types(values):
    return [type(v) for v in values]


def brain(rng, subjects=(1, 2, 3), regions=("V1", "IT"), stimuli=(10, 11, 12, 13, 14)):
    return ca.BrainData.from_responses(
        {(s, r): rng.normal(size=(len(stimuli), 4)) for s in subjects for r in regions},
        stimuli=list(stimuli),
    )


def same(a, b):
    assert a.keys() == b.keys()
    assert [_types(k) for k in a] == [_types(k) for k in b]
    assert list(a.stimuli) == list(b.stimuli) and _types(a.stimuli) == _types(b.stimuli)
    for key in a:
        assert a.kind(key) == b.kind(key)
        np.testing.assert_array_equal(a[key].values, b[key].values)


@pytest.mark.parametrize("layout", ["auto", "regions", "entries"])
def test_brain_data_round_trips_in_memory(layout):
    data = brain(np.random.default_rng(0))
    ds = data.to_dataset(layout)
    assert isinstance(ds, xr.Dataset)
    same(data, ca.BrainData.from_dataset(ds))


def test_non_string_regions_go_to_the_entries_layout():
    data = brain(np.random.default_rng(0), regions=("V1", 7))
    assert data.to_dataset().attrs["layout"] == "crossalign-entries-1"
    same(data, ca.BrainData.from_dataset(data.to_dataset()))
    with pytest.raises(ValueError, match=r"must be a string\. Got 7"):
        data.to_dataset("regions")


def test_regions_layout_is_the_natural_one():
    data = brain(np.random.default_rng(1), subjects=("s1", "s2"), regions=("V1", "IT"))
    ds = data.to_dataset()
    assert set(ds.data_vars) == {"V1", "IT"}
    assert ds["V1"].dims == ("subject", "stimulus", "unit_V1")
    assert list(ds["subject"].values) == ["s1", "s2"]
    np.testing.assert_array_equal(ds["IT"].sel(subject="s2").values, data[("s2", "IT")].values)


def test_a_users_dataset_becomes_brain_data_with_ids_of_their_type():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(2, 6, 3))
    ds = xr.Dataset(
        {"FFA": (("subject", "stimulus", "voxel"), x)},
        coords={"subject": [4, 9], "stimulus": np.arange(100, 106)},
    )
    data = ca.BrainData.from_dataset(ds)
    assert data.subjects == [4, 9] and _types(data.subjects) == [int, int]
    assert list(data.stimuli) == list(range(100, 106)) and _types(data.stimuli) == [int] * 6
    np.testing.assert_array_equal(data[(9, "FFA")].values, x[1])
    with pytest.raises(ValueError, match="has no variable 'LOC'"):
        ca.BrainData.from_dataset(ds, areas=["LOC"])
    with pytest.raises(ValueError, match=r"'ds' argument must be an xarray\.Dataset"):
        ca.BrainData.from_dataset({"FFA": x})


def test_entries_layout_keeps_what_regions_cannot():
    rng = np.random.default_rng(3)
    responses = {
        (("sub", 1), "V1"): rng.normal(size=(5, 3)),
        (("sub", 1), "IT"): rng.normal(size=(5, 2, 3)),  # repetitions
        (("sub", 2), "V1"): rng.normal(size=(5, 6)),  # another unit count; IT missing
    }
    responses[(("sub", 1), "IT")][0, 0, 2] = np.nan  # a missing repeat
    data = ca.BrainData.from_responses(responses, stimuli=["a", "b", "c", "d", "e"])
    data.attrs["split"] = {"train": ["a", "b", "c"], "test": ["d", "e"]}
    ds = data.to_dataset()
    assert ds.attrs["layout"] == "crossalign-entries-1"
    back = ca.BrainData.from_dataset(ds)
    same(data, back)
    assert back.subjects == [("sub", 1), ("sub", 2)]
    assert back.attrs["split"] == data.attrs["split"]
    assert (("sub", 2), "IT") not in back and back[(("sub", 1), "IT")].ndim == 3
    with pytest.raises(ValueError, match="different unit counts across subjects"):
        data.to_dataset("regions")


def test_model_data_round_trips_with_tuple_layers():
    rng = np.random.default_rng(4)
    md = ca.ModelData.from_activations(
        {"conv1": rng.normal(size=(5, 8)), ("block", 2): rng.normal(size=(5, 4, 2))}, model=0
    )
    ds = md.to_dataset()
    assert ds.attrs["container"] == "ModelData"
    back = ca.ModelData.from_dataset(ds)
    same(md, back)
    assert back.layers() == ["conv1", ("block", 2)]
    with pytest.raises(ValueError, match="holds ModelData, not BrainData"):
        ca.BrainData.from_dataset(ds)


def test_rdm_data_round_trips():
    from crossalign.functional import compute_rdm

    rng = np.random.default_rng(5)
    stacks = {r: np.stack([compute_rdm(rng.normal(size=(6, 10))) for _ in range(3)]) for r in "AB"}
    data = ca.BrainData.from_rdms(stacks, subjects=[1, 2, 3], stimuli=list(range(6)))
    for layout in ("regions", "entries"):
        ds = data.to_dataset(layout)
        same(data, ca.BrainData.from_dataset(ds))


@pytest.mark.parametrize("suffix", [".nc", ".zarr"])
@pytest.mark.parametrize("layout", ["auto", "regions", "entries"])
def test_ids_keep_their_type_through_save_xarray(tmp_path, suffix, layout):
    data = brain(np.random.default_rng(6), subjects=(1, 2), regions=("V1", "IT"))
    back = ca.io.load_xarray(ca.io.save_xarray(data, tmp_path / f"d{suffix}", layout=layout))
    same(data, back)


def test_ids_keep_their_type_through_a_saved_evaluation(tmp_path):
    rng = np.random.default_rng(7)
    stimuli = list(range(20))
    latent = rng.normal(size=(20, 3))
    data = ca.BrainData.from_responses(
        {
            (s, r): latent @ rng.normal(size=(3, 6)) + 0.5 * rng.normal(size=(20, 6))
            for s in (1, 2, 3)
            for r in (5, "IT", ("V", 4))
        },
        stimuli=stimuli,
    )
    md = ca.ModelData.from_activations(
        {la: latent @ rng.normal(size=(3, 5)) for la in (0, "fc")}, model="net", stimuli=stimuli
    )
    ev = ca.Evaluation.fit(md, data, seed=1)
    back = ca.Evaluation.load(ev.save(tmp_path / "ev.nc"))
    assert back.regions == [5, "IT", ("V", 4)] and back.subjects == [1, 2, 3]
    assert back.layers == ev.layers and _types(back.train) == [int] * len(back.train)
    np.testing.assert_array_equal(back.t, ev.t)


def test_mixed_stimulus_ids_are_refused_by_name():
    with pytest.raises(ValueError, match=r"Stimulus ids of mixed.*\['int', 'str'\]"):
        labels.ids_array([1, "a"])
    with pytest.raises(ValueError, match=r"\['bool'\]"):
        labels.ids_array([True, False])


def test_float_stimulus_ids_round_trip(tmp_path):
    data = brain(np.random.default_rng(9), stimuli=(0.5, 1.5, 2.5, 3.5, 4.5))
    same(data, ca.BrainData.from_dataset(data.to_dataset()))
    same(data, ca.io.load_xarray(ca.io.save_xarray(data, tmp_path / "f.nc")))


def test_label_helper_keeps_types():
    assert labels.coord([1, 2]).dtype == np.int64
    assert labels.coord(["a", "b"]).dtype.kind == "U"
    tup = labels.coord([("a", 1), ("b", 2)])
    assert tup.dtype == object and tup.shape == (2,) and tup[1] == ("b", 2)
    assert labels.coord([True, False]).dtype == object  # bools are not integers
    for value in (3, "x", ("a", (1, 2)), [1, ("b", 2)]):
        back = labels.loads(labels.dumps(value))
        assert back == (tuple(value) if isinstance(value, list) else value)
    assert labels.plain(np.int32(4)) == 4 and type(labels.plain(np.int32(4))) is int
    assert labels.plain(b"V1") == "V1"


def test_pattern_comparison_as_a_dataset():
    rng = np.random.default_rng(8)
    a = rng.normal(size=(5, 5))
    a = (a + a.T) / 2
    b = a + 0.1 * rng.normal(size=(5, 5))
    b = (b + b.T) / 2
    comp = ca.compare_matrices(a, b, n_permutations=100, seed=0)
    ds = comp.to_dataset()
    assert float(ds["pattern_correlation"]) == comp.pattern_correlation
    assert float(ds["p_value"]) == comp.p_value and ds.attrs["method"] == comp.method
    # numbers are data variables: they survive concatenation over models
    both = xr.concat([ds, ds], dim="model")
    assert both["pattern_correlation"].shape == (2,)


def test_save_xarray_refuses_other_suffixes(tmp_path):
    data = brain(np.random.default_rng(10))
    with pytest.raises(ValueError, match=r"'.*out\.h5' must end in \.nc \(netCDF\) or \.zarr"):
        ca.io.save_xarray(data, tmp_path / "out.h5")
    assert not (tmp_path / "out.h5").exists()
