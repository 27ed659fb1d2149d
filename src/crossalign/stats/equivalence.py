"""Practical equivalence to the best model, and the double criterion on score and APS."""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import numpy as np
import xarray as xr

from crossalign.data.labels import coord
from crossalign.errors import InputError

__all__ = [
    "double_criterion",
    "equivalence",
]


def equivalence(
    means: Mapping[Any, float],
    lower_bounds: Mapping[Any, float],
    *,
    higher_is_better: bool = True,
    upper_bounds: Mapping[Any, float] | None = None,
) -> dict[Hashable, bool]:
    """Which models are practically equivalent to the best one.

    The best model has the highest mean; a model is equivalent when its mean lies at or above
    the best model's lower CI bound (at or below its upper bound when lower is better).

    Parameters
    ----------
    means : mapping
        ``{model: mean}``.
    lower_bounds : mapping
        ``{model: lower CI bound}``.
    higher_is_better : bool
        Whether larger means are better.
    upper_bounds : mapping, optional
        ``{model: upper CI bound}``, needed when lower is better.

    Returns
    -------
    dict
        ``{model: equivalent to the best}``.

    Raises
    ------
    InputError
        Lower is better and no upper bounds are given.
    """
    names = list(means)
    if not names:
        return {}
    if higher_is_better:
        best = max(names, key=lambda k: means[k])
        threshold = lower_bounds[best]
        return {k: bool(means[k] >= threshold) for k in names}
    if upper_bounds is None:
        raise InputError("Pass 'upper_bounds' when lower scores are better.")
    best = min(names, key=lambda k: means[k])
    return {k: bool(means[k] <= upper_bounds[best]) for k in names}


def double_criterion(
    evaluations: Mapping[Any, xr.Dataset],
    *,
    regions: Sequence[Hashable] | None = None,
) -> xr.Dataset:
    """The equivalence analysis for several models evaluated with :func:`evaluate_model`.

    Per region and model: ``score_equivalent`` (mean score >= best model's lower CI bound),
    ``aps_equivalent`` (the same for APS) and ``double`` (both). All evaluations must use the
    same subjects, seed and bootstrap count (paired resamples).

    Parameters
    ----------
    evaluations : mapping
        ``{model: Dataset}`` from :func:`evaluate_model` (with bootstrap samples).
    regions : sequence, optional
        The regions to report; default all.

    Returns
    -------
    xarray.Dataset
        Boolean (model, region) variables ``score_equivalent``, ``aps_equivalent`` and
        ``double``.
    """
    names = list(evaluations)
    if not names:
        raise InputError("The 'evaluations' argument must hold at least one model.")
    first = evaluations[names[0]]
    regions = list(regions) if regions is not None else list(first.coords["region"].values)
    for name in names:
        ev = evaluations[name]
        if "score_low" not in ev:
            raise InputError(
                f"The evaluation of {name!r} has no confidence intervals; run evaluate_model "
                "with n_bootstrap > 0."
            )
    out = {k: np.zeros((len(regions), len(names)), dtype=bool) for k in ("score", "aps")}
    for i, r in enumerate(regions):
        for stat in ("score", "aps"):
            means = {n: float(evaluations[n][f"{stat}_mean"].sel(region=r)) for n in names}
            lows = {n: float(evaluations[n][f"{stat}_low"].sel(region=r)) for n in names}
            eq = equivalence(means, lows)
            out[stat][i] = [eq[n] for n in names]
    coords = {"region": coord(regions), "model": coord(names)}
    dims = ("region", "model")
    return xr.Dataset(
        {
            "score_equivalent": (dims, out["score"]),
            "aps_equivalent": (dims, out["aps"]),
            "double": (dims, out["score"] & out["aps"]),
        },
        coords=coords,
    )
