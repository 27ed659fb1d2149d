"""BrainData and ModelData as xarray Datasets and back, in memory.

Two layouts, the same ones the netCDF/Zarr savers write (:func:`crossalign.io.save_xarray`):

``"areas"`` (called ``"regions"`` for brain data)
    One variable per region (or layer) with dims ``(subject, stimulus, unit_<region>)`` for
    responses or ``(subject, stimulus, stimulus2)`` for RDMs (``model`` instead of ``subject``
    for model data). The natural layout of a complete grid whose cells of one region share
    their units; repetitions are averaged.
``"entries"``
    One variable per (subject, region) cell, named ``entry0``, ``entry1``, ..., with dims
    ``(stimulus, unit<i>[, repetition<i>])`` or ``(stimulus, stimulus2)`` and its labels as
    JSON in the variable's attributes. It keeps everything: repetitions (NaN for a missing
    repeat), missing cells, unit counts that differ between subjects, label types (an integer
    label stays an integer, a tuple a tuple) and the fixed split.

``"auto"`` picks the areas layout where it loses nothing, else entries. Stimulus ids are the
``stimulus`` coordinate in their own type (all integers, all strings or all floats).
"""

from __future__ import annotations

import json
from collections.abc import Hashable, Sequence
from typing import Any, cast

import numpy as np
import pandas as pd
import xarray as xr

from crossalign._validation import check_option, describe
from crossalign.compute.rdm import check_rdm
from crossalign.data.construct import Key, Kind, average_repeats
from crossalign.data.labels import dumps, ids_array, loads, plain
from crossalign.errors import InputError

__all__ = ["CARRIED", "LAYOUT", "LAYOUTS", "from_dataset", "layout_fits", "to_dataset"]

LAYOUT = "crossalign-entries-1"
LAYOUTS = ("auto", "areas", "regions", "entries")
#: ``attrs`` entries carried into a Dataset (as JSON), when present.
CARRIED = ("split", "missing_cells", "dropped_units", "dataset", "space", "repeats", "source")

#: A container class (BrainData or ModelData). The containers call this module (their
#: ``from_dataset``/``to_dataset``), so it does not import them: it works on any object with
#: their interface.
Representations = Any


def layout_fits(data: Representations) -> bool:
    """Whether the per-area layout holds ``data`` without loss (a complete grid, one shape per
    area, no repetitions, no fixed split, string area labels, source labels and stimulus ids
    of one storable type).

    Parameters
    ----------
    data : BrainData or ModelData

    Returns
    -------
    bool
    """
    if not data.is_grid or any(k in data.attrs for k in ("split", "repeats")):
        return False
    for area in data.areas:
        shapes = {data[(s, area)].shape for s in data.sources}
        if len(shapes) != 1 or len(next(iter(shapes))) == 3:
            return False
    if not all(isinstance(a, str) for a in data.areas):  # variable names are strings
        return False
    try:
        for group in (data.sources, list(data.stimuli)):
            ids_array(group)
    except InputError:
        return False
    return True


def to_dataset(data: Representations, layout: str = "auto") -> xr.Dataset:
    """``data`` as an xarray Dataset in ``layout`` (see the module docstring).

    Parameters
    ----------
    data : BrainData or ModelData
        What to convert.
    layout : {"auto", "areas", "regions", "entries"}
        ``"regions"`` is another name for ``"areas"``.

    Returns
    -------
    xarray.Dataset
        Read back with :func:`from_dataset` (or ``BrainData.from_dataset``).

    Raises
    ------
    InputError
        When the areas layout cannot hold ``data`` (cells of one area differ in shape).
    """
    check_option(layout, "layout", list(LAYOUTS), "to_dataset")
    if layout == "entries" or (layout == "auto" and not layout_fits(data)):
        return _entries_dataset(data)
    return _areas_dataset(data)


def _carried(data: Representations) -> dict[str, str]:
    return {name: dumps(data.attrs[name]) for name in CARRIED if name in data.attrs}


def _entries_dataset(data: Representations) -> xr.Dataset:
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
                data.source_dim: dumps(key[0]),
                data.area_dim: dumps(key[1]),
                "kind": data.kind(key),
            },
        )
    ids = ids_array(list(data.stimuli))
    coords = {"stimulus": ids}
    if any(data.kind(k) == "rdm" for k in data):
        coords["stimulus2"] = ids
    attrs = {"layout": LAYOUT, "container": type(data).__name__, **_carried(data)}
    return xr.Dataset(variables, coords=coords, attrs=attrs)


def _areas_dataset(data: Representations) -> xr.Dataset:
    src = data.source_dim
    named = [a for a in data.areas if not isinstance(a, str)]
    if named:
        raise InputError(
            f"The per-{data.area_dim} layout names each variable by its {data.area_dim}, which "
            f"must be a string. Got {named[0]!r}. Use layout='entries', which keeps labels of "
            "any type."
        )
    variables = {}
    for area in data.areas:
        cells = [data[(s, area)] for s in data.sources]
        if len({c.shape for c in cells}) != 1:
            raise InputError(
                f"The {data.area_dim} {area!r} has different unit counts across {src}s; one "
                "variable needs one shape. Use layout='entries' (or compare RDMs: data.rdms())."
            )
        stacked = np.stack([average_repeats(c.values) for c in cells])
        if data.kind((data.sources[0], area)) == "rdm":
            dims: tuple[str, ...] = (src, "stimulus", "stimulus2")
        else:
            dims = (src, "stimulus", f"unit_{area}")
        variables[str(area)] = xr.Variable(dims, stacked)
    ids = ids_array(list(data.stimuli))
    coords: dict[str, Any] = {src: ids_array(data.sources, f"{src} labels"), "stimulus": ids}
    if any("stimulus2" in v.dims for v in variables.values()):
        coords["stimulus2"] = ids
    attrs = {
        "container": type(data).__name__,
        data.area_dim + "s": dumps(data.areas),  # their order (Zarr lists variables sorted)
        **_carried(data),
    }
    return xr.Dataset(variables, coords=coords, attrs=attrs)


def from_dataset(
    container: Any,
    ds: xr.Dataset,
    *,
    areas: Sequence[Hashable] | None = None,
    source: str = "The dataset",
) -> Any:
    """A ``container`` (BrainData or ModelData) from a Dataset in either layout.

    Parameters
    ----------
    container : type
        ``BrainData`` or ``ModelData``.
    ds : xarray.Dataset
        In the entries layout (attribute ``layout``), or one variable per area with dims
        ``(subject, stimulus, <unit dim>)`` or ``(subject, stimulus, stimulus2)`` (``model``
        for model data; without the first dim, a single source labelled ``"0"``).
    areas : sequence, optional
        Keep only these areas (variables of the per-area layout).
    source : str
        What ``ds`` was read from, for error messages.

    Returns
    -------
    BrainData or ModelData

    Raises
    ------
    InputError
        For a Dataset in neither layout, or one written for the other container.
    """
    if not isinstance(ds, xr.Dataset):
        raise InputError(f"The 'ds' argument must be an xarray.Dataset. Got {describe(ds)}.")
    stored = ds.attrs.get("container")
    if stored is not None and stored != container.__name__:
        raise InputError(f"{source} holds {stored}, not {container.__name__}.")
    if ds.attrs.get("layout", "").startswith("crossalign-entries"):
        data = _from_entries(container, ds, source)
        data = data if areas is None else data.select(areas=list(areas))
    else:
        if areas is None:
            stored_order = ds.attrs.get(container.area_dim + "s")
            names = list(ds.data_vars)
            stored = cast("list[Hashable]", loads(stored_order)) if stored_order else []
            order = [a for a in stored if a in names]
            areas = order if set(order) == set(names) and len(order) == len(names) else names
        data = _from_areas(container, ds, list(areas), source)
    for name in CARRIED:
        if name in ds.attrs:
            data.attrs[name] = json.loads(ds.attrs[name])
    return data


def _from_entries(cls: Any, ds: xr.Dataset, source: str) -> Any:
    if ds.attrs.get("layout") != LAYOUT:
        raise InputError(f"{source} is not in the {LAYOUT} layout (attribute 'layout').")

    ids = [plain(v) for v in ds["stimulus"].values]
    cells: dict[Key, np.ndarray] = {}
    kinds: dict[Key, Kind] = {}
    for name in sorted(ds.data_vars, key=lambda n: int(str(n).removeprefix("entry"))):
        var = ds[name]
        try:
            key = (loads(var.attrs[cls.source_dim]), loads(var.attrs[cls.area_dim]))
        except (KeyError, ValueError) as exc:
            raise InputError(
                f"Variable {name!r} of {source} lacks JSON '{cls.source_dim}'/"
                f"'{cls.area_dim}' attributes."
            ) from exc
        kinds[key] = "rdm" if var.attrs.get("kind") == "rdm" else "responses"
        cells[key] = var.values
    if len(set(kinds.values())) > 1:
        raise InputError(f"{source} mixes RDM and response entries; expected one kind.")
    if "responses" in kinds.values():
        return cls.from_responses(cells, stimuli=ids, constant_units="keep")
    checked = {
        k: check_rdm(v, f"{source} cell {k!r}", allow_negative=True) for k, v in cells.items()
    }
    return cls(checked, kinds, pd.Index(ids, name="stimulus"))


def _from_areas(cls: Any, ds: xr.Dataset, names: list[Hashable], source: str) -> Any:
    src = cls.source_dim
    rdms, responses = {}, {}
    unknown = [n for n in names if n not in ds.data_vars]
    if unknown:
        raise InputError(f"{source} has no variable {unknown[0]!r}. It has {list(ds.data_vars)}.")
    unplaced = [n for n in names if src not in ds[n].dims]
    if unplaced and len(unplaced) < len(names):
        raise InputError(
            f"{source}: variable(s) {unplaced} have no {src!r} dimension while the others do, "
            f"so they cannot be placed as a {cls.area_dim} of a {src}. Drop them, or name the "
            f"variables to load ({cls.area_dim}s=[...])."
        )
    for name in names:
        da = ds[name]
        if src not in da.dims:  # a dataset of one source: none of its variables has the dim
            da = da.expand_dims({src: ["0"]})
        if "stimulus" not in da.dims:
            raise InputError(
                f"Variable {name!r} of {source}: expected a 'stimulus' dimension, got dims "
                f"{da.dims}."
            )
        if "stimulus2" in da.dims:
            rdms[name] = da.transpose(src, "stimulus", "stimulus2")
            continue
        other = [d for d in da.dims if d not in (src, "stimulus")]
        if len(other) != 1:
            raise InputError(
                f"Variable {name!r} of {source}: expected dims ({src}, stimulus, unit), got "
                f"{da.dims}."
            )
        da = da.transpose(src, "stimulus", other[0])
        for label in da.coords[src].values if src in da.coords else range(da.sizes[src]):
            cell = da.sel({src: label}) if src in da.coords else da.isel({src: label})
            responses[(plain(label), name)] = cell
    if rdms and responses:
        raise InputError(f"{source} mixes RDM and response variables; load them separately.")
    if not rdms:
        ids = [plain(i) for i in ds["stimulus"].values] if "stimulus" in ds.coords else None
        return cls.from_responses(responses, stimuli=ids)
    return _stacked_rdms(cls, rdms, source)


def _stacked_rdms(cls: Any, rdms: dict[Hashable, xr.DataArray], source: str) -> Any:
    src = cls.source_dim
    first = next(iter(rdms.values()))
    ids = list(first.coords["stimulus"].values) if "stimulus" in first.coords else None
    stacks = {}
    for name, da in rdms.items():
        if ids is not None and list(da.coords["stimulus"].values) != ids:
            order = da.coords["stimulus"].to_index().get_indexer(ids)
            if (order < 0).any():
                raise InputError(f"Variable {name!r} of {source} covers different stimulus ids.")
            da = da.isel(stimulus=order, stimulus2=order)
        stacks[name] = da.values
    labels = [plain(s) for s in first.coords[src].values] if src in first.coords else None
    stimuli = None if ids is None else [plain(i) for i in ids]
    return cls.from_rdms(stacks, sources=labels, stimuli=stimuli)
