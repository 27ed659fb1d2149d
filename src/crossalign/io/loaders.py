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

from collections.abc import Hashable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import xarray as xr

from crossalign.compute.rdm import square_from_vector
from crossalign.data.containers import BrainData, ModelData
from crossalign.errors import InputError, InputTypeError, MissingFileError
from crossalign.io.arrays import load_array, read_mat_v5
from crossalign.io.reading import reading_errors, require_file

__all__ = [
    "load_activations",
    "load_arrays",
    "load_region_files",
    "load_table",
    "match_stimulus_files",
]

Kind = Literal["auto", "rdm", "responses", "condensed"]

RESERVED = ("stimuli", "subjects")


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
        with reading_errors(path, name):
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
    with reading_errors(path):
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
    path = require_file(Path(path))
    suffix = path.suffix.lower()
    opts: dict[str, Any] = {
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
            with reading_errors(path):
                variables = _read_hdf5_flat(path, matlab=True)
            return _from_variables(path, variables, **opts)
        return _load_hdf5(path, **opts)
    with reading_errors(path):
        if suffix == ".npy":
            if not regions or len(regions) != 1:
                raise InputError("a .npy file holds one array: pass regions=[name]")
            variables = {regions[0]: np.load(path, allow_pickle=False)}
        elif suffix == ".npz":
            with np.load(path, allow_pickle=False) as z:
                variables = {k: z[k] for k in z.files}
        elif suffix == ".mat":
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
    with reading_errors(path), h5py.File(path, "r") as f:
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
                with reading_errors(path, f"{subject}/{region}"):
                    arr = np.asarray(ds[()], dtype=np.float64)
                    if arr.ndim != 2:
                        raise InputError(f"expected (stimuli, units), got shape {arr.shape}")
                    responses[(subject, region)] = arr
    with reading_errors(path):
        return BrainData.from_responses(responses, stimuli=stimuli)


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
    path = require_file(Path(path))
    needed = ["subject", "region", "stimulus", "unit", "value"]
    with reading_errors(path):
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
    path = require_file(Path(path))
    name = model or path.stem
    suffix = path.suffix.lower()
    with reading_errors(path):
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
    if not files:
        raise InputError("The 'files' argument names no region; expected {region: 'path[:var]'}.")
    variables: dict[str, np.ndarray] = {}
    path: Path | None = None
    for region, spec in files.items():
        text = str(spec)
        name, _, key = text.rpartition(":") if ":" in Path(text).name else (text, "", "")
        path = require_file(Path(name))
        with reading_errors(path, key or None):
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
