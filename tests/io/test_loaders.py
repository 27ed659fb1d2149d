"""Round trips for every format: written with the format's own library, loaded, compared."""

import shutil
from datetime import UTC

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import crossalign as ca
import crossalign.functional as caf
from crossalign import io

SUBJECTS = ["s1", "s2", "s3"]
REGIONS = ["V1", "IT"]
IDS = [f"img{i:02d}" for i in range(8)]


@pytest.fixture
def responses(rng):
    return {
        (s, r): rng.normal(size=(8, 5 + 2 * j)) for s in SUBJECTS for j, r in enumerate(REGIONS)
    }


def same_data(a, b):
    """Same labels (of the same types) and values; region order may differ (HDF5 lists names
    alphabetically)."""
    assert a.subjects == b.subjects and sorted(a.regions) == sorted(b.regions)
    b = b.select(areas=a.regions)
    assert list(a.stimuli) == list(b.stimuli)
    assert [type(x) for x in a.stimuli] == [type(x) for x in b.stimuli]
    np.testing.assert_allclose(a.rdm_vectors(), b.rdm_vectors(), atol=1e-12)


def rdm_stacks(responses):
    return {r: np.stack([caf.compute_rdm(responses[(s, r)]) for s in SUBJECTS]) for r in REGIONS}


# ---------------------------------------------------------------- numpy, MATLAB, HDF5
def test_npz_rdms_with_ids(tmp_path, responses):
    stacks = rdm_stacks(responses)
    np.savez(tmp_path / "rdms.npz", **stacks, stimuli=np.array(IDS), subjects=np.array(SUBJECTS))
    data = io.load_arrays(tmp_path / "rdms.npz")
    expected = ca.BrainData.from_rdms(stacks, subjects=SUBJECTS, stimuli=IDS)
    same_data(data, expected)
    assert data.kind(("s1", "V1")) == "rdm"


def test_npy_and_npz_responses(tmp_path, responses):
    v1 = np.stack([responses[(s, "V1")] for s in SUBJECTS])
    np.save(tmp_path / "v1.npy", v1)
    data = io.load_arrays(tmp_path / "v1.npy", regions=["V1"], subjects=SUBJECTS)
    np.testing.assert_array_equal(data[("s2", "V1")].values, responses[("s2", "V1")])
    with pytest.raises(ValueError, match=r"v1\.npy'.*pass regions=\[name\]"):
        io.load_arrays(tmp_path / "v1.npy")


def test_mat_v5_subjects_last(tmp_path, responses):
    from scipy.io import savemat

    stacks = rdm_stacks(responses)
    savemat(tmp_path / "rdms.mat", {r: np.moveaxis(v, 0, -1) for r, v in stacks.items()})
    data = io.load_arrays(tmp_path / "rdms.mat", subject_axis=-1, subjects=SUBJECTS, stimuli=IDS)
    same_data(data, ca.BrainData.from_rdms(stacks, subjects=SUBJECTS, stimuli=IDS))


def test_mat_v73_via_hdf5(tmp_path, responses):
    import h5py

    stacks = rdm_stacks(responses)
    path = tmp_path / "v73.mat"
    with h5py.File(path, "w", userblock_size=512) as f:  # MATLAB v7.3: HDF5, column-major
        for region, stack in stacks.items():
            f.create_dataset(region, data=stack.transpose())
    with path.open("r+b") as fh:
        fh.write(b"MATLAB 7.3 MAT-file, written by the test")
    data = io.load_arrays(path, subjects=SUBJECTS, stimuli=IDS)
    same_data(data, ca.BrainData.from_rdms(stacks, subjects=SUBJECTS, stimuli=IDS))


def test_hdf5_subject_groups_with_ids(tmp_path, responses):
    import h5py

    with h5py.File(tmp_path / "data.h5", "w") as f:
        f.attrs["stimuli"] = np.array(IDS, dtype="S")
        for (subject, region), x in responses.items():
            f.create_dataset(f"{subject}/{region}", data=x)
    data = io.load_arrays(tmp_path / "data.h5")
    same_data(data, ca.BrainData.from_responses(responses, stimuli=IDS))


def test_hdf5_missing_region_is_a_missing_cell(tmp_path, responses):
    import h5py

    with h5py.File(tmp_path / "gap.h5", "w") as f:
        for (subject, region), x in responses.items():
            if (subject, region) != ("s3", "IT"):
                f.create_dataset(f"{subject}/{region}", data=x)
    data = io.load_arrays(tmp_path / "gap.h5")
    assert ("s3", "IT") not in data and ("s3", "V1") in data
    assert len(data) == len(responses) - 1
    np.testing.assert_array_equal(data[("s2", "IT")].values, responses[("s2", "IT")])


# ---------------------------------------------------------------- xarray
@pytest.mark.parametrize("suffix", [".nc", ".zarr"])
def test_xarray_written_by_xarray(tmp_path, rng, suffix):
    x = rng.normal(size=(3, 8, 6))
    ds = xr.Dataset(
        {
            "V1": (("subject", "stimulus", "unit_v1"), x),
            "IT": (("subject", "stimulus", "unit_it"), x[:, :, :4] ** 2),
        },
        coords={"subject": SUBJECTS, "stimulus": IDS},
    )
    path = tmp_path / f"study{suffix}"
    if suffix == ".zarr":
        ds.to_zarr(path)
    else:
        ds.to_netcdf(path)
    data = io.load_xarray(path)
    assert sorted(data.regions) == ["IT", "V1"] and data.subjects == SUBJECTS
    np.testing.assert_array_equal(data[("s2", "V1")].values, x[1])


def test_xarray_round_trip_through_save(tmp_path, responses, cichy):
    data = ca.BrainData.from_responses(responses, stimuli=IDS)  # V1 5 units, IT 7
    same_data(io.load_xarray(io.save_xarray(data, tmp_path / "r.nc")), data)
    small = cichy.select(sources=cichy.subjects[:3])
    back = io.load_xarray(io.save_xarray(small, tmp_path / "cichy.zarr"))
    same_data(back, small)


# ---------------------------------------------------------------- tidy tables
def tidy(responses):
    rows = []
    for (subject, region), x in responses.items():
        for i, stim in enumerate(IDS):
            for u in range(x.shape[1]):
                rows.append((subject, region, stim, f"u{u}", x[i, u]))
    return pd.DataFrame(rows, columns=["subject", "region", "stimulus", "unit", "value"])


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_tidy_table_shuffled_rows(tmp_path, responses, suffix):
    df = tidy(responses).sample(frac=1.0, random_state=0)  # ids matched by id, not position
    path = tmp_path / f"betas{suffix}"
    df.to_csv(path, index=False) if suffix == ".csv" else df.to_parquet(path)
    data = io.load_table(path)
    assert sorted(data.subjects) == SUBJECTS and sorted(data.regions) == sorted(REGIONS)
    expected = ca.BrainData.from_responses(responses, stimuli=IDS)
    a = data.subset_stimuli(IDS)
    for key in expected:
        cols = sorted(range(responses[key].shape[1]), key=lambda u: f"u{u}")
        np.testing.assert_allclose(a[key].values, responses[key][:, cols])


def test_tidy_table_errors(tmp_path, responses):
    df = tidy(responses)
    df.drop(index=5).to_csv(tmp_path / "gap.csv", index=False)
    with pytest.raises(ValueError, match=r"gap\.csv'.*lacks 1 \(stimulus, unit\) value"):
        io.load_table(tmp_path / "gap.csv")
    pd.concat([df, df.iloc[:1]]).to_csv(tmp_path / "dup.csv", index=False)
    with pytest.raises(ValueError, match=r"dup\.csv'.*1 duplicated"):
        io.load_table(tmp_path / "dup.csv")
    df.rename(columns={"region": "roi"}).to_csv(tmp_path / "roi.csv", index=False)
    with pytest.raises(ValueError, match=r"lacks the column\(s\) \['region'\]"):
        io.load_table(tmp_path / "roi.csv")
    assert io.load_table(tmp_path / "roi.csv", columns={"roi": "region"}).regions
    bad = df.copy()
    bad.loc[3, "value"] = np.nan
    bad.to_csv(tmp_path / "nan.csv", index=False)
    with pytest.raises(ValueError, match=r"nan\.csv'.*finite numbers; 1 row"):
        io.load_table(tmp_path / "nan.csv")


# ---------------------------------------------------------------- NIfTI
def test_nifti_betas_and_masks(tmp_path, rng):
    import nibabel as nib

    affine = np.diag([2.0, 2.0, 2.0, 1.0])
    grid = (6, 5, 4)
    atlas = np.zeros(grid, dtype=np.int16)
    atlas[:3, :, :2] = 1
    atlas[3:, :2, 2:] = 2
    betas = {}
    for subject in SUBJECTS:
        vol = rng.normal(size=(*grid, len(IDS)))
        nib.save(nib.Nifti1Image(vol, affine), tmp_path / f"{subject}.nii.gz")
        betas[subject] = vol
    nib.save(nib.Nifti1Image(atlas, affine), tmp_path / "atlas.nii.gz")
    for label, region in ((1, "V1"), (2, "IT")):
        nib.save(
            nib.Nifti1Image((atlas == label).astype(np.uint8), affine),
            tmp_path / f"{region}.nii.gz",
        )
    paths = {s: tmp_path / f"{s}.nii.gz" for s in SUBJECTS}
    by_mask = io.load_nifti(
        paths, masks={r: tmp_path / f"{r}.nii.gz" for r in REGIONS}, stimuli=IDS
    )
    by_atlas = io.load_nifti(
        paths, atlas=tmp_path / "atlas.nii.gz", labels={"V1": 1, "IT": 2}, stimuli=IDS
    )
    same_data(by_mask, by_atlas)
    np.testing.assert_allclose(by_mask[("s2", "IT")].values, betas["s2"][atlas == 2].T, atol=1e-6)
    # one 3-D image per stimulus works too
    per_stim = []
    for k in range(len(IDS)):
        nib.save(nib.Nifti1Image(betas["s1"][..., k], affine), tmp_path / f"s1_{k}.nii.gz")
        per_stim.append(tmp_path / f"s1_{k}.nii.gz")
    one = io.load_nifti({"s1": per_stim}, masks={"V1": tmp_path / "V1.nii.gz"}, stimuli=IDS)
    np.testing.assert_allclose(one[("s1", "V1")].values, betas["s1"][atlas == 1].T, atol=1e-6)
    nib.save(nib.Nifti1Image(atlas, np.eye(4)), tmp_path / "moved.nii.gz")
    with pytest.raises(ValueError, match=r"moved\.nii\.gz.*affine differs"):
        io.load_nifti(paths, atlas=tmp_path / "moved.nii.gz", labels={"V1": 1})


# ---------------------------------------------------------------- NWB
def _nwb_file(path, subject, rng, roi=False):
    from datetime import datetime

    from pynwb import NWBHDF5IO, NWBFile
    from pynwb.file import Subject

    nwb = NWBFile(
        session_description="test",
        identifier=subject,
        session_start_time=datetime(2026, 1, 1, tzinfo=UTC),
        subject=Subject(subject_id=subject, species="Mus musculus"),
    )
    nwb.add_trial_column("stimulus", "stimulus id")
    order = rng.permutation(np.repeat(np.arange(len(IDS)), 2))  # 2 presentations each
    for k, stim in enumerate(order):
        nwb.add_trial(start_time=k * 1.0, stop_time=k * 1.0 + 0.5, stimulus=IDS[stim])
    truth = {}
    if not roi:
        nwb.add_unit_column("location", "brain area")
        for area, n_units in (("V1", 3), ("LM", 2)):
            rates = rng.uniform(5, 40, size=(len(IDS), n_units))
            truth[area] = rates
            for u in range(n_units):
                spikes = []
                for k, stim in enumerate(order):
                    count = round(rates[stim, u] * 0.5)
                    spikes.extend(np.sort(k * 1.0 + rng.uniform(0, 0.5, size=count)))
                nwb.add_unit(spike_times=np.array(spikes), location=area)
    else:
        from pynwb.ophys import Fluorescence, ImageSegmentation, OpticalChannel, RoiResponseSeries

        device = nwb.create_device("scope")
        channel = OpticalChannel(name="green", description="green", emission_lambda=500.0)
        module = nwb.create_processing_module("ophys", "ophys")
        fluor = Fluorescence()
        module.add(fluor)
        seg = ImageSegmentation()
        module.add(seg)
        times = np.arange(0, len(order), 0.1)
        for area in ("V1", "AL"):
            plane = nwb.create_imaging_plane(
                f"plane_{area}", channel, "plane", device, 30.0, "GCaMP6", area
            )
            ps = seg.create_plane_segmentation("rois", plane, f"seg_{area}")
            for _ in range(4):
                ps.add_roi(image_mask=rng.uniform(size=(4, 4)))
            means = rng.normal(size=(len(IDS), 4))
            truth[area] = means
            data = np.zeros((len(times), 4))
            for k, stim in enumerate(order):
                data[(times >= k) & (times < k + 0.5)] = means[stim]
            region = ps.create_roi_table_region("all", region=list(range(4)))
            fluor.add_roi_response_series(
                RoiResponseSeries(
                    name=f"rrs_{area}", data=data, rois=region, unit="a.u.", timestamps=times
                )
            )
    with NWBHDF5IO(str(path), "w") as io_:
        io_.write(nwb)
    return truth


@pytest.mark.slow  # over 0.5 s: in make test, not the everyday subset
def test_nwb_units_round_trip(tmp_path, rng):
    truths = {s: _nwb_file(tmp_path / f"{s}.nwb", s, rng) for s in SUBJECTS[:2]}
    data = io.load_nwb([tmp_path / f"{s}.nwb" for s in SUBJECTS[:2]])
    assert data.subjects == SUBJECTS[:2] and data.regions == ["V1", "LM"]
    assert list(data.stimuli) == IDS
    for s in SUBJECTS[:2]:
        for area in ("V1", "LM"):
            expected = np.round(truths[s][area] * 0.5) / 0.5  # whole spikes per 0.5 s window
            np.testing.assert_allclose(data[(s, area)].values, expected)


@pytest.mark.slow  # over 0.5 s: in make test, not the everyday subset
def test_nwb_roi_round_trip(tmp_path, rng):
    truth = _nwb_file(tmp_path / "m1.nwb", "m1", rng, roi=True)
    _nwb_file(tmp_path / "m2.nwb", "m2", rng, roi=True)
    data = io.load_nwb([tmp_path / "m1.nwb", tmp_path / "m2.nwb"], source="roi")
    assert sorted(data.regions) == ["AL", "V1"]
    np.testing.assert_allclose(data[("m1", "AL")].values, truth["AL"])
    with pytest.raises(ValueError, match=r"m1\.nwb'.*no column 'image_id'"):
        io.load_nwb(tmp_path / "m1.nwb", source="roi", stimulus_column="image_id")


# ---------------------------------------------------------------- corrupt input
@pytest.mark.parametrize("suffix", [".npz", ".mat", ".h5", ".nc", ".parquet"])
def test_truncated_files_fail_clearly(tmp_path, responses, suffix):
    data = ca.BrainData.from_responses(responses, stimuli=IDS)
    path = tmp_path / f"f{suffix}"
    if suffix == ".npz":
        np.savez(path, **rdm_stacks(responses))
    elif suffix == ".mat":
        from scipy.io import savemat

        savemat(path, rdm_stacks(responses))
    elif suffix == ".h5":
        import h5py

        with h5py.File(path, "w") as f:
            for r, v in rdm_stacks(responses).items():
                f.create_dataset(r, data=v)
    elif suffix == ".nc":
        io.save_xarray(
            ca.BrainData.from_responses({k: v[:, :5] for k, v in responses.items()}, stimuli=IDS),
            path,
        )
    else:
        tidy(responses).to_parquet(path)
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 3])
    loader = {".nc": io.load_xarray, ".parquet": io.load_table}.get(suffix, io.load_arrays)
    with pytest.raises(ValueError, match=rf"f\{suffix}'"):
        loader(path)
    del data


# ---------------------------------------------------------------- reference datasets
def test_download_from_a_mirror_is_verified_and_atomic(data_dir, tmp_path, monkeypatch):
    mirror = tmp_path / "mirror"
    shutil.copytree(data_dir / "cichy2014_92images", mirror / "cichy2014_92images")
    monkeypatch.setenv("CROSSALIGN_DATA_DIR", str(tmp_path / "empty"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("CROSSALIGN_MIRROR", mirror.as_uri())
    monkeypatch.delenv("CROSSALIGN_OFFLINE", raising=False)
    data = ca.load_dataset("cichy2014")
    assert len(data.attrs["stimulus_paths"]) == 92
    cached = tmp_path / "cache" / "crossalign" / "cichy2014_92images" / "fmri_IT_RDMs.npz"
    assert cached.is_file()
    np.testing.assert_array_equal(data.rdm_vectors(), ca.load_dataset("cichy2014").rdm_vectors())
    # a corrupted mirror copy is refused and nothing is kept
    cached.unlink()
    raw = bytearray((mirror / "cichy2014_92images" / "fmri_IT_RDMs.npz").read_bytes())
    raw[200] ^= 0xFF
    (mirror / "cichy2014_92images" / "fmri_IT_RDMs.npz").chmod(0o644)
    (mirror / "cichy2014_92images" / "fmri_IT_RDMs.npz").write_bytes(bytes(raw))
    with pytest.raises(
        FileNotFoundError,
        match=r"fails its SHA-256 check \(expected ecf104457ae8.*nothing was kept",
    ):
        ca.load_dataset("cichy2014", images=False)
    assert not cached.exists()
    assert not list(cached.parent.glob("*.part")) and not list(cached.parent.glob("tmp*"))


def test_offline_and_missing(tmp_path, monkeypatch):
    monkeypatch.setenv("CROSSALIGN_DATA_DIR", str(tmp_path / "empty"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("CROSSALIGN_OFFLINE", "1")
    with pytest.raises(
        FileNotFoundError,
        match=r"missing the file 'rdms/RDM_allsub_taskNum_V1"
        r"\.mat'.*downloads are switched off",
    ):
        ca.load_dataset("castaldi2019", task="num")


def test_object_arrays_in_npz_are_refused_by_load_arrays(tmp_path):
    np.savez(tmp_path / "evil.npz", V1=np.array([{"x": 1}], dtype=object))
    with pytest.raises(ValueError, match=r"evil\.npz'.*(allow_pickle|Object arrays)"):
        io.load_arrays(tmp_path / "evil.npz")


def test_asymmetric_rdms_need_symmetrise(tmp_path, responses):
    stacks = rdm_stacks(responses)
    stacks["V1"][0, 0, 1] += 1e-3
    np.savez(tmp_path / "asym.npz", **stacks)
    with pytest.raises(ValueError, match=r"asym\.npz'.*must be symmetric.*symmetrise=True"):
        io.load_arrays(tmp_path / "asym.npz", kind="rdm")
    fixed = io.load_arrays(tmp_path / "asym.npz", kind="rdm", symmetrise=True)
    assert fixed.kind(fixed.keys()[0]) == "rdm"
