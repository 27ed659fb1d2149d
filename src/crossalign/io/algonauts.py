"""The Algonauts challenges' fMRI releases from a local copy.

* **Algonauts 2021** (Cichy et al. 2021, arXiv:2104.13714): per-subject, per-ROI Python 2-era
  pickles ``participants_data_v2021/{mini,full}_track/subNN/ROI.pkl`` holding ``{"train":
  (1000, 3, voxels)}``; the 1,102 videos sorted by name are the 1,000 training videos then the
  102 test videos (test fMRI was withheld).
* **Algonauts 2023** (Gifford et al. 2023, arXiv:2301.03198; NSD-derived): per-hemisphere
  ``(images, vertices)`` arrays, z-scored and already averaged over repeats, with integer ROI
  masks in challenge space and ``{code: name}`` mappings.

Pickles go through the restricted unpickler in a child process; numpy files are read with
pickles disabled.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from crossalign._validation import check_option
from crossalign.data.containers import BrainData
from crossalign.errors import InputError, MissingFileError
from crossalign.io.arrays import load_array
from crossalign.io.assemble import HEMISPHERES, Entries, pick_stimuli
from crossalign.io.pickles import load_npy_object, load_pickle

__all__ = ["load_algonauts2021", "load_algonauts2023"]

ROIS_2021 = ("V1", "V2", "V3", "V4", "LOC", "EBA", "FFA", "STS", "PPA")
ROI_SETS_2023 = (
    "prf-visualrois",
    "floc-bodies",
    "floc-faces",
    "floc-places",
    "floc-words",
    "streams",
)


def _subject_dirs(folder: Path, subjects: Sequence[Any] | None, prefix: str) -> list[Path]:
    if subjects is None:
        found = sorted(p for p in folder.glob(f"{prefix}*") if p.is_dir())
        if not found:
            raise MissingFileError(f"No subject folder ({prefix}NN) under '{folder}'.")
        return found
    names = [s if str(s).startswith(prefix) else f"{prefix}{int(s):02d}" for s in subjects]
    missing = [n for n in names if not (folder / n).is_dir()]
    if missing:
        raise MissingFileError(f"No folder for subject(s) {missing} under '{folder}'.")
    return [folder / n for n in names]


def _video_ids(root: Path, n: int) -> list[Hashable]:
    """The training videos' names (sorted file stems), or 1..n when the videos are absent."""
    folder = root / "AlgonautsVideos268_All_30fpsmax"
    files = sorted(folder.glob("*.mp4")) if folder.is_dir() else []
    if not files:
        return list(range(1, n + 1))
    if len(files) != 1102:
        raise InputError(
            f"The folder '{folder}' holds {len(files)} videos. Expected 1102 (1000 training, "
            "then 102 test videos in sorted order)."
        )
    return [f.stem for f in files[:n]]


def load_algonauts2021(
    root: str | Path,
    *,
    subjects: Sequence[Any] | None = None,
    rois: Sequence[str] | None = None,
    track: str = "mini",
    stimuli: Sequence[Hashable] | None = None,
    repeats: str = "keep",
    dtype: Any = np.float64,
) -> BrainData:
    """Load the Algonauts 2021 training fMRI from ``root``.

    Parameters
    ----------
    root : str or Path
        The folder holding ``participants_data_v2021`` (and, optionally,
        ``AlgonautsVideos268_All_30fpsmax``, whose sorted names become the stimulus ids;
        without it the ids are 1..1000).
    subjects : sequence, optional
        Subject numbers or names (``"sub01"``); default all.
    rois : sequence of str, optional
        For the mini track, among V1 V2 V3 V4 LOC EBA FFA STS PPA (default all); the full
        track has the single region ``WB``.
    track : {"mini", "full"}
        Which release.
    stimuli : sequence, optional
        A subset of the training videos.
    repeats : {"keep", "average"}
        Keep the 3 repeats or average them.
    dtype : numpy dtype
        Stored precision.

    Returns
    -------
    BrainData
        Subjects x ROIs (voxel counts differ by subject); a missing ROI file is a missing cell.
    """
    check_option(track, "track", ["mini", "full"], "load_algonauts2021")
    folder = Path(root) / "participants_data_v2021" / f"{track}_track"
    names = list(ROIS_2021) if rois is None else list(rois)
    if track == "full":
        names = ["WB"]
    unknown = [r for r in names if r not in (*ROIS_2021, "WB")]
    if unknown:
        raise InputError(
            f"The 'rois' option names unknown ROI(s) {unknown}. Expected among {ROIS_2021}."
        )
    all_ids = _video_ids(Path(root), 1000)
    ids = pick_stimuli(all_ids, stimuli, "Algonauts 2021")
    rows = [all_ids.index(i) for i in ids]
    entries = Entries(repeats=repeats, dtype=dtype)
    for sub in _subject_dirs(folder, None if subjects is None else subjects, "sub"):
        for roi in names:
            path = sub / f"{roi}.pkl"
            if not path.is_file():
                entries.missing.append((sub.name, roi))
                continue
            entries.add(sub.name, roi, _train_betas(path)[rows], ids)
    return entries.build(
        stimuli=ids, split=None, attrs={"dataset": "algonauts2021", "track": track}
    )


def _train_betas(path: Path) -> np.ndarray:
    obj = load_pickle(path, encoding="latin1")
    if not isinstance(obj, dict) or "train" not in obj:
        got = sorted(map(str, obj)) if isinstance(obj, dict) else type(obj).__name__
        raise InputError(f"The file '{path}' holds {got}. Expected a dict with the key 'train'.")
    arr = np.asarray(obj["train"])
    if arr.ndim != 3 or arr.shape[:2] != (1000, 3) or arr.dtype.kind != "f":
        raise InputError(
            f"The file '{path}' holds 'train' with shape {arr.shape} and dtype {arr.dtype}. "
            "Expected floats (video, repetition, voxel) = (1000, 3, n)."
        )
    if "voxel_mask" in obj:
        n_mask = int(np.count_nonzero(obj["voxel_mask"]))
        if n_mask != arr.shape[2]:
            raise InputError(
                f"The file '{path}' has a voxel_mask of {n_mask} voxels for {arr.shape[2]} "
                "voxels of betas. Expected the same count."
            )
    return arr


# ---------------------------------------------------------------------- Algonauts 2023
_IMAGE = re.compile(r"^(train|test)-(\d{4})_nsd-(\d{5})\.png$")


def _image_ids(folder: Path) -> list[int]:
    """0-based NSD ids of the images, in row order (NNNN is the 1-based row)."""
    found = []
    for path in sorted(folder.glob("*.png")):
        m = _IMAGE.match(path.name)
        if m is None:
            raise InputError(
                f"The image '{path}' does not match the name train-NNNN_nsd-IIIII.png."
            )
        found.append((int(m.group(2)), int(m.group(3))))
    rows = [r for r, _ in found]
    if rows != list(range(1, len(rows) + 1)):
        raise InputError(f"The images in '{folder}' do not number rows 1..{len(rows)} in order.")
    return [i for _, i in found]


def load_algonauts2023(
    root: str | Path,
    *,
    subjects: Sequence[Any] | None = None,
    roi_sets: Sequence[str] = ("prf-visualrois",),
    rois: Sequence[str] | None = None,
    hemispheres: str = "merge",
    stimuli: Sequence[Hashable] | None = None,
    dtype: Any = np.float64,
) -> BrainData:
    """Load the Algonauts 2023 training fMRI from ``root`` (the folder holding ``subjAA``).

    Parameters
    ----------
    root : str or Path
        The challenge data folder.
    subjects : sequence, optional
        Subject numbers (1..8) or names (``"subj01"``); default all.
    roi_sets : sequence of str
        ROI mask files to read (``prf-visualrois``, ``floc-faces``, ``streams``, ...).
    rois : sequence of str, optional
        ROI names to keep (as in the mappings, e.g. ``V1v``, ``FFA-1``); default every named
        ROI of the sets. A subject without an ROI has a missing cell.
    hemispheres : {"merge", "keep"}
        One region per ROI (left then right vertices) or ``lh.V1v`` and ``rh.V1v``.
    stimuli : sequence, optional
        0-based NSD ids to keep; default every subject's shared training images.
    dtype : numpy dtype
        Stored precision.

    Returns
    -------
    BrainData
        Over the images every selected subject saw (the responses are already averaged over
        repeats, so there is no repeat axis). The test split's fMRI was not released.
    """
    check_option(hemispheres, "hemispheres", HEMISPHERES, "load_algonauts2023")
    bad = [s for s in roi_sets if s not in ROI_SETS_2023]
    if bad:
        raise InputError(
            f"The 'roi_sets' option names unknown set(s) {bad}. Expected among {ROI_SETS_2023}."
        )
    subs = _subject_dirs(Path(root), subjects, "subj")
    per_subject = {s.name: _subject_2023(s, roi_sets, rois, hemispheres) for s in subs}
    common = set.intersection(*(set(v[0]) for v in per_subject.values()))
    first = next(iter(per_subject.values()))[0]
    ids = pick_stimuli([i for i in first if i in common], stimuli, "every selected subject")
    entries = Entries(repeats="average", dtype=dtype)
    for name, (subject_ids, cells) in per_subject.items():
        rows: dict[Hashable, int] = {i: k for k, i in enumerate(subject_ids)}
        take = [rows[i] for i in ids]
        for region, values in cells.items():
            entries.add(name, region, values[take][:, None, :], ids)
    wanted = {r for _, cells in per_subject.values() for r in cells}
    for name, (_, cells) in per_subject.items():
        entries.missing += [(name, r) for r in sorted(wanted - set(cells))]
    return entries.build(
        stimuli=ids, split=None, attrs={"dataset": "algonauts2023", "roi_sets": list(roi_sets)}
    )


_LAYOUT_2023 = (
    "subjAA/training_split/training_fmri/{lh,rh}_training_fmri.npy and "
    "subjAA/roi_masks/{lh,rh}.<roi set>_challenge_space.npy with mapping_<roi set>.npy"
)


def _layout_npy(path: Path, what: str) -> np.ndarray:
    """A ``.npy`` file of the Algonauts 2023 layout, or an error naming the layout."""
    if not path.is_file():
        raise MissingFileError(
            f"The Algonauts 2023 folder lacks {what}: '{path}' does not exist. The layout is "
            f"{_LAYOUT_2023}."
        )
    return load_array(path)


def _subject_2023(
    folder: Path, roi_sets: Sequence[str], rois: Sequence[str] | None, hemispheres: str
) -> tuple[list[int], dict[str, np.ndarray]]:
    ids = _image_ids(folder / "training_split" / "training_images")
    cells: dict[str, list[np.ndarray]] = {}
    for hemi in ("lh", "rh"):
        fmri = _layout_npy(
            folder / "training_split" / "training_fmri" / f"{hemi}_training_fmri.npy",
            "the training fMRI of each hemisphere",
        )
        if fmri.ndim != 2 or fmri.shape[0] != len(ids) or fmri.dtype.kind != "f":
            raise InputError(
                f"The file '{folder}/training_split/training_fmri/{hemi}_training_fmri.npy' "
                f"has shape {fmri.shape} and dtype {fmri.dtype}. Expected ({len(ids)} images, "
                "vertices) of floats."
            )
        for roi_set in roi_sets:
            mask_path = folder / "roi_masks" / f"{hemi}.{roi_set}_challenge_space.npy"
            mask = _layout_npy(mask_path, f"the {roi_set} ROI codes of each hemisphere")
            if mask.shape != (fmri.shape[1],) or mask.dtype.kind not in "iuf":
                raise InputError(
                    f"The file '{mask_path}' has shape {mask.shape}. Expected one integer code "
                    f"per challenge-space vertex ({fmri.shape[1]})."
                )
            mapping = load_npy_object(folder / "roi_masks" / f"mapping_{roi_set}.npy")
            for code, name in sorted(mapping.items()):
                if int(code) == 0 or (rois is not None and name not in rois):
                    continue
                sel = mask == int(code)
                if not sel.any():
                    continue
                region = name if hemispheres == "merge" else f"{hemi}.{name}"
                cells.setdefault(region, []).append(fmri[:, sel])
    return ids, {r: np.concatenate(v, axis=1) for r, v in cells.items()}
