"""Dataset loaders on fixtures written in the published layouts: values checked against numpy
computations on the same arrays (repeat averaging with NaN, scaling, 0- vs 1-based ids,
hemisphere merging, subject-specific ROIs giving missing cells, the fixed split)."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

import crossalign as ca

from . import dataset_layouts as layouts

pytest.importorskip("nibabel")


@pytest.fixture(scope="module")
def bmd(tmp_path_factory):
    root = tmp_path_factory.mktemp("bmd")
    written, whole = layouts.bold_moments(root, np.random.default_rng(0))
    return root, written, whole


def _padded(train, test):
    out = np.full((1102, 10, train.shape[2]), np.nan)
    out[:1000, :3], out[1000:] = train, test
    return out


def test_bold_moments_roi_pickles(bmd):
    root, written, _ = bmd
    data = ca.load_dataset("bold_moments", root=root)
    assert data.subjects == ["sub-01", "sub-02", "sub-03"] and data.regions == ["V1v", "FFA"]
    assert data.attrs["split"]["train"][0] == "vid0001" and len(data.attrs["split"]["test"]) == 102
    assert list(data.stimuli[[0, 999, 1000, 1101]]) == ["vid0001", "vid1000", "vid1001", "vid1102"]
    # hemispheres merged: left voxels then right voxels; repeats kept, NaN-padded
    left, right = written[("sub-02", "lV1v")], written[("sub-02", "rV1v")]
    expected = np.concatenate([_padded(*left), _padded(*right)], axis=2)
    got = data[("sub-02", "V1v")].values  # (stimulus, unit, repetition)
    np.testing.assert_array_equal(got, expected.transpose(0, 2, 1))
    # repeat averaging skips the NaN repeat (stimulus 5 has 2 of its 3 train repeats)
    avg = data.response_arrays()[data.keys().index(("sub-02", "V1v"))]
    np.testing.assert_allclose(avg[5], np.nanmean(expected[5, :3], axis=0), rtol=1e-14)
    np.testing.assert_allclose(avg[1050], expected[1050].mean(axis=0), rtol=1e-14)
    # a subject-specific ROI absent for sub-03 is a missing cell
    assert ("sub-03", "FFA") not in data and data.attrs["missing_cells"] == [["sub-03", "FFA"]]
    c = ca.cross_region_matrix(data.subset_stimuli(data.attrs["split"]["test"]))
    assert c.attrs["n_pairs"] == [[6, 4], [4, 2]]


@pytest.mark.slow  # over 0.5 s: in make test, not the everyday subset
def test_bold_moments_options(bmd):
    root, written, _ = bmd
    keep = ca.load_dataset(
        "bold_moments",
        root=root,
        subjects=[1],
        rois=["FFA"],
        hemispheres="keep",
        stimuli=["vid0003", "vid1002", "vid0010"],
        repeats="average",
    )
    assert keep.keys() == [("sub-01", "lFFA"), ("sub-01", "rFFA")]
    train, test = written[("sub-01", "rFFA")]
    expected = np.stack([train[2].mean(0), test[1].mean(0), train[9].mean(0)])
    np.testing.assert_allclose(keep[("sub-01", "rFFA")].values, expected, rtol=1e-14)
    assert keep.attrs["split"] == {"train": ["vid0003", "vid0010"], "test": ["vid1002"]}
    # the whole-brain betas cut with the ROI index pickles give the same numbers
    betas = ca.load_dataset("bold_moments", root=root, source="betas", rois=["V1v"])
    roi = ca.load_dataset("bold_moments", root=root, rois=["V1v"])
    for key in roi:
        np.testing.assert_array_equal(betas[key].values, roi[key].values)


def test_bold_moments_refuses_what_differs_from_the_layout(bmd, tmp_path):
    root, _, _ = bmd
    with pytest.raises(ValueError, match=r"'rois' option names unknown ROI\(s\) \['V9'\]"):
        ca.load_dataset("bold_moments", root=root, rois=["V9"])
    with pytest.raises(ValueError, match=r"stimulus id\(s\) that BOLD Moments does not have"):
        ca.load_dataset("bold_moments", root=root, stimuli=["vid9999", "vid0001", "vid0002"])
    bad = tmp_path / "derivatives/versionB/MNI152/prepared_allvoxel_pkl/sub-01"
    bad.mkdir(parents=True)
    for h in "lr":
        with open(bad / f"sub-01_roi-{h}V1v_betas_normalized.pkl", "wb") as fh:
            pickle.dump({"train_data_allvoxel": np.zeros((1000, 2, 3))}, fh)
    with pytest.raises(ValueError, match=r"Expected a dict with keys"):
        ca.load_dataset("bold_moments", root=tmp_path, rois=["V1v"])
    for h in "lr":
        with open(bad / f"sub-01_roi-{h}V1v_betas_normalized.pkl", "wb") as fh:
            pickle.dump(
                {"train_data_allvoxel": np.zeros((1000, 2, 3)), "test_data_allvoxel": 0}, fh
            )
    with pytest.raises(
        ValueError, match=r"shape \(1000, 2, 3\).*Expected floats .* \(1000, 3, n\)"
    ):
        ca.load_dataset("bold_moments", root=tmp_path, rois=["V1v"])
    with pytest.raises(FileNotFoundError, match=r"No subject of \['sub-01'\] has the ROI"):
        ca.load_dataset("bold_moments", root=tmp_path, rois=["FFA"])


class _Writes:
    """A pickle whose reduce would write a file if it were ever run."""

    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return (open, (self.target, "w"))


def test_a_pickle_with_a_foreign_global_is_refused_and_runs_nothing(tmp_path):
    folder = tmp_path / "derivatives/versionB/MNI152/prepared_allvoxel_pkl/sub-01"
    folder.mkdir(parents=True)
    target = tmp_path / "pwned.txt"
    for h in "lr":
        with open(folder / f"sub-01_roi-{h}V1v_betas_normalized.pkl", "wb") as fh:
            pickle.dump({"train_data_allvoxel": _Writes(str(target))}, fh)
    with pytest.raises(ValueError, match=r"names (io|builtins)\.open"):
        ca.load_dataset("bold_moments", root=tmp_path, rois=["V1v"])
    assert not target.exists()


@pytest.mark.slow  # over 0.5 s: in make test, not the everyday subset
def test_algonauts2021(tmp_path):
    written = layouts.algonauts2021(tmp_path, np.random.default_rng(1))
    data = ca.load_dataset("algonauts2021", root=tmp_path)
    assert data.subjects == ["sub01", "sub02"] and data.regions == ["V1", "FFA"]
    assert data.stimuli[0] == "0001_clip" and data.n_stimuli == 1000
    np.testing.assert_array_equal(
        data[("sub02", "FFA")].values, written[("sub02", "FFA")].astype(float).transpose(0, 2, 1)
    )
    avg = ca.load_dataset("algonauts2021", root=tmp_path, rois=["V1"], repeats="average")
    np.testing.assert_allclose(
        avg[("sub01", "V1")].values, written[("sub01", "V1")].astype(float).mean(1), rtol=1e-6
    )


def _nsd_expected(betas, labels, trial_ids, code, keep_ids, zscore=True):
    """(image, repeat, voxel) by numpy: left then right voxels, /300, z-scored per session."""
    cols = []
    for h in ("lh", "rh"):
        mask = labels[h] == code
        cols.append(betas[mask].T.astype(np.float64) / 300.0)  # (trials, voxels)
    x = np.concatenate(cols, axis=1)
    if zscore:
        for k in range(x.shape[0] // 750):
            part = x[k * 750 : (k + 1) * 750]
            x[k * 750 : (k + 1) * 750] = (part - part.mean(0)) / part.std(0, ddof=1)
    out = []
    for i in keep_ids:
        out.append(x[trial_ids == i])
    n_rep = max(len(o) for o in out)
    padded = np.full((len(keep_ids), n_rep, x.shape[1]), np.nan)
    for k, o in enumerate(out):
        padded[k, : len(o)] = o
    return padded


@pytest.mark.parametrize("fmt", ["nifti", "hdf5"])
def test_nsd_volume(tmp_path, fmt):
    rng = np.random.default_rng(3)
    written, labels, trial_ids = layouts.nsd(tmp_path, rng, fmt=fmt)
    data = ca.load_dataset("nsd", root=tmp_path, subjects=[1, 2], format=fmt, sessions=[1, 2])
    shared = sorted(set(trial_ids[1]) & set(trial_ids[2]) & set(range(100, 1100)))
    assert list(data.stimuli) == [i for i in range(100, 1100) if i in shared]  # 0-based ids
    assert data.regions == ["V1v", "V1d", "hV4"]
    assert ("subj02", "hV4") not in data  # subject-specific ROI: a missing cell
    lab = {h: labels[(1, h)] for h in ("lh", "rh")}
    expected = _nsd_expected(written[1], lab, trial_ids[1], 2, list(data.stimuli))
    got = data[("subj01", "V1d")].values.transpose(0, 2, 1)
    np.testing.assert_allclose(got, expected, rtol=2e-5, atol=1e-5)  # float32 storage
    snr = ca.load_dataset(
        "nsd", root=tmp_path, subjects=[1], format=fmt, sessions=[1], rois=["V1d"], ncsnr=True
    )
    vol = labels[(1, "ncsnr")]
    want = np.concatenate([vol[lab["lh"] == 2], vol[lab["rh"] == 2]])
    np.testing.assert_allclose(snr.attrs["ncsnr"]["subj01/V1d"], want, rtol=1e-7)


def test_nsd_options(tmp_path):
    rng = np.random.default_rng(4)
    written, labels, trial_ids = layouts.nsd(tmp_path, rng)
    data = ca.load_dataset(
        "nsd",
        root=tmp_path,
        subjects=[1],
        rois=["V1v"],
        hemispheres="keep",
        zscore=False,
        sessions=[2],
        stimuli=[105, 101, 20000],
        repeats="average",
        dtype=np.float64,
    )
    assert data.keys() == [("subj01", "lh.V1v"), ("subj01", "rh.V1v")]
    lab = {"lh": labels[(1, "lh")], "rh": np.zeros_like(labels[(1, "rh")])}
    sess2 = written[1][..., 750:]
    expected = _nsd_expected(sess2, lab, trial_ids[1][750:], 1, [105, 101, 20000], zscore=False)
    np.testing.assert_allclose(
        data[("subj01", "lh.V1v")].values, np.nanmean(expected, 1), rtol=1e-12
    )
    with pytest.raises(ValueError, match=r"image\(s\) not seen by every selected subject"):
        ca.load_dataset(
            "nsd", root=tmp_path, subjects=[1, 2], sessions=[1, 2], stimuli=[20000, 101, 102]
        )
    with pytest.raises(ValueError, match=r"Subject 1 has sessions 1..40. Got \[41\]"):
        ca.load_dataset("nsd", root=tmp_path, subjects=[1], sessions=[41])
    with pytest.raises(FileNotFoundError, match=r"betas_session03"):
        ca.load_dataset("nsd", root=tmp_path, subjects=[1], sessions=[3])


@pytest.mark.parametrize("table_format", ["table", "fixed"])
def test_things_fmri(tmp_path, table_format):
    pytest.importorskip("tables")
    written = layouts.things(tmp_path, np.random.default_rng(5), table_format=table_format)
    data = ca.load_dataset(
        "things_fmri", root=tmp_path, subjects=[1, 2], rois=["V1", "FFA"], block=5
    )
    vox, values, stim, _ = written[1]
    assert data.attrs["split"]["test"] == ["t0.jpg", "t1.jpg", "t2.jpg"]
    ffa = (vox["lFFA"] + vox["rFFA"]).to_numpy() > 0
    trials = np.array(stim)
    expected = np.stack([values[ffa][:, trials == i].mean(1) for i in data.stimuli])
    np.testing.assert_allclose(data[("sub-01", "FFA")].values, expected, rtol=1e-12)
    # sub-02 has lFFA voxels only; keep repeats for the test images
    test = ca.load_dataset(
        "things_fmri",
        root=tmp_path,
        subjects=[2],
        rois=["FFA"],
        split="test",
        repeats="keep",
        hemispheres="keep",
    )
    assert test.keys() == [("sub-02", "lFFA")] and test.attrs["missing_cells"] == [
        ["sub-02", "rFFA"]
    ]
    assert test[("sub-02", "lFFA")].shape == (3, 2, 4)


def test_algonauts2023(tmp_path):
    written = layouts.algonauts2023(tmp_path, np.random.default_rng(6))
    data = ca.load_dataset("algonauts2023", root=tmp_path)
    assert list(data.stimuli) == [5, 9, 12, 41]  # seen by both subjects, in subject 1's order
    images, fmri_l, codes_l = written[(2, "lh")]
    _, fmri_r, codes_r = written[(2, "rh")]
    rows = [images.index(i) for i in data.stimuli]
    expected = np.concatenate([fmri_l[rows][:, codes_l == 7], fmri_r[rows][:, codes_r == 7]], 1)
    np.testing.assert_allclose(data[("subj02", "hV4")].values, expected, rtol=1e-7)


def test_algonauts2023_mapping_pickle_is_restricted(tmp_path):
    layouts.algonauts2023(tmp_path, np.random.default_rng(6))
    target = tmp_path / "pwned.txt"
    arr = np.empty((), dtype=object)
    arr[()] = _Writes(str(target))
    np.save(
        tmp_path / "subj01" / "roi_masks" / "mapping_prf-visualrois.npy", arr, allow_pickle=True
    )
    with pytest.raises(ValueError, match=r"names (io|builtins)\.open"):
        ca.load_dataset("algonauts2023", root=tmp_path)
    assert not target.exists()


def test_local_datasets_need_a_root():
    with pytest.raises(ValueError, match=r"read from a local copy: pass root="):
        ca.load_dataset("nsd")
    with pytest.raises(ValueError, match=r"must be one of .*Did you mean 'bold_moments'"):
        ca.load_dataset("bold_moment", root=".")


@pytest.mark.slow  # over 0.5 s: in make test, not the everyday subset
def test_convert_writes_one_safe_file_that_reads_back_exactly(bmd, tmp_path):
    from typer.testing import CliRunner

    from crossalign.cli import app

    root, _, _ = bmd
    out = tmp_path / "bmd.nc"
    result = CliRunner().invoke(
        app,
        [
            "convert",
            "bold_moments",
            str(out),
            "--root",
            str(root),
            "-o",
            "rois=V1v,FFA",
            "-o",
            "subjects=1,3",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "2 subjects x 2 regions (3 cells), 1102 stimuli" in result.output
    direct = ca.load_dataset("bold_moments", root=root, rois=["V1v", "FFA"], subjects=[1, 3])
    back = ca.io.load_xarray(out)
    assert back.keys() == direct.keys() and list(back.stimuli) == list(direct.stimuli)
    for key in direct:
        np.testing.assert_array_equal(back[key].values, direct[key].values)  # NaN repeats kept
    assert back.attrs["split"] == direct.attrs["split"]
    assert back.attrs["missing_cells"] == [["sub-03", "FFA"]]
    bad = CliRunner().invoke(
        app, ["convert", "bold_moments", str(out), "--root", str(root), "-o", "rois"]
    )
    assert bad.exit_code == 2 and "must be key=value" in bad.output


def test_saved_labels_keep_their_type(tmp_path):
    rng = np.random.default_rng(0)
    data = ca.BrainData.from_responses(
        {(s, r): rng.normal(size=(5, 3)) for s in (1, 2) for r in ("V1", 7)},
        stimuli=[10, 11, 12, 13, 14],
    )
    for suffix in (".nc", ".zarr"):
        back = ca.io.load_xarray(ca.io.save_xarray(data, tmp_path / f"d{suffix}"))
        assert back.keys() == data.keys()  # ints stay ints, strings stay strings
        assert list(back.stimuli) == [10, 11, 12, 13, 14]
        assert all(type(x) is int for x in back.stimuli)


@pytest.mark.slow
def test_a_study_on_a_converted_dataset_with_missing_cells(bmd, tmp_path):
    from crossalign.study.runner import run_study

    root, _, _ = bmd
    data = ca.load_dataset("bold_moments", root=root, rois=["V1v", "FFA"], repeats="average")
    ca.io.save_xarray(data, tmp_path / "bmd.nc")
    rng = np.random.default_rng(1)
    np.savez(
        tmp_path / "acts.npz",
        l1=rng.normal(size=(1102, 6)),
        l2=rng.normal(size=(1102, 6)),
        stimuli=np.array(list(data.stimuli)),
    )
    config = {
        "name": "bmd",
        "datasets": [{"name": "bmd", "path": str(tmp_path / "bmd.nc")}],
        "models": [{"name": "net", "source": "activations", "path": str(tmp_path / "acts.npz")}],
        "n_bootstrap": 20,
        "n_permutations": 10,
    }
    result = run_study(config, tmp_path / "out")
    import duckdb

    con = duckdb.connect(str(result["database"]), read_only=True)
    rows = con.execute(
        "SELECT value FROM results WHERE subject = 'sub-03' AND region = 'FFA' "
        "AND analysis = 'score' AND statistic = 'value'"
    ).fetchall()
    assert rows == [(None,)]  # never a number for a gap
    n = con.execute(
        "SELECT count(*) FROM results WHERE analysis = 'score' AND statistic = 'value' "
        "AND value IS NOT NULL"
    ).fetchone()[0]
    assert n == 5  # 3 subjects x 2 regions, less the missing cell
    assert "no data: sub-03 / FFA." in result["report"].read_text()


def test_a_study_reads_a_local_dataset_from_a_root_relative_to_the_study_file(bmd, tmp_path):
    from crossalign.study.config import load_study

    root, _, _ = bmd
    study = tmp_path / "study.toml"
    link = tmp_path / "bmd_copy"
    link.symlink_to(root)
    study.write_text(
        'name = "s"\n[[datasets]]\nname = "bold_moments"\noptions = { root = "bmd_copy", '
        'rois = ["V1v"] }\n[[models]]\nname = "pixels"\nsource = "pixels"\n'
    )
    cfg = load_study(study)
    assert cfg.datasets[0].options["root"] == str(tmp_path / "bmd_copy")


def test_nsd_fsaverage_surface(tmp_path):
    """fsaverage MGH betas (float32, already % signal change: not divided by 300) with
    per-hemisphere label files from fsaverage's label folder."""
    import nibabel as nib

    rng = np.random.default_rng(8)
    _, _, trial_ids = layouts.nsd(tmp_path, rng, n_sessions=1, subjects=(1,))
    n_vertices = 40
    label_dir = tmp_path / "nsddata" / "freesurfer" / "fsaverage" / "label"
    label_dir.mkdir(parents=True)
    (label_dir / "prf-visualrois.mgz.ctab").write_text("0 Unknown\n1 V1v\n7 hV4\n")
    out = tmp_path / "nsddata_betas/ppdata/subj01/fsaverage/betas_fithrf_GLMdenoise_RR"
    out.mkdir(parents=True)
    written = {}
    for h in ("lh", "rh"):
        codes = rng.choice([0, 1, 7], size=n_vertices).astype(np.int32)
        nib.save(
            nib.MGHImage(codes.reshape(-1, 1, 1), np.eye(4)), label_dir / f"{h}.prf-visualrois.mgz"
        )
        betas = rng.normal(size=(n_vertices, 1, 1, 750)).astype(np.float32)
        nib.save(nib.MGHImage(betas, np.eye(4)), out / f"{h}.betas_session01.mgh")
        written[h] = (codes, betas[:, 0, 0, :].T)
    data = ca.load_dataset(
        "nsd",
        root=tmp_path,
        subjects=[1],
        space="fsaverage",
        sessions=[1],
        zscore=False,
        rois=["V1v"],
        stimuli=[101, 105, 110],
        repeats="average",
        dtype=np.float64,
    )
    x = np.concatenate([written[h][1][:, written[h][0] == 1] for h in ("lh", "rh")], axis=1)
    x = x.astype(np.float64)  # stored float32, averaged in float64
    expected = np.stack([x[trial_ids[1][:750] == i].mean(0) for i in (101, 105, 110)])
    np.testing.assert_allclose(data[("subj01", "V1v")].values, expected, rtol=1e-12)


def test_nsd_nativesurface_hdf5(tmp_path):
    """nativesurface HDF5 /betas (750, vertices), int16 x300, with the subject's own surface
    labels; a file of another orientation is refused."""
    import h5py
    import nibabel as nib

    rng = np.random.default_rng(9)
    _, _, trial_ids = layouts.nsd(tmp_path, rng, n_sessions=1, subjects=(1,))
    label_dir = tmp_path / "nsddata" / "freesurfer" / "subj01" / "label"
    out = tmp_path / "nsddata_betas/ppdata/subj01/nativesurface/betas_fithrf_GLMdenoise_RR"
    out.mkdir(parents=True)
    written = {}
    for h, n in (("lh", 30), ("rh", 25)):
        codes = rng.choice([0, 2, 7], size=n).astype(np.int32)
        nib.save(
            nib.MGHImage(codes.reshape(-1, 1, 1), np.eye(4)), label_dir / f"{h}.prf-visualrois.mgz"
        )
        betas = (rng.normal(size=(750, n)) * 300).astype(np.int16)
        with h5py.File(out / f"{h}.betas_session01.hdf5", "w") as f:
            f["betas"] = betas
        written[h] = (codes, betas)
    data = ca.load_dataset(
        "nsd",
        root=tmp_path,
        subjects=[1],
        space="nativesurface",
        sessions=[1],
        zscore=False,
        rois=["V1d"],
        stimuli=[101, 107, 110],
        repeats="average",
        dtype=np.float64,
    )
    x = np.concatenate([w[1][:, w[0] == 2] for w in written.values()], axis=1) / 300.0
    expected = np.stack([x[trial_ids[1][:750] == i].mean(0) for i in (101, 107, 110)])
    np.testing.assert_allclose(data[("subj01", "V1d")].values, expected, rtol=1e-12)
    with h5py.File(out / "lh.betas_session01.hdf5", "w") as f:
        f["betas"] = written["lh"][1].T  # (vertices, 750): the other orientation
    with pytest.raises(ValueError, match=r"lh.betas_session01.hdf5' holds /betas of shape"):
        ca.load_dataset("nsd", root=tmp_path, subjects=[1], space="nativesurface", sessions=[1])
