"""Region x region connectivity matrices (e.g. tractography streamline densities) as labelled
arrays, for :func:`crossalign.connectivity_aps`.

A file holds one matrix (region, region) or one per subject (subject, region, region):

* ``.npy``: the array; region names from ``regions=`` (and subjects from ``subjects=``);
* ``.npz``: the array under ``connectivity`` (or the file's only array that is not a label
  list), names under ``regions`` (and ``subjects``) or from the arguments;
* ``.csv``: one square matrix with the region names as its header row and first column;
* ``.mat``: the variable ``connectivity`` (or ``variable=``); names from ``regions=``.

Nothing is guessed: a matrix that is not square, not finite, or whose names are missing,
repeated or of the wrong number is refused naming the file and what was expected.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from crossalign.errors import InputError, MissingFileError
from crossalign.io.arrays import load_array

__all__ = ["as_connectivity", "load_connectivity"]

_LABELS = ("regions", "subjects")


def load_connectivity(
    path: str | Path,
    *,
    regions: Sequence[str] | None = None,
    subjects: Sequence[Any] | None = None,
    variable: str | None = None,
) -> xr.DataArray:
    """A connectivity file as a labelled (subject, region, target_region) array.

    Parameters
    ----------
    path : str or Path
        ``.npy``, ``.npz``, ``.csv`` or ``.mat`` (see the module docstring).
    regions : sequence of str, optional
        Region names in the matrix's order (required where the file has none).
    subjects : sequence, optional
        Subject labels of a stack of matrices (default ``0, 1, ...``).
    variable : str, optional
        The array's name in an ``.npz`` or ``.mat`` file (default ``connectivity``).

    Returns
    -------
    xarray.DataArray
        (subject, region, target_region); a single matrix has one subject, ``"all"``.
    """
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(f"The connectivity file '{path}' does not exist.")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        frame = pd.read_csv(path, index_col=0)
        names = [str(c) for c in frame.columns]
        if [str(i) for i in frame.index] != names:
            raise InputError(
                f"The connectivity file '{path}' must be a square table whose header row and "
                f"first column name the same regions in the same order. Got columns "
                f"{names[:5]} and rows {[str(i) for i in frame.index][:5]}."
            )
        values = frame.to_numpy(dtype=float)
        return as_connectivity(values, regions=regions or names, subjects=subjects, where=path)
    if suffix == ".npz":
        with np.load(path, allow_pickle=False) as z:
            arrays = [k for k in z.files if k not in _LABELS]
            key = variable or ("connectivity" if "connectivity" in z.files else None)
            if key is None and len(arrays) == 1:
                key = arrays[0]
            if key not in z.files:
                raise InputError(
                    f"The connectivity file '{path}' holds {z.files}; name the matrix with "
                    "variable= (default 'connectivity')."
                )
            values = np.asarray(z[key])
            if regions is None and "regions" in z.files:
                regions = [str(r) for r in z["regions"]]
            if subjects is None and "subjects" in z.files:
                subjects = [str(s) for s in z["subjects"]]
        return as_connectivity(values, regions=regions, subjects=subjects, where=path)
    if suffix in (".npy", ".mat"):
        key = None if suffix == ".npy" else (variable or "connectivity")
        values = load_array(path, key)
        return as_connectivity(values, regions=regions, subjects=subjects, where=path)
    raise InputError(
        f"The connectivity file '{path}' has the suffix {suffix!r}. Expected .npy, .npz, .csv "
        "or .mat."
    )


def as_connectivity(
    values: Any,
    *,
    regions: Sequence[str] | None = None,
    subjects: Sequence[Any] | None = None,
    where: str | Path = "the 'connectivity' argument",
) -> xr.DataArray:
    """Connectivity as a labelled (subject, region, target_region) array: a DataArray with
    those dims (or (region, target_region)) as it is, an array with ``regions`` given.

    Parameters
    ----------
    values : array_like or xarray.DataArray
        (region, region) or (subject, region, region).
    regions : sequence of str, optional
        Names of the matrix's rows and columns (taken from a DataArray's coordinates).
    subjects : sequence, optional
        Labels of a stack of matrices.
    where : str or Path
        How messages name the input.

    Returns
    -------
    xarray.DataArray
    """
    if isinstance(values, xr.DataArray):
        if values.dims == ("region", "target_region"):
            values = values.expand_dims(subject=["all"])
        if values.dims != ("subject", "region", "target_region"):
            raise InputError(
                f"{_name(where)} must have dims (subject, region, target_region) or (region, "
                f"target_region). Got {values.dims}."
            )
        regions = [str(r) for r in values.coords["region"].values]
        if [str(r) for r in values.coords["target_region"].values] != regions:
            raise InputError(f"{_name(where)} must name the same regions on both axes.")
        subjects, values = list(values.coords["subject"].values), values.values
    arr = np.asarray(values, dtype=float)
    if arr.ndim == 2:
        arr = arr[None]
        subjects = subjects or ["all"]
    if arr.ndim != 3 or arr.shape[1] != arr.shape[2] or arr.shape[1] < 3:
        raise InputError(
            f"{_name(where)} holds an array of shape {np.shape(values)}. Expected square "
            "matrices (region, region) or (subject, region, region) over at least 3 regions."
        )
    if not np.isfinite(arr).all():
        raise InputError(f"{_name(where)} holds non-finite values. Expected finite weights.")
    names = _labels(regions, arr.shape[1], "regions", where)
    subs = _labels(subjects or list(range(arr.shape[0])), arr.shape[0], "subjects", where)
    return xr.DataArray(
        arr,
        dims=("subject", "region", "target_region"),
        coords={"subject": subs, "region": names, "target_region": names},
        name="connectivity",
    )


def _labels(labels: Sequence[Any] | None, n: int, what: str, where: str | Path) -> list:
    if labels is None:
        raise InputError(
            f"{_name(where)} has no {what[:-1]} names; give {what}=[...] ({n} names in the "
            "matrix's order)."
        )
    out = [str(x) if what == "regions" else x for x in labels]
    if len(out) != n or len(set(map(str, out))) != n:
        raise InputError(
            f"{_name(where)}: {what}= gives {len(out)} names ({len(set(map(str, out)))} "
            f"distinct) for {n} rows. Expected {n} distinct names."
        )
    return out


def _name(where: str | Path) -> str:
    if isinstance(where, Path):
        return f"The connectivity file '{where}'"
    return str(where)[:1].upper() + str(where)[1:]
