"""Writing an xarray Dataset to netCDF or Zarr safely (temporary path, then rename).

The Datasets come from :meth:`crossalign.BrainData.to_dataset` (see
:mod:`crossalign.data.conversions` for the two layouts, ``regions`` and ``entries``); this is what
:func:`crossalign.io.save_xarray` and ``crossalign convert`` write, so a lab converts a dataset
once and reads it without pickles.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import xarray as xr

from crossalign.errors import InputError

__all__ = ["write_atomically", "write_dataset"]


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
    rename.

    Parameters
    ----------
    ds : xarray.Dataset
        What to write.
    path : Path
        The output.

    Returns
    -------
    Path
    """
    tmp = path.with_name(path.name + ".tmp")
    if path.suffix == ".zarr":
        shutil.rmtree(tmp, ignore_errors=True)
        ds.to_zarr(tmp, mode="w")
        shutil.rmtree(path, ignore_errors=True)
    else:
        ds.to_netcdf(tmp)
    tmp.replace(path)
    return path
