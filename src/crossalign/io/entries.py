"""One safe file for any BrainData: the ``entries`` netCDF/Zarr layout.

Each (subject, region) cell is its own variable (``entry0``, ``entry1``, ...) with dims
``(stimulus, unit<i>[, repetition<i>])`` or ``(stimulus, stimulus2)``, so cells may differ in
their unit counts, keep their repetition axis (NaN for a missing repeat) and be absent
(missing cells). Labels are stored as JSON in each variable's attributes, so integer and
string labels keep their type; the stimulus ids are a coordinate of their own type; the
dataset's fixed split and the loader's record go to the file's attributes. This is the file
``crossalign convert`` writes, so a lab converts a dataset once and reads it without pickles.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Hashable
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from ..data import BrainData
from ..errors import InputError

__all__ = ["LAYOUT", "dataset_of_entries", "entries_of_dataset", "write_dataset"]

LAYOUT = "crossalign-entries-1"
#: ``attrs`` entries carried into the file (JSON), when present.
CARRIED = ("split", "missing_cells", "dropped_units", "dataset", "space", "repeats", "source")


def _ids(values: list[Hashable]) -> np.ndarray:
    kinds = {type(v) for v in values}
    if kinds <= {int, np.int64, np.int32}:
        return np.asarray(values, dtype=np.int64)
    if kinds <= {str, np.str_}:
        return np.asarray(values, dtype=str)
    raise InputError(
        f"Stimulus ids of mixed or unsupported types {sorted(k.__name__ for k in kinds)} "
        "cannot be stored; expected all integers or all strings."
    )


def _json_default(x: Any) -> Any:
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, tuple):
        return list(x)
    raise TypeError(f"not JSON: {type(x).__name__}")


def dataset_of_entries(data: BrainData) -> xr.Dataset:
    """BrainData as an ``entries`` Dataset (see the module docstring).

    Parameters
    ----------
    data : BrainData

    Returns
    -------
    xarray.Dataset
    """
    variables = {}
    for i, key in enumerate(data.keys()):
        da = data[key]
        if data.kind(key) == "rdm":
            dims: tuple[str, ...] = ("stimulus", "stimulus2")
        else:
            dims = ("stimulus", f"unit{i}", f"repetition{i}")[: da.ndim]
        variables[f"entry{i}"] = xr.Variable(
            dims,
            da.values,
            attrs={
                "subject": json.dumps(key[0], default=_json_default),
                "region": json.dumps(key[1], default=_json_default),
                "kind": data.kind(key),
            },
        )
    ids = _ids(list(data.stimuli))
    coords = {"stimulus": ids}
    if any(data.kind(k) == "rdm" for k in data):
        coords["stimulus2"] = ids
    attrs = {"layout": LAYOUT}
    for name in CARRIED:
        if name in data.attrs:
            attrs[name] = json.dumps(data.attrs[name], default=_json_default)
    return xr.Dataset(variables, coords=coords, attrs=attrs)


def _label(text: str) -> Hashable:
    value = json.loads(text)
    return tuple(value) if isinstance(value, list) else value


def entries_of_dataset(ds: xr.Dataset, source: str = "the dataset") -> BrainData:
    """The BrainData stored in an ``entries`` Dataset.

    Parameters
    ----------
    ds : xarray.Dataset
        A Dataset in the entries layout.
    source : str
        What it was read from, for error messages.

    Returns
    -------
    BrainData
    """
    if ds.attrs.get("layout") != LAYOUT:
        raise InputError(f"{source} is not in the {LAYOUT} layout (attribute 'layout').")
    ids = [v.item() if isinstance(v, np.generic) else v for v in ds["stimulus"].values]
    rdms: dict[tuple, np.ndarray] = {}
    responses: dict[tuple, np.ndarray] = {}
    for name in sorted(ds.data_vars, key=lambda n: int(n.removeprefix("entry"))):
        var = ds[name]
        try:
            key = (_label(var.attrs["subject"]), _label(var.attrs["region"]))
        except (KeyError, ValueError) as exc:
            raise InputError(
                f"Variable {name!r} of {source} lacks JSON 'subject'/'region' attributes."
            ) from exc
        (rdms if var.attrs.get("kind") == "rdm" else responses)[key] = var.values
    if rdms and responses:
        raise InputError(f"{source} mixes RDM and response entries; expected one kind.")
    if responses:
        data = BrainData.from_responses(responses, stimuli=ids, constant_units="keep")
    else:
        from .assemble import rdm_cells

        data = rdm_cells(rdms, ids, allow_negative=True)
        data = type(data)(
            {k: data[k].values for k in rdms}, dict.fromkeys(rdms, "rdm"), data.stimuli
        )
    for name in CARRIED:
        if name in ds.attrs:
            data.attrs[name] = json.loads(ds.attrs[name])
    return data


def write_dataset(ds: xr.Dataset, path: str | Path) -> Path:
    """Write ``ds`` to ``.nc`` (netCDF) or ``.zarr`` through a temporary path, then rename,
    so an existing file is never left half-written.

    Parameters
    ----------
    ds : xarray.Dataset
        What to write.
    path : str or Path
        A ``.nc`` or ``.zarr`` path.

    Returns
    -------
    Path
    """
    path = Path(path)
    if path.suffix not in (".nc", ".zarr"):
        raise InputError(f"The output '{path}' must end in .nc (netCDF) or .zarr.")
    return write_atomically(ds, path)


def write_atomically(ds: xr.Dataset, path: Path) -> Path:
    """``ds`` to ``path`` (Zarr for ``.zarr``, else netCDF) through a temporary path and a
    rename."""
    tmp = path.with_name(path.name + ".tmp")
    if path.suffix == ".zarr":
        shutil.rmtree(tmp, ignore_errors=True)
        ds.to_zarr(tmp, mode="w")
        shutil.rmtree(path, ignore_errors=True)
    else:
        ds.to_netcdf(tmp)
    tmp.replace(path)
    return path
