"""Layer-to-region assignment.

Scores every layer of a model against every brain region (mean over subjects of
``M(F[l], X[s, r])``) and picks, per region, the best layer. Select on training stimuli and
report on held-out ones: selecting and scoring on the same stimuli inflates the score
(double dipping; see Kriegeskorte et al. 2009, Nat. Neurosci. 12:535).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np
import xarray as xr
from scipy.optimize import linear_sum_assignment

from crossalign._validation import check_option
from crossalign.data.containers import BrainData, ModelData
from crossalign.data.labels import plain
from crossalign.engine.core import score_tensor
from crossalign.errors import InputError
from crossalign.metrics import Metric

__all__ = ["assign_layers", "layer_scores", "select_layers"]


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

    Parameters
    ----------
    model_data : ModelData
        The model's layers.
    brain_data : BrainData
        The brain data; the mean over subjects skips missing cells.
    metric : str or Metric
        Any registered metric.
    rdm : str
        The RDM distance for response entries under RSA metrics.
    model : hashable, optional
        Which model of ``model_data``.
    stimuli : sequence, optional
        The stimulus ids to compare on.

    Returns
    -------
    xarray.DataArray
        (layer, region), with the model and ``n_stimuli`` in ``attrs``.
    """
    name = model_data.one_model(model)
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
    """Per region, the layer with the best score (first one on ties).

    Parameters
    ----------
    scores : xarray.DataArray
        (layer, region) scores, e.g. from :func:`layer_scores`.
    higher_is_better : bool
        Whether larger scores are better (False for distances).

    Returns
    -------
    dict
        ``{region: layer}``.
    """
    values = scores.transpose("layer", "region").values
    best = np.argmax(values, axis=0) if higher_is_better else np.argmin(values, axis=0)
    layers = scores.coords["layer"].values
    return {r: plain(layers[i]) for r, i in zip(scores.coords["region"].values, best, strict=True)}


def assign_layers(
    scores: xr.DataArray,
    assignment: str = "argmax",
    *,
    higher_is_better: bool = True,
    region_order: Sequence[Hashable] | None = None,
) -> dict[Hashable, Hashable]:
    """Assign a layer to every region from a (layer, region) score table.

    ``argmax``
        each region its best layer, independently (layers may repeat);
    ``one-to-one``
        distinct layers maximising the total score (Hungarian algorithm; needs at least as
        many layers as regions);
    ``monotone``
        layers in model order that never go back along the region hierarchy
        (``region_order``, default the table's order): ``l*(r1) <= l*(r2)`` when r1 precedes
        r2, maximising the total score (dynamic programming).

    Parameters
    ----------
    scores : xarray.DataArray
        (layer, region) scores, layers in model order.
    assignment : {"argmax", "one-to-one", "monotone"}
        The rule above.
    higher_is_better : bool
        Whether larger scores are better.
    region_order : sequence, optional
        The region hierarchy for ``monotone``.

    Returns
    -------
    dict
        ``{region: layer}``.

    Raises
    ------
    InputError
        An unknown rule, or ``one-to-one`` with fewer layers than regions.
    """
    check_option(assignment, "assignment", ["argmax", "one-to-one", "monotone"])
    table = scores.transpose("layer", "region")
    if region_order is not None:
        table = table.sel(region=list(region_order))
    values = table.values if higher_is_better else -table.values
    layers = [plain(x) for x in table.coords["layer"].values]
    regions = [plain(x) for x in table.coords["region"].values]
    n_layers, n_regions = values.shape
    if assignment == "argmax":
        chosen = np.argmax(values, axis=0)
    elif assignment == "one-to-one":
        if n_layers < n_regions:
            raise InputError(
                f"A one-to-one assignment needs at least as many layers as regions. Got "
                f"{n_layers} layers for {n_regions} regions."
            )

        rows, cols = linear_sum_assignment(values, maximize=True)
        chosen = np.empty(n_regions, dtype=int)
        chosen[cols] = rows
    else:
        # best[j, l]: best total for regions 0..j with region j at layer l (non-decreasing)
        best = np.empty((n_regions, n_layers))
        arg = np.zeros((n_regions, n_layers), dtype=int)
        best[0] = values[:, 0]
        for j in range(1, n_regions):
            prefix = np.maximum.accumulate(best[j - 1])
            prefix_arg = np.zeros(n_layers, dtype=int)
            for li in range(1, n_layers):
                prefix_arg[li] = li if best[j - 1, li] > prefix[li - 1] else prefix_arg[li - 1]
            best[j] = prefix + values[:, j]
            arg[j] = prefix_arg
        chosen = np.empty(n_regions, dtype=int)
        chosen[-1] = int(np.argmax(best[-1]))
        for j in range(n_regions - 1, 0, -1):
            chosen[j - 1] = arg[j, chosen[j]]
    return {r: layers[int(i)] for r, i in zip(regions, chosen, strict=True)}
