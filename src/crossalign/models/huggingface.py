"""Hugging Face transformers vision and video models as ``hf:<hub id or local folder>``, and
the V-JEPA 2 encoders as ``vjepa2:<size>``.

The model's own image processor gives the preprocessing (resize, centre crop, mean and SD);
its transformer blocks (``...layer.N`` / ``...layers.N``) are the default layers, whose outputs
are (batch, tokens, features): pool them with ``pool="avg"`` (mean token) or ``"cls"``.
Video models (VideoMAE, TimeSformer, ViViT, V-JEPA 2) take clips of ``config.num_frames``
(V-JEPA 2: ``frames_per_clip``) frames as ``pixel_values`` (V-JEPA 2: ``pixel_values_videos``),
(batch, frames, channels, height, width); V-JEPA 2's encoder blocks also answer to its authors'
names ``blocks.N``, and its predictor's blocks are not default layers.

``pretrained=True`` loads the weights of a local folder (``save_pretrained`` layout) or of a
hub id (downloaded by transformers into its cache; offline, only what is cached there).
``pretrained=False`` builds the architecture from its config with random weights, seeded.

``vjepa2:<size>`` names the four V-JEPA 2 encoders (Assran et al. 2025) whose architectures are
written here, so that they build with random weights without the hub; their trained weights
come from their hub ids.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

from crossalign._validation import check_option
from crossalign.errors import InputError
from crossalign.models.adapters import ModelAdapter, weights_hash
from crossalign.models.stimuli import IMAGENET, Preprocess

__all__ = ["VIDEO_MODEL_TYPES", "VJEPA2", "load_hf", "load_vjepa2"]

#: Hugging Face model types that take clips.
VIDEO_MODEL_TYPES = ("videomae", "timesformer", "vivit", "vjepa2")
#: The keyword a model type takes its input by (default ``pixel_values``).
_INPUT_NAMES = {"vjepa2": "pixel_values_videos"}
#: Other names of a model type's blocks: (pattern of the module path, the other name), e.g.
#: V-JEPA 2's ``blocks.N`` of its authors' code (the names Hoefling et al. 2026 use).
_BLOCK_NAMES = {"vjepa2": (r"encoder\.layer\.(\d+)", r"blocks.\1")}

_WOLF = """@inproceedings{wolf2020transformers,
  title={Transformers: State-of-the-Art Natural Language Processing},
  author={Wolf, Thomas and others}, booktitle={EMNLP: System Demonstrations},
  pages={38--45}, year={2020}}"""


def _transformers() -> Any:
    try:
        import transformers
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("hf: models need transformers: pip install 'crossalign[hf]'") from exc
    return transformers


def _config(source: str) -> Any:
    tf = _transformers()
    local = Path(source).is_dir()
    try:
        return tf.AutoConfig.from_pretrained(source, local_files_only=local)
    except OSError as exc:
        raise InputError(
            f"No Hugging Face model config for {source!r}: {_first_line(exc)}. Give a local "
            "folder written by save_pretrained, or a hub id (downloaded by transformers; "
            "offline only if it is in the transformers cache)."
        ) from None
    except (ValueError, KeyError) as exc:  # an unknown or missing model_type
        raise InputError(
            f"The Hugging Face config of {source!r} names a model type this transformers "
            f"version does not know ({_first_line(exc)}). Expected a config.json with a "
            "known 'model_type' (e.g. vit, videomae, clip_vision_model)."
        ) from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _preprocess(source: str, config: Any) -> Preprocess:
    """The model's image processor as a :class:`Preprocess` (ImageNet statistics and the
    config's image size when the folder has no processor)."""
    tf = _transformers()
    try:
        proc = tf.AutoImageProcessor.from_pretrained(source, local_files_only=Path(source).is_dir())
    except (OSError, ValueError):
        side = int(getattr(config, "image_size", 224))
        return Preprocess(size=side, crop_pct=1.0, mean=IMAGENET.mean, std=IMAGENET.std)
    crop = getattr(proc, "crop_size", None) or getattr(proc, "size", None) or {}
    size = getattr(proc, "size", None) or {}
    crop_side = int(crop.get("height") or crop.get("shortest_edge") or 224)
    short = int(size.get("shortest_edge") or size.get("height") or crop_side)
    return Preprocess(
        size=crop_side,
        crop_pct=crop_side / short if getattr(proc, "do_center_crop", False) else 1.0,
        mean=tuple(getattr(proc, "image_mean", IMAGENET.mean)),
        std=tuple(getattr(proc, "image_std", IMAGENET.std)),
        interpolation="bilinear",
    )


def load_hf(source: str, pretrained: bool = True, seed: int = 0) -> ModelAdapter:
    """A transformers vision or video model from a hub id or a local folder.

    Parameters
    ----------
    source : str
        A hub id (``"MCG-NJU/videomae-base"``) or a folder written by ``save_pretrained``.
    pretrained : bool
        Load the weights (else random weights from the config, seeded).
    seed : int
        Seeds the random initialisation.

    Returns
    -------
    ModelAdapter
    """
    import torch

    tf = _transformers()
    config = _config(source)
    torch.manual_seed(seed)
    if pretrained:
        try:
            module = tf.AutoModel.from_pretrained(source, local_files_only=Path(source).is_dir())
        except (OSError, ValueError, KeyError, RuntimeError) as exc:
            raise InputError(
                f"transformers could not load the weights of {source!r} ({_first_line(exc)}). "
                "Expected a folder written by save_pretrained (config.json with "
                "model.safetensors or pytorch_model.bin) or a hub id; offline, use such a "
                "folder, or pretrained=False (random initialisation, seeded)."
            ) from None
    else:
        module = tf.AutoModel.from_config(config)
    label = source if not Path(source).is_dir() else Path(source).name
    name = f"hf:{label}" + ("" if pretrained else f"-untrained-seed{seed}")
    return _adapter(module, config, name, _preprocess(source, config), pretrained)


#: The V-JEPA 2 encoders (Assran et al. 2025): hub id and the architecture of each, as the
#: authors' released configurations give them (patch 16, tubelet 2, 64 frames per clip).
VJEPA2: dict[str, dict[str, Any]] = {
    "vit_large": {"hub": "facebook/vjepa2-vitl-fpc64-256", "crop_size": 256,
                  "hidden_size": 1024, "num_attention_heads": 16, "num_hidden_layers": 24,
                  "mlp_ratio": 4.0},
    "vit_huge": {"hub": "facebook/vjepa2-vith-fpc64-256", "crop_size": 256,
                 "hidden_size": 1280, "num_attention_heads": 16, "num_hidden_layers": 32,
                 "mlp_ratio": 4.0},
    "vit_giant": {"hub": "facebook/vjepa2-vitg-fpc64-256", "crop_size": 256,
                  "hidden_size": 1408, "num_attention_heads": 22, "num_hidden_layers": 40,
                  "mlp_ratio": 48 / 11},
    "vit_giant_384": {"hub": "facebook/vjepa2-vitg-fpc64-384", "crop_size": 384,
                      "hidden_size": 1408, "num_attention_heads": 22, "num_hidden_layers": 40,
                      "mlp_ratio": 48 / 11},
}  # fmt: skip

_ASSRAN = """@article{assran2025vjepa2,
  title={V-JEPA 2: Self-Supervised Video Models Enable Understanding, Prediction and Planning},
  author={Assran, Mido and others}, journal={arXiv:2506.09985}, year={2025}}"""


def load_vjepa2(size: str, pretrained: bool = True, seed: int = 0) -> ModelAdapter:
    """A V-JEPA 2 video encoder, ``vjepa2:<size>``: its architecture is built here (no hub
    needed for random weights); trained weights come from its hub id through transformers.

    Parameters
    ----------
    size : {"vit_large", "vit_huge", "vit_giant", "vit_giant_384"}
    pretrained : bool
        Load the released weights (downloaded by transformers); else random, seeded.
    seed : int
        Seeds the random initialisation.

    Returns
    -------
    ModelAdapter
        A video model (clips of 64 frames as ``pixel_values_videos``), its encoder blocks as
        the default layers, also named ``blocks.N`` as in the authors' code.
    """
    import torch

    check_option(size, "model", list(VJEPA2), "vjepa2")
    spec = dict(VJEPA2[size])
    hub = spec.pop("hub")
    if pretrained:
        adapter = load_hf(hub, True, seed)
        return dataclasses.replace(adapter, name=f"vjepa2:{size}", citation=_ASSRAN)
    tf = _transformers()
    config = tf.VJEPA2Config(frames_per_clip=64, patch_size=16, tubelet_size=2, **spec)
    torch.manual_seed(seed)
    module = tf.AutoModel.from_config(config)
    side = int(spec["crop_size"])
    preprocess = Preprocess(
        size=side,
        crop_pct=224 / 256,  # the processor's resize to side * 256 / 224, then the centre crop
        mean=IMAGENET.mean,
        std=IMAGENET.std,
        interpolation="bilinear",
    )
    adapter = _adapter(module, config, f"vjepa2:{size}-untrained-seed{seed}", preprocess, False)
    return dataclasses.replace(adapter, citation=_ASSRAN)


def _adapter(
    module: Any, config: Any, name: str, preprocess: Preprocess, pretrained: bool
) -> ModelAdapter:
    """A built transformers model as a :class:`ModelAdapter`: its blocks as default layers
    (the predictor's left out), the input keyword and block names of its model type."""
    module.eval()
    video = config.model_type in VIDEO_MODEL_TYPES
    blocks = [
        n
        for n, _ in module.named_modules()
        if re.search(r"(^|\.)layers?\.\d+$", n) and not n.startswith("predictor.")
    ]
    pattern, other = _BLOCK_NAMES.get(config.model_type, ("", ""))
    aliases = {re.sub(pattern, other, n): n for n in blocks if pattern and re.fullmatch(pattern, n)}
    return ModelAdapter(
        name=name,
        module=module,
        preprocess=preprocess,
        default_layers=blocks or [n for n, _ in module.named_children()],
        weights_id=weights_hash(module),
        paradigm=("video" if video else "user") if pretrained else "untrained",
        citation=_WOLF,
        kind="video" if video else "image",
        frames=int(getattr(config, "num_frames", 0) or getattr(config, "frames_per_clip", 16)),
        video_layout="BTCHW",
        input_name=_INPUT_NAMES.get(config.model_type, "pixel_values"),
        layer_aliases=aliases,
    )
