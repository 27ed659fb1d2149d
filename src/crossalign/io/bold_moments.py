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

import copy
import warnings
from collections.abc import Hashable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from crossalign._validation import check_option
from crossalign.data.construct import average_repeats
from crossalign.data.containers import BrainData
from crossalign.errors import DataWarning, InputError, MissingFileError
from crossalign.io.assemble import HEMISPHERES, Entries, pick_stimuli
from crossalign.io.parcellations import Parcellation, load_parcellation
from crossalign.io.pickles import load_pickles
from crossalign.papers import HOEFLING2026, PAPERS

__all__ = ["PAPER_EXCLUDED", "PAPER_ROIS", "PRESETS", "ROIS", "load_bold_moments"]

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
#: The 19 HCP-MMP1 parcels of Hoefling et al. (2026), each the union of left and right.
PAPER_ROIS = list(HOEFLING2026.loader["rois"])
#: The videos the paper leaves out: 2 corrupted train clips and 6 test clips (998 + 96 stay).
PAPER_EXCLUDED = list(HOEFLING2026.loader["exclude"])
#: Named sets of loader options (the papers that used this dataset); explicit arguments
#: override them.
PRESETS: dict[str, dict[str, Any]] = {
    name: dict(paper.loader) for name, paper in PAPERS.items() if paper.dataset == "bold_moments"
}
#: Where the clips are, relative to the dataset root (``0001.mp4`` ... ``1102.mp4``).
CLIPS = Path("stimuli") / "stimulus_set" / "mp4_h264"
#: The noise-ceiling file whose NCSNR filters grayordinates (train split, 3 repeats).
NCSNR_FILE = "{sub}_noiseceiling_task-train_n-3.pkl"
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
    infinite = np.isinf(arr)
    if infinite.any():
        video, repeat, unit = (int(i[0]) for i in np.nonzero(infinite))
        first = (TRAIN if part == "train" else TEST)[video]
        subject = next((p for p in path.parts if p.startswith("sub-")), "?")
        raise InputError(
            f"The file '{path}' ({subject}, {key}) holds {int(infinite.sum())} infinite "
            f"beta(s), the first at video {first}, repeat {repeat + 1}, grayordinate (voxel) "
            f"{unit}. Expected finite betas, NaN for a missing repeat."
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
    train = _organized(paths[0], objs[0], "train", space)
    test = _organized(paths[1], objs[1], "test", space)
    if train.shape[2] != test.shape[2]:
        raise InputError(
            f"The train betas '{paths[0]}' have {train.shape[2]} grayordinates (voxels) but "
            f"the test betas '{paths[1]}' have {test.shape[2]}. Expected one subject's train "
            "and test files over the same grayordinates."
        )
    return train, test


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


def _both(
    train: np.ndarray, test: np.ndarray, repeats: str, rows: np.ndarray
) -> tuple[np.ndarray, int]:
    """The ``rows`` (video positions) of train (1000, 3, n) and test (102, 10, n) as one
    (rows, 10, n) with NaN-padded repeats, or averaged as (rows, 1, n) without the padded
    copy; ``paper`` sets a value with no valid repeat to 0 (the paper's data imputation).
    Also returns how many values were set to 0."""
    if repeats in ("average", "paper"):
        parts = [average_repeats(x, axis=1, keepdims=True) for x in (train, test)]
        mean = np.concatenate(parts, axis=0)[rows]
        if repeats != "paper":
            return mean, 0
        empty = np.isnan(mean)
        mean[empty] = 0.0
        return mean, int(empty.sum())
    out = np.full((1102, 10, train.shape[2]), np.nan)
    out[:1000, :3], out[1000:] = train, test
    return out[rows], 0


def load_bold_moments(
    root: str | Path,
    *,
    subjects: Sequence[Any] | None = None,
    rois: Sequence[str] | str | None = None,
    hemispheres: str = "merge",
    source: str = "auto",
    space: str | None = None,
    parcellation: str | Path | Any = None,
    exclude: Sequence[Hashable] | None = None,
    ncsnr_threshold: float | None = None,
    preset: str | None = None,
    stimuli: Sequence[Hashable] | None = None,
    repeats: str | None = None,
    dtype: Any = np.float64,
) -> BrainData:
    """Load BOLD Moments betas from ``root`` (the folder holding ``derivatives/``).

    Parameters
    ----------
    root : str or Path
        The dataset root (as downloaded from OpenNeuro ds005165).
    subjects : sequence, optional
        Subject numbers (``1``) or names (``"sub-01"``); default every ``sub-XX`` folder.
    rois : sequence of str or "all", optional
        Without ``parcellation``: localizer ROI names without hemisphere (:data:`ROIS`, or
        ``"BMDgeneral"``; MNI152), default every ROI some subject has. With a
        ``parcellation``: its parcel names, or ``"all"`` (the default).
    hemispheres : {"merge", "keep"}
        One region of left and right together, or one per hemisphere.
    source : {"auto", "roi", "betas"}
        Per-ROI pickles (``prepared_allvoxel_pkl``), the whole-brain ``organized_betas``
        pickles (``GLM/sub-XX/prepared_betas``), or whichever layout is present (``auto``:
        the per-ROI pickles for MNI152 localizer ROIs when they exist, else the betas).
    space : {"MNI152", "fsLR32k", "fsaverage"}, optional
        Default MNI152 (the preset's with a preset).
    parcellation : str, Path or Parcellation, optional
        Regions as parcels of a map on the space's vertices (:func:`load_parcellation`:
        ``"hcp_mmp1"``, ``"yeo7"``, a file...): fsLR32k (91,282 grayordinates) or fsaverage
        (both hemispheres, left first). Without it, fsLR32k and fsaverage load one whole-brain
        region ``"WB"``.
    exclude : sequence, optional
        Video ids to leave out (``"vid0258"``...).
    ncsnr_threshold : float, optional
        Keep, per subject, the grayordinates whose NCSNR in the dataset's own
        ``prepared_betas/sub-XX_noiseceiling_task-train_n-3.pkl`` (train split, 3 repeats) is
        at least this (parcellated spaces). A parcel that keeps fewer than 2 grayordinates in
        a subject is a missing cell of that subject (recorded in ``attrs["missing_cells"]``,
        with a warning); a parcel asked for by name that no subject keeps is an error, one
        of ``rois="all"`` is left out with a warning (``attrs["emptied_regions"]``).
    preset : {"hoefling2026"}, optional
        Named defaults (:data:`PRESETS`): ``hoefling2026`` is fsLR32k betas, HCP-MMP1 parcels
        merged over hemispheres, the paper's 19 ROIs (:data:`PAPER_ROIS`), its 8 excluded
        videos (:data:`PAPER_EXCLUDED`), its NCSNR threshold and its repeat averaging
        (:data:`crossalign.papers.HOEFLING2026`). Explicit
        arguments override the preset.
    stimuli : sequence, optional
        A subset of video ids; default all 1,102 (less ``exclude``).
    repeats : {"keep", "average", "paper"}, optional
        Keep the repeat axis (NaN beyond a video's repeats), average it (NaN-aware), or
        average as the paper (Hoefling et al. 2026): NaN-aware mean over repeats, then 0 for
        a (video, grayordinate) with no valid repeat (their number per ``"subject/region"``
        goes to ``attrs["zero_filled"]``; a grayordinate with no valid value at all stays, as
        zeros). Under ``keep`` and ``average`` a unit with a video that has no valid repeat is
        dropped and counted in ``attrs["dropped_units"]``. NaN is a missing repeat in every
        mode; an infinite beta is refused in every mode, naming the subject, file,
        grayordinate and video. Default ``keep``.
    dtype : numpy dtype
        Stored precision.

    Returns
    -------
    BrainData
        (subject, region) cells; a subject whose ROI is empty or absent is a missing cell.
        ``attrs["split"]`` holds the train and test videos; ``attrs["stimulus_paths"]`` the
        clips under ``root/stimuli/stimulus_set/mp4_h264`` where present.

    Raises
    ------
    MissingFileError
        No subject folder in any layout (the message lists where it looked), or an ROI file
        that no subject has.
    InputError
        A file whose content differs from the published layout (named, with the
        expectation).
    """
    opts = _with_preset(
        preset,
        space=space,
        source=None if source == "auto" else source,
        parcellation=parcellation,
        rois=rois,
        exclude=exclude,
        ncsnr_threshold=ncsnr_threshold,
        repeats=repeats,
    )
    check_option(hemispheres, "hemispheres", HEMISPHERES, "load_bold_moments")
    check_option(opts["space"], "space", SPACES, "load_bold_moments")
    check_option(opts["repeats"], "repeats", ["keep", "average", "paper"], "load_bold_moments")
    _check_arguments(opts, stimuli, subjects)
    base = Path(root) / "derivatives" / "versionB"
    opts["source"] = _source(base, opts)
    ids = _selection(opts["exclude"], stimuli)
    if opts["parcellation"] is not None:
        parc = _parcels(opts, hemispheres)
        cells = lambda sub: _parcel_cells(base, sub, opts, parc)  # noqa: E731
    else:
        cells = lambda sub: _subject_cells(  # noqa: E731
            base, sub, opts["source"], opts["space"], opts["rois"], hemispheres
        )
    entries, record = _entries(base, subjects, opts, ids, dtype, cells)
    train = [i for i in TRAIN if i in set(ids)]
    test = [i for i in TEST if i in set(ids)]
    attrs = {
        "dataset": "bold_moments",
        "space": opts["space"],
        "source": opts["source"],
        "preset": preset,
        "excluded": list(opts["exclude"] or []),
        "ncsnr_threshold": opts["ncsnr_threshold"],
        "repeats": opts["repeats"],
    }
    if opts["parcellation"] is not None:
        attrs["parcellation"] = parc.name
    attrs.update({k: v for k, v in record.items() if v})
    clips = _clips(Path(root), ids)
    if clips:
        attrs["stimulus_paths"] = clips
    return entries.build(
        stimuli=ids,
        split={"train": train, "test": test},
        attrs=attrs,
        constant_units="keep" if opts["repeats"] == "paper" else "raise",
    )


def _check_constant(values: np.ndarray, sub: str, region: Hashable, ids: list[Hashable]) -> None:
    """Refuse a grayordinate whose betas are the same for every video (outside the paper's
    averaging, which keeps such zero-filled grayordinates), naming where it is."""
    if len(ids) < 2:
        return
    with warnings.catch_warnings(), np.errstate(invalid="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)  # units never measured stay NaN
        spread = np.ptp(np.nanmean(values, axis=1), axis=0)
    constant = np.flatnonzero(spread == 0)
    if constant.size:
        raise InputError(
            f"BOLD Moments {sub}, region {region!r}: {constant.size} grayordinate(s) have the "
            f"same beta for every selected video (first at column {int(constant[0])}). "
            "Expected betas that vary; repeats='paper' keeps such grayordinates as the paper "
            "does, and ncsnr_threshold= filters them out."
        )


def _check_arguments(
    opts: dict[str, Any], stimuli: Sequence[Hashable] | None, subjects: Sequence[Any] | None
) -> None:
    """Argument types, before any file is read."""
    threshold = opts["ncsnr_threshold"]
    if threshold is not None and (
        isinstance(threshold, bool)
        or not isinstance(threshold, int | float | np.integer | np.floating)
        or not np.isfinite(threshold)
    ):
        raise InputError(
            f"The 'ncsnr_threshold' argument must be a finite number. Got {threshold!r}."
        )
    for name, value in (("stimuli", stimuli), ("subjects", subjects), ("exclude", opts["exclude"])):
        if value is not None and (isinstance(value, str | bytes) or not hasattr(value, "__iter__")):
            raise InputError(
                f"The '{name}' argument must be a list. Got {type(value).__name__} {value!r}."
            )
    if stimuli is not None and len(list(stimuli)) == 0:
        raise InputError("The 'stimuli' argument is empty. Expected at least one video id.")
    if subjects is not None and len(list(subjects)) == 0:
        raise InputError("The 'subjects' argument is empty. Expected at least one subject.")


def _selection(exclude: Sequence[Hashable] | None, stimuli: Sequence[Hashable] | None) -> list:
    """The videos to load: ``stimuli`` (default all) less ``exclude``; never empty."""
    kept = _kept(exclude)
    if not kept:
        raise InputError(
            f"The 'exclude' argument leaves out all {len(TRAIN) + len(TEST)} videos. Expected "
            "at least one video to load."
        )
    return pick_stimuli(kept, stimuli, "BOLD Moments")


def _with_preset(preset: str | None, **given: Any) -> dict[str, Any]:
    """The loader options: the preset's, overridden by every argument given explicitly."""
    defaults: dict[str, Any] = {"space": "MNI152", "repeats": "keep"}
    if preset is not None:
        check_option(preset, "preset", list(PRESETS), "load_bold_moments")
        defaults = {**defaults, **copy.deepcopy(PRESETS[preset])}
    return {k: defaults.get(k) if v is None else v for k, v in given.items()}


def _source(base: Path, opts: dict[str, Any]) -> str:
    """The layout to read: as asked, else whichever is present (an error lists both)."""
    if opts["source"] is not None:
        check_option(opts["source"], "source", ["roi", "betas"], "load_bold_moments")
        if opts["source"] == "roi" and (opts["space"] != "MNI152" or opts["parcellation"]):
            raise InputError(
                "The per-ROI pickles exist in MNI152 for the localizer ROIs only; use "
                "source='betas' (or 'auto')."
            )
        return str(opts["source"])
    roi = base / "MNI152" / "prepared_allvoxel_pkl"
    glm = base / opts["space"] / "GLM"
    if opts["space"] == "MNI152" and opts["parcellation"] is None and _has_subjects(roi):
        return "roi"
    if _has_subjects(glm):
        return "betas"
    raise MissingFileError(
        f"No BOLD Moments subject folder (sub-XX) under '{roi}' (per-ROI pickles, "
        f"source='roi') or '{glm}' (whole-brain betas, source='betas'). Expected the "
        "versionB layout of OpenNeuro ds005165 under ROOT/derivatives/versionB."
    )


def _has_subjects(folder: Path) -> bool:
    return folder.is_dir() and any(p.is_dir() for p in folder.glob("sub-*"))


def _kept(exclude: Sequence[Hashable] | None) -> list[Hashable]:
    everything: list[Hashable] = [*TRAIN, *TEST]
    unknown = [e for e in exclude or [] if e not in set(everything)]
    if unknown:
        raise InputError(
            f"The 'exclude' option names unknown video id(s) {unknown[:5]}. Expected ids "
            "vid0001..vid1102."
        )
    return [i for i in everything if i not in set(exclude or [])]


def _entries(
    base: Path,
    subjects: Sequence[Any] | None,
    opts: dict[str, Any],
    ids: list[Hashable],
    dtype: Any,
    cells: Any,
) -> tuple[Entries, dict[str, Any]]:
    """Every (subject, region) cell, and the record of what the loader set to 0 (``paper``)
    or left out (parcels that no subject keeps)."""
    paper = opts["repeats"] == "paper"
    entries = Entries(repeats="average" if paper else opts["repeats"], dtype=dtype)
    folder = base / opts["space"] / "GLM" if opts["source"] == "betas" else None
    names = _subjects(folder or base / "MNI152" / "prepared_allvoxel_pkl", subjects)
    found: dict[str, int] = {}
    zeros: dict[str, int] = {}
    rows = _positions(ids)
    for sub in names:
        for region, parts in cells(sub).items():
            found[region] = found.get(region, 0) + (parts is not None)
            if parts is None:
                entries.missing.append((sub, region))
                continue
            values, zeroed = _both(parts[0], parts[1], opts["repeats"], rows)
            if zeroed:
                zeros[f"{sub}/{region}"] = zeroed
            if not paper:
                _check_constant(values, sub, region, ids)
            entries.add(sub, region, values, ids)
    absent = [r for r, k in found.items() if not k]
    emptied: list[str] = []
    if opts["parcellation"] is not None:
        emptied = _emptied(opts, names, absent, entries)
    elif opts["rois"] is None:
        entries.missing = [m for m in entries.missing if m[1] not in absent]
    elif absent:
        raise MissingFileError(
            f"No subject of {names} has the ROI file(s) of {absent} under "
            f"'{base / opts['space']}'. Expected the versionB layout (prepared_allvoxel_pkl/"
            "sub-XX/sub-XX_roi-lV1v_betas_normalized.pkl, or GLM/sub-XX/ROIs/ROI-lV1v_"
            "indices.pkl)."
        )
    return entries, {"zero_filled": zeros, "emptied_regions": emptied}


def _emptied(
    opts: dict[str, Any], names: list[str], absent: list[str], entries: Entries
) -> list[str]:
    """Parcels with fewer than 2 grayordinates (after the NCSNR filter): a subject's missing
    cell (warned); a parcel asked for by name that no subject keeps is refused, one of
    ``rois="all"`` left out (warned)."""
    why = (
        f" at ncsnr_threshold={opts['ncsnr_threshold']!r}"
        if opts["ncsnr_threshold"] is not None
        else ""
    )
    rois = opts["rois"]
    named = not (rois is None or rois == "all" or list(rois) == ["all"])
    if absent and named:
        raise InputError(
            f"No subject of {names} keeps 2 or more grayordinates of the parcel(s) "
            f"{absent[:10]}{why}. Expected each requested parcel in at least one subject: "
            "lower ncsnr_threshold or leave these parcels out of 'rois'."
        )
    if absent:
        warnings.warn(
            f"BOLD Moments: no subject keeps 2 or more grayordinates of the parcel(s) "
            f"{absent[:10]}{why}; they are left out (attrs['emptied_regions']).",
            DataWarning,
            stacklevel=4,
        )
    entries.missing = [m for m in entries.missing if m[1] not in absent]
    if entries.missing:
        cells = [f"{s}/{r}" for s, r in entries.missing]
        warnings.warn(
            f"BOLD Moments: {len(cells)} (subject, parcel) cell(s) keep fewer than 2 "
            f"grayordinates{why} and are missing cells: {cells[:10]} (attrs['missing_cells']).",
            DataWarning,
            stacklevel=4,
        )
    return absent


def _clips(root: Path, ids: list[Hashable]) -> dict[Hashable, list[Path]]:
    """The clip of each video that exists under ``root/stimuli/stimulus_set/mp4_h264``."""
    folder = root / CLIPS
    if not folder.is_dir():
        return {}
    paths = {i: folder / f"{str(i)[3:]}.mp4" for i in ids}
    return {i: [p] for i, p in paths.items() if p.is_file()}


def _parcels(opts: dict[str, Any], hemispheres: str) -> Parcellation:
    given = opts["parcellation"]
    parc = (
        given
        if isinstance(given, Parcellation)
        else load_parcellation(given, hemispheres=hemispheres)
    )
    rois = opts["rois"]
    if rois is None or rois == "all" or list(rois) == ["all"]:
        return parc
    if isinstance(rois, str):
        rois = [rois]
    return parc.select(list(rois))


def _parcel_cells(
    base: Path, sub: str, opts: dict[str, Any], parc: Parcellation
) -> dict[str, tuple[np.ndarray, np.ndarray] | None]:
    """Parcel -> (train, test) betas of its grayordinates (those passing the NCSNR filter);
    None where a subject keeps none."""
    space = opts["space"]
    train, test = _whole_brain(base, sub, space)
    if train.shape[2] != parc.n_vertices:
        raise InputError(
            f"The {space} betas of {sub} have {train.shape[2]} grayordinates (vertices) but "
            f"the parcellation {parc.name!r} labels {parc.n_vertices}. Expected a map of the "
            "same space."
        )
    keep = None
    if opts["ncsnr_threshold"] is not None:
        path = base / space / "GLM" / sub / "prepared_betas" / NCSNR_FILE.format(sub=sub)
        keep = _ncsnr(path, train.shape[2]) >= float(opts["ncsnr_threshold"])
    out: dict[str, tuple[np.ndarray, np.ndarray] | None] = {}
    for region in parc.regions:
        idx = parc.indices(region)
        if keep is not None:
            idx = idx[keep[idx]]
        # a pattern over one grayordinate has no correlation distance: a missing cell
        out[region] = (train[:, :, idx], test[:, :, idx]) if idx.size >= 2 else None
    return out


def _ncsnr(path: Path, n: int) -> np.ndarray:
    """The NCSNR per grayordinate from a noise-ceiling pickle ``(ncsnr, nc_percent)``."""
    if not path.is_file():
        raise MissingFileError(
            f"The noise-ceiling file '{path}' does not exist; ncsnr_threshold reads the "
            "dataset's own sub-XX_noiseceiling_task-train_n-3.pkl in prepared_betas/."
        )
    obj = load_pickles([path])[0]
    first = obj[0] if isinstance(obj, tuple | list) and len(obj) else obj
    try:
        values = np.asarray(first, dtype=float).ravel()
    except (TypeError, ValueError):
        values = None
    if values is None or values.size != n:
        got = f"{values.size} NCSNR values" if values is not None else type(first).__name__
        raise InputError(
            f"The noise-ceiling file '{path}' holds {got}. Expected a tuple (ncsnr, noise "
            f"ceiling %) with one number per grayordinate ({n})."
        )
    return np.nan_to_num(values, nan=-np.inf)


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


def _halves(base: Path, sub: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    folder = base / "fsaverage" / "GLM" / sub / "prepared_betas"
    return {
        hemi: _organized_pair(
            [
                folder / f"{sub}_organized_betas_task-{p}_hemi-{hemi}_normalized.pkl"
                for p in ("train", "test")
            ],
            "fsaverage",
        )
        for hemi in ("left", "right")
    }


def _whole_brain(base: Path, sub: str, space: str) -> tuple[np.ndarray, np.ndarray]:
    """Train and test betas over every grayordinate (fsaverage: left then right)."""
    if space == "fsaverage":
        halves = _halves(base, sub)
        return _stack([halves["left"], halves["right"]])
    folder = base / space / "GLM" / sub / "prepared_betas"
    return _organized_pair(
        [folder / f"{sub}_organized_betas_task-{p}_normalized.pkl" for p in ("train", "test")],
        space,
    )


def _from_betas(
    base: Path, sub: str, space: str, rois: Sequence[str] | None, hemispheres: str
) -> dict[str, tuple[np.ndarray, np.ndarray] | None]:
    folder = base / space / "GLM" / sub / "prepared_betas"
    if space == "fsaverage":
        halves = _halves(base, sub)
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
