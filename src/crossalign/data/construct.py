"""Turning user arrays into container entries: what the constructors of
:class:`~crossalign.data.containers.BrainData` and :class:`~crossalign.data.containers.ModelData`
check and build.

Stimulus ids (unique, matched by id when the input carries them), repetitions (NaN marks a
missing repeat only), RDM stacks (finite, square, symmetric, zero-diagonal; an entirely NaN
RDM is a missing cell where the container allows one) and the constant-unit policy. The
functions take the container class for its vocabulary (``source_dim``, ``area_dim``,
``missing_cells``) and return plain dicts; the container module owns the containers.
"""

from __future__ import annotations

import warnings
from collections.abc import Hashable, Mapping, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
import xarray as xr

from crossalign._validation import as_float_array, check_finite, describe
from crossalign.compute.rdm import check_rdm
from crossalign.errors import InputError, InputTypeError

__all__ = ["average_repeats", "rdm_entries", "response_entries"]

Kind = Literal["responses", "rdm"]
Key = tuple[Hashable, Hashable]


def stimulus_index(stimuli: Any, n: int, name: str) -> pd.Index:
    if stimuli is None:
        return pd.RangeIndex(n, name="stimulus")
    index = pd.Index(list(stimuli) if not isinstance(stimuli, pd.Index) else stimuli)
    if len(index) != n:
        raise InputError(
            f"The '{name}' argument must give one id per stimulus ({n} expected). "
            f"Got {len(index)} ids instead."
        )
    dup = index[index.duplicated()].unique()
    if len(dup):
        raise InputError(
            f"The '{name}' argument must hold unique stimulus ids. Got {len(dup)} duplicated "
            f"id(s), e.g. {list(dup[:5])}."
        )
    return index.rename("stimulus")


def ids_of(value: Any) -> pd.Index | None:
    if isinstance(value, xr.DataArray) and "stimulus" in value.coords:
        return pd.Index(value.coords["stimulus"].values)
    return None


def reorder_to(ids: pd.Index, target: pd.Index, what: str) -> np.ndarray:
    """Positions in ``ids`` of every id of ``target`` (raise when the sets differ)."""
    dup = ids[ids.duplicated()].unique()
    if len(dup):
        raise InputError(
            f"{what} has duplicated stimulus ids, e.g. {list(dup[:5])}; expected unique ids."
        )
    missing = target.difference(ids)
    extra = ids.difference(target)
    if len(missing) or len(extra):
        raise InputError(
            f"{what} does not cover the same stimuli: {len(missing)} expected id(s) missing "
            f"(e.g. {list(missing[:5])}) and {len(extra)} unexpected id(s) (e.g. "
            f"{list(extra[:5])}). Expected the {len(target)} ids {list(target[:5])}..."
        )
    return ids.get_indexer(target)


def average_repeats(
    arr: np.ndarray,
    axis: int | None = None,
    *,
    keepdims: bool = False,
    dtype: Any = None,
) -> np.ndarray:
    """Responses averaged over their repetitions, NaN repetitions skipped: the library's one
    repeat averager (containers, loaders, conversions). A value with no valid repetition is
    NaN.

    Parameters
    ----------
    arr : numpy.ndarray
        With ``axis`` None: (n_stimuli, n_units) (returned as it is) or (n_stimuli, n_units,
        n_repetitions); else any array with repetitions along ``axis``.
    axis : int, optional
        The repetition axis; default the third of a 3-D array.
    keepdims : bool
        Keep the averaged axis (length 1).
    dtype : numpy dtype, optional
        The accumulator and result type (default that of ``arr``).

    Returns
    -------
    numpy.ndarray
    """
    if axis is None:
        if arr.ndim != 3:
            return arr
        axis = 2
    if not np.isnan(arr).any():
        return arr.mean(axis=axis, keepdims=keepdims, dtype=dtype)
    with warnings.catch_warnings(), np.errstate(invalid="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)  # no valid repetition: NaN
        return np.nanmean(arr, axis=axis, keepdims=keepdims, dtype=dtype)


def check_repeats(arr: np.ndarray, arg: str) -> None:
    """Finite values, except NaN for missing repetitions; every (stimulus, unit) needs one."""
    if arr.ndim != 3:
        check_finite(arr, arg)
        return
    if np.isinf(arr).any():
        raise InputError(f"The '{arg}' argument must not hold infinite values.")
    empty = np.isnan(arr).all(axis=2)
    if empty.any():
        stim, unit = (int(i) for i in np.argwhere(empty)[0])
        raise InputError(
            f"The '{arg}' argument has {int(empty.sum())} (stimulus, unit) cell(s) with no "
            f"finite repetition (first: stimulus {stim}, unit {unit}). NaN may mark missing "
            "repetitions only; drop units that were never measured."
        )


def absent_rdms(arr: np.ndarray, arg: str, cls: Any) -> np.ndarray:
    """Which RDMs of a stack are entirely NaN: missing cells where the container allows them
    (an RDM with only some NaN is an error, raised by the RDM check)."""
    absent = np.isnan(arr).all(axis=(1, 2))
    if absent.any() and not cls.missing_cells:
        raise InputError(
            f"The '{arg}' argument has {int(absent.sum())} RDM(s) that are entirely NaN. A "
            f"{cls.__name__} cannot have missing entries; expected finite RDMs."
        )
    if absent.all():
        raise InputError(f"The '{arg}' argument holds only NaN RDMs; expected at least one.")
    return absent


def subset_positions(ids: pd.Index, target: pd.Index) -> np.ndarray:
    dup = target[target.duplicated()].unique()
    if len(dup):
        raise InputError(
            f"The 'ids' argument must hold unique stimulus ids. Got duplicates {list(dup[:5])}."
        )
    pos = ids.get_indexer(target)
    if (pos < 0).any():
        missing = target[pos < 0]
        raise InputError(
            f"The 'ids' argument names {len(missing)} unknown stimulus id(s), e.g. "
            f"{list(missing[:5])}. Expected ids among {list(ids[:5])}..."
        )
    return pos


def checked_spread(arr: np.ndarray, arg: str) -> np.ndarray:
    """Each unit's range over stimuli (max - min) of 2-D responses, refusing NaN and
    infinite values: NaN propagates through max and min and an infinite value is an infinite
    extreme, so finite extremes prove finite data (one pass over the data for both checks).

    Parameters
    ----------
    arr : numpy.ndarray
        (n_stimuli, n_units).
    arg : str
        The argument's name, for the error message.

    Returns
    -------
    numpy.ndarray
        (n_units,).
    """
    high, low = arr.max(axis=0, initial=-np.inf), arr.min(axis=0, initial=np.inf)
    if not (np.isfinite(high).all() and np.isfinite(low).all()):
        check_finite(arr, arg)  # raises, saying how many and where
    return high - low


def constant_units(
    arr: np.ndarray, arg: str, policy: str, spread: np.ndarray | None = None
) -> np.ndarray:
    """``arr`` after the constant-unit ``policy`` (``"raise"``, ``"drop"`` or ``"keep"``);
    a representation constant in every unit is always refused. ``spread``: each unit's
    range, when already known."""
    if arr.shape[0] < 2:  # nothing can vary across a single stimulus
        return arr
    if spread is None:
        spread = np.ptp(average_repeats(arr), axis=0)
    if policy == "keep":  # only a fully constant representation matters
        if not spread.any():
            raise InputError(
                f"The '{arg}' argument is constant across stimuli in all its "
                f"{arr.shape[1]} units; it carries no stimulus information. Expected "
                "responses that vary across stimuli."
            )
        return arr
    const = spread == 0
    if const.all():
        raise InputError(
            f"The '{arg}' argument is constant across stimuli in all its {arr.shape[1]} "
            "units; it carries no stimulus information. Expected responses that vary "
            "across stimuli."
        )
    if const.any():
        if policy == "raise":
            raise InputError(
                f"The '{arg}' argument has {int(const.sum())} constant unit(s) (zero "
                f"variance across stimuli; first at unit {int(np.argmax(const))}). Pass "
                "constant_units='drop' to remove them or 'keep' to keep them."
            )
        if policy == "drop":
            arr = arr[:, ~const]
    return arr


def _rdm_stack(
    cls: Any, area: Hashable, stack: Any, **check: Any
) -> tuple[np.ndarray, np.ndarray, str]:
    """One area's stack of RDMs, checked: (RDMs, which are absent, the argument's name)."""
    arg = f"rdms[{area!r}]"
    arr = as_float_array(stack, arg)
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3:
        raise InputError(
            f"The '{arg}' argument must be an array (n_{cls.source_dim}s, n_stimuli, "
            f"n_stimuli). Got an array of shape {arr.shape} instead."
        )
    absent = absent_rdms(arr, arg, cls)
    arr = arr.copy() if absent.any() else arr
    arr[absent] = 0.0  # checked as empty RDMs, then left out
    arr = check_rdm(
        arr,
        arg,
        **check,
    )
    return arr, absent, arg


def rdm_entries(
    container: Any,
    rdms: Mapping[Hashable, Any],
    names: Sequence[Hashable] | None,
    stimuli: Sequence[Hashable] | None,
    **check: Any,
) -> tuple[dict[Key, np.ndarray], dict[Key, Kind], pd.Index]:
    """Entries, kinds and stimulus index from RDM stacks ``{area: (n_sources, n, n)}`` for
    the container class ``container`` (``check``: the options of
    :func:`crossalign.compute.rdm.check_rdm`).
    An entirely NaN RDM is a missing cell where ``container`` allows them.

    Parameters
    ----------
    container : type
        The container class (``BrainData`` or ``ModelData``).
    rdms : mapping
        ``{area: array (n_sources, n, n)}``; an (n, n) array is one source.
    names : sequence, optional
        Source labels (default 0..S-1).
    stimuli : sequence, optional
        Stimulus ids (default 0..n-1).
    **check
        ``atol``, ``symmetrise``, ``similarity``, ``allow_negative``.

    Returns
    -------
    tuple
        ``(entries, kinds, stimulus index)``.
    """
    if not isinstance(rdms, Mapping) or not rdms:
        raise InputTypeError(
            f"The 'rdms' argument must be a non-empty mapping {{{container.area_dim}: array "
            f"(n_{container.source_dim}s, n_stimuli, n_stimuli)}}. Got {describe(rdms)} instead."
        )
    entries: dict[Key, np.ndarray] = {}
    n_stim: int | None = None
    source_labels: list[Hashable] | None = None
    for area, stack in rdms.items():
        arr, absent, arg = _rdm_stack(container, area, stack, **check)
        if n_stim is None:
            n_stim = arr.shape[-1]
        elif arr.shape[-1] != n_stim:
            raise InputError(
                f"The '{arg}' argument covers {arr.shape[-1]} stimuli but earlier areas "
                f"cover {n_stim}. Expected the same stimuli for every area."
            )
        if source_labels is None:
            source_labels = list(names) if names is not None else list(range(arr.shape[0]))
            if len(source_labels) != arr.shape[0]:
                raise InputError(
                    f"The '{container.source_dim}s' argument names {len(source_labels)} "
                    f"{container.source_dim}s but '{arg}' stacks {arr.shape[0]} RDMs."
                )
            if len(set(source_labels)) != len(source_labels):
                raise InputError(
                    f"The '{container.source_dim}s' argument must hold unique names. Got "
                    f"{source_labels}."
                )
        elif arr.shape[0] != len(source_labels):
            raise InputError(
                f"The '{arg}' argument stacks {arr.shape[0]} RDMs but earlier areas stack "
                f"{len(source_labels)}. Expected every {container.source_dim} to have every "
                f"{container.area_dim} (a {container.source_dim} is missing an "
                f"{container.area_dim}?)."
            )
        for i, src in enumerate(source_labels):
            if not absent[i]:
                entries[(src, area)] = arr[i]
    assert n_stim is not None and source_labels is not None  # for type checkers only
    index = stimulus_index(stimuli, n_stim, "stimuli")
    kinds: dict[Key, Kind] = dict.fromkeys(entries, "rdm")
    ordered = {(s, a): entries[(s, a)] for s in source_labels for a in rdms if (s, a) in entries}
    return ordered, kinds, index


def response_entries(
    container: Any,
    responses: Mapping[Key, Any],
    stimuli: Sequence[Hashable] | None,
    policy: str,
    dtype: Any,
) -> tuple[dict[Key, np.ndarray], dict[Key, Kind], pd.Index]:
    """Entries, kinds and stimulus index from ``{(source, area): responses}`` for the
    container class ``container``; DataArrays with a ``stimulus`` coordinate are matched by id and
    ``policy`` says what happens to constant units (see :func:`constant_units`).

    Parameters
    ----------
    container : type
        The container class (``BrainData`` or ``ModelData``).
    responses : mapping
        ``{(source, area): array (n_stimuli, n_units[, n_repetitions])}``.
    stimuli : sequence, optional
        Stimulus ids (default: the first DataArray's ids, else 0..n-1).
    policy : {"raise", "drop", "keep"}
        What to do with constant units.
    dtype : numpy dtype
        The stored precision.

    Returns
    -------
    tuple
        ``(entries, kinds, stimulus index)``.
    """
    if policy not in ("raise", "drop", "keep"):
        raise InputError(
            "The 'constant_units' parameter must be one of ['drop', 'keep', 'raise']. "
            f"Got {policy!r} instead."
        )
    if not isinstance(responses, Mapping) or not responses:
        raise InputTypeError(
            f"The 'responses' argument must be a non-empty mapping {{({container.source_dim}, "
            f"{container.area_dim}): array (n_stimuli, n_units)}}. Got {describe(responses)} "
            "instead."
        )
    index: pd.Index | None = None
    entries: dict[Key, np.ndarray] = {}
    for key, value in responses.items():
        if not (isinstance(key, tuple) and len(key) == 2):
            raise InputTypeError(
                f"The keys of 'responses' must be ({container.source_dim}, {container.area_dim}) "
                f"tuples. Got the key {key!r} instead."
            )
        arg = f"responses[{key!r}]"
        ids = ids_of(value)
        arr = as_float_array(value, arg, dtype=dtype)
        if arr.ndim not in (2, 3):
            raise InputError(
                f"The '{arg}' argument must be an array (n_stimuli, n_units) or "
                f"(n_stimuli, n_units, n_repetitions). Got an array of shape {arr.shape} "
                "instead."
            )
        # a unit's range does not depend on the order of the rows (reordered below)
        spread = checked_spread(arr, arg) if arr.ndim == 2 else None
        if spread is None:
            check_repeats(arr, arg)
        if index is None:
            base = stimuli if stimuli is not None else ids
            index = stimulus_index(base, arr.shape[0], "stimuli")
            if index.size < container.min_stimuli:
                raise InputError(
                    f"The '{arg}' argument must cover at least {container.min_stimuli} "
                    f"stimuli. Got {index.size}."
                )
        if ids is not None:
            arr = arr[reorder_to(ids, index, f"The '{arg}' argument")]
        elif arr.shape[0] != index.size:
            raise InputError(
                f"The '{arg}' argument has {arr.shape[0]} stimuli (rows) but "
                f"{index.size} were expected, as for the other entries."
            )
        entries[key] = constant_units(arr, arg, policy, spread)
    assert index is not None
    kinds: dict[Key, Kind] = dict.fromkeys(entries, "responses")
    return entries, kinds, index
