"""BrainData as netCDF or zarr files (xarray), written and read back losslessly."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import xarray as xr

from crossalign.data.containers import BrainData
from crossalign.io.entries import write_dataset
from crossalign.io.reading import reading_errors, require_file

__all__ = [
    "load_xarray",
    "save_xarray",
]


# ---------------------------------------------------------------------- xarray
def save_xarray(
    data: BrainData, path: str | Path, *, layout: str = "auto", overwrite: bool = False
) -> Path:
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
        (:mod:`crossalign.data.conversions`). ``"auto"``: regions where that loses nothing, else
        entries. Labels and stimulus ids keep their type (integers or strings) in both.
    overwrite : bool
        Replace an existing output that crossalign did not write (never a folder holding
        anything but a Zarr store).

    Returns
    -------
    Path
        The written file.
    """
    return write_dataset(data.to_dataset(layout), path, overwrite=overwrite)


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
    path = require_file(Path(path))
    with reading_errors(path):
        if path.suffix == ".zarr" or path.is_dir():
            ds = xr.open_zarr(path).load()
        else:
            ds = xr.open_dataset(path).load()
        return BrainData.from_dataset(ds, areas=regions, source=f"The file '{path}'")
