"""THINGS-fMRI (Hebart et al. 2023, eLife 12:e82580) from a local copy of its single-trial
response tables (``derivatives/betas_csv``).

``sub-0X_ResponseData.h5`` is a pandas/PyTables table with one row per voxel (``voxel_id``
and one column per trial); ``sub-0X_VoxelMetadata.csv`` holds 0/1 ROI columns per voxel and
``sub-0X_StimulusMetadata.csv`` one row per trial column (``trial_type``, ``stimulus``, ...).
Voxels are matched by ``voxel_id`` and trials by column position against the stimulus table
(whose length is checked); the table is read in row blocks, keeping ROI voxels only.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from crossalign._validation import check_option
from crossalign.data.containers import BrainData
from crossalign.errors import InputError, MissingFileError
from crossalign.io.assemble import HEMISPHERES, Entries, group_repeats, pick_stimuli

__all__ = ["load_things_fmri"]

CATEGORY_ROIS = ("EBA", "FFA", "OFA", "STS", "PPA", "RSC", "TOS", "LOC")


def _csv(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise MissingFileError(f"The THINGS-fMRI file '{path}' does not exist.")
    table = pd.read_csv(path)
    table.columns = [str(c).replace("\n", "") for c in table.columns]  # 'glasser-p9-\n46v'
    return table


def _roi_columns(
    voxels: pd.DataFrame, rois: Sequence[str], hemispheres: str, path: Path
) -> dict[str, list[str]]:
    """Region -> the 0/1 metadata columns it joins (``lFFA`` + ``rFFA`` for a merged FFA)."""
    out: dict[str, list[str]] = {}
    for roi in rois:
        if roi in voxels.columns:
            out[roi] = [roi]
        elif f"l{roi}" in voxels.columns and f"r{roi}" in voxels.columns:
            if hemispheres == "merge":
                out[roi] = [f"l{roi}", f"r{roi}"]
            else:
                out[f"l{roi}"], out[f"r{roi}"] = [f"l{roi}"], [f"r{roi}"]
        else:
            raise InputError(
                f"The file '{path}' has no ROI column {roi!r} (nor l{roi}/r{roi}). Expected "
                f"columns such as {[c for c in voxels.columns if c in ('V1', 'IT', 'lFFA')]}."
            )
    for cols in out.values():
        values = voxels[cols].to_numpy()
        if not np.isin(values, (0, 1)).all():
            raise InputError(f"The ROI column(s) {cols} of '{path}' hold values other than 0/1.")
    return out


def _responses(path: Path, voxel_ids: np.ndarray, n_trials: int, block: int) -> np.ndarray:
    """(voxels, trials) float64 for ``voxel_ids`` (in that order), read in row blocks."""
    if not path.is_file():
        raise MissingFileError(f"The THINGS-fMRI file '{path}' does not exist.")
    wanted = pd.Index(voxel_ids)
    out = np.full((len(wanted), n_trials), np.nan)
    found = np.zeros(len(wanted), dtype=bool)
    with pd.HDFStore(path, mode="r") as store:
        keys = store.keys()
        if len(keys) != 1:
            raise InputError(f"The file '{path}' holds tables {keys}. Expected exactly one.")
        storer = store.get_storer(keys[0])
        # a table is read in row blocks; a fixed-format frame can only be read whole
        n_rows, step = (storer.nrows, block) if storer.is_table else (1, None)
        for start in range(0, max(n_rows, 1), step or 1):
            chunk = store.select(keys[0], start=start, stop=start + step if step else None)
            if "voxel_id" not in chunk.columns:
                raise InputError(f"The table in '{path}' has no 'voxel_id' column.")
            values = chunk.drop(columns="voxel_id")
            if values.shape[1] != n_trials or not all(
                k in "f" for k in values.dtypes.map(lambda d: d.kind)
            ):
                raise InputError(
                    f"The table in '{path}' has {values.shape[1]} trial columns of dtypes "
                    f"{sorted(set(map(str, values.dtypes)))}. Expected {n_trials} float columns "
                    "(one per row of the stimulus metadata)."
                )
            pos = wanted.get_indexer(chunk["voxel_id"].to_numpy())
            hit = pos >= 0
            twice = found[pos[hit]] | pd.Index(pos[hit]).duplicated()
            if twice.any():
                raise InputError(
                    f"The table in '{path}' holds voxel_id "
                    f"{wanted[pos[hit][twice][0]]!r} in more than one row; voxel ids must be "
                    "unique (one row per voxel)."
                )
            out[pos[hit]] = values.to_numpy()[hit]
            found[pos[hit]] = True
    if not found.all():
        raise InputError(
            f"The table in '{path}' lacks {int((~found).sum())} ROI voxel(s) of the voxel "
            f"metadata, e.g. voxel_id {voxel_ids[~found][:3].tolist()}."
        )
    return out


def load_things_fmri(
    root: str | Path,
    *,
    subjects: Sequence[int] = (1, 2, 3),
    rois: Sequence[str] = ("V1", "V2", "V3", "hV4", "LOC", "FFA", "PPA", "EBA"),
    hemispheres: str = "merge",
    split: str = "all",
    stimuli: Sequence[Hashable] | None = None,
    repeats: str = "average",
    dtype: Any = np.float64,
    block: int = 20000,
) -> BrainData:
    """Load THINGS-fMRI single-trial responses for ``rois``.

    Parameters
    ----------
    root : str or Path
        The dataset folder holding ``derivatives/betas_csv``.
    subjects : sequence of int
        Subjects 1..3.
    rois : sequence of str
        ROI columns of the voxel metadata (``V1``, ``IT``, ``glasser-V1``, ...); category ROIs
        given without hemisphere (``FFA``) join ``lFFA`` and ``rFFA``. A subject with no voxel
        in an ROI has a missing cell.
    hemispheres : {"merge", "keep"}
        For hemisphere-specific ROIs: one region (left then right voxels) or both.
    split : {"all", "train", "test"}
        The 8,640 train images (each shown once), the 100 test images (12 repeats), or both.
    stimuli : sequence, optional
        Image file names to keep (``"dog_12s.jpg"``).
    repeats : {"average", "keep"}
        Average repeats (default: train images have one) or keep them (NaN-padded).
    dtype : numpy dtype
        Stored precision.
    block : int
        Table rows read at once.

    Returns
    -------
    BrainData
        Stimulus ids are image file names; ``attrs["split"]`` holds the train and test images.
    """
    check_option(hemispheres, "hemispheres", HEMISPHERES, "load_things_fmri")
    check_option(split, "split", ["all", "train", "test"], "load_things_fmri")
    folder = Path(root) / "derivatives" / "betas_csv"
    entries = Entries(repeats=repeats, dtype=dtype)
    cells, parts = {}, {}
    for s in subjects:
        sub = f"sub-{int(s):02d}"
        meta = _csv(folder / f"{sub}_StimulusMetadata.csv")
        for col in ("trial_type", "stimulus"):
            if col not in meta.columns:
                raise InputError(
                    f"The file '{folder}/{sub}_StimulusMetadata.csv' has no {col!r} column."
                )
        voxels = _csv(folder / f"{sub}_VoxelMetadata.csv")
        if "voxel_id" not in voxels.columns or voxels["voxel_id"].duplicated().any():
            dup = (
                voxels["voxel_id"][voxels["voxel_id"].duplicated()].tolist()[:3]
                if ("voxel_id" in voxels.columns)
                else "no voxel_id column"
            )
            raise InputError(
                f"The file '{folder}/{sub}_VoxelMetadata.csv' must list each voxel once by "
                f"'voxel_id'. Got duplicates: {dup}."
            )
        columns = _roi_columns(voxels, rois, hemispheres, folder / f"{sub}_VoxelMetadata.csv")
        trials = (
            meta["trial_type"].isin(["train", "test"] if split == "all" else [split]).to_numpy()
        )
        masks = {r: voxels[c].to_numpy().sum(axis=1) > 0 for r, c in columns.items()}
        union = np.logical_or.reduce(list(masks.values()))
        resp = _responses(
            folder / f"{sub}_ResponseData.h5",
            voxels["voxel_id"].to_numpy()[union],
            len(meta),
            block,
        )
        order, grouped = group_repeats(resp[:, trials].T, meta["stimulus"].to_numpy()[trials])
        parts[sub] = order
        for region, m in masks.items():
            cells[(sub, region)] = grouped[:, :, m[union]]
        kinds = meta.drop_duplicates("stimulus").set_index("stimulus")["trial_type"]
    common = [i for i in parts[next(iter(parts))] if all(i in set(v) for v in parts.values())]
    ids = pick_stimuli(common, stimuli, "every selected subject")
    for (sub, region), grouped in cells.items():
        pos = {i: k for k, i in enumerate(parts[sub])}
        entries.add(sub, region, grouped[[pos[i] for i in ids]], ids)
    return entries.build(
        stimuli=ids,
        split={
            "train": [i for i in ids if kinds[i] == "train"],
            "test": [i for i in ids if kinds[i] == "test"],
        },
        attrs={"dataset": "things_fmri"},
    )
