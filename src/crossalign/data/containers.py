"""The two containers: :class:`BrainData` (subject x region) and :class:`ModelData` (model x
layer), both :class:`~crossalign.data.representations.Representations`."""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import Any, Literal

import numpy as np
import xarray as xr

from crossalign._validation import as_float_array, describe
from crossalign.data.construct import (
    Key,
)
from crossalign.data.labels import coord
from crossalign.data.representations import Representations
from crossalign.errors import InputError, InputTypeError

__all__ = ["BrainData", "ModelData"]


class BrainData(Representations):
    """Brain representations: entries indexed by (subject, region).

    A subject may lack a region (subject-specific regions of interest, or an entirely NaN RDM
    in a :meth:`from_rdms` stack): statistics average over the (subject, region) pairs that
    exist and report their counts; a statistic that needs 2 subjects in a region raises
    when fewer have it. Build with :meth:`BrainData.from_rdms` (``{region: array
    (n_subjects, n, n)}``), :meth:`BrainData.from_responses` (``{(subject, region): array
    (n, p)}``) or :meth:`BrainData.from_dataset` (xarray).

    Parameters
    ----------
    entries : mapping
        ``{(subject, region): array}``, validated (use the constructors for your arrays).
    kinds : mapping
        ``{(subject, region): "responses" | "rdm"}``.
    stimuli : pandas.Index
        The stimulus ids, in row order.
    attrs : mapping, optional
        Metadata (citation, fixed split, loader records, ...).

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
        """The subjects that have ``region``.

        Parameters
        ----------
        region : Hashable

        Returns
        -------
        list
        """
        return [s for s in self.subjects if (s, region) in self]

    def require_subjects(self, n: int, what: str) -> None:
        """Raise unless every region is present in at least ``n`` subjects (``what`` names
        the statistic in the message).

        Parameters
        ----------
        n : int
        what : str

        Raises
        ------
        InputError
        """
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
    layer stands in for which brain region. Build with :meth:`from_activations`,
    :meth:`from_responses`, :meth:`from_rdms` or :meth:`from_dataset` (xarray).

    Parameters
    ----------
    entries : mapping
        ``{(model, layer): array}``, validated (use the constructors for your arrays).
    kinds : mapping
        ``{(model, layer): "responses" | "rdm"}``.
    stimuli : pandas.Index
        The stimulus ids, in row order.
    attrs : mapping, optional
        Metadata (citation, fixed split, loader records, ...).
    """

    source_dim = "model"
    area_dim = "layer"
    constant_units_default = "keep"
    min_stimuli = 1
    noiseless_limit = True

    @classmethod
    def from_activations(
        cls,
        activations: Mapping[Any, Any],
        model: Hashable = "model",
        stimuli: Sequence[Hashable] | None = None,
        *,
        constant_units: Literal["raise", "drop", "keep"] | None = None,
        dtype: Any = np.float64,
    ) -> ModelData:
        """Build from one model's ``{layer: array (n_stimuli, n_units, ...)}``.

        Activations with more than two axes (e.g. channels x height x width) are flattened
        per stimulus.

        Parameters
        ----------
        activations : mapping
            ``{layer: array (n_stimuli, ...)}`` or DataArrays with a ``stimulus`` coordinate.
        model : Hashable
            The model's label.
        stimuli : sequence, optional
            Stimulus ids (default 0..n-1, or the DataArrays' ids).
        constant_units : {"raise", "drop", "keep"}, optional
            Default ``"keep"``.
        dtype : numpy dtype
            The stored precision.

        Returns
        -------
        ModelData
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
        """Layers of ``model`` (of the only model when there is one).

        Parameters
        ----------
        model : Hashable, optional

        Returns
        -------
        list
        """
        model = self.one_model(model)
        return [a for (s, a) in self._entries if s == model]

    def one_model(self, model: Hashable | None = None) -> Hashable:
        """The model ``model`` names, checked to be held; with None, the only model held.

        Parameters
        ----------
        model : Hashable, optional

        Returns
        -------
        Hashable

        Raises
        ------
        InputError
            ``model`` is not held, or None while several models are.
        """
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
        """``{model: {region: layer}}``: which layer stands in for which region, as recorded
        in ``attrs["layers_by_region"]`` (empty when none is); reading it changes nothing."""
        return dict(self.attrs.get("layers_by_region", {}))
