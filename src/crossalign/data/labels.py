"""Labels (subjects, regions, models, layers, stimulus ids) between Python, NumPy, xarray
coordinates and JSON, keeping their type: an integer label stays an integer, a string a
string, a tuple a tuple.

Every module that stores or reads labels goes through these functions, so a label means the
same thing in a BrainData, a result's coordinates, a netCDF file and a saved evaluation.
"""

from __future__ import annotations

import json
from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np

from crossalign.errors import InputError

__all__ = ["coord", "dumps", "from_json", "ids_array", "loads", "plain"]


def plain(x: Any) -> Hashable:
    """A label as a plain Python value: NumPy scalars become ``int``/``float``/``str``, bytes
    are decoded as UTF-8; anything else is returned as is.

    Parameters
    ----------
    x : object

    Returns
    -------
    Hashable
    """
    if isinstance(x, bytes):
        return x.decode()
    return x.item() if isinstance(x, np.generic) else x


def _all(values: Sequence[Any], kind: type | tuple[type, ...]) -> bool:
    return bool(values) and all(
        isinstance(v, kind) and not isinstance(v, bool | np.bool_) for v in values
    )


def coord(labels: Sequence[Hashable]) -> np.ndarray:
    """Labels as a 1-D coordinate array: ``str``, ``int64`` or ``float64`` when every label
    has that type, else an object array holding the labels themselves (tuples included).

    Parameters
    ----------
    labels : sequence

    Returns
    -------
    numpy.ndarray
    """
    labels = [plain(x) for x in labels]
    if _all(labels, str):
        return np.asarray(labels, dtype=str)
    if _all(labels, int):
        return np.asarray(labels, dtype=np.int64)
    if _all(labels, float):
        return np.asarray(labels, dtype=np.float64)
    out = np.empty(len(labels), dtype=object)
    out[:] = labels
    return out


def ids_array(values: Sequence[Hashable], what: str = "Stimulus ids") -> np.ndarray:
    """Labels as an array a netCDF or Zarr file can hold with their type (all integers, all
    strings or all floats).

    Parameters
    ----------
    values : sequence
    what : str
        What the labels are, for the error message.

    Returns
    -------
    numpy.ndarray

    Raises
    ------
    InputError
        For labels of mixed or other types.
    """
    values = [plain(v) for v in values]
    if _all(values, int):
        return np.asarray(values, dtype=np.int64)
    if _all(values, str):
        return np.asarray(values, dtype=str)
    if _all(values, float):
        return np.asarray(values, dtype=np.float64)
    kinds = sorted({type(v).__name__ for v in values})
    raise InputError(
        f"{what} of mixed or unsupported types {kinds} cannot be stored as a coordinate; "
        "expected all integers, all strings or all floats."
    )


def _default(x: Any) -> Any:
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, tuple):
        return list(x)
    raise TypeError(f"a label of type {type(x).__name__} has no JSON form")


def dumps(value: Any) -> str:
    """``value`` (a label, or a structure of labels) as JSON; tuples are written as lists and
    read back as tuples by :func:`loads`.

    Parameters
    ----------
    value : object

    Returns
    -------
    str
    """
    return json.dumps(value, default=_default)


def from_json(value: Any) -> Any:
    """A label decoded from JSON: lists become tuples (at every depth).

    Parameters
    ----------
    value : object
        As returned by :func:`json.loads`.

    Returns
    -------
    object
    """
    if isinstance(value, list):
        return tuple(from_json(v) for v in value)
    return value


def loads(text: str) -> Hashable:
    """The label that :func:`dumps` wrote.

    Parameters
    ----------
    text : str

    Returns
    -------
    Hashable
    """
    return from_json(json.loads(text))
