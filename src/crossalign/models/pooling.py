"""Pooling a layer's output to one vector per stimulus, for every output shape, and
aggregating an image model's frame features over time.

Pooling (``pool=``), by the output's shape (batch first; channels-last video outputs such as
Swin3D's are moved to channels-first before):

============  ==================  ===============  ================  ================
pool          (B, C, T, H, W)     (B, C, H, W)     (B, tokens, D)    (B, D)
============  ==================  ===============  ================  ================
flatten       all units           all units        all units         as is
avg           mean over T, H, W   mean over H, W   mean token        as is
spatial       mean over H, W      mean over H, W   refused           as is
temporal      mean over T         refused          refused           as is
cls           refused             refused          first token       as is
============  ==================  ===============  ================  ================

Temporal aggregation (``temporal=``) of an image model run frame by frame on a clip, from its
per-frame features (B, T, D): ``mean``, ``max``, ``middle`` (the middle frame), ``concat``
(all frames side by side, T x D), as Net2Brain's frame aggregation. ``none`` feeds clips whole
and is for video models only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from crossalign.errors import InputError

__all__ = ["POOLS", "TEMPORAL", "aggregate_frames", "pool_output"]


def _mean(dims: tuple[int, ...]) -> Callable[[Any], Any]:
    return lambda x: x.mean(dim=dims)


#: pool name -> {output ndim: reduction}; a missing ndim is refused with a message.
POOLS: dict[str, dict[int, Callable[[Any], Any]]] = {
    "flatten": {2: lambda x: x, 3: lambda x: x, 4: lambda x: x, 5: lambda x: x},
    "avg": {2: lambda x: x, 3: _mean((1,)), 4: _mean((2, 3)), 5: _mean((2, 3, 4))},
    "spatial": {2: lambda x: x, 4: _mean((2, 3)), 5: _mean((3, 4))},
    "temporal": {2: lambda x: x, 5: _mean((2,))},
    "cls": {2: lambda x: x, 3: lambda x: x[:, 0]},
}

#: temporal aggregation name -> reduction of (B, T, D) frame features to (B, D')
TEMPORAL: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "mean": lambda x: x.mean(axis=1),
    "max": lambda x: x.max(axis=1),
    "middle": lambda x: x[:, x.shape[1] // 2],
    "concat": lambda x: x.reshape(len(x), -1),
}


def pool_output(
    output: Any, pool: str, *, channels_last: bool = False, units_last: bool = False
) -> np.ndarray:
    """A layer's output (a tensor, or a tuple/list holding one) as (B, units) float32.

    Parameters
    ----------
    output : torch.Tensor, tuple or list
    pool : {"flatten", "avg"}
        Flatten every unit, or average over spatial (and temporal) positions.
    channels_last : bool
        Whether the channels are the last axis of the layer's output.
    units_last : bool
        Flatten a feature map that pooling keeps (B, C, H, W) or (B, C, T, H, W) with the
        channels varying fastest, (T, H, W, C), rather than in the layer's own order
        (C, T, H, W). The same units, in the order a projection fitted on channels-last
        features expects (the features of Hoefling et al. 2026 are stored so).

    Returns
    -------
    numpy.ndarray
    """
    import torch

    if isinstance(output, tuple | list):
        output = next(o for o in output if isinstance(o, torch.Tensor))
    elif hasattr(output, "last_hidden_state"):  # Hugging Face model outputs
        output = output.last_hidden_state
    x = output.detach()
    if channels_last and x.ndim in (4, 5):
        x = torch.movedim(x, -1, 1)
    rules = POOLS.get(pool)
    if rules is None:
        raise InputError(f"The 'pool' argument must be one of {sorted(POOLS)}. Got {pool!r}.")
    if x.ndim not in rules:
        raise InputError(
            f"pool={pool!r} does not apply to a layer output of shape {tuple(x.shape)} "
            f"(it pools outputs with {sorted(rules)} dimensions); choose another pool."
        )
    x = rules[x.ndim](x)
    if units_last and x.ndim in (4, 5):
        x = torch.movedim(x, 1, -1)
    return x.reshape(x.shape[0], -1).float().cpu().numpy()


def aggregate_frames(features: np.ndarray, temporal: str) -> np.ndarray:
    """(B, T, D) per-frame features of an image model -> (B, D') by ``temporal``.

    Parameters
    ----------
    features : numpy.ndarray
        (B, T, D).
    temporal : {"mean", "max", "middle", "concat"}

    Returns
    -------
    numpy.ndarray
    """
    if temporal not in TEMPORAL:
        raise InputError(
            f"temporal={temporal!r} cannot aggregate an image model's frames; expected one of "
            f"{sorted(TEMPORAL)} ('none' is for video models, which take a clip whole)."
        )
    return TEMPORAL[temporal](features)
