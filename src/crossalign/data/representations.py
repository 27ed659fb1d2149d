"""The base container: labelled representations indexed by (source, area).

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

import crossalign.data.conversions as conversions
from crossalign._validation import closest
from crossalign.compute.context import Context, current_context
from crossalign.compute.rdm import DISTANCES, rdm_vectors, square_from_vector, upper_triangle
from crossalign.data.construct import (
    Key,
    Kind,
    average_repeats,
    rdm_entries,
    reorder_to,
    response_entries,
    subset_positions,
)
from crossalign.data.labels import coord
from crossalign.data.rdm_cache import RDMCache
from crossalign.errors import InputError, InputTypeError

__all__ = [
    "EntryBlock",
    "Representations",
    "match_stimuli",
]


@dataclass(frozen=True)
class EntryBlock:
    """Some entries of a container, in order: what the engine prepares at once.

    ``rdm_vectors`` and ``response_arrays`` give the metric inputs of exactly these entries,
    so a part of an analysis never builds the inputs of the whole container.

    Parameters
    ----------
    keys : tuple
        The entries' (source, area) labels.
    arrays : tuple of numpy.ndarray
        Their responses or RDMs.
    kinds : tuple of str
        ``"responses"`` or ``"rdm"`` per entry.
    cached : mapping
        RDM vectors already computed, by distance.
    noiseless : bool
        Entries without repetitions take a cross-validated distance's noiseless limit (the
        squared Euclidean distance per unit) instead of being refused: what model
        representations, which have no repetitions, do.
    """

    keys: tuple[Key, ...]
    arrays: tuple[np.ndarray, ...]
    kinds: tuple[Kind, ...]
    cached: Mapping[str, np.ndarray] = field(default_factory=dict)
    noiseless: bool = False

    def __len__(self) -> int:
        return len(self.keys)

    def rdm_vectors(self, distance: str = "correlation", ctx: Context | None = None) -> np.ndarray:
        """Upper-triangle RDM vectors (len(self), n(n-1)/2), computed one entry at a time (a
        symmetric product each; only one n x n matrix in memory).

        Parameters
        ----------
        distance : str
            A name of :data:`crossalign.compute.rdm.DISTANCES` (for response entries).
        ctx : Context, optional
            Where the products run; default
            :func:`~crossalign.compute.context.current_context`.

        Returns
        -------
        numpy.ndarray
        """
        ctx = current_context() if ctx is None else ctx
        if distance in self.cached:
            return self.cached[distance]
        n = self.arrays[0].shape[0]
        out = np.empty((len(self.keys), n * (n - 1) // 2))
        spec = DISTANCES.get(distance)
        for i, (key, arr, kind) in enumerate(zip(self.keys, self.arrays, self.kinds, strict=True)):
            if kind == "rdm":
                out[i] = upper_triangle(arr)
            elif spec.cross_validated is not None:
                out[i] = self._cross_validated(key, arr, distance, ctx)
            else:
                name = f"responses of {key!r}"
                rdm_vectors(average_repeats(arr), distance, name=name, out=out[i], ctx=ctx)
        return out

    def _cross_validated(
        self, key: Key, arr: np.ndarray, distance: str, ctx: Context
    ) -> np.ndarray:
        """A cross-validated RDM from the repetitions; without repetitions, the noiseless
        limit where allowed (models), else an error naming the cell."""
        if arr.ndim == 3 and arr.shape[2] >= 2:
            return DISTANCES.get(distance).from_repeats(arr, f"responses of {key!r}", ctx)
        if not self.noiseless:
            raise InputError(
                f"The distance {distance!r} is cross-validated over repetitions, but the cell "
                f"{key!r} has none (responses of shape {arr.shape}). Expected responses "
                "(stimulus, unit, repetition) with at least 2 repetitions, as the dataset "
                "loaders give with repeats='keep'."
            )
        x = average_repeats(arr)
        return rdm_vectors(x, "sqeuclidean", name=f"responses of {key!r}", ctx=ctx) / x.shape[1]

    def response_arrays(self, metric: str = "this metric") -> list[np.ndarray]:
        """The response matrices (n_stimuli, n_units), repetitions averaged.

        Parameters
        ----------
        metric : str
            The metric's name, for the error message.

        Returns
        -------
        list of numpy.ndarray
        """
        rdm_only = [k for k, kind in zip(self.keys, self.kinds, strict=True) if kind == "rdm"]
        if rdm_only:
            raise InputError(
                f"The metric {metric!r} compares raw responses, but {len(rdm_only)} entries "
                f"are RDMs (e.g. {rdm_only[0]!r}). Expected responses (from_responses), or use "
                "an RSA metric (spearman, pearson, kendall_taua, cosine)."
            )
        return [average_repeats(a) for a in self.arrays]


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
    #: The fewest stimuli a container holds (BrainData 3; ModelData 1, so that one clip's
    #: features can be looked at; analyses need 3 and say so, see :meth:`block`).
    min_stimuli: ClassVar[int] = 3
    #: Whether entries without repetitions take a cross-validated distance's noiseless limit
    #: (ModelData: models have no repetitions) rather than being refused (BrainData).
    noiseless_limit: ClassVar[bool] = False

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
        self._rdm_cache = RDMCache()
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
            :mod:`crossalign.data.conversions`.
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
        return conversions.from_dataset(cls, ds, areas=areas, source=source)

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
        return conversions.to_dataset(self, layout)

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_rdms(
        cls,
        rdms: Mapping[Any, Any],
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
        zero-diagonal within ``atol`` and non-negative (see
        :func:`crossalign.compute.rdm.check_rdm`:
        ``symmetrise=True`` averages rounding-level asymmetry, ``similarity="1-r"`` or
        ``"kernel"`` converts similarity matrices, ``allow_negative=True`` accepts
        cross-validated distances).

        Parameters
        ----------
        rdms : mapping
            ``{area: array (n_sources, n, n)}``.
        subjects : sequence, optional
            Labels of the stacks' first axis (default 0..S-1).
        stimuli : sequence, optional
            Stimulus ids.
        sources : sequence, optional
            Another name for ``subjects`` (pass one of the two).
        symmetrise : bool
        atol : float
        similarity : {"1-r", "kernel"} or bool, optional
        allow_negative : bool

        Returns
        -------
        BrainData or ModelData
        """
        if subjects is not None and sources is not None:
            raise InputTypeError("Pass either 'subjects' or 'sources', not both.")
        entries, kinds, index = rdm_entries(
            cls,
            rdms,
            subjects if subjects is not None else sources,
            stimuli,
            symmetrise=symmetrise,
            atol=atol,
            similarity=similarity,
            allow_negative=allow_negative,
        )
        return cls(entries, kinds, index)

    @classmethod
    def from_responses(
        cls,
        responses: Mapping[Any, Any],
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

        Parameters
        ----------
        responses : mapping
            ``{(source, area): array (n_stimuli, n_units[, n_repetitions])}``.
        stimuli : sequence, optional
            Stimulus ids.
        constant_units : {"raise", "drop", "keep"}, optional
        dtype : numpy dtype

        Returns
        -------
        BrainData or ModelData
        """
        entries, kinds, index = response_entries(
            cls, responses, stimuli, constant_units or cls.constant_units_default, dtype
        )
        return cls(entries, kinds, index)

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
        """The (source, area) labels of the entries, source-major.

        Returns
        -------
        list of tuple
        """
        return list(self._entries)

    def grid_positions(self) -> np.ndarray:
        """The position of each entry (``keys()`` order) in the flattened
        (source, area) grid: ``source_index * n_areas + area_index``."""
        src = {s: i for i, s in enumerate(self.sources)}
        ars = {a: j for j, a in enumerate(self.areas)}
        n = len(ars)
        return np.array([src[s] * n + ars[a] for s, a in self._entries], dtype=np.intp)

    def kind(self, key: Key) -> Kind:
        """Whether the entry ``key`` holds responses or an RDM.

        Parameters
        ----------
        key : tuple
            A (source, area) label.

        Returns
        -------
        {"responses", "rdm"}
        """
        return self._kinds[self._key(key)]

    def entry_shape(self, key: Key) -> tuple[int, ...]:
        """The shape of the entry ``key`` (stimuli x units [x repetitions], or stimuli x
        stimuli for an RDM), read without building its labelled array.

        Parameters
        ----------
        key : tuple
            A (source, area) label.

        Returns
        -------
        tuple of int
        """
        return tuple(self._entries[self._key(key)].shape)

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[Key]:
        return iter(self._entries)

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def _key(self, key: Any) -> Key:
        if key not in self._entries:
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
        """A new container restricted to (and ordered by) the given sources and areas.

        Parameters
        ----------
        sources, areas : iterable, optional
            Labels to keep (default: all).

        Returns
        -------
        BrainData or ModelData
        """
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
            out._rdm_cache = self._rdm_cache.rows([pos[k] for k in out])
        return out

    def subset_stimuli(self, ids: Iterable[Hashable]) -> Self:
        """A new container restricted to (and ordered by) the given stimulus ids.

        Parameters
        ----------
        ids : iterable
            At least 3 stimulus ids.

        Returns
        -------
        BrainData or ModelData
        """
        target = pd.Index(list(ids), name="stimulus")
        if len(target) < 3:
            raise InputError(f"The 'ids' argument must keep at least 3 stimuli. Got {len(target)}.")
        pos = subset_positions(self._stimuli, target)
        # a run of consecutive stimuli (a dataset's train or test block) is a view, not a copy
        run = len(pos) and np.array_equal(pos, np.arange(pos[0], pos[0] + len(pos)))
        rows: Any = slice(int(pos[0]), int(pos[0]) + len(pos)) if run else pos
        entries = {}
        for key, arr in self._entries.items():
            if self._kinds[key] == "rdm":
                entries[key] = arr[rows, rows] if run else arr[np.ix_(pos, pos)]
            else:
                entries[key] = arr[rows]
        out = type(self)(entries, self._kinds, target, self.attrs)
        out._rdm_cache = self._rdm_cache.stimuli(pos, self.n_stimuli)  # indexing, not recomputing
        return out

    def align_to(self, stimuli: pd.Index) -> Self:
        """Reorder to the stimulus ids ``stimuli`` (same id set required).

        Parameters
        ----------
        stimuli : pandas.Index

        Returns
        -------
        BrainData or ModelData
        """
        if self._stimuli.equals(stimuli):
            return self
        reorder_to(self._stimuli, stimuli, f"This {type(self).__name__}")
        return self.subset_stimuli(stimuli)

    # ------------------------------------------------------------------ RDMs
    def rdm_vectors(self, distance: str = "correlation", ctx: Context | None = None) -> np.ndarray:
        """Upper-triangle RDM vectors (n_entries, n(n-1)/2) in ``keys()`` order.

        RDM entries are used as they are; response entries are turned into RDMs with
        ``distance`` (repetitions averaged first), one representation at a time. The result
        is kept per distance and per the context's backend and precision (use :meth:`block`
        for a part without building the whole).

        Parameters
        ----------
        distance : str
            A name of :data:`crossalign.compute.rdm.DISTANCES`.
        ctx : Context, optional
            Where the products run; default
            :func:`~crossalign.compute.context.current_context`.

        Returns
        -------
        numpy.ndarray
            Read-only.
        """
        DISTANCES.get(distance)
        ctx = current_context() if ctx is None else ctx
        return self._rdm_cache.get(
            distance, ctx, lambda: self.block(self.keys(), ctx).rdm_vectors(distance, ctx)
        )

    def response_arrays(self, metric: str = "this metric") -> list[np.ndarray]:
        """The response matrices (n_stimuli, n_units) in ``keys()`` order, repetitions
        averaged. Raises when an entry only has an RDM.

        Parameters
        ----------
        metric : str
            The metric's name, for the error message.

        Returns
        -------
        list of numpy.ndarray
        """
        return self.block(self.keys()).response_arrays(metric)

    def block(self, keys: Sequence[Key], ctx: Context | None = None) -> EntryBlock:
        """The entries ``keys`` (in that order) as an :class:`EntryBlock`: the unit the engine
        streams and ships to Dask workers. RDM vectors already computed under the context's
        backend and precision are carried along.

        Parameters
        ----------
        keys : sequence of tuple
        ctx : Context, optional
            Default :func:`~crossalign.compute.context.current_context`.

        Returns
        -------
        EntryBlock
        """
        keys = [self._key(k) for k in keys]
        if self.n_stimuli < 3:
            raise InputError(
                f"This {type(self).__name__} holds {self.n_stimuli} stimulus(es); comparing "
                "representations needs at least 3 (an RDM, a score or a fold of predictivity "
                "needs them). Extraction works for any number; analyses need 3 or more."
            )
        cached = {}
        if self._rdm_cache:
            pos = {k: i for i, k in enumerate(self._entries)}
            ctx = current_context() if ctx is None else ctx
            cached = self._rdm_cache.current([pos[k] for k in keys], ctx)
        return EntryBlock(
            tuple(keys),
            tuple(self._entries[k] for k in keys),
            tuple(self._kinds[k] for k in keys),
            cached,
            self.noiseless_limit,
        )

    def rdms(self, distance: str = "correlation") -> xr.DataArray:
        """All RDMs as one DataArray (source, area, stimulus, stimulus2); missing cells of
        brain data are entirely NaN.

        Parameters
        ----------
        distance : str
            A name of :data:`crossalign.compute.rdm.DISTANCES`.

        Returns
        -------
        xarray.DataArray
        """
        if not self.is_grid and not self.missing_cells:
            raise InputError(
                f"This {type(self).__name__} is not a complete {self.source_dim} x "
                f"{self.area_dim} grid; select one {self.source_dim} first."
            )

        n = self.n_stimuli
        sq = np.full((len(self.sources) * len(self.areas), n, n), np.nan)
        sq[self.grid_positions()] = square_from_vector(self.rdm_vectors(distance))
        grid = sq.reshape(len(self.sources), len(self.areas), n, n)
        stim = self._stimuli.to_numpy()
        return xr.DataArray(
            grid,
            dims=(self.source_dim, self.area_dim, "stimulus", "stimulus2"),
            coords={
                self.source_dim: coord(self.sources),
                self.area_dim: coord(self.areas),
                "stimulus": stim,
                "stimulus2": stim,
            },
            attrs={"distance": distance},
        )


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
