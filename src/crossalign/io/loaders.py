"""Loaders for the formats labs use, into :class:`~crossalign.BrainData`.

=====================  ===============================================================
``load_arrays``        ``.npy``, ``.npz``, MATLAB ``.mat`` (v5 and v7.3), HDF5 ``.h5``:
                       one variable per region (an RDM stack or responses)
``load_xarray``        netCDF ``.nc`` or Zarr ``.zarr`` written with xarray
``load_table``         tidy CSV or Parquet: subject, region, stimulus, unit, value
``load_nifti``         NIfTI beta maps + ROI masks or an atlas (nibabel)
``load_nwb``           NWB files: spiking units or ROI responses, per stimulus (pynwb)
=====================  ===============================================================

Stimulus ids are matched by id, not by position, whenever the file carries them. Every
problem is reported with the file, the variable and what is wrong: NaN/inf, wrong
dimensionality, RDMs that are not square/symmetric/zero-diagonal (``symmetrise=True``
repairs small asymmetries), duplicate or mismatched stimulus ids, subjects missing a region,
truncated or corrupt files. Nothing is ever unpickled.
"""

from __future__ import annotations

import contextlib
from collections.abc import Hashable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import xarray as xr

from ..data import BrainData
from ..errors import InputError, InputTypeError, MissingFileError
from ..rdm import square_from_vector

__all__ = [
    "load_activations",
    "load_arrays",
    "load_nifti",
    "load_nwb",
    "load_region_files",
    "load_table",
    "load_xarray",
    "match_stimulus_files",
    "save_xarray",
]

Kind = Literal["auto", "rdm", "responses", "condensed"]
RESERVED = ("stimuli", "subjects")


@contextlib.contextmanager
def _context(path: Path | str, variable: str | None = None) -> Iterator[None]:
    """Re-raise loading problems as ValueError naming the file (and variable)."""
    where = f"'{path}'" + (f", variable {variable!r}" if variable else "")
    try:
        yield
    except FileNotFoundError:
        raise
    except MemoryError as exc:  # e.g. a header declaring a huge shape
        raise InputError(
            f"In {where}: the file declares more data than can be held in memory "
            f"({exc}); it is corrupt or not what it claims to be"
        ) from None
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        message = exc.args[0] if exc.args else repr(exc)
        if isinstance(message, str) and message.startswith(f"In {where}"):
            raise
        raise InputError(f"In {where}: {message}") from exc
    except Exception as exc:  # format libraries raise their own types on corrupt input
        raise InputError(
            f"In {where}: the file could not be read (truncated or corrupt?): "
            f"{type(exc).__name__}: {exc}"
        ) from exc


def _require(path: Path) -> Path:
    if not path.exists():
        raise MissingFileError(f"The file '{path}' does not exist.")
    return path


def _strings(values: Any) -> list[Hashable]:
    arr = np.asarray(values)
    if arr.dtype.kind == "S":
        arr = arr.astype(str)
    out = arr.ravel().tolist()
    return [x.strip() if isinstance(x, str) else x for x in out]


def _variable_kind(name: str, arr: np.ndarray, kind: Kind, subject_axis: int | None) -> str:
    """The one input-kind rule: a variable whose last two axes are square is an RDM stack
    (and is then checked as one) unless the caller says ``kind="responses"``; anything else
    is responses unless the caller says ``kind="rdm"``. Nothing is guessed from values."""
    if kind != "auto":
        return kind
    if arr.ndim == 3 and subject_axis is None and arr.shape[0] == arr.shape[1] != arr.shape[2]:
        raise InputError(
            f"variable {name!r} has shape {arr.shape}: square in its first two axes, so it "
            "looks like an RDM stack with the subjects last (as MATLAB files often store "
            "them). Pass subject_axis=-1 for that, or kind='responses' (with subject_axis=0) "
            "if it holds (subjects, stimuli, units) responses."
        )
    return "rdm" if arr.shape[-1] == arr.shape[-2] else "responses"


def condensed_rdms(arr: np.ndarray, name: str = "array") -> np.ndarray:
    """Vector-form RDMs (L,) or (subjects, L) in ``scipy.spatial.distance.squareform`` order
    (pairs i < j, row-major; the order of MATLAB's ``squareform`` and rsatoolbox) as square
    RDMs (n, n) or (subjects, n, n), with ``L = n (n - 1) / 2``."""
    if arr.ndim not in (1, 2):
        raise InputError(
            f"variable {name!r} has shape {arr.shape}. Expected vector-form RDMs (L,) or "
            "(subjects, L)."
        )
    length = arr.shape[-1]
    n = round((1 + np.sqrt(1 + 8 * length)) / 2)
    if n * (n - 1) // 2 != length or n < 3:
        raise InputError(
            f"variable {name!r} has {length} entries per RDM, which is not n(n-1)/2 for any "
            "n >= 3 stimuli. Expected vector-form (condensed) RDMs."
        )
    return square_from_vector(arr)


def _from_variables(
    path: Path,
    variables: Mapping[str, np.ndarray],
    *,
    regions: Sequence[str] | None,
    kind: Kind,
    subject_axis: int | None,
    stimuli: Sequence[Hashable] | None,
    subjects: Sequence[Hashable] | None,
    **rdm_options: Any,
) -> BrainData:
    if stimuli is None and "stimuli" in variables:
        stimuli = _strings(variables["stimuli"])
    if subjects is None and "subjects" in variables:
        subjects = _strings(variables["subjects"])
    names = [k for k in variables if k not in RESERVED] if regions is None else list(regions)
    if not names:
        raise InputError(f"The file '{path}' holds no array variables to load as regions.")
    arrays: dict[str, np.ndarray] = {}
    kinds: dict[str, str] = {}
    for name in names:
        with _context(path, name):
            if name not in variables:
                raise InputError(f"no such variable; the file has {sorted(variables)}")
            arr = np.asarray(variables[name])
            if arr.dtype.kind not in "biuf":
                raise InputTypeError(f"expected a numeric array, got dtype {arr.dtype}")
            arr = arr.astype(np.float64)
            if kind == "condensed":
                arr = condensed_rdms(arr, name)
            if arr.ndim not in (2, 3):
                raise InputError(
                    f"expected (subjects, stimuli, stimuli) RDMs or (subjects, stimuli, units) "
                    f"responses, got shape {arr.shape}"
                )
            if arr.ndim == 3:
                _variable_kind(name, arr, kind, subject_axis)  # refuses a subjects-last guess
                arr = np.moveaxis(arr, subject_axis or 0, 0)
            kinds[name] = _variable_kind(name, arr, "rdm" if kind == "condensed" else kind, 0)
            arrays[name] = arr
    found = set(kinds.values())
    if len(found) > 1:
        by_kind = {k: [n for n in names if kinds[n] == k] for k in sorted(found)}
        raise InputError(
            f"The file '{path}' mixes RDMs (square variables: {by_kind['rdm']}) and responses "
            f"({by_kind['responses']}). Load one kind at a time with regions=[...], or say "
            "kind='responses' if the square variables are responses too."
        )
    with _context(path):
        if found == {"rdm"}:
            return BrainData.from_rdms(arrays, subjects=subjects, stimuli=stimuli, **rdm_options)
        responses = {}
        for region, arr in arrays.items():
            stack = arr[None] if arr.ndim == 2 else arr
            labels = list(subjects) if subjects is not None else list(range(len(stack)))
            if len(labels) != len(stack):
                raise InputError(
                    f"variable {region!r} stacks {len(stack)} subjects but {len(labels)} "
                    "subject names were given"
                )
            for label, x in zip(labels, stack, strict=True):
                responses[(label, region)] = x
        return BrainData.from_responses(responses, stimuli=stimuli)


def load_arrays(
    path: str | Path,
    *,
    regions: Sequence[str] | None = None,
    kind: Kind = "auto",
    subject_axis: int | None = None,
    stimuli: Sequence[Hashable] | None = None,
    subjects: Sequence[Hashable] | None = None,
    symmetrise: bool = False,
    atol: float = 1e-8,
    similarity: str | bool | None = None,
    allow_negative: bool = False,
) -> BrainData:
    """Load one array per region from ``.npy``, ``.npz``, ``.mat`` or HDF5 (``.h5``/``.hdf5``).

    Each variable is a region: an RDM stack (subjects, n, n) or responses (subjects, n, units);
    a 2-D array is one subject. Variables named ``stimuli`` and ``subjects`` (string arrays)
    label the axes. In HDF5, groups at the root are subjects holding one dataset per region
    (units may differ between subjects); an attribute or dataset ``stimuli`` gives the
    stimulus ids.

    What a variable holds is decided by one rule, never guessed from its values: a variable
    whose last two axes are square is an RDM stack and must pass every RDM check (symmetric,
    zero diagonal, non-negative), or loading fails naming it; anything else is responses.
    A file mixing both kinds is refused.

    Parameters
    ----------
    path : str or Path
        The file.
    regions : sequence of str, optional
        The variables to load (default: all but ``stimuli``/``subjects``). A ``.npy`` file
        needs ``regions=[name]``.
    kind : {"auto", "rdm", "responses", "condensed"}
        ``"responses"`` takes square variables as responses (as many units as stimuli);
        ``"rdm"`` requires RDMs; ``"condensed"`` reads vector-form RDMs (L,) or
        (subjects, L) in ``scipy.spatial.distance.squareform`` order.
    subject_axis : int, optional
        Where the subjects are in 3-D variables (default 0). A 3-D variable square in its
        first two axes is refused unless this is given: MATLAB files often store RDM stacks
        subjects last (``subject_axis=-1``).
    stimuli, subjects : sequence, optional
        Labels of the axes (default: the file's ``stimuli``/``subjects`` variables, or
        positions).
    symmetrise : bool
        Average rounding-level asymmetry of RDMs (at most 1e-3 of the largest entry).
    atol : float
        Relative tolerance of the symmetry and zero-diagonal checks.
    similarity : {None, "1-r", "kernel"}
        The square variables hold similarities; convert them (``"1-r"``: D = 1 - S).
    allow_negative : bool
        Accept negative dissimilarities (cross-validated distances).

    Returns
    -------
    BrainData

    Raises
    ------
    InputError
        Naming the file, the variable and what is wrong.

    Examples
    --------
    >>> import numpy as np, crossalign as ca                        # doctest: +SKIP
    >>> np.savez("rdms.npz", EVC=evc_rdms, IT=it_rdms, stimuli=np.array(ids))
    >>> data = ca.io.load_arrays("rdms.npz")                        # 2 regions, ids matched
    """
    path = _require(Path(path))
    suffix = path.suffix.lower()
    opts = {
        "regions": regions,
        "kind": kind,
        "subject_axis": subject_axis,
        "stimuli": stimuli,
        "subjects": subjects,
        "symmetrise": symmetrise,
        "atol": atol,
        "similarity": similarity,
        "allow_negative": allow_negative,
    }
    if suffix in (".h5", ".hdf5") or (suffix == ".mat" and _is_hdf5(path)):
        if suffix == ".mat":
            with _context(path):
                variables = _read_hdf5_flat(path, matlab=True)
            return _from_variables(path, variables, **opts)
        return _load_hdf5(path, **opts)
    with _context(path):
        if suffix == ".npy":
            if not regions or len(regions) != 1:
                raise InputError("a .npy file holds one array: pass regions=[name]")
            variables = {regions[0]: np.load(path, allow_pickle=False)}
        elif suffix == ".npz":
            with np.load(path, allow_pickle=False) as z:
                variables = {k: z[k] for k in z.files}
        elif suffix == ".mat":
            from .arrays import read_mat_v5

            variables = read_mat_v5(path)
        else:
            raise InputError(
                f"unsupported suffix {suffix!r}; expected .npy, .npz, .mat, .h5 or .hdf5"
            )
    return _from_variables(path, variables, **opts)


def _is_hdf5(path: Path) -> bool:
    with path.open("rb") as fh:
        head = fh.read(512)
    return b"\x89HDF" in head or b"MATLAB 7.3" in head


def _h5py() -> Any:
    try:
        import h5py
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise InputError(
            "reading HDF5 / MATLAB v7.3 files needs h5py: pip install 'crossalign[io]'"
        ) from exc
    return h5py


def _read_hdf5_flat(path: Path, *, matlab: bool = False) -> dict[str, np.ndarray]:
    h5py = _h5py()
    out = {}
    with h5py.File(path, "r") as f:
        for key, item in f.items():
            if key.startswith("#") or not isinstance(item, h5py.Dataset):
                continue
            value = item[()]
            # MATLAB v7.3 stores arrays column-major: reverse the axes
            out[key] = np.asarray(value).transpose() if matlab else np.asarray(value)
    return out


def _load_hdf5(path: Path, **opts: Any) -> BrainData:
    h5py = _h5py()
    with _context(path), h5py.File(path, "r") as f:
        groups = [k for k, v in f.items() if isinstance(v, h5py.Group)]
        stimuli = opts["stimuli"]
        if stimuli is None:
            if "stimuli" in f.attrs:
                stimuli = _strings(f.attrs["stimuli"])
            elif "stimuli" in f and isinstance(f["stimuli"], h5py.Dataset):
                stimuli = _strings(f["stimuli"][()])
        if not groups:
            variables = {k: np.asarray(v[()]) for k, v in f.items() if isinstance(v, h5py.Dataset)}
            return _from_variables(path, variables, **{**opts, "stimuli": stimuli})
        responses: dict[tuple[Hashable, Hashable], Any] = {}
        for subject in groups:
            for region, ds in f[subject].items():
                if opts["regions"] is not None and region not in opts["regions"]:
                    continue
                with _context(path, f"{subject}/{region}"):
                    arr = np.asarray(ds[()], dtype=np.float64)
                    if arr.ndim != 2:
                        raise InputError(f"expected (stimuli, units), got shape {arr.shape}")
                    responses[(subject, region)] = arr
    with _context(path):
        return BrainData.from_responses(responses, stimuli=stimuli)


# ---------------------------------------------------------------------- xarray
def save_xarray(data: BrainData, path: str | Path, *, layout: str = "auto") -> Path:
    """Write BrainData as netCDF (``.nc``) or Zarr (``.zarr``).

    Parameters
    ----------
    data : BrainData
        What to write.
    path : str or Path
        The output, ending in ``.nc`` or ``.zarr``; written to a temporary path first, then
        renamed, so an existing file is never left half-written.
    layout : {"auto", "regions", "entries"}
        ``"regions"``: one variable per region with dims (subject, stimulus, stimulus2) for
        RDMs or (subject, stimulus, unit_<region>) for responses (every subject has the
        region with the same units; repetitions are averaged). ``"entries"``: one variable
        per (subject, region) cell, keeping repetitions, missing cells, unit counts that
        differ between subjects, label types and the fixed split
        (:mod:`crossalign.conversions`). ``"auto"``: regions where that loses nothing, else
        entries. Labels and stimulus ids keep their type (integers or strings) in both.

    Returns
    -------
    Path
        The written file.
    """
    from .entries import write_dataset

    return write_dataset(data.to_dataset(layout), path)


def load_xarray(path: str | Path, *, regions: Sequence[str] | None = None) -> BrainData:
    """Load a netCDF (``.nc``) or Zarr (``.zarr``) dataset written with xarray.

    Each data variable is a region with dims ``(subject, stimulus, <unit dim>)`` (responses;
    any name for the unit dimension, e.g. ``unit_V1``) or ``(subject, stimulus, stimulus2)``
    (RDMs); the ``stimulus`` coordinate gives the ids.

    Parameters
    ----------
    path : str or Path
        ``.nc`` or ``.zarr``.
    regions : sequence of str, optional
        The regions to load (default: all).

    Returns
    -------
    BrainData

    Examples
    --------
    >>> ds = xr.Dataset({"V1": (("subject", "stimulus", "unit"), x)},  # doctest: +SKIP
    ...                 coords={"stimulus": ids})
    >>> ds.to_netcdf("study.nc"); data = ca.io.load_xarray("study.nc")
    """
    path = _require(Path(path))
    with _context(path):
        if path.suffix == ".zarr" or path.is_dir():
            ds = xr.open_zarr(path).load()
        else:
            ds = xr.open_dataset(path).load()
        return BrainData.from_dataset(ds, areas=regions, source=f"The file '{path}'")


# ---------------------------------------------------------------------- tidy tables
def load_table(
    path: str | Path,
    *,
    columns: Mapping[str, str] | None = None,
) -> BrainData:
    """Load a tidy CSV or Parquet table with one row per (subject, region, stimulus, unit).

    ``columns`` renames your columns to ``subject``, ``region``, ``stimulus``, ``unit`` and
    ``value`` (e.g. ``{"roi": "region", "beta": "value"}``). Every (subject, region) must have
    a value for every (stimulus, unit) pair; duplicates and gaps are errors.

    Parameters
    ----------
    path : str or Path
        ``.csv``, ``.tsv`` or ``.parquet``.
    columns : mapping, optional
        Your column names -> ``subject``, ``region``, ``stimulus``, ``unit``, ``value``.

    Returns
    -------
    BrainData

    Examples
    --------
    >>> df.to_parquet("betas.parquet")        # subject, region, stimulus, unit, value columns
    >>> data = ca.io.load_table("betas.parquet")                     # doctest: +SKIP
    """
    path = _require(Path(path))
    needed = ["subject", "region", "stimulus", "unit", "value"]
    with _context(path):
        if path.suffix.lower() in (".parquet", ".pq"):
            df = pd.read_parquet(path)
        elif path.suffix.lower() in (".csv", ".tsv", ".txt"):
            df = pd.read_csv(path, sep="\t" if path.suffix.lower() == ".tsv" else ",")
        else:
            raise InputError(f"unsupported suffix {path.suffix!r}; expected .csv, .tsv or .parquet")
        if columns:
            df = df.rename(columns=dict(columns))
        missing = [c for c in needed if c not in df.columns]
        if missing:
            raise InputError(
                f"the table lacks the column(s) {missing}; it has {list(df.columns)}. Map yours "
                "with columns={'your_name': 'subject', ...}"
            )
        values = pd.to_numeric(df["value"], errors="coerce")
        bad = values.isna() | ~np.isfinite(values.to_numpy(dtype=float, na_value=np.nan))
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise InputError(
                f"column 'value' must hold finite numbers; {int(bad.sum())} row(s) do not "
                f"(first: row {row}, value {df['value'].iloc[row]!r})"
            )
        df = df.assign(value=values)
        dup = df.duplicated(subset=["subject", "region", "stimulus", "unit"])
        if dup.any():
            row = df[dup].iloc[0]
            raise InputError(
                f"{int(dup.sum())} duplicated (subject, region, stimulus, unit) row(s), e.g. "
                f"{tuple(row[['subject', 'region', 'stimulus', 'unit']])}"
            )
        responses = {}
        for (subject, region), group in df.groupby(["subject", "region"], sort=False):
            wide = group.pivot(index="stimulus", columns="unit", values="value")
            if wide.isna().any().any():
                n_missing = int(wide.isna().sum().sum())
                raise InputError(
                    f"subject {subject!r}, region {region!r} lacks {n_missing} "
                    "(stimulus, unit) value(s); expected every unit for every stimulus"
                )
            responses[(subject, region)] = xr.DataArray(
                wide.to_numpy(dtype=float),
                dims=("stimulus", "unit"),
                coords={"stimulus": wide.index.to_numpy()},
            )
        return BrainData.from_responses(responses)


# ---------------------------------------------------------------------- NIfTI
def load_nifti(
    betas: Mapping[Hashable, str | Path | Sequence[str | Path]],
    masks: Mapping[Hashable, str | Path] | None = None,
    *,
    atlas: str | Path | Mapping[Hashable, str | Path] | None = None,
    labels: Mapping[Hashable, int] | None = None,
    stimuli: Sequence[Hashable] | None = None,
) -> BrainData:
    """Voxel responses per ROI from NIfTI beta maps (nibabel).

    ``betas`` maps each subject to a 4-D image (x, y, z, stimulus) or a list of 3-D images,
    one per stimulus. ROIs come from ``masks`` ({region: mask image}, shared by all subjects,
    or {(subject, region): mask}) or from an ``atlas`` image (one for all, or {subject: atlas})
    with integer ``labels`` ({region: label}). Voxels that are NaN in a subject's betas are
    an error. Images and masks must share their grid and affine.

    Parameters
    ----------
    betas : mapping
        ``{subject: 4-D image or list of 3-D images}``.
    masks : mapping, optional
        ``{region: mask}`` or ``{(subject, region): mask}``.
    atlas : str, Path or mapping, optional
        An integer atlas image, or ``{subject: atlas}``.
    labels : mapping, optional
        ``{region: atlas label}``.
    stimuli : sequence, optional
        Stimulus ids, one per volume.

    Returns
    -------
    BrainData

    Examples
    --------
    >>> data = ca.io.load_nifti({"sub01": "sub01_betas.nii.gz"},   # doctest: +SKIP
    ...                         masks={"V1": "V1_mask.nii.gz", "IT": "IT_mask.nii.gz"})
    """
    try:
        import nibabel as nib
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise InputError("load_nifti needs nibabel: pip install 'crossalign[io]'") from exc
    if (masks is None) == (atlas is None):
        raise InputError("Pass exactly one of 'masks' or 'atlas' (with 'labels').")
    if atlas is not None and not labels:
        raise InputError("An 'atlas' needs 'labels': {region: integer label}.")

    def image(path: str | Path) -> Any:
        p = _require(Path(path))
        with _context(p):
            return nib.load(str(p))

    responses = {}
    for subject, spec in betas.items():
        if isinstance(spec, str | Path):
            img = image(spec)
            with _context(spec):
                data = np.asarray(img.get_fdata(dtype=np.float64))
                if data.ndim != 4:
                    raise InputError(f"expected a 4-D image (x, y, z, stimulus), got {data.shape}")
            affine, grid = img.affine, data.shape[:3]
        else:
            imgs = [image(p) for p in spec]
            if not imgs:
                raise InputError(f"Subject {subject!r} has no beta images.")
            data = np.stack([np.asarray(i.get_fdata(dtype=np.float64)) for i in imgs], axis=-1)
            affine, grid = imgs[0].affine, data.shape[:3]
        for region, mask_img in _subject_masks(subject, masks, atlas, labels, image).items():
            where = f"{mask_img.get_filename()} ({region!r})"
            with _context(where):
                if mask_img.shape[:3] != grid:
                    raise InputError(f"mask grid {mask_img.shape[:3]} differs from betas {grid}")
                if not np.allclose(mask_img.affine, affine, atol=1e-4):
                    raise InputError("mask affine differs from the betas' affine")
                mask = _mask_of(mask_img, region, labels)
                if not mask.any():
                    raise InputError("the mask selects no voxel")
                x = data[mask].T  # (stimuli, voxels)
                bad_voxels = int((~np.isfinite(x)).any(axis=0).sum())
                if bad_voxels:
                    raise InputError(
                        f"subject {subject!r} has NaN/inf betas in {bad_voxels} voxel(s) of "
                        "this ROI"
                    )
                responses[(subject, region)] = x
    return BrainData.from_responses(responses, stimuli=stimuli)


def _subject_masks(
    subject: Hashable, masks: Any, atlas: Any, labels: Any, image: Any
) -> dict[Hashable, Any]:
    if masks is not None:
        out = {}
        for key, path in masks.items():
            if isinstance(key, tuple):
                if key[0] == subject:
                    out[key[1]] = image(path)
            else:
                out[key] = image(path)
        return out
    path = atlas[subject] if isinstance(atlas, Mapping) else atlas
    img = image(path)
    return dict.fromkeys(labels, img)


def _mask_of(img: Any, region: Hashable, labels: Mapping[Hashable, int] | None) -> np.ndarray:
    values = np.asarray(img.get_fdata())
    if labels is not None and region in labels:
        return values == labels[region]
    return values > 0


# ---------------------------------------------------------------------- NWB
def load_nwb(
    paths: str | Path | Sequence[str | Path],
    *,
    source: Literal["units", "roi"] = "units",
    stimulus_column: str = "stimulus",
    intervals: str = "trials",
    region_column: str = "location",
) -> BrainData:
    """Responses per stimulus from NWB files (one file per subject; pynwb).

    Stimulus presentations come from the ``intervals`` table (default ``trials``) with
    ``start_time``, ``stop_time`` and a ``stimulus_column`` of stimulus ids. ``source="units"``
    gives each unit's spike rate in each presentation window, averaged over presentations of
    the same stimulus, grouped into regions by the units table's ``region_column`` (or the
    electrodes' ``location``). ``source="roi"`` averages each ROI's ``RoiResponseSeries``
    (Fluorescence / DfOverF) over the windows, grouped by its imaging plane's location. The
    subject is the file's ``subject.subject_id`` (or its name).

    Parameters
    ----------
    paths : str, Path or sequence
        One NWB file per subject.
    source : {"units", "roi"}
        Spike rates of units, or ROI response series.
    stimulus_column : str
        The column of stimulus ids in the intervals table.
    intervals : str
        The intervals table (default ``trials``).
    region_column : str
        The units table's column of brain regions.

    Returns
    -------
    BrainData

    Examples
    --------
    >>> data = ca.io.load_nwb(["mouse1.nwb", "mouse2.nwb"], source="roi")  # doctest: +SKIP
    """
    try:
        from pynwb import NWBHDF5IO
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise InputError("load_nwb needs pynwb: pip install 'crossalign[io]'") from exc
    if source not in ("units", "roi"):
        raise InputError(f"The 'source' parameter must be 'units' or 'roi'. Got {source!r}.")
    files = [paths] if isinstance(paths, str | Path) else list(paths)
    responses: dict[tuple[Hashable, Hashable], xr.DataArray] = {}
    for path in files:
        path = _require(Path(path))
        with _context(path), NWBHDF5IO(str(path), "r") as io:
            nwb = io.read()
            subject = (
                nwb.subject.subject_id
                if nwb.subject is not None and nwb.subject.subject_id
                else path.stem
            )
            table = nwb.intervals.get(intervals) if nwb.intervals else None
            if table is None:
                raise InputError(f"no intervals table {intervals!r} with stimulus presentations")
            pres = table.to_dataframe()
            if stimulus_column not in pres.columns:
                raise InputError(
                    f"the {intervals!r} table has no column {stimulus_column!r}; it has "
                    f"{list(pres.columns)}"
                )
            ids = pres[stimulus_column].to_numpy()
            starts = pres["start_time"].to_numpy(dtype=float)
            stops = pres["stop_time"].to_numpy(dtype=float)
            if source == "units":
                by_region = _unit_rates(nwb, starts, stops, region_column)
            else:
                by_region = _roi_means(nwb, starts, stops)
            for region, per_presentation in by_region.items():
                frame = pd.DataFrame(per_presentation).groupby(ids, sort=True).mean()
                responses[(subject, region)] = xr.DataArray(
                    frame.to_numpy(),
                    dims=("stimulus", "unit"),
                    coords={"stimulus": frame.index.to_numpy()},
                )
    with _context(files[0]):
        return BrainData.from_responses(responses)


def _unit_rates(
    nwb: Any, starts: np.ndarray, stops: np.ndarray, region_column: str
) -> dict[Hashable, np.ndarray]:
    units = nwb.units
    if units is None or len(units) == 0:
        raise InputError("the file has no units table")
    df = units.to_dataframe()
    if region_column in df.columns:
        regions = df[region_column].astype(str).to_numpy()
    elif "electrodes" in df.columns:
        regions = np.array([str(e["location"].iloc[0]) for e in df["electrodes"]])
    else:
        raise InputError(
            f"the units table has no {region_column!r} column and no electrodes to locate units"
        )
    durations = stops - starts
    if (durations <= 0).any():
        raise InputError("presentation windows must have stop_time > start_time")
    rates = np.empty((len(starts), len(df)))
    for j, spikes in enumerate(df["spike_times"]):
        spikes = np.sort(np.asarray(spikes, dtype=float))
        counts = np.searchsorted(spikes, stops, side="left") - np.searchsorted(
            spikes, starts, side="left"
        )
        rates[:, j] = counts / durations
    return {r: rates[:, regions == r] for r in dict.fromkeys(regions)}


def _roi_means(nwb: Any, starts: np.ndarray, stops: np.ndarray) -> dict[Hashable, np.ndarray]:
    series = []
    for module in nwb.processing.values():
        for container in module.data_interfaces.values():
            for name in ("roi_response_series",):
                series.extend(getattr(container, name, {}).values())
    if not series:
        raise InputError("the file has no RoiResponseSeries (Fluorescence or DfOverF)")
    out: dict[Hashable, list[np.ndarray]] = {}
    for rrs in series:
        data = np.asarray(rrs.data[:], dtype=float)
        times = (
            rrs.timestamps[:]
            if rrs.timestamps is not None
            else (rrs.starting_time + np.arange(len(data)) / rrs.rate)
        )
        region = rrs.rois.table.imaging_plane.location
        means = np.empty((len(starts), data.shape[1]))
        for i, (t0, t1) in enumerate(zip(starts, stops, strict=True)):
            window = (times >= t0) & (times < t1)
            if not window.any():
                raise InputError(f"no imaging frame falls in presentation {i} ({t0}-{t1} s)")
            means[i] = data[window].mean(axis=0)
        out.setdefault(region, []).append(means)
    return {r: np.hstack(parts) for r, parts in out.items()}


# ---------------------------------------------------------------------- model activations
def load_activations(
    path: str | Path,
    *,
    model: str | None = None,
    layers: Sequence[str] | None = None,
    stimuli: Sequence[Hashable] | None = None,
    kind: Kind = "auto",
    similarity: str | bool | None = None,
    symmetrise: bool = False,
) -> Any:
    """Precomputed model activations as :class:`~crossalign.ModelData`.

    ``.npz`` / HDF5 (``.h5``): one array per layer, (stimuli, ...) - extra axes are flattened;
    netCDF / Zarr: one variable per layer with a ``stimulus`` dimension. Stimulus ids come from
    a ``stimuli`` variable (or attribute, or coordinate) when present, so they are matched by id
    against brain data. ``model`` names the model (default: the file's stem).

    A 2-D square layer (n_stimuli, n_stimuli) is a model RDM and must pass the RDM checks
    (symmetric, zero diagonal, non-negative); pass ``kind="responses"`` if it holds responses
    with as many units as stimuli, ``similarity="1-r"`` to convert similarity matrices.
    Files mixing RDM and response layers are refused.

    Parameters
    ----------
    path : str or Path
        ``.npz``, ``.h5``, ``.nc`` or ``.zarr``.
    model : str, optional
        The model's name (default: the file stem).
    layers : sequence of str, optional
        The layers to load (default: all).
    stimuli : sequence, optional
        Stimulus ids when the file has none.
    kind : {"auto", "responses", "rdm"}
        What the arrays are (``"auto"``: square symmetric arrays are RDMs).
    similarity : str or bool, optional
        Convert similarity matrices (``"1-r"``, ``"kernel"``).
    symmetrise : bool
        Average rounding-level asymmetry of RDMs.

    Returns
    -------
    ModelData

    Examples
    --------
    >>> np.savez("resnet.npz", layer1=a1, layer4=a4, stimuli=np.array(ids))  # doctest: +SKIP
    >>> model = ca.io.load_activations("resnet.npz")
    """
    from ..data import ModelData

    path = _require(Path(path))
    name = model or path.stem
    suffix = path.suffix.lower()
    with _context(path):
        if suffix == ".npz":
            with np.load(path, allow_pickle=False) as z:
                variables = {k: z[k] for k in z.files}
        elif suffix in (".h5", ".hdf5"):
            variables = _read_hdf5_flat(path)
            h5py = _h5py()
            with h5py.File(path, "r") as f:
                if "stimuli" in f.attrs:
                    variables["stimuli"] = np.asarray(f.attrs["stimuli"])
        elif suffix in (".nc", ".zarr") or path.is_dir():
            ds = (
                xr.open_zarr(path) if suffix == ".zarr" or path.is_dir() else xr.open_dataset(path)
            ).load()
            variables = {}
            for var in ds.data_vars:
                da = ds[var]
                if "stimulus" not in da.dims:
                    raise InputError(f"variable {var!r} has no 'stimulus' dimension")
                variables[str(var)] = da.transpose("stimulus", ...).values
            if "stimulus" in ds.coords:
                variables["stimuli"] = ds.coords["stimulus"].values
        else:
            raise InputError(
                f"unsupported suffix {suffix!r}; expected .npz, .h5, .hdf5, .nc or .zarr"
            )
        if stimuli is None and "stimuli" in variables:
            stimuli = _strings(variables["stimuli"])
        names = [k for k in variables if k not in RESERVED] if layers is None else list(layers)
        acts = {}
        for layer in names:
            if layer not in variables:
                raise KeyError(f"no layer {layer!r}; the file has {sorted(variables)}")
            arr = np.asarray(variables[layer])
            if arr.dtype.kind not in "biuf":
                raise InputTypeError(f"layer {layer!r} must be numeric, got dtype {arr.dtype}")
            acts[layer] = arr
        kinds = {
            layer: kind
            if kind != "auto"
            else ("rdm" if arr.ndim == 2 and arr.shape[0] == arr.shape[1] else "responses")
            for layer, arr in acts.items()
        }
        if len(set(kinds.values())) > 1:
            square = [la for la, k in kinds.items() if k == "rdm"]
            raise InputError(
                f"the file mixes square (RDM) layers {square} with response layers; load one "
                "kind at a time with layers=[...], or pass kind='responses'"
            )
        if acts and next(iter(kinds.values())) == "rdm":
            return ModelData.from_rdms(
                {layer: np.asarray(a, dtype=np.float64)[None] for layer, a in acts.items()},
                sources=[name],
                stimuli=stimuli,
                similarity=similarity,
                symmetrise=symmetrise,
            )
        return ModelData.from_activations(acts, model=name, stimuli=stimuli)


# ---------------------------------------------------------------------- one file per region
def load_region_files(files: Mapping[str, str | Path], **options: Any) -> BrainData:
    """One file per region (the layout of Net2Brain and many lab folders).

    Parameters
    ----------
    files : mapping
        ``{region: "path[:variable]"}``: a ``.npy`` file, or a variable of a ``.npz`` /
        ``.mat`` file (default: the file's only variable).
    **options
        As for :func:`load_arrays` (``kind``, ``subject_axis``, ``similarity``, ...); the
        same input-kind rule applies to every region.

    Returns
    -------
    BrainData

    Examples
    --------
    >>> data = ca.io.load_region_files({"EVC": "evc.npz:arr_0", "IT": "it.npz"})  # doctest: +SKIP
    """
    from .arrays import load_array

    if not files:
        raise InputError("The 'files' argument names no region; expected {region: 'path[:var]'}.")
    variables: dict[str, np.ndarray] = {}
    path = None
    for region, spec in files.items():
        text = str(spec)
        path, _, key = text.rpartition(":") if ":" in Path(text).name else (text, "", "")
        path = _require(Path(path))
        with _context(path, key or None):
            variables[str(region)] = load_array(path, key or None)
    opts = {
        "regions": None,
        "kind": "auto",
        "subject_axis": None,
        "stimuli": None,
        "subjects": None,
        **options,
    }
    return _from_variables(Path(str(path)).parent, variables, **opts)


def match_stimulus_files(folder: str | Path, ids: Sequence[Hashable]) -> dict[Hashable, list[Path]]:
    """The stimulus file of each id in ``folder``, matched by file stem (``str(id)``).

    Raises an :class:`~crossalign.errors.InputError` naming the ids without a file, or ids
    matched by more than one file.

    Parameters
    ----------
    folder : str or Path
    ids : sequence
        Stimulus ids.

    Returns
    -------
    dict
        ``{id: [paths]}``.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise MissingFileError(f"The stimulus folder '{folder}' does not exist.")
    by_stem: dict[str, list[Path]] = {}
    for path in sorted(folder.iterdir()):
        if path.is_file() and not path.name.startswith("."):
            by_stem.setdefault(path.stem, []).append(path)
    missing = [i for i in ids if str(i) not in by_stem]
    if missing:
        raise InputError(
            f"The stimulus folder '{folder}' has no file for {len(missing)} stimulus id(s), "
            f"e.g. {[str(m) for m in missing[:5]]}. Expected one file per id, named by the id "
            "(e.g. 'img01.png' for id 'img01')."
        )
    double = [str(i) for i in ids if len(by_stem[str(i)]) > 1]
    if double:
        raise InputError(
            f"The stimulus folder '{folder}' has several files for id(s) {double[:5]} (e.g. "
            f"{[p.name for p in by_stem[double[0]]]}). Expected one file per id."
        )
    return {i: by_stem[str(i)] for i in ids}
