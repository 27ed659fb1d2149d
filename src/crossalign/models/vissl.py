"""VISSL's self-supervised ResNets (Goyal et al. 2021, https://github.com/facebookresearch/vissl):
their model-zoo checkpoints read into torchvision ResNets, without VISSL itself.

A VISSL checkpoint keeps the trunk's weights under ``classy_state_dict -> base_model -> model ->
trunk`` (or ``model_state_dict``), each name prefixed ``_feature_blocks.``; without the prefix
they are a torchvision ResNet's (no ``fc``: SimCLR's head is not part of the trunk).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from crossalign.errors import InputError

__all__ = ["VISSL_CHECKPOINTS", "vissl_trunk"]

_ZOO = "https://dl.fbaipublicfiles.com/vissl/model_zoo/"
#: SimCLR trunks of VISSL's model zoo: name -> (torchvision architecture, checkpoint URL,
#: training epochs).
VISSL_CHECKPOINTS: Mapping[str, tuple[str, str, int]] = {
    f"simclr_resnet{depth}_{epochs}epochs": (
        f"resnet{depth}",
        f"{_ZOO}simclr_rn{depth}_{epochs}ep_simclr_8node_resnet_16_07_20.{tag}/"
        f"model_final_checkpoint_phase{epochs - 1}.torch",
        epochs,
    )
    for depth, epochs, tag in (
        (50, 100, "8edb093e"),
        (50, 200, "a816c0ef"),
        (50, 400, "36b338ef"),
        (50, 800, "7e8feed1"),
        (50, 1000, "afe428c7"),
        (101, 100, "1ff6cb4b"),
        (101, 1000, "35063cea"),
    )
}


def vissl_trunk(checkpoint: Mapping[str, Any]) -> dict[str, Any]:
    """The trunk's state dict of a VISSL checkpoint, with torchvision's parameter names.

    Parameters
    ----------
    checkpoint : mapping
        A loaded VISSL checkpoint.

    Returns
    -------
    dict
        Parameter name -> tensor.
    """
    if "model_state_dict" in checkpoint:
        weights = checkpoint["model_state_dict"]
    else:
        try:
            weights = checkpoint["classy_state_dict"]["base_model"]["model"]["trunk"]
        except (KeyError, TypeError):
            raise InputError(
                "The file is not a VISSL checkpoint: expected 'classy_state_dict' -> "
                "'base_model' -> 'model' -> 'trunk' (or 'model_state_dict'). Got the keys "
                f"{sorted(map(str, checkpoint))[:8]}."
            ) from None
    prefix = "_feature_blocks."
    return {k[len(prefix) :] if k.startswith(prefix) else k: v for k, v in weights.items()}
