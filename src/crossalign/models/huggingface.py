"""Hugging Face transformers vision and video models as ``hf:<hub id or local folder>``.

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
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from crossalign.errors import InputError
from crossalign.models.adapters import ModelAdapter, weights_hash
from crossalign.models.stimuli import IMAGENET, Preprocess

__all__ = ["VIDEO_MODEL_TYPES", "load_hf"]

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
    module.eval()
    video = config.model_type in VIDEO_MODEL_TYPES
    blocks = [
        n
        for n, _ in module.named_modules()
        if re.search(r"(^|\.)layers?\.\d+$", n) and not n.startswith("predictor.")
    ]
    pattern, other = _BLOCK_NAMES.get(config.model_type, ("", ""))
    aliases = {re.sub(pattern, other, n): n for n in blocks if pattern and re.fullmatch(pattern, n)}
    label = source if not Path(source).is_dir() else Path(source).name
    return ModelAdapter(
        name=f"hf:{label}" + ("" if pretrained else f"-untrained-seed{seed}"),
        module=module,
        preprocess=_preprocess(source, config),
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
