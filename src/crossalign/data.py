"""Labelled containers of representations, indexed by (source, area).

For brains the source is a subject and the area a region (:class:`BrainData`); for models the
source is a model and the area a layer (:class:`ModelData`). Each entry is either

* raw responses: an (n_stimuli, n_units) array, optionally (n_stimuli, n_units, n_repetitions)
  with NaN marking a missing repetition (kept for reliability, averaged for analysis);
* or an RDM: an (n_stimuli, n_stimuli) dissimilarity matrix.

Brain data may miss (subject, region) cells (subject-specific regions of interest): scores
involving a missing cell are NaN in every score tensor, and the statistics skip them.

All entries share one stimulus index (ids are unique, checked, and matched by id, never by
position, whenever the input carries ids). Entries are exposed as :class:`xarray.DataArray`
with dims ``("stimulus", "unit"[, "repetition"])`` or ``("stimulus", "stimulus2")`` and the
entry's labels in ``attrs``.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, Self

import numpy as np
import pandas as pd
import xarray as xr

from ._validation import as_float_array, check_finite, describe
from .errors import InputError, InputTypeError
from .labels import coord
from .rdm import DISTANCES, check_rdm, rdm_vectors, upper_triangle

__all__ = ["BrainData", "EntryBlock", "ModelData", "Representations", "match_stimuli"]

Kind = Literal["responses", "rdm"]
Key = tuple[Hashable, Hashable]


def _stimulus_index(stimuli: Any, n: int, name: str) -> pd.Index:
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


def _ids_of(value: Any) -> pd.Index | None:
    if isinstance(value, xr.DataArray) and "stimulus" in value.coords:
        return pd.Index(value.coords["stimulus"].values)
    return None


def _reorder_to(ids: pd.Index, target: pd.Index, what: str) -> np.ndarray:
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


def _cache_key(distance: str) -> tuple[str, str, str]:
    """RDM vectors are cached per distance and per backend and precision that computed them."""
    from ._options import get_option

    return distance, get_option("backend"), get_option("dtype")


@dataclass(frozen=True)
class EntryBlock:
    """Some entries of a container, in order: what the engine prepares at once.

    ``rdm_vectors`` and ``response_arrays`` give the metric inputs of exactly these entries,
    so a part of an analysis never builds the inputs of the whole container.
    """

    keys: tuple[Key, ...]
    arrays: tuple[np.ndarray, ...]
    kinds: tuple[Kind, ...]
    cached: Mapping[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.keys)

    def rdm_vectors(self, distance: str = "correlation") -> np.ndarray:
        """Upper-triangle RDM vectors (len(self), n(n-1)/2), computed one entry at a time (a
        symmetric product each; only one n x n matrix in memory)."""
        if distance in self.cached:
            return self.cached[distance]
        n = self.arrays[0].shape[0]
        out = np.empty((len(self.keys), n * (n - 1) // 2))
        for i, (key, arr, kind) in enumerate(zip(self.keys, self.arrays, self.kinds, strict=True)):
            if kind == "rdm":
                out[i] = upper_triangle(arr)
            else:
                out[i] = rdm_vectors(average_repeats(arr), distance, name=f"responses of {key!r}")
        return out

    def response_arrays(self, metric: str = "this metric") -> list[np.ndarray]:
        """The response matrices (n_stimuli, n_units), repetitions averaged."""
        rdm_only = [k for k, kind in zip(self.keys, self.kinds, strict=True) if kind == "rdm"]
        if rdm_only:
            raise InputError(
                f"The metric {metric!r} compares raw responses, but {len(rdm_only)} entries "
                f"are RDMs (e.g. {rdm_only[0]!r}). Expected responses (from_responses), or use "
                "an RSA metric (spearman, pearson, kendall_taua, cosine)."
            )
        return [average_repeats(a) for a in self.arrays]


def average_repeats(arr: np.ndarray) -> np.ndarray:
    """Responses averaged over the repetition axis (NaN repetitions skipped); 2-D arrays are
    returned as they are."""
    if arr.ndim != 3:
        return arr
    if np.isnan(arr).any():
        return np.nanmean(arr, axis=2)
    return arr.mean(axis=2)


def _check_repeats(arr: np.ndarray, arg: str) -> None:
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


class Representations:
    """Base class: a mapping (source, area) -> responses or RDM over a shared stimulus set.

    Use the constructors :meth:`from_rdms` and :meth:`from_responses`; ``__init__`` takes
    entries that are already validated numpy arrays.

    Parameters
    ----------
    entries : mapping
        ``{(source, area): array}``: responses (n_stimuli, n_units[, n_repetitions]) or RDMs
        (n_stimuli, n_stimuli), validated.
    kinds : mapping
        ``{(source, area): "responses" | "rdm"}``.
    stimuli : pandas.Index
        The stimulus ids, in row order.
    attrs : mapping, optional
        Metadata (citation, fixed split, loader records, ...).
    """

    source_dim: ClassVar[str] = "source"
    area_dim: ClassVar[str] = "area"
    #: Whether a source may lack an area (scores involving the gap are NaN in score tensors).
    missing_cells: ClassVar[bool] = False
    constant_units_default: ClassVar[str] = "keep"

    def __init__(
        self,
        entries: Mapping[Key, np.ndarray],
        kinds: Mapping[Key, Kind],
        stimuli: pd.Index,
        attrs: Mapping[str, Any] | None = None,
    ) -> None:
        # Canonical order: source-major, then area, each in order of first appearance.
        src = {k[0]: i for i, k in reversed(list(enumerate(entries)))}
        src = {s: j for j, s in enumerate(sorted(src, key=src.__getitem__))}
        ars = {k[1]: i for i, k in reversed(list(enumerate(entries)))}
        ars = {a: j for j, a in enumerate(sorted(ars, key=ars.__getitem__))}
        order = sorted(entries, key=lambda k: (src[k[0]], ars[k[1]]))
        self._entries = {k: entries[k] for k in order}
        self._kinds = {k: kinds[k] for k in order}
        self._stimuli = stimuli
        self.attrs: dict[str, Any] = dict(attrs or {})
        self._rdm_cache: dict[tuple[str, str, str], np.ndarray] = {}
        if not self._entries:
            raise InputError(f"A {type(self).__name__} needs at least one entry. Got none.")

    # ------------------------------------------------------------------ xarray
    @classmethod
    def from_dataset(
        cls,
        ds: xr.Dataset,
        *,
        areas: Sequence[Hashable] | None = None,
        source: str = "The dataset",
    ) -> Self:
        """Build from an xarray Dataset, in memory.

        Parameters
        ----------
        ds : xarray.Dataset
            One variable per region (layer) with dims ``(subject, stimulus, <unit dim>)`` or
            ``(subject, stimulus, stimulus2)`` (``model`` for ModelData), or the ``entries``
            layout that :meth:`to_dataset` writes for data it cannot put in that form
            (missing cells, repetitions, unit counts that differ between subjects). See
            :mod:`crossalign.conversions`.
        areas : sequence, optional
            Keep only these regions (layers).
        source : str
            What ``ds`` was read from, for error messages.

        Returns
        -------
        BrainData or ModelData
            With labels and stimulus ids of the types stored in ``ds``.

        Examples
        --------
        >>> import numpy as np, xarray as xr, crossalign as ca
        >>> ds = xr.Dataset(
        ...     {"V1": (("subject", "stimulus", "unit"), np.random.default_rng(0).normal(
        ...         size=(2, 5, 3)))}, coords={"subject": [1, 2], "stimulus": [10, 11, 12, 13, 14]})
        >>> ca.BrainData.from_dataset(ds).subjects
        [1, 2]
        """
        from .conversions import from_dataset

        return from_dataset(cls, ds, areas=areas, source=source)

    def to_dataset(self, layout: str = "auto") -> xr.Dataset:
        """This data as an xarray Dataset; :meth:`from_dataset` reads it back identically.

        Parameters
        ----------
        layout : {"auto", "regions", "areas", "entries"}
            ``"regions"`` (``"areas"``): one variable per region; ``"entries"``: one variable
            per cell, lossless; ``"auto"``: regions where that loses nothing, else entries.

        Returns
        -------
        xarray.Dataset
        """
        from .conversions import to_dataset

        return to_dataset(self, layout)

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_rdms(
        cls,
        rdms: Mapping[Hashable, Any],
        subjects: Sequence[Hashable] | None = None,
        stimuli: Sequence[Hashable] | None = None,
        *,
        sources: Sequence[Hashable] | None = None,
        symmetrise: bool = False,
        atol: float = 1e-8,
        similarity: str | bool | None = None,
        allow_negative: bool = False,
    ) -> Self:
        """Build from RDM stacks: ``{area: array (n_sources, n, n)}``.

        ``subjects`` (alias ``sources``) names the stack's first axis (default 0..S-1), in the
        same order for every area; ``stimuli`` names the rows/columns (default 0..n-1). An
        (n, n) array is taken as a single source. RDMs must be finite, square, symmetric,
        zero-diagonal within ``atol`` and non-negative (see :func:`crossalign.rdm.check_rdm`:
        ``symmetrise=True`` averages rounding-level asymmetry, ``similarity="1-r"`` or
        ``"kernel"`` converts similarity matrices, ``allow_negative=True`` accepts
        cross-validated distances).
        """
        if subjects is not None and sources is not None:
            raise InputTypeError("Pass either 'subjects' or 'sources', not both.")
        names = subjects if subjects is not None else sources
        if not isinstance(rdms, Mapping) or not rdms:
            raise InputTypeError(
                f"The 'rdms' argument must be a non-empty mapping {{{cls.area_dim}: array "
                f"(n_{cls.source_dim}s, n_stimuli, n_stimuli)}}. Got {describe(rdms)} instead."
            )
        entries: dict[Key, np.ndarray] = {}
        n_stim: int | None = None
        source_labels: list[Hashable] | None = None
        for area, stack in rdms.items():
            arg = f"rdms[{area!r}]"
            arr = as_float_array(stack, arg)
            if arr.ndim == 2:
                arr = arr[None]
            if arr.ndim != 3:
                raise InputError(
                    f"The '{arg}' argument must be an array (n_{cls.source_dim}s, n_stimuli, "
                    f"n_stimuli). Got an array of shape {arr.shape} instead."
                )
            absent = _absent_rdms(arr, arg, cls)
            arr = arr.copy() if absent.any() else arr
            arr[absent] = 0.0  # checked as empty RDMs, then left out
            arr = check_rdm(
                arr,
                arg,
                atol=atol,
                symmetrise=symmetrise,
                similarity=similarity,
                allow_negative=allow_negative,
            )
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
                        f"The '{cls.source_dim}s' argument names {len(source_labels)} "
                        f"{cls.source_dim}s but '{arg}' stacks {arr.shape[0]} RDMs."
                    )
                if len(set(source_labels)) != len(source_labels):
                    raise InputError(
                        f"The '{cls.source_dim}s' argument must hold unique names. Got "
                        f"{source_labels}."
                    )
            elif arr.shape[0] != len(source_labels):
                raise InputError(
                    f"The '{arg}' argument stacks {arr.shape[0]} RDMs but earlier areas stack "
                    f"{len(source_labels)}. Expected every {cls.source_dim} to have every "
                    f"{cls.area_dim} (a {cls.source_dim} is missing an {cls.area_dim}?)."
                )
            for i, src in enumerate(source_labels):
                if not absent[i]:
                    entries[(src, area)] = arr[i]
        assert n_stim is not None and source_labels is not None  # for type checkers only
        index = _stimulus_index(stimuli, n_stim, "stimuli")
        kinds: dict[Key, Kind] = dict.fromkeys(entries, "rdm")
        ordered = {
            (s, a): entries[(s, a)] for s in source_labels for a in rdms if (s, a) in entries
        }
        return cls(ordered, kinds, index)

    @classmethod
    def from_responses(
        cls,
        responses: Mapping[Key, Any],
        stimuli: Sequence[Hashable] | None = None,
        *,
        constant_units: Literal["raise", "drop", "keep"] | None = None,
        dtype: Any = np.float64,
    ) -> Self:
        """Build from ``{(source, area): array (n_stimuli, n_units[, n_repetitions])}``.

        Values may be :class:`xarray.DataArray` with a ``stimulus`` coordinate: they are then
        matched to ``stimuli`` (or to the first entry's ids) by id, not by position.
        ``constant_units`` says what to do with units that do not vary across stimuli:
        ``"raise"`` (default for brains), ``"drop"``, or ``"keep"`` (default for models, where
        dead units are common and harmless for RSA). A representation whose units are all
        constant is always rejected. ``dtype`` is the stored precision (``np.float32`` halves
        the memory of large activations; analyses compute in float64 either way).
        """
        policy = constant_units or cls.constant_units_default
        if policy not in ("raise", "drop", "keep"):
            raise InputError(
                "The 'constant_units' parameter must be one of ['drop', 'keep', 'raise']. "
                f"Got {policy!r} instead."
            )
        if not isinstance(responses, Mapping) or not responses:
            raise InputTypeError(
                f"The 'responses' argument must be a non-empty mapping {{({cls.source_dim}, "
                f"{cls.area_dim}): array (n_stimuli, n_units)}}. Got {describe(responses)} "
                "instead."
            )
        index: pd.Index | None = None
        entries: dict[Key, np.ndarray] = {}
        for key, value in responses.items():
            if not (isinstance(key, tuple) and len(key) == 2):
                raise InputTypeError(
                    f"The keys of 'responses' must be ({cls.source_dim}, {cls.area_dim}) "
                    f"tuples. Got the key {key!r} instead."
                )
            arg = f"responses[{key!r}]"
            ids = _ids_of(value)
            arr = as_float_array(value, arg, dtype=dtype)
            if arr.ndim not in (2, 3):
                raise InputError(
                    f"The '{arg}' argument must be an array (n_stimuli, n_units) or "
                    f"(n_stimuli, n_units, n_repetitions). Got an array of shape {arr.shape} "
                    "instead."
                )
            _check_repeats(arr, arg)
            if index is None:
                base = stimuli if stimuli is not None else ids
                index = _stimulus_index(base, arr.shape[0], "stimuli")
                if index.size < 3:
                    raise InputError(
                        f"The '{arg}' argument must cover at least 3 stimuli. Got {index.size}."
                    )
            if ids is not None:
                arr = arr[_reorder_to(ids, index, f"The '{arg}' argument")]
            elif arr.shape[0] != index.size:
                raise InputError(
                    f"The '{arg}' argument has {arr.shape[0]} stimuli (rows) but "
                    f"{index.size} were expected, as for the other entries."
                )
            entries[key] = cls._constant_units(arr, arg, policy)
        assert index is not None
        kinds: dict[Key, Kind] = dict.fromkeys(entries, "responses")
        return cls(entries, kinds, index)

    @staticmethod
    def _constant_units(arr: np.ndarray, arg: str, policy: str) -> np.ndarray:
        mean_over_reps = average_repeats(arr)
        if policy == "keep":  # only a fully constant representation matters
            if not np.ptp(mean_over_reps, axis=0).any():
                raise InputError(
                    f"The '{arg}' argument is constant across stimuli in all its "
                    f"{arr.shape[1]} units; it carries no stimulus information. Expected "
                    "responses that vary across stimuli."
                )
            return arr
        const = np.ptp(mean_over_reps, axis=0) == 0
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

    # ------------------------------------------------------------------ structure
    @property
    def stimuli(self) -> pd.Index:
        return self._stimuli

    @property
    def n_stimuli(self) -> int:
        return len(self._stimuli)

    @property
    def sources(self) -> list[Hashable]:
        return list(dict.fromkeys(k[0] for k in self._entries))

    @property
    def areas(self) -> list[Hashable]:
        return list(dict.fromkeys(k[1] for k in self._entries))

    @property
    def is_grid(self) -> bool:
        return len(self._entries) == len(self.sources) * len(self.areas)

    def keys(self) -> list[Key]:
        return list(self._entries)

    def grid_positions(self) -> np.ndarray:
        """The position of each entry (``keys()`` order) in the flattened
        (source, area) grid: ``source_index * n_areas + area_index``."""
        src = {s: i for i, s in enumerate(self.sources)}
        ars = {a: j for j, a in enumerate(self.areas)}
        n = len(ars)
        return np.array([src[s] * n + ars[a] for s, a in self._entries], dtype=np.intp)

    def kind(self, key: Key) -> Kind:
        return self._kinds[self._key(key)]

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[Key]:
        return iter(self._entries)

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def _key(self, key: Any) -> Key:
        if key not in self._entries:
            from ._validation import closest

            hint = closest(repr(key), [repr(k) for k in self._entries])
            raise KeyError(
                f"No entry {key!r} in this {type(self).__name__}; entries are "
                f"({self.source_dim}, {self.area_dim}) pairs"
                + (f". Did you mean {hint}?" if hint else ".")
            )
        return key

    def __getitem__(self, key: Key) -> xr.DataArray:
        key = self._key(key)
        arr = self._entries[key]
        attrs = {self.source_dim: key[0], self.area_dim: key[1], "kind": self._kinds[key]}
        stim = self._stimuli.to_numpy()
        if self._kinds[key] == "rdm":
            return xr.DataArray(
                arr,
                dims=("stimulus", "stimulus2"),
                coords={"stimulus": stim, "stimulus2": stim},
                attrs=attrs,
            )
        dims = ("stimulus", "unit", "repetition")[: arr.ndim]
        return xr.DataArray(arr, dims=dims, coords={"stimulus": stim}, attrs=attrs)

    def __repr__(self) -> str:
        kinds = sorted(set(self._kinds.values()))
        return (
            f"<{type(self).__name__}: {len(self.sources)} {self.source_dim}(s) x "
            f"{len(self.areas)} {self.area_dim}(s), {self.n_stimuli} stimuli, "
            f"{'/'.join(kinds)}>\n  {self.source_dim}s: {self.sources}\n"
            f"  {self.area_dim}s: {self.areas}"
        )

    # ------------------------------------------------------------------ views
    def select(
        self,
        sources: Iterable[Hashable] | None = None,
        areas: Iterable[Hashable] | None = None,
    ) -> Self:
        """A new container restricted to (and ordered by) the given sources and areas."""
        src = list(sources) if sources is not None else self.sources
        ars = list(areas) if areas is not None else self.areas
        for label, wanted, have, dim in (
            ("sources", src, self.sources, self.source_dim),
            ("areas", ars, self.areas, self.area_dim),
        ):
            unknown = [w for w in wanted if w not in have]
            if unknown:
                raise InputError(
                    f"The '{label}' argument names unknown {dim}(s) {unknown}. Expected some "
                    f"of {have}."
                )
        keys = [(s, a) for s in src for a in ars if (s, a) in self._entries]
        if not keys:
            raise InputError(
                f"The selection {self.source_dim}s={src}, {self.area_dim}s={ars} is empty."
            )
        out = type(self)(
            {k: self._entries[k] for k in keys},
            {k: self._kinds[k] for k in keys},
            self._stimuli,
            self.attrs,
        )
        if self._rdm_cache:  # the selected rows of RDMs already computed (no recomputation)
            pos = {k: i for i, k in enumerate(self._entries)}
            rows = [pos[k] for k in out]
            out._rdm_cache = {key: _read_only(v[rows]) for key, v in self._rdm_cache.items()}
        return out

    def subset_stimuli(self, ids: Iterable[Hashable]) -> Self:
        """A new container restricted to (and ordered by) the given stimulus ids."""
        target = pd.Index(list(ids), name="stimulus")
        if len(target) < 3:
            raise InputError(f"The 'ids' argument must keep at least 3 stimuli. Got {len(target)}.")
        pos = _reorder_subset(self._stimuli, target)
        entries = {}
        for key, arr in self._entries.items():
            entries[key] = arr[np.ix_(pos, pos)] if self._kinds[key] == "rdm" else arr[pos]
        out = type(self)(entries, self._kinds, target, self.attrs)
        for key, vectors in self._rdm_cache.items():
            # a distance between two stimuli depends on those two rows only: a subset's RDMs
            # are submatrices of the RDMs already computed (indexing, not recomputing)
            out._rdm_cache[key] = _read_only(_subset_vectors(vectors, pos, self.n_stimuli))
        return out

    def align_to(self, stimuli: pd.Index) -> Self:
        """Reorder to the stimulus ids ``stimuli`` (same id set required)."""
        if self._stimuli.equals(stimuli):
            return self
        _reorder_to(self._stimuli, stimuli, f"This {type(self).__name__}")
        return self.subset_stimuli(stimuli)

    # ------------------------------------------------------------------ RDMs
    def rdm_vectors(self, distance: str = "correlation") -> np.ndarray:
        """Upper-triangle RDM vectors (n_entries, n(n-1)/2) in ``keys()`` order.

        RDM entries are used as they are; response entries are turned into RDMs with
        ``distance`` (repetitions averaged first), one representation at a time. The result
        is cached per distance (use :meth:`block` for a part without building the whole).
        """
        DISTANCES.get(distance)
        key = _cache_key(distance)
        if key not in self._rdm_cache:
            out = self.block(self.keys()).rdm_vectors(distance)
            out.setflags(write=False)
            self._rdm_cache[key] = out
        return self._rdm_cache[key]

    def response_arrays(self, metric: str = "this metric") -> list[np.ndarray]:
        """The response matrices (n_stimuli, n_units) in ``keys()`` order, repetitions
        averaged. Raises when an entry only has an RDM."""
        return self.block(self.keys()).response_arrays(metric)

    def block(self, keys: Sequence[Key]) -> EntryBlock:
        """The entries ``keys`` (in that order) as an :class:`EntryBlock`: the unit the engine
        streams and ships to Dask workers. RDM vectors already cached are carried along."""
        keys = [self._key(k) for k in keys]
        cached = {}
        if self._rdm_cache:
            pos = {k: i for i, k in enumerate(self._entries)}
            rows = [pos[k] for k in keys]
            cached = {
                key[0]: v[rows] for key, v in self._rdm_cache.items() if key == _cache_key(key[0])
            }
        return EntryBlock(
            tuple(keys),
            tuple(self._entries[k] for k in keys),
            tuple(self._kinds[k] for k in keys),
            cached,
        )

    def rdms(self, distance: str = "correlation") -> xr.DataArray:
        """All RDMs as one DataArray (source, area, stimulus, stimulus2); missing cells of
        brain data are entirely NaN."""
        if not self.is_grid and not self.missing_cells:
            raise InputError(
                f"This {type(self).__name__} is not a complete {self.source_dim} x "
                f"{self.area_dim} grid; select one {self.source_dim} first."
            )
        from .rdm import square_from_vector

        n = self.n_stimuli
        sq = np.full((len(self.sources) * len(self.areas), n, n), np.nan)
        sq[self.grid_positions()] = square_from_vector(self.rdm_vectors(distance))
        sq = sq.reshape(len(self.sources), len(self.areas), n, n)
        stim = self._stimuli.to_numpy()
        return xr.DataArray(
            sq,
            dims=(self.source_dim, self.area_dim, "stimulus", "stimulus2"),
            coords={
                self.source_dim: coord(self.sources),
                self.area_dim: coord(self.areas),
                "stimulus": stim,
                "stimulus2": stim,
            },
            attrs={"distance": distance},
        )


def _read_only(arr: np.ndarray) -> np.ndarray:
    arr.setflags(write=False)
    return arr


def _subset_vectors(vectors: np.ndarray, pos: np.ndarray, n: int) -> np.ndarray:
    """Upper-triangle RDM vectors (K, n(n-1)/2) restricted and reordered to the stimuli at
    ``pos``, without forming the square matrices."""
    i, j = np.triu_indices(len(pos), k=1)
    a, b = pos[i], pos[j]
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    flat = n * lo - lo * (lo + 1) // 2 + hi - lo - 1  # squareform index of (lo, hi)
    return vectors[:, flat]


def _absent_rdms(arr: np.ndarray, arg: str, cls: type[Representations]) -> np.ndarray:
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


def _reorder_subset(ids: pd.Index, target: pd.Index) -> np.ndarray:
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


def match_stimuli(reference: Representations, other: Representations) -> Representations:
    """``other`` reordered to ``reference``'s stimulus ids, or a clear error if they differ.

    Parameters
    ----------
    reference, other : Representations

    Returns
    -------
    Representations
    """
    return other.align_to(reference.stimuli)


class BrainData(Representations):
    """Brain representations: entries indexed by (subject, region).

    A subject may lack a region (subject-specific regions of interest, or an entirely NaN RDM
    in a :meth:`from_rdms` stack): statistics average over the (subject, region) pairs that
    exist and report their counts; a statistic that needs 2 subjects in a region raises
    when fewer have it. Parameters are those of :class:`Representations`. Build with
    :meth:`BrainData.from_rdms` (``{region: array (n_subjects, n, n)}``) or
    :meth:`BrainData.from_responses` (``{(subject, region): array (n, p)}``).

    Examples
    --------
    >>> import numpy as np, crossalign as ca
    >>> rng = np.random.default_rng(0)
    >>> data = ca.BrainData.from_responses(
    ...     {(s, r): rng.normal(size=(10, 20)) for s in ("s1", "s2") for r in ("V1", "IT")})
    >>> data.regions
    ['V1', 'IT']
    """

    source_dim = "subject"
    area_dim = "region"
    missing_cells = True
    constant_units_default = "raise"

    @property
    def subjects(self) -> list[Hashable]:
        return self.sources

    @property
    def regions(self) -> list[Hashable]:
        return self.areas

    def present(self) -> xr.DataArray:
        """Which (subject, region) cells exist: boolean DataArray (subject, region)."""
        mask = np.array([[(s, r) in self for r in self.regions] for s in self.subjects])
        return xr.DataArray(
            mask,
            dims=("subject", "region"),
            coords={"subject": coord(self.subjects), "region": coord(self.regions)},
            name="present",
        )

    def subjects_with(self, region: Hashable) -> list[Hashable]:
        """The subjects that have ``region``."""
        return [s for s in self.subjects if (s, region) in self]

    def require_subjects(self, n: int, what: str) -> None:
        """Raise unless every region is present in at least ``n`` subjects (``what`` names
        the statistic in the message)."""
        counts = {r: len(self.subjects_with(r)) for r in self.regions}
        short = {r: k for r, k in counts.items() if k < n}
        if short:
            r, k = next(iter(short.items()))
            raise InputError(
                f"{what[0].upper()}{what[1:]} needs every region in at least {n} subjects. Got "
                f"{len(short)} region(s) with fewer, e.g. {r!r} in {k} subject(s) "
                f"{self.subjects_with(r)}. Drop such regions with data.select(areas=[...])."
            )


class ModelData(Representations):
    """Model representations: entries indexed by (model, layer).

    Models may have different layers. :attr:`layers_by_region` records, per model, which
    layer stands in for which brain region. Parameters are those of
    :class:`Representations`; build with :meth:`from_activations`, :meth:`from_responses` or
    :meth:`from_rdms`.
    """

    source_dim = "model"
    area_dim = "layer"
    constant_units_default = "keep"

    @classmethod
    def from_activations(
        cls,
        activations: Mapping[Hashable, Any],
        model: Hashable = "model",
        stimuli: Sequence[Hashable] | None = None,
        *,
        constant_units: Literal["raise", "drop", "keep"] | None = None,
        dtype: Any = np.float64,
    ) -> ModelData:
        """Build from one model's ``{layer: array (n_stimuli, n_units, ...)}``.

        Activations with more than two axes (e.g. channels x height x width) are flattened
        per stimulus.
        """
        if not isinstance(activations, Mapping) or not activations:
            raise InputTypeError(
                "The 'activations' argument must be a non-empty mapping {layer: array "
                f"(n_stimuli, ...)}}. Got {describe(activations)} instead."
            )
        flat: dict[Key, Any] = {}
        for layer, value in activations.items():
            if isinstance(value, xr.DataArray):
                flat[(model, layer)] = value
                continue
            arr = as_float_array(value, f"activations[{layer!r}]", dtype=dtype)
            if arr.ndim == 1:
                arr = arr[:, None]
            if arr.ndim > 2:
                arr = arr.reshape(arr.shape[0], -1)
            flat[(model, layer)] = arr
        return cls.from_responses(flat, stimuli=stimuli, constant_units=constant_units, dtype=dtype)

    @property
    def models(self) -> list[Hashable]:
        return self.sources

    def layers(self, model: Hashable | None = None) -> list[Hashable]:
        """Layers of ``model`` (of the only model when there is one)."""
        model = self._one_model(model)
        return [a for (s, a) in self._entries if s == model]

    def _one_model(self, model: Hashable | None) -> Hashable:
        if model is None:
            if len(self.models) != 1:
                raise InputError(
                    f"This ModelData holds {len(self.models)} models {self.models}; pass "
                    "'model' to choose one."
                )
            return self.models[0]
        if model not in self.models:
            raise InputError(
                f"The 'model' argument must be one of {self.models}. Got {model!r} instead."
            )
        return model

    @property
    def layers_by_region(self) -> dict[Hashable, dict[Hashable, Hashable]]:
        """``{model: {region: layer}}``: which layer stands in for which region."""
        return self.attrs.setdefault("layers_by_region", {})
