"""The BOLD Moments Dataset (Lahner et al. 2024, Nat. Commun. 15:6241; OpenNeuro ds005165)
from a local copy of its prepared betas (``derivatives/versionB``).

Two sources of the same betas:

* ``source="roi"`` (default): the per-ROI pickles of ``prepared_allvoxel_pkl`` (dicts with
  ``train_data_allvoxel`` (1000, 3, n) and ``test_data_allvoxel`` (102, 10, n));
* ``source="betas"``: the whole-brain ``organized_betas`` pickles ((betas, stim_ids[, mask])
  with betas (stimulus, repeat, voxel)), cut to each ROI with the subject's ROI index pickles
  (MNI152 only), or whole-brain for ``space="fsLR32k"``/``"fsaverage"``.

Train videos are ``vid0001``..``vid1000`` (3 repeats each), test videos ``vid1001``..
``vid1102`` (10 repeats); the fixed split goes to ``attrs["split"]``. Values are the
dataset's z-scores. Every pickle is read with the restricted unpickler in a child process.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from crossalign._validation import check_option
from crossalign.data.containers import BrainData
from crossalign.errors import InputError, MissingFileError
from crossalign.io.assemble import HEMISPHERES, Entries, pick_stimuli
from crossalign.io.pickles import load_pickles

__all__ = ["ROIS", "load_bold_moments"]

#: The ROIs of versionB (each with a left ``l`` and right ``r`` file).
ROIS = [
    "V1v",
    "V1d",
    "V2v",
    "V2d",
    "V3v",
    "V3d",
    "hV4",
    "V3ab",
    "IPS0",
    "IPS1-2-3",
    "7AL",
    "BA2",
    "PFt",
    "PFop",
    "MT",
    "EBA",
    "FFA",
    "OFA",
    "STS",
    "LOC",
    "PPA",
    "RSC",
    "TOS",
]
SPACES = ("MNI152", "fsLR32k", "fsaverage")
SPLIT = {"train": (1000, 3), "test": (102, 10)}
TRAIN = [f"vid{i:04d}" for i in range(1, 1001)]
TEST = [f"vid{i:04d}" for i in range(1001, 1103)]


def _subjects(glm: Path, subjects: Sequence[Any] | None) -> list[str]:
    if subjects is None:
        found = sorted(p.name for p in glm.glob("sub-*") if p.is_dir())
        if not found:
            raise MissingFileError(f"No subject folder (sub-XX) under '{glm}'.")
        return found
    return [s if str(s).startswith("sub-") else f"sub-{int(s):02d}" for s in subjects]


def _check_part(arr: Any, part: str, path: Path, key: str) -> np.ndarray:
    n_stim, n_rep = SPLIT[part]
    arr = np.asarray(arr)
    if arr.ndim != 3 or arr.shape[:2] != (n_stim, n_rep) or arr.dtype.kind != "f":
        raise InputError(
            f"The file '{path}' holds {key} with shape {arr.shape} and dtype {arr.dtype}. "
            f"Expected floats (stimulus, repeat, voxel) = ({n_stim}, {n_rep}, n)."
        )
    return arr


def _roi_pickle(path: Path, obj: Any) -> tuple[np.ndarray, np.ndarray]:
    keys = ("train_data_allvoxel", "test_data_allvoxel")
    if not isinstance(obj, dict) or any(k not in obj for k in keys):
        got = sorted(obj) if isinstance(obj, dict) else type(obj).__name__
        raise InputError(f"The file '{path}' holds {got}. Expected a dict with keys {list(keys)}.")
    train = _check_part(obj[keys[0]], "train", path, keys[0])
    test = _check_part(obj[keys[1]], "test", path, keys[1])
    if train.shape[2] != test.shape[2]:
        raise InputError(
            f"The file '{path}' has {train.shape[2]} train voxels but {test.shape[2]} test "
            "voxels. Expected the same voxels in both."
        )
    return train, test


def _organized_pair(paths: Sequence[Path], space: str) -> tuple[np.ndarray, np.ndarray]:
    """The train and test betas of one subject (one child process for both pickles)."""
    objs = load_pickles(paths, nibabel=space == "MNI152")
    return _organized(paths[0], objs[0], "train", space), _organized(
        paths[1], objs[1], "test", space
    )


def _organized(path: Path, obj: Any, part: str, space: str) -> np.ndarray:
    size = 3 if space == "MNI152" else 2
    if not isinstance(obj, tuple | list) or len(obj) != size:
        raise InputError(
            f"The file '{path}' holds {type(obj).__name__} of length "
            f"{len(obj) if hasattr(obj, '__len__') else '?'}. Expected a tuple of {size} "
            f"({'betas, stim_ids, mask' if size == 3 else 'betas, stim_ids'})."
        )
    betas = _check_part(obj[0], part, path, "betas")
    ids = [str(i) for i in np.asarray(obj[1]).ravel()]
    expected = TRAIN if part == "train" else TEST
    if ids != expected:
        raise InputError(
            f"The file '{path}' lists stimulus ids {ids[:3]}... Expected {expected[0]}.."
            f"{expected[-1]} in order (row i is video i+1)."
        )
    return betas


def _roi_index(path: Path, obj: Any, n_voxels: int) -> np.ndarray:
    if not isinstance(obj, tuple | list) or len(obj) < 2:
        raise InputError(
            f"The file '{path}' holds {type(obj).__name__}. Expected a tuple (coordinates, "
            "indices, mask image)."
        )
    coords, idx = np.asarray(obj[0]), np.asarray(obj[1]).ravel()
    if idx.dtype.kind not in "iu" or idx.size != len(coords):
        raise InputError(
            f"The file '{path}' has {idx.size} indices of dtype {idx.dtype} for {len(coords)} "
            "voxel coordinates. Expected one integer index per coordinate."
        )
    if idx.size and (idx.min() < 0 or idx.max() >= n_voxels or len(np.unique(idx)) != idx.size):
        raise InputError(
            f"The file '{path}' has indices outside [0, {n_voxels}) or repeated ones. Expected "
            "unique indices into the voxel axis of the subject's betas."
        )
    return idx


def _regions(rois: Sequence[str] | None, hemispheres: str) -> dict[str, list[str]]:
    """Region name -> the file ROI names ({h}{ROI}) it concatenates."""
    names = list(ROIS) if rois is None else list(rois)
    unknown = [r for r in names if r not in ROIS and r != "BMDgeneral"]
    if unknown:
        raise InputError(
            f"The 'rois' option names unknown ROI(s) {unknown}. Expected among {ROIS}."
        )
    out: dict[str, list[str]] = {}
    for roi in names:
        if roi == "BMDgeneral":
            out[roi] = [roi]
        elif hemispheres == "merge":
            out[roi] = [f"l{roi}", f"r{roi}"]
        else:
            out[f"l{roi}"], out[f"r{roi}"] = [f"l{roi}"], [f"r{roi}"]
    return out


def _stack(parts: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    return (
        np.concatenate([p[0] for p in parts], axis=2),
        np.concatenate([p[1] for p in parts], axis=2),
    )


def _both(train: np.ndarray, test: np.ndarray, repeats: str) -> np.ndarray:
    """Train (1000, 3, n) and test (102, 10, n) as one (1102, 10, n) with NaN-padded
    repeats, or averaged as (1102, 1, n) without the padded copy."""
    if repeats == "average":
        with np.errstate(invalid="ignore"):
            parts = [np.nanmean(x, axis=1, keepdims=True) for x in (train, test)]
        return np.concatenate(parts, axis=0)
    out = np.full((1102, 10, train.shape[2]), np.nan)
    out[:1000, :3], out[1000:] = train, test
    return out


def load_bold_moments(
    root: str | Path,
    *,
    subjects: Sequence[Any] | None = None,
    rois: Sequence[str] | None = None,
    hemispheres: str = "merge",
    source: str = "roi",
    space: str = "MNI152",
    stimuli: Sequence[Hashable] | None = None,
    repeats: str = "keep",
    dtype: Any = np.float64,
) -> BrainData:
    """Load BOLD Moments betas from ``root`` (the folder holding ``derivatives/``).

    Parameters
    ----------
    root : str or Path
        The dataset root (as downloaded from OpenNeuro ds005165).
    subjects : sequence, optional
        Subject numbers (``1``) or names (``"sub-01"``); default every ``sub-XX`` folder.
    rois : sequence of str, optional
        ROI names without hemisphere (:data:`ROIS`, or ``"BMDgeneral"``); default every ROI
        that some subject has (a named ROI that no subject has is an error).
        Ignored (whole brain, region ``"WB"``) for ``space`` other than MNI152.
    hemispheres : {"merge", "keep"}
        Concatenate left and right voxels into one region, or keep ``lV1v`` and ``rV1v``.
    source : {"roi", "betas"}
        Per-ROI pickles, or the whole-brain betas cut with the ROI index pickles.
    space : {"MNI152", "fsLR32k", "fsaverage"}
        Only with ``source="betas"``; the ROI files exist for MNI152 only.
    stimuli : sequence, optional
        A subset of video ids (``"vid0001"``...); default all 1,102.
    repeats : {"keep", "average"}
        Keep the repeat axis (NaN beyond a video's repeats) or average it.
    dtype : numpy dtype
        Stored precision.

    Returns
    -------
    BrainData
        (subject, region) cells; a subject whose ROI is empty or absent is a missing cell
        (``attrs["missing_cells"]``). ``attrs["split"]`` holds the train and test videos.

    Raises
    ------
    MissingFileError
        A subject folder or an ROI file that no subject has.
    InputError
        A file whose content differs from the published layout (named, with the
        expectation).
    """
    check_option(hemispheres, "hemispheres", HEMISPHERES, "load_bold_moments")
    check_option(source, "source", ["roi", "betas"], "load_bold_moments")
    check_option(space, "space", SPACES, "load_bold_moments")
    ids = pick_stimuli(TRAIN + TEST, stimuli, "BOLD Moments")
    base = Path(root) / "derivatives" / "versionB"
    if source == "roi" and space != "MNI152":
        raise InputError("The per-ROI pickles exist in MNI152 only; use source='betas'.")
    entries = Entries(repeats=repeats, dtype=dtype)
    glm = base / space / "GLM"
    names = _subjects(
        glm if source == "betas" else base / "MNI152" / "prepared_allvoxel_pkl", subjects
    )
    found: dict[str, int] = {}
    for sub in names:
        for region, parts in _subject_cells(base, sub, source, space, rois, hemispheres).items():
            found[region] = found.get(region, 0) + (parts is not None)
            if parts is not None:
                entries.add(sub, region, _both(*parts, repeats)[_positions(ids)], ids)
            else:
                entries.missing.append((sub, region))
    absent = [r for r, k in found.items() if not k]
    if rois is None:  # every ROI that some subject has
        entries.missing = [m for m in entries.missing if m[1] not in absent]
    elif absent:
        raise MissingFileError(
            f"No subject of {names} has the ROI file(s) of {absent} under '{base / space}'. "
            "Expected the versionB layout (prepared_allvoxel_pkl/sub-XX/sub-XX_roi-lV1v_"
            "betas_normalized.pkl, or GLM/sub-XX/ROIs/ROI-lV1v_indices.pkl)."
        )
    return entries.build(
        stimuli=ids,
        split={"train": TRAIN, "test": TEST},
        attrs={"dataset": "bold_moments", "space": space, "source": source},
    )


def _positions(ids: list[Hashable]) -> np.ndarray:
    return np.array([int(str(i)[3:]) - 1 for i in ids])


def _subject_cells(
    base: Path, sub: str, source: str, space: str, rois: Sequence[str] | None, hemispheres: str
) -> dict[str, tuple[np.ndarray, np.ndarray] | None]:
    """Region -> (train, test) betas of one subject (None where the ROI is absent or empty)."""
    if source == "roi":
        folder = base / "MNI152" / "prepared_allvoxel_pkl" / sub
        wanted = {
            region: [folder / f"{sub}_roi-{f}_betas_normalized.pkl" for f in files]
            for region, files in _regions(rois, hemispheres).items()
        }
        present = [p for paths in wanted.values() if all(p.is_file() for p in paths) for p in paths]
        read = dict(zip(present, load_pickles(present), strict=True)) if present else {}
        return {
            region: _stack([_roi_pickle(p, read[p]) for p in paths]) if paths[0] in read else None
            for region, paths in wanted.items()
        }
    return _from_betas(base, sub, space, rois, hemispheres)


def _from_betas(
    base: Path, sub: str, space: str, rois: Sequence[str] | None, hemispheres: str
) -> dict[str, tuple[np.ndarray, np.ndarray] | None]:
    folder = base / space / "GLM" / sub / "prepared_betas"
    if space == "fsaverage":
        halves = {}
        for hemi in ("left", "right"):
            halves[hemi] = _organized_pair(
                [
                    folder / f"{sub}_organized_betas_task-{p}_hemi-{hemi}_normalized.pkl"
                    for p in ("train", "test")
                ],
                space,
            )
        if hemispheres == "keep":
            return {"lh": halves["left"], "rh": halves["right"]}
        return {"WB": _stack([halves["left"], halves["right"]])}
    train, test = _organized_pair(
        [folder / f"{sub}_organized_betas_task-{p}_normalized.pkl" for p in ("train", "test")],
        space,
    )
    if space != "MNI152":
        return {"WB": (train, test)}
    out: dict[str, tuple[np.ndarray, np.ndarray] | None] = {}
    roi_dir = base / space / "GLM" / sub / "ROIs"
    wanted = {
        region: [roi_dir / f"ROI-{f}_indices.pkl" for f in files]
        for region, files in _regions(rois, hemispheres).items()
    }
    present = [p for paths in wanted.values() if all(p.is_file() for p in paths) for p in paths]
    read = dict(zip(present, load_pickles(present, nibabel=True), strict=True)) if present else {}
    for region, paths in wanted.items():
        if paths[0] not in read:
            out[region] = None
            continue
        idx = np.concatenate([_roi_index(p, read[p], train.shape[2]) for p in paths])
        out[region] = (train[:, :, idx], test[:, :, idx])
    return out
