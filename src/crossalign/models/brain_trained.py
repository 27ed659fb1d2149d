"""Brain-trained networks as models: the architecture (a backbone with one linear read-out
per region) and the weights files that :func:`crossalign.train_brain_model` writes, which load
as the model source ``brain:path.pt`` and are then extracted, evaluated and compared like any
network.

A weights file holds tensors and plain values only (read with ``weights_only=True``): the
backbone's name (a registry model such as ``timm:resnet18``, or ``package.module:factory``,
which needs ``allow_user_modules``), the read-out layer, the regions, the preprocessing and
the state dict.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from crossalign.errors import InputError, MissingFileError
from crossalign.models.adapters import ModelAdapter, weights_hash
from crossalign.models.sources import MODELS, SOURCES, as_adapter, load_model
from crossalign.models.stimuli import Preprocess

__all__ = ["FORMAT", "base_adapter", "brain_network", "load_brain_model", "readout_key"]

#: The file format's marker and version.
FORMAT = "crossalign-brain-model/1"


def base_adapter(spec: str, allow_user_modules: bool = False, seed: int = 0) -> ModelAdapter:
    """The backbone of a brain-trained network: a registry model (random weights, replaced by
    training or a file) or ``package.module:factory`` (user code: only with
    ``allow_user_modules``).

    Parameters
    ----------
    spec : str
    allow_user_modules : bool
    seed : int

    Returns
    -------
    ModelAdapter
    """
    source = spec.partition(":")[0]
    if spec in MODELS or source in SOURCES:
        return load_model(spec, pretrained=False, seed=seed)
    if ":" not in spec:
        raise InputError(
            f"The base model {spec!r} is neither a registered model nor 'package.module:factory'."
        )
    if not allow_user_modules:
        raise InputError(
            f"The base model {spec!r} names Python code to import; pass "
            "allow_user_modules=True to run it."
        )
    module_name, _, factory = spec.partition(":")
    return as_adapter(getattr(importlib.import_module(module_name), factory)(), name=spec)


def brain_network(
    base: ModelAdapter, readout_layer: str, widths: Sequence[int], regions: Sequence[str]
) -> Any:
    """The backbone with one linear read-out per region on ``readout_layer`` (spatially
    averaged when it has spatial axes); its forward pass returns ``{region: prediction}``.

    Parameters
    ----------
    base : ModelAdapter
    readout_layer : str
    widths : sequence of int
        Units per region.
    regions : sequence of str

    Returns
    -------
    torch.nn.Module
    """
    import torch

    modules = dict(base.module.named_modules())
    if readout_layer not in modules:
        raise InputError(
            f"The read-out layer {readout_layer!r} is not a layer of the base model. "
            f"Layers: {list(modules)[1:12]}..."
        )

    class BrainNet(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.backbone = base.module
            self.readout = torch.nn.ModuleDict(
                {
                    readout_key(r): torch.nn.LazyLinear(w)
                    for r, w in zip(regions, widths, strict=True)
                }
            )
            self._features: Any = None
            modules[readout_layer].register_forward_hook(self._keep)

        def _keep(self, _module: Any, _inputs: Any, output: Any) -> None:
            out = output[0] if isinstance(output, tuple | list) else output
            self._features = out.mean(dim=(2, 3)) if out.ndim == 4 else out.flatten(1)

        def forward(self, x: Any) -> dict[str, Any]:
            self.backbone(x)
            return {r: self.readout[readout_key(r)](self._features) for r in regions}

    return BrainNet()


def readout_key(region: str) -> str:
    """A module name for a region's read-out (dots and spaces are not allowed there).

    Parameters
    ----------
    region : str

    Returns
    -------
    str
    """
    return re.sub(r"[^A-Za-z0-9_]", "_", str(region))


def load_brain_model(
    path: str | Path, *, allow_user_modules: bool = False, seed: int = 0
) -> ModelAdapter:
    """A brain-trained network saved by :func:`train_brain_model`, ready for extraction: its
    backbone layers and one ``readout.<region>`` layer per region (the default layers).

    Parameters
    ----------
    path : str or Path
    allow_user_modules : bool
        Allow a ``package.module:factory`` backbone (runs that code).
    seed : int
        Seeds the backbone's construction (its weights then come from the file).

    Returns
    -------
    ModelAdapter
        With ``paradigm="brain-predictive"``.
    """
    import torch

    file = Path(path)
    if not file.is_file():
        raise MissingFileError(f"The brain-trained model file '{file}' does not exist.")
    try:
        record = torch.load(file, map_location="cpu", weights_only=True)
    except Exception as exc:  # refused unpickling, a damaged file
        raise InputError(f"The file '{file}' could not be read as weights: {exc}") from None
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        raise InputError(
            f"The file '{file}' is not a brain-trained model of crossalign (no '{FORMAT}' "
            "record). Expected a file written by train_brain_model."
        )
    base = base_adapter(str(record["base"]), allow_user_modules, seed)
    net = brain_network(base, record["readout_layer"], record["widths"], record["regions"])
    size, crop = int(record["image_size"]), float(record["crop_pct"])
    preprocess = Preprocess(size=size, crop_pct=crop)
    with torch.no_grad():
        net(torch.zeros((1, 3, size, size)))  # materialise the read-outs, then load
    try:
        net.load_state_dict(record["state_dict"])
    except RuntimeError as exc:
        raise InputError(f"The weights in '{file}' do not fit its architecture: {exc}") from None
    net.eval()
    return ModelAdapter(
        name=f"brain:{file.stem}",
        module=net,
        preprocess=preprocess,
        default_layers=[f"readout.{readout_key(r)}" for r in record["regions"]],
        weights_id=weights_hash(net),
        paradigm="brain-predictive",
    )


def _brain_source(path: str, pretrained: bool, seed: int) -> ModelAdapter:
    return load_brain_model(path, seed=seed)


SOURCES["brain"] = _brain_source  # ``brain:path.pt``: a brain-trained network
