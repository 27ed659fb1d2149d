"""Loaders check what they read against the published layout and raise the library's own
errors (docs/robustness.md); randomly corrupted layouts end in such an error or in numbers
equal to a numpy computation on the same files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.io import loadmat, savemat

import crossalign as ca
from crossalign.errors import CrossalignError, InputError, MissingFileError

from . import dataset_layouts as layouts


def _design(root: Path) -> Path:
    return root / "nsddata" / "experiments" / "nsd" / "nsd_expdesign.mat"


def test_nsd_masterordering_out_of_range_is_a_library_error(tmp_path):
    layouts.nsd(tmp_path, np.random.default_rng(0))
    mat = loadmat(_design(tmp_path))
    mat["masterordering"][0, 5] = 10001  # past the subject's 10,000 images
    savemat(_design(tmp_path), {k: v for k, v in mat.items() if not k.startswith("__")})
    with pytest.raises(InputError, match=r"'masterordering'.*1\.\.10000"):
        ca.load_dataset("nsd", root=tmp_path, subjects=[1], sessions=[1])


def test_nsd_hdf5_betas_of_complex_dtype_are_refused(tmp_path):
    h5py = pytest.importorskip("h5py")
    layouts.nsd(tmp_path, np.random.default_rng(0), fmt="hdf5")
    path = next(tmp_path.rglob("betas_session01.hdf5"))
    with h5py.File(path, "r") as f:
        betas = f["betas"][()]
    with h5py.File(path, "w") as f:
        f["betas"] = betas.astype(np.complex64) + 1j
    with pytest.raises(InputError, match=r"'/betas' of dtype complex64.*integer"):
        ca.load_dataset("nsd", root=tmp_path, subjects=[1], sessions=[1], format="hdf5")


def _things_tables(tmp_path):
    pytest.importorskip("tables")
    layouts.things(tmp_path, np.random.default_rng(5))
    return tmp_path / "derivatives" / "betas_csv"


def test_things_response_rows_with_a_duplicated_voxel_id_are_refused(tmp_path):
    folder = _things_tables(tmp_path)
    path = folder / "sub-01_ResponseData.h5"
    table = pd.read_hdf(path)
    table = pd.concat([table, table.iloc[[0]]])  # one voxel twice, with the same values
    table.to_hdf(path, key="ResponseData", format="table")
    with pytest.raises(InputError, match=r"voxel_id .* in more than one row"):
        ca.load_dataset("things_fmri", root=tmp_path, subjects=[1], rois=["V1", "FFA"])


def test_things_metadata_with_duplicated_voxel_ids_is_refused(tmp_path):
    folder = _things_tables(tmp_path)
    path = folder / "sub-01_VoxelMetadata.csv"
    meta = pd.read_csv(path)
    meta.loc[1, "voxel_id"] = meta.loc[0, "voxel_id"]
    meta.to_csv(path, index=False)
    with pytest.raises(InputError, match=r"each voxel once by 'voxel_id'.*duplicates"):
        ca.load_dataset("things_fmri", root=tmp_path, subjects=[1], rois=["V1", "FFA"])


def test_algonauts2023_without_the_right_hemisphere_names_the_layout(tmp_path):
    layouts.algonauts2023(tmp_path, np.random.default_rng(6))
    (tmp_path / "subj01" / "training_split" / "training_fmri" / "rh_training_fmri.npy").unlink()
    with pytest.raises(MissingFileError, match=r"rh_training_fmri.npy.*The layout is subjAA/"):
        ca.load_dataset("algonauts2023", root=tmp_path)


def test_a_frame_folder_ignores_hidden_entries_in_decoding_and_the_cache_key(tmp_path):
    pytest.importorskip("PIL")
    from PIL import Image

    from crossalign.models.stimuli import StimulusSet
    from crossalign.models.video import frame_files, load_video

    clip = tmp_path / "clip"
    clip.mkdir()
    for k in range(3):
        Image.fromarray(np.full((4, 4, 3), 40 * k, np.uint8)).save(clip / f"f{k}.png")
    stimuli = StimulusSet(ids=["c"], images=[[clip]])
    key = stimuli.key()
    (clip / ".ipynb_checkpoints").mkdir()
    (clip / ".ipynb_checkpoints" / "f0-checkpoint.png").write_bytes(b"x")
    (clip / ".DS_Store").write_bytes(b"x")
    assert [p.name for p in frame_files(clip)] == ["f0.png", "f1.png", "f2.png"]
    assert stimuli.key() == key
    assert load_video(clip).shape[0] == 3


def test_load_xarray_refuses_a_variable_it_cannot_place(tmp_path):
    xr = pytest.importorskip("xarray")
    pytest.importorskip("h5netcdf")
    data = ca.BrainData.from_responses(
        {(s, r): np.random.default_rng(s).normal(size=(5, 3)) for s in (1, 2) for r in ("V1",)}
    )
    ds = data.to_dataset("regions")
    ds["notes"] = xr.DataArray(np.arange(5.0), dims="stimulus")
    ds.to_netcdf(tmp_path / "d.nc")
    with pytest.raises(InputError, match=r"\['notes'\] have no 'subject' dimension"):
        ca.io.load_xarray(tmp_path / "d.nc")
    back = ca.io.load_xarray(tmp_path / "d.nc", regions=["V1"])  # named explicitly
    assert back.subjects == [1, 2]


@pytest.mark.slow  # over 0.5 s: in make test, not the everyday subset
def test_a_hugging_face_folder_of_an_unknown_model_type_is_a_library_error(tmp_path):
    pytest.importorskip("transformers")
    pytest.importorskip("torch")
    from crossalign.models.huggingface import load_hf

    (tmp_path / "config.json").write_text('{"model_type": "no_such_model_type"}')
    with pytest.raises(InputError, match=r"model type this transformers version does not know"):
        load_hf(str(tmp_path))
    (tmp_path / "config.json").write_text('{"model_type": "vit", "hidden_size": 8}')
    with pytest.raises(InputError, match=r"could not load the weights.*model.safetensors"):
        load_hf(str(tmp_path), pretrained=True)


# ---------------------------------------------------------------------- fuzz: corrupted layouts
CORRUPTIONS = ("truncate", "dtype", "shape", "delete", "ids")


def _corrupt_algonauts2023(root: Path, how: str, rng) -> None:
    folder = root / "subj02"
    fmri = folder / "training_split" / "training_fmri" / "lh_training_fmri.npy"
    if how == "truncate":
        fmri.write_bytes(fmri.read_bytes()[: rng.integers(1, 120)])
    elif how == "dtype":
        np.save(fmri, np.load(fmri).astype(np.complex64))
    elif how == "shape":
        np.save(fmri, np.load(fmri)[:-1])
    elif how == "delete":
        next(iter((folder / "roi_masks").glob("rh.*_challenge_space.npy"))).unlink()
    elif how == "ids":
        images = sorted((folder / "training_split" / "training_images").iterdir())
        images[0].rename(images[0].with_name("train-0001_nsd-xyz.png"))


@pytest.mark.parametrize("how", CORRUPTIONS)
@pytest.mark.parametrize("seed", range(3))
@pytest.mark.slow  # over 0.5 s: in make test, not the everyday subset
def test_corrupted_algonauts2023_layouts_end_in_a_library_error_or_exact_numbers(
    tmp_path, how, seed
):
    rng = np.random.default_rng(seed)
    written = layouts.algonauts2023(tmp_path, rng)
    _corrupt_algonauts2023(tmp_path, how, rng)
    try:
        data = ca.load_dataset("algonauts2023", root=tmp_path)
    except CrossalignError as exc:
        assert str(exc).strip() and "\n" not in str(exc).strip()
        return
    images, fmri_l, codes_l = written[(1, "lh")]
    _, fmri_r, codes_r = written[(1, "rh")]
    rows = [images.index(i) for i in data.stimuli]
    expected = np.concatenate([fmri_l[rows][:, codes_l == 7], fmri_r[rows][:, codes_r == 7]], 1)
    np.testing.assert_allclose(data[("subj01", "hV4")].values, expected, rtol=1e-7)


def _corrupt_nsd(root: Path, how: str, rng) -> None:
    design = _design(root)
    mat = {k: v for k, v in loadmat(design).items() if not k.startswith("__")}
    if how == "truncate":
        path = next(root.rglob("betas_session01.nii.gz"))
        path.write_bytes(path.read_bytes()[: rng.integers(10, 300)])
    elif how == "dtype":
        mat["subjectim"] = mat["subjectim"] + 0.5
        savemat(design, mat)
    elif how == "shape":
        mat["sharedix"] = mat["sharedix"][:, :-1]
        savemat(design, mat)
    elif how == "delete":
        next(root.rglob("betas_session01.nii.gz")).unlink()
    elif how == "ids":
        mat["subjectim"][0, rng.integers(0, 10000)] = 80000
        savemat(design, mat)


@pytest.mark.parametrize("how", CORRUPTIONS)
@pytest.mark.slow  # over 0.5 s: in make test, not the everyday subset
def test_corrupted_nsd_layouts_end_in_a_library_error(tmp_path, how):
    pytest.importorskip("nibabel")
    rng = np.random.default_rng(1)
    layouts.nsd(tmp_path, rng)
    _corrupt_nsd(tmp_path, how, rng)
    with pytest.raises(CrossalignError) as info:
        ca.load_dataset("nsd", root=tmp_path, subjects=[1], sessions=[1])
    assert str(info.value).strip() and "Traceback" not in str(info.value)
