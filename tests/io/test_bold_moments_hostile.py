"""Hostile BOLD Moments inputs on the paper's path (fsLR32k betas, parcels, NCSNR files):
each ends in a clear error naming the file or argument, or in numbers equal to numpy's."""

from __future__ import annotations

import numpy as np
import pytest

import crossalign as ca
from crossalign.errors import DataWarning, InputError

from . import dataset_layouts as layouts

PARCELS = ["V1", "V2", "V3"]


def _root(tmp_path, **kwargs):
    root = tmp_path / "bmd"
    root.mkdir()
    whole, atlas, names, snr = layouts.bold_moments_fslr(
        root, np.random.default_rng(3), parcels=PARCELS, **kwargs
    )
    return root, whole, atlas, names, snr


def _betas(root, sub, part):
    return (
        root
        / "derivatives/versionB/fsLR32k/GLM"
        / sub
        / "prepared_betas"
        / f"{sub}_organized_betas_task-{part}_normalized.pkl"
    )


def _rewrite(root, sub, part, betas):
    ids = np.array(
        [f"vid{i:04d}" for i in (range(1, 1001) if part == "train" else range(1001, 1103))]
    )
    layouts._dump((betas, ids), _betas(root, sub, part))


def _load(root, atlas, **kwargs):
    options = {"space": "fsLR32k", "parcellation": atlas, "rois": PARCELS, **kwargs}
    return ca.load_dataset("bold_moments", root=root, **options)


@pytest.mark.parametrize("repeats", ["keep", "average", "paper"])
@pytest.mark.slow  # over 0.5 s: in make test, not the everyday subset
def test_an_infinite_beta_is_refused_in_every_repeat_mode(tmp_path, repeats):
    root, whole, atlas, _names, _snr = _root(tmp_path)
    train, _test = whole["sub-02"]
    train = train.copy()
    train[41, 1, 5] = np.inf
    _rewrite(root, "sub-02", "train", train)
    with pytest.raises(InputError) as err:
        _load(root, atlas, repeats=repeats)
    text = str(err.value)
    for part in ("sub-02", "task-train", "vid0042", "grayordinate (voxel) 5", "repeat 2"):
        assert part in text


def test_paper_repeats_are_the_nan_aware_mean_then_zero(tmp_path):
    root, whole, atlas, names, _snr = _root(tmp_path)
    data = _load(root, atlas, repeats="paper")
    for sub in ("sub-01", "sub-03"):
        train, test = whole[sub]
        with np.errstate(invalid="ignore"), pytest.warns(RuntimeWarning):
            mean = np.concatenate([np.nanmean(train, 1), np.nanmean(test, 1)])
        assert np.isnan(mean).sum() == 1  # train[7, :, 0]: no valid repeat
        mean = np.where(np.isnan(mean), 0.0, mean)
        for region in PARCELS:
            cols = np.flatnonzero(np.isin(names, [f"L_{region}", f"R_{region}"]))
            np.testing.assert_allclose(data[(sub, region)].values, mean[:, cols], atol=1e-12)
    col = np.flatnonzero(np.isin(names, [f"L_{r}" for r in PARCELS] + [f"R_{r}" for r in PARCELS]))
    if 0 in col:
        region = str(names[0])[2:]
        assert data.attrs["zero_filled"][f"sub-01/{region}"] == 1


def test_a_grayordinate_never_measured_loads_as_zeros_under_paper(tmp_path):
    root, whole, atlas, names, _snr = _root(tmp_path)
    v1 = np.flatnonzero(np.isin(names, ["L_V1", "R_V1"]))
    for part, arr in zip(("train", "test"), whole["sub-01"], strict=True):
        arr = arr.copy()
        arr[:, :, v1[0]] = np.nan
        _rewrite(root, "sub-01", part, arr)
    data = _load(root, atlas, repeats="paper")
    assert data.attrs["zero_filled"]["sub-01/V1"] >= 1102
    column = list(v1).index(v1[0])
    np.testing.assert_array_equal(data[("sub-01", "V1")].values[:, column], 0.0)


def test_train_and_test_files_that_disagree_in_length_are_refused(tmp_path):
    root, whole, atlas, _names, _snr = _root(tmp_path)
    _rewrite(root, "sub-02", "test", whole["sub-02"][1][:, :, :-1])
    with pytest.raises(InputError, match=r"task-train.*grayordinates.*task-test"):
        _load(root, atlas, repeats="average")


@pytest.mark.parametrize("content", [{"ncsnr": 1}, "text", (object,), ()])
@pytest.mark.slow  # over 0.5 s: in make test, not the everyday subset
def test_a_noise_ceiling_file_with_other_content_is_refused(tmp_path, content):
    root, _whole, atlas, _names, _snr = _root(tmp_path)
    path = _betas(root, "sub-01", "train").parent / "sub-01_noiseceiling_task-train_n-3.pkl"
    layouts._dump(content, path)
    with pytest.raises(InputError, match=r"sub-01_noiseceiling_task-train_n-3.pkl"):
        _load(root, atlas, repeats="average", ncsnr_threshold=0.1)


def test_an_empty_selection_is_refused_naming_the_argument(tmp_path):
    root, _whole, atlas, _names, _snr = _root(tmp_path)
    with pytest.raises(InputError, match="'stimuli' argument is empty"):
        _load(root, atlas, stimuli=[])
    everything = [f"vid{i:04d}" for i in range(1, 1103)]
    with pytest.raises(InputError, match="'exclude' argument leaves out all"):
        _load(root, atlas, exclude=everything)
    with pytest.raises(InputError, match="'subjects' argument is empty"):
        _load(root, atlas, subjects=[])


@pytest.mark.parametrize("threshold", ["0.2", True, float("nan"), [0.1]])
def test_a_threshold_that_is_not_a_number_is_refused(tmp_path, threshold):
    root, _whole, atlas, _names, _snr = _root(tmp_path)
    with pytest.raises(InputError, match="'ncsnr_threshold' argument must be a finite number"):
        _load(root, atlas, ncsnr_threshold=threshold)


@pytest.mark.slow  # over 0.5 s: in make test, not the everyday subset
def test_a_parcel_emptied_by_the_threshold(tmp_path):
    root, _whole, atlas, names, _snr = _root(tmp_path)
    v2 = np.isin(names, ["L_V2", "R_V2"])
    snr = {}
    for sub in ("sub-01", "sub-02", "sub-03"):
        snr[sub] = np.linspace(0.1, 0.5, names.size)
        if sub == "sub-01":
            snr[sub][v2] = 0.0  # the threshold empties V2 in sub-01 only
        path = _betas(root, sub, "train").parent / f"{sub}_noiseceiling_task-train_n-3.pkl"
        layouts._dump((snr[sub], 100 * snr[sub]), path)
    with pytest.warns(DataWarning, match=r"sub-01/V2"):
        data = _load(root, atlas, repeats="average", ncsnr_threshold=0.05)
    assert ("sub-01", "V2") not in data and ["sub-01", "V2"] in data.attrs["missing_cells"]
    assert "V2" in data.regions and data[("sub-02", "V2")].shape[1] == int(v2.sum())
    # a threshold no grayordinate passes: an error for a parcel asked for by name ...
    with pytest.raises(InputError, match=r"No subject .* keeps .* \['V1', 'V2', 'V3'\]"):
        _load(root, atlas, repeats="average", ncsnr_threshold=10.0)
    # ... and a warning (the parcel left out, recorded) for rois="all"
    with pytest.warns(DataWarning, match=r"\['V2'\] at ncsnr_threshold=0.05; they are left out"):
        for sub in ("sub-02", "sub-03"):
            path = _betas(root, sub, "train").parent / f"{sub}_noiseceiling_task-train_n-3.pkl"
            layouts._dump((snr["sub-01"], snr["sub-01"]), path)
        data = _load(root, atlas, repeats="average", ncsnr_threshold=0.05, rois="all")
    assert data.attrs["emptied_regions"] == ["V2"] and "V2" not in data.regions
    assert "V1" in data.regions


@pytest.mark.slow  # over 0.5 s: in make test, not the everyday subset
def test_a_constant_grayordinate_is_named_outside_the_papers_averaging(tmp_path):
    root, whole, atlas, names, _snr = _root(tmp_path)
    v3 = np.flatnonzero(np.isin(names, ["L_V3", "R_V3"]))
    for part, arr in zip(("train", "test"), whole["sub-03"], strict=True):
        arr = arr.copy()
        arr[:, :, v3[1]] = 2.5
        _rewrite(root, "sub-03", part, arr)
    with pytest.raises(InputError, match=r"sub-03, region 'V3': 1 grayordinate.*column 1"):
        _load(root, atlas, repeats="average")
    data = _load(root, atlas, repeats="paper")
    np.testing.assert_array_equal(data[("sub-03", "V3")].values[:, 1], 2.5)
