"""Layer-to-region assignment.

Scores every layer of a model against every brain region (mean over subjects of
``M(F[l], X[s, r])``) and picks, per region, the best layer. Select on training stimuli and
report on held-out ones: selecting and scoring on the same stimuli inflates the score
(double dipping; see Kriegeskorte et al. 2009, Nat. Neurosci. 12:535).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np
import pandas as pd
import xarray as xr

from .data import BrainData, ModelData
from .engine import score_tensor
from .metrics import Metric

__all__ = ["layer_scores", "select_layers", "split_stimuli"]


def layer_scores(
    model_data: ModelData,
    brain_data: BrainData,
    *,
    metric: str | Metric = "spearman",
    rdm: str = "correlation",
    model: Hashable | None = None,
    stimuli: Sequence[Hashable] | None = None,
) -> xr.DataArray:
    """Mean-over-subjects score of every layer against every region: DataArray (layer, region).

    ``stimuli`` restricts the comparison to those stimulus ids (e.g. a training split).
    """
    name = model_data._one_model(model)
    mdl = model_data.select([name])
    brain = brain_data
    if stimuli is not None:
        mdl = mdl.subset_stimuli(stimuli)
        brain = brain.subset_stimuli(stimuli)
    t = score_tensor(mdl, brain, metric=metric, rdm=rdm)  # (model, layer, subject, region)
    out = t.isel(model=0).mean("subject")
    out.attrs.update(t.attrs, model=str(name), n_stimuli=brain.n_stimuli)
    return out


def select_layers(
    scores: xr.DataArray, *, higher_is_better: bool = True
) -> dict[Hashable, Hashable]:
    """Per region, the layer with the best score (first one on ties)."""
    values = scores.transpose("layer", "region").values
    best = np.argmax(values, axis=0) if higher_is_better else np.argmin(values, axis=0)
    layers = scores.coords["layer"].values
    return {r: _py(layers[i]) for r, i in zip(scores.coords["region"].values, best, strict=True)}


def _py(x: object) -> Hashable:
    return x.item() if isinstance(x, np.generic) else x  # type: ignore[return-value]


def split_stimuli(
    stimuli: pd.Index | Sequence[Hashable],
    test_fraction: float = 0.5,
    *,
    seed: int | None = 0,
) -> tuple[list[Hashable], list[Hashable]]:
    """A seeded random split of stimulus ids into (train, test), each with >= 3 stimuli."""
    ids = list(stimuli)
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(
            "The 'test_fraction' argument must lie strictly between 0 and 1. Got "
            f"{test_fraction!r}."
        )
    n_test = round(len(ids) * test_fraction)
    if n_test < 3 or len(ids) - n_test < 3:
        raise ValueError(
            f"Splitting {len(ids)} stimuli with test_fraction={test_fraction} leaves "
            f"{len(ids) - n_test} train / {n_test} test stimuli; each split needs at least 3. "
            "Expected at least 6 stimuli or a different fraction."
        )
    order = np.random.default_rng(seed).permutation(len(ids))
    test = sorted(order[:n_test].tolist())
    train = sorted(order[n_test:].tolist())
    return [_py(ids[i]) for i in train], [_py(ids[i]) for i in test]
