"""The Natural Scenes Dataset (Allen et al. 2022, Nat. Neurosci. 25:116) from a local copy.

Reads the single-trial betas (``betas_fithrf_GLMdenoise_RR``) session by session, keeping only
the voxels (or vertices) of the requested ROIs, so memory is bounded by one chunk of trials
over the ROI voxels plus the result:

* ``space="func1pt8mm"`` with ``format="nifti"`` (int16 (X, Y, Z, 750), read in chunks of
  trials through nibabel's array proxy) or ``format="hdf5"`` (``/betas`` (750, Z, Y, X), read
  over the ROIs' bounding box); values are stored x300 and divided by 300;
* ``space="fsaverage"``: float32 MGH (163842, 1, 1, 750) per hemisphere, already percent
  signal change (not divided);
* ``space="nativesurface"``: HDF5 ``/betas`` (750, vertices) per hemisphere, x300.

Trials are matched to the 0-based 73k image ids through ``nsd_expdesign.mat``
(``subjectim[s, masterordering[t] - 1] - 1``), grouped into (image, repeat, voxel) with NaN
for a missing repeat. ROI label volumes give codes looked up in each ROI set's ``.ctab``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from crossalign._validation import check_option
from crossalign.data.containers import BrainData
from crossalign.errors import InputError, MissingFileError
from crossalign.io.arrays import read_mat_v5
from crossalign.io.assemble import HEMISPHERES, Entries, group_repeats
from crossalign.io.reading import reading_errors

__all__ = ["load_nsd"]

SESSIONS = (40, 40, 32, 30, 40, 32, 40, 30)
TRIALS_PER_SESSION = 750
SPACES = ("func1pt8mm", "fsaverage", "nativesurface")


def _expdesign(root: Path) -> dict[str, np.ndarray]:
    path = root / "nsddata" / "experiments" / "nsd" / "nsd_expdesign.mat"
    if not path.is_file():
        raise MissingFileError(f"The NSD design file '{path}' does not exist.")
    mat = read_mat_v5(path)
    expect = {"masterordering": 30000, "subjectim": (8, 10000), "sharedix": 1000}
    # masterordering indexes a subject's 10,000 images; the others are 73k image ids
    highest = {"masterordering": 10000, "subjectim": 73000, "sharedix": 73000}
    for key, shape in expect.items():
        arr = np.asarray(mat.get(key))
        size_ok = arr.shape == shape if isinstance(shape, tuple) else arr.size == shape
        whole = arr.dtype.kind in "iu" or (
            arr.dtype.kind == "f" and np.isfinite(arr).all() and np.all(arr == np.round(arr))
        )
        if key not in mat or not size_ok or not whole or arr.min() < 1 or arr.max() > highest[key]:
            got = f"values {arr.min()}..{arr.max()}" if arr.size and whole else arr.dtype
            raise InputError(
                f"The file '{path}' holds {key!r} with shape {arr.shape} ({got}). Expected "
                f"{shape} 1-based indices in 1..{highest[key]}."
            )
    return {
        k: np.asarray(mat[k]).astype(np.int64).reshape(v if isinstance(v, tuple) else -1)
        for k, v in expect.items()
    }


def _ctab(path: Path) -> dict[str, int]:
    """ROI name -> code from a ``.ctab`` file (lines ``code name ...``; 0 is Unknown)."""
    if not path.is_file():
        raise MissingFileError(f"The colour table '{path}' does not exist.")
    out = {}
    for line in path.read_text().splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0].lstrip("-").isdigit() and int(parts[0]) > 0:
            out[parts[1]] = int(parts[0])
    return out


def _load_labels(path: Path) -> np.ndarray:
    import nibabel as nib

    if not path.is_file():
        raise MissingFileError(f"The ROI label file '{path}' does not exist.")
    with reading_errors(path):
        img: Any = nib.load(path)
        return np.asarray(img.dataobj)


def _roi_masks(
    root: Path,
    subj: str,
    space: str,
    roi_sets: Sequence[str],
    rois: Sequence[str] | None,
    hemi: str,
) -> dict[str, np.ndarray]:
    """ROI name -> boolean mask on the betas' grid (volume) or vertex list, one hemisphere."""
    out = {}
    for roi_set in roi_sets:
        owner = "fsaverage" if space == "fsaverage" else subj
        codes = _ctab(root / "nsddata" / "freesurfer" / owner / "label" / f"{roi_set}.mgz.ctab")
        if space == "func1pt8mm":
            path = (
                root
                / "nsddata"
                / "ppdata"
                / subj
                / "func1pt8mm"
                / "roi"
                / f"{hemi}.{roi_set}.nii.gz"
            )
        else:
            path = root / "nsddata" / "freesurfer" / owner / "label" / f"{hemi}.{roi_set}.mgz"
        labels = _load_labels(path)
        unknown = set(np.unique(labels).astype(int)) - {-1, 0} - set(codes.values())
        if unknown:
            raise InputError(
                f"The ROI file '{path}' holds code(s) {sorted(unknown)} that its colour table "
                f"does not name. Expected codes among {sorted(codes.values())} (and -1, 0)."
            )
        for name, code in codes.items():
            if rois is None or name in rois:
                out[name] = (
                    labels.reshape(labels.shape[:3] if space == "func1pt8mm" else -1) == code
                )
    return out


def _session_file(root: Path, subj: str, space: str, fmt: str, hemi: str, session: int) -> Path:
    base = root / "nsddata_betas" / "ppdata" / subj / space / "betas_fithrf_GLMdenoise_RR"
    if space == "func1pt8mm":
        ext = "nii.gz" if fmt == "nifti" else "hdf5"
        path = base / f"betas_session{session:02d}.{ext}"
        if fmt == "nifti" and not path.is_file() and path.with_suffix("").is_file():
            path = path.with_suffix("")  # an uncompressed copy
    elif space == "fsaverage":
        path = base / f"{hemi}.betas_session{session:02d}.mgh"
    else:
        path = base / f"{hemi}.betas_session{session:02d}.hdf5"
    if not path.is_file():
        raise MissingFileError(f"The NSD betas file '{path}' does not exist.")
    return path


def _check_numeric(dtype: Any, path: Path, what: str) -> None:
    """Betas are integers (x300) or floats; anything else (complex, strings) is refused."""
    if np.dtype(dtype).kind not in "iuf":
        raise InputError(
            f"The file '{path}' holds {what} of dtype {np.dtype(dtype)}. Expected integer "
            "(int16, stored x300) or floating-point betas."
        )


def _betas_dataset(f: Any, path: Path) -> Any:
    if "betas" not in f:
        raise InputError(f"The file '{path}' has no '/betas' dataset. Found: {sorted(f)}.")
    betas = f["betas"]
    if not hasattr(betas, "dtype"):
        raise InputError(f"The file '{path}' holds '/betas' as a group, not a dataset.")
    _check_numeric(betas.dtype, path, "'/betas'")
    return betas


def _read_volume(path: Path, mask: np.ndarray, chunk: int) -> np.ndarray:
    """(750, n_voxels) int16 or float of the voxels in ``mask`` (X, Y, Z)."""
    if path.suffix == ".hdf5":
        import h5py

        with h5py.File(path, "r") as f:
            betas = _betas_dataset(f, path)
            if betas.ndim != 4 or betas.shape[1:] != mask.shape[::-1]:
                raise InputError(
                    f"The file '{path}' holds /betas of shape {betas.shape}. Expected (trials, "
                    f"Z, Y, X) = (750, {', '.join(map(str, mask.shape[::-1]))})."
                )
            xs, ys, zs = np.nonzero(mask)
            box = betas[
                :, zs.min() : zs.max() + 1, ys.min() : ys.max() + 1, xs.min() : xs.max() + 1
            ]
            return box[:, zs - zs.min(), ys - ys.min(), xs - xs.min()]
    import nibabel as nib

    img: Any = nib.load(path, mmap=False, keep_file_open=True)  # a memory map would count in RSS
    if len(img.shape) != 4 or img.shape[:3] != mask.shape:
        raise InputError(
            f"The file '{path}' has shape {img.shape}. Expected (X, Y, Z, trials) on the ROI "
            f"grid {mask.shape}."
        )
    _check_numeric(img.get_data_dtype(), path, "the image data")
    n = img.shape[3]
    out = np.empty((n, int(mask.sum())), dtype=img.get_data_dtype())
    for start in range(0, n, chunk):
        block = np.asarray(img.dataobj[..., start : start + chunk])
        out[start : start + block.shape[3]] = block[mask].T
    return out


def _read_surface(path: Path, sel: np.ndarray) -> np.ndarray:
    """(750, n_vertices) of the selected vertices of one hemisphere."""
    if path.suffix == ".hdf5":
        import h5py

        with h5py.File(path, "r") as f:
            betas = _betas_dataset(f, path)
            if betas.ndim != 2 or betas.shape[1] != sel.size:
                raise InputError(
                    f"The file '{path}' holds /betas of shape {betas.shape}. Expected (trials, "
                    f"{sel.size} vertices)."
                )
            return betas[:, np.flatnonzero(sel)]
    import nibabel as nib

    img: Any = nib.load(path)
    _check_numeric(img.get_data_dtype(), path, "the image data")
    if img.shape[:3] != (sel.size, 1, 1):
        raise InputError(
            f"The file '{path}' has shape {img.shape}. Expected ({sel.size}, 1, 1, trials)."
        )
    rows = np.flatnonzero(sel)
    parts = []
    for start in range(0, sel.size, 16384):  # vertex blocks: never the whole hemisphere
        inside = rows[(rows >= start) & (rows < start + 16384)]
        if inside.size:
            block = np.asarray(img.dataobj[start : start + 16384, 0, 0, :])
            parts.append(block[inside - start])
    return np.concatenate(parts, axis=0).T


def load_nsd(
    root: str | Path,
    *,
    subjects: Sequence[int] = (1,),
    roi_sets: Sequence[str] = ("prf-visualrois",),
    rois: Sequence[str] | None = None,
    hemispheres: str = "merge",
    space: str = "func1pt8mm",
    format: str = "nifti",
    sessions: Sequence[int] | None = None,
    stimuli: str | Sequence[int] = "shared1000",
    zscore: bool = True,
    repeats: str = "keep",
    dtype: Any = np.float32,
    chunk: int = 50,
    ncsnr: bool = False,
) -> BrainData:
    """Load NSD single-trial betas for the ROIs of ``roi_sets``.

    Parameters
    ----------
    root : str or Path
        The folder holding ``nsddata`` and ``nsddata_betas``.
    subjects : sequence of int
        Subjects 1..8.
    roi_sets : sequence of str
        ROI label files (``prf-visualrois``, ``floc-faces``, ``streams``, ``nsdgeneral``...).
    rois : sequence of str, optional
        ROI names to keep (as the colour tables name them); default all. A subject whose
        label file lacks an ROI has a missing cell.
    hemispheres : {"merge", "keep"}
        Left then right voxels in one region, or regions ``lh.V1v`` and ``rh.V1v``.
    space : {"func1pt8mm", "fsaverage", "nativesurface"}
        Volume (1.8 mm) or surface betas.
    format : {"nifti", "hdf5"}
        The volume files to read (``space="func1pt8mm"``).
    sessions : sequence of int, optional
        Sessions to read (1-based); default every session of each subject.
    stimuli : "shared1000", "all" or sequence of int
        The shared 1,000 images, every image the selected subjects all saw, or 0-based 73k
        ids. Only images every selected subject saw (in the sessions read) are kept.
    zscore : bool
        Z-score each voxel within each session (mean and SD over its trials, ddof 1).
    repeats : {"keep", "average"}
        Keep up to 3 repeats (NaN where an image was shown fewer times) or average them.
    dtype : numpy dtype
        Stored precision (float32 by default: NSD selections are large).
    chunk : int
        Trials read at once from a NIfTI session file.
    ncsnr : bool
        Also read the dataset's NCSNR maps (``ncsnr.nii.gz``, ``{lh,rh}.ncsnr.mgh``) into
        ``attrs["ncsnr"]["subjAA/region"]``, one value per kept voxel (noise ceiling in % is
        ``100 * ncsnr**2 / (ncsnr**2 + 1 / n)`` for n averaged repeats).

    Returns
    -------
    BrainData
        Stimulus ids are 0-based 73k ids; ``attrs["scale"]`` records the division by 300.
    """
    check_option(hemispheres, "hemispheres", HEMISPHERES, "load_nsd")
    check_option(space, "space", SPACES, "load_nsd")
    check_option(format, "format", ["nifti", "hdf5"], "load_nsd")
    root = Path(root)
    design = _expdesign(root)
    trials: dict[tuple[int, str], tuple[list[int], np.ndarray]] = {}
    for s in subjects:
        if not 1 <= int(s) <= 8:
            raise InputError(f"The 'subjects' option must hold NSD subjects 1..8. Got {s!r}.")
        for region, (ids, values) in _subject_trials(
            root,
            int(s),
            design,
            space,
            format,
            sessions,
            roi_sets,
            rois,
            hemispheres,
            zscore,
            chunk,
            dtype,
        ).items():
            trials[(int(s), region)] = (ids, values)
    keep = _images(design, trials, stimuli)
    entries = Entries(repeats=repeats, dtype=dtype)
    regions = sorted({r for _, r in trials}, key=[r for _, r in trials].index)
    for s in subjects:
        for region in regions:
            if (int(s), region) not in trials:
                entries.missing.append((f"subj{int(s):02d}", region))
                continue
            ids, values = trials[(int(s), region)]
            chosen = np.isin(ids, keep)
            if not chosen.all():
                values, ids = values[chosen], list(np.asarray(ids)[chosen])
            order, grouped = group_repeats(values, ids)
            pos = {i: k for k, i in enumerate(order)}
            extra = (
                {"ncsnr": _ncsnr(root, int(s), space, region, roi_sets, hemispheres)}
                if ncsnr
                else None
            )
            entries.add(
                f"subj{int(s):02d}", region, grouped[[pos[i] for i in keep]], keep, per_unit=extra
            )
    return entries.build(
        stimuli=keep,
        split=None,
        attrs={
            "dataset": "nsd",
            "space": space,
            "scale": "divided by 300" if space != "fsaverage" else "as stored (% signal change)",
            "zscore": zscore,
        },
    )


def _images(design: dict[str, np.ndarray], trials: dict, stimuli: Any) -> list[int]:
    seen = [set(ids) for ids, _ in trials.values()]
    if not seen:
        raise InputError("No ROI voxels were selected; check 'roi_sets' and 'rois'.")
    common = set.intersection(*seen)
    if isinstance(stimuli, str):
        check_option(stimuli, "stimuli", ["shared1000", "all"], "load_nsd")
        pool = (design["sharedix"] - 1).tolist() if stimuli == "shared1000" else sorted(common)
        keep = [i for i in pool if i in common]
    else:
        keep = [int(i) for i in stimuli]
        unseen = [i for i in keep if i not in common]
        if unseen:
            raise InputError(
                f"The 'stimuli' option names {len(unseen)} image(s) not seen by every selected "
                f"subject in the sessions read, e.g. {unseen[:5]}."
            )
    if len(keep) < 3:
        raise InputError(
            f"Only {len(keep)} image(s) of the 'stimuli' option were seen by every selected "
            "subject in the sessions read. Expected at least 3: read more sessions or select "
            "fewer subjects."
        )
    return keep


def _subject_trials(
    root: Path,
    s: int,
    design: dict[str, np.ndarray],
    space: str,
    fmt: str,
    sessions: Sequence[int] | None,
    roi_sets: Sequence[str],
    rois: Sequence[str] | None,
    hemispheres: str,
    zscore: bool,
    chunk: int,
    dtype: Any,
) -> dict[str, tuple[list[int], np.ndarray]]:
    """Region -> (73k id per trial, (trials, voxels)) for one subject, session by session."""
    subj = f"subj{s:02d}"
    chosen = list(range(1, SESSIONS[s - 1] + 1)) if sessions is None else [int(x) for x in sessions]
    bad = [x for x in chosen if not 1 <= x <= SESSIONS[s - 1]]
    if bad:
        raise InputError(f"Subject {s} has sessions 1..{SESSIONS[s - 1]}. Got {bad}.")
    masks = {
        (h, name): m
        for h in ("lh", "rh")
        for name, m in _roi_masks(root, subj, space, roi_sets, rois, h).items()
        if m.any()
    }
    parts: dict[tuple[str, str], list[np.ndarray]] = {k: [] for k in masks}
    ids: list[int] = []
    for session in chosen:
        t = np.arange((session - 1) * TRIALS_PER_SESSION, session * TRIALS_PER_SESSION)
        ids += (design["subjectim"][s - 1, design["masterordering"][t] - 1] - 1).tolist()
        groups = (
            [masks]
            if space == "func1pt8mm"
            else [{k: m for k, m in masks.items() if k[0] == h} for h in ("lh", "rh")]
        )
        for group in groups:
            if group:
                for key, values in _session_values(
                    root, subj, space, fmt, session, group, zscore, chunk
                ).items():
                    parts[key].append(values.astype(dtype))
    out: dict[str, list[np.ndarray]] = {}
    for (hemi, name), blocks in parts.items():  # left before right
        region = name if hemispheres == "merge" else f"{hemi}.{name}"
        out.setdefault(region, []).append(np.concatenate(blocks, axis=0))
    return {r: (ids, np.concatenate(v, axis=1)) for r, v in out.items()}


def _session_values(
    root: Path,
    subj: str,
    space: str,
    fmt: str,
    session: int,
    masks: dict[tuple[str, str], np.ndarray],
    zscore: bool,
    chunk: int,
) -> dict[tuple[str, str], np.ndarray]:
    """(hemisphere, ROI) -> (750, voxels) float64 of one session (one file read: the volume,
    or one hemisphere's surface), scaled and z-scored."""
    union = np.logical_or.reduce(list(masks.values()))
    hemi = "" if space == "func1pt8mm" else next(iter(masks))[0]
    path = _session_file(root, subj, space, fmt, hemi, session)
    with reading_errors(path):  # a truncated or corrupt file: the library's error, named
        if space == "func1pt8mm":
            raw = _read_volume(path, union, chunk)
        else:
            raw = _read_surface(path, union)
    if raw.shape[0] != TRIALS_PER_SESSION:
        raise InputError(f"Session {session} of {subj} holds {raw.shape[0]} trials. Expected 750.")
    values = raw.astype(np.float64)
    if space != "fsaverage":
        values /= 300.0
    if zscore:  # in place: no session-sized temporaries
        sd = values.std(axis=0, ddof=1)
        values -= values.mean(axis=0)
        values /= np.where(sd > 0, sd, np.nan)
    flat = np.flatnonzero(union.ravel())
    pos = {v: k for k, v in enumerate(flat)}
    return {k: values[:, [pos[v] for v in np.flatnonzero(m.ravel())]] for k, m in masks.items()}


def _ncsnr(
    root: Path, s: int, space: str, region: str, roi_sets: Sequence[str], hemispheres: str
) -> np.ndarray:
    """The dataset's NCSNR of the voxels of ``region``, in the loader's voxel order (left
    hemisphere's mask voxels, then the right's)."""
    import nibabel as nib

    subj = f"subj{s:02d}"
    base = root / "nsddata_betas" / "ppdata" / subj / space / "betas_fithrf_GLMdenoise_RR"
    name = region.split(".", 1)[1] if hemispheres == "keep" else region
    hemis = [region.split(".", 1)[0]] if hemispheres == "keep" else ["lh", "rh"]
    parts = []
    for hemi in hemis:
        mask = _roi_masks(root, subj, space, roi_sets, [name], hemi).get(name)
        if mask is None or not mask.any():
            continue
        path = base / ("ncsnr.nii.gz" if space == "func1pt8mm" else f"{hemi}.ncsnr.mgh")
        if not path.is_file():
            raise MissingFileError(f"The NSD noise-ceiling SNR file '{path}' does not exist.")
        with reading_errors(path):
            image: Any = nib.load(path)
            values = np.asarray(image.dataobj, dtype=np.float64)
        if values.size != mask.size:
            raise InputError(f"The file '{path}' has shape {values.shape}. Expected {mask.shape}.")
        parts.append(values.reshape(mask.shape).ravel()[np.flatnonzero(mask.ravel())])
    return np.concatenate(parts)
