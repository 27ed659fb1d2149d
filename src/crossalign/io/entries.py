"""Writing an xarray Dataset to netCDF or Zarr safely (temporary path, then rename).

The Datasets come from :meth:`crossalign.BrainData.to_dataset` (see
:mod:`crossalign.data.conversions` for the two layouts, ``regions`` and ``entries``); this is what
:func:`crossalign.io.save_xarray` and ``crossalign convert`` write, so a lab converts a dataset
once and reads it without pickles.
"""

from __future__ import annotations

from pathlib import Path

import xarray as xr

from crossalign.errors import InputError, OutputExistsError
from crossalign.io.outputs import check_replaceable, write_atomic

__all__ = ["write_dataset"]


def write_dataset(ds: xr.Dataset, path: str | Path, *, overwrite: bool = False) -> Path:
    """Write ``ds`` to ``.nc`` (netCDF) or ``.zarr`` through a temporary path, then rename,
    so an existing file is never left half-written.

    Parameters
    ----------
    ds : xarray.Dataset
        What to write.
    path : str or Path
        A ``.nc`` or ``.zarr`` path.
    overwrite : bool
        Replace an existing output that crossalign did not write (a Zarr folder only if it
        holds a Zarr store and nothing else).

    Returns
    -------
    Path
    """
    path = Path(path)
    if path.suffix not in (".nc", ".zarr"):
        raise InputError(f"The output '{path}' must end in .nc (netCDF) or .zarr.")
    check_replaceable(path, overwrite)
    if path.is_dir() and not path.is_symlink():
        _check_only_zarr(path)

    def write(tmp: Path) -> None:
        if path.suffix == ".zarr":
            ds.to_zarr(tmp, mode="w")
        else:
            ds.to_netcdf(tmp)

    return write_atomic(path, write, overwrite=True)  # replaceable: checked above


def _check_only_zarr(folder: Path) -> None:
    """Refuse to replace a folder that holds anything but a Zarr store."""
    meta = {".zgroup", ".zattrs", ".zmetadata", "zarr.json"}
    if not any((folder / m).is_file() for m in meta):
        raise OutputExistsError(
            f"The folder '{folder}' is not a Zarr store; crossalign does not replace it."
        )
    foreign = [
        p.name
        for p in folder.iterdir()
        if p.is_symlink()
        or not (
            p.name in meta
            or (p.is_dir() and any((p / m).is_file() for m in (".zarray", ".zattrs", "zarr.json")))
        )
    ]
    if foreign:
        raise OutputExistsError(
            f"The Zarr folder '{folder}' also holds {sorted(foreign)[:5]}, which crossalign "
            "did not write; it is left as it is. Choose another path."
        )
