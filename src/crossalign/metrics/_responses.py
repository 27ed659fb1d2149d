"""Shared checks and helpers for metrics on raw responses."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from crossalign.errors import InputError


def as_responses(
    reps: Any, labels: Sequence[Any] | None, metric: str, *, min_stimuli: int = 3
) -> list[np.ndarray]:
    """The representations as a list of float64 (n, p_k) arrays with one shared n."""
    items = list(reps) if not isinstance(reps, np.ndarray) or reps.ndim == 3 else [reps]
    labs = list(labels) if labels is not None else list(range(len(items)))
    out = []
    n = None
    for lab, x in zip(labs, items, strict=True):
        arr = np.asarray(x, dtype=np.float64)
        if arr.ndim == 1:
            arr = arr[:, None]
        if arr.ndim != 2:
            raise InputError(
                f"The '{metric}' metric takes response matrices (n_stimuli, n_units). Got an "
                f"array of shape {arr.shape} for {lab!r}."
            )
        if n is None:
            n = arr.shape[0]
        elif arr.shape[0] != n:
            raise InputError(
                f"The '{metric}' metric needs the same stimuli in every representation. Got "
                f"{arr.shape[0]} stimuli for {lab!r} and {n} before."
            )
        if not np.isfinite(arr).all():
            raise InputError(f"The responses of {lab!r} must be finite for '{metric}'.")
        out.append(arr)
    if n is not None and n < min_stimuli:
        raise InputError(f"The '{metric}' metric needs at least {min_stimuli} stimuli. Got {n}.")
    return out


def centre(x: np.ndarray) -> np.ndarray:
    return x - x.mean(axis=0, keepdims=True)
