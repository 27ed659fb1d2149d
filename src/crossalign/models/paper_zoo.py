"""The models of published experiments, as data: where each comes from, which weights, the
layers the paper extracts and how it feeds frames, and whether crossalign runs it.

Hoefling et al. 2026 ("Only Brains Align with Brains", arXiv:2604.21780) evaluate 47 models;
their public analysis code (``configs/models/*.yaml``, ``multitasking/feature_extraction.py``)
names each model's source, weights tag and extracted layers. Each entry records those facts
and the crossalign model that reproduces it (a :func:`crossalign.load_model` name), or why
there is none yet. ``crossalign models --paper hoefling2026`` prints the table and
``crossalign reproduce hoefling2026`` writes the runnable entries into its models file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from crossalign._registry import Registry
from crossalign.models.stimuli import IMAGENET

__all__ = ["PAPER_ZOOS", "PaperModel", "paper_models"]

#: Frame handling of the image and video models: clips decoded at 4 fps (blended), the first
#: 3 s, frames scaled to 256 x 256 and fed without the model's own resize or crop.
FRAMES_256 = "4 fps, 256 x 256 frames fed as they are (no model resize or crop)"
#: VGGT and Opt-CWM: 1.5 fps, feature maps pooled to 8 x 8.
FRAMES_SLOW = "1.5 fps, feature maps pooled to 8 x 8"


@dataclass(frozen=True)
class PaperModel:
    """One model of a published experiment.

    Parameters
    ----------
    name : str
        The paper's name for it (its config file's stem).
    family : str
        The model family (timm, CLIP, Taskonomy, V-JEPA 2, mmaction2, VISSL, VGGT, Opt-CWM).
    paper_source : str
        The model as the paper's code names it (library/model).
    tag : str
        The published weights the paper used ('' where the source has one set only).
    layers : tuple of str
        The layers the paper extracts, with the paper's names.
    frames : str
        How clips are fed.
    model : str
        The :func:`crossalign.load_model` name that reproduces it ('' where none does yet).
    status : {"runnable", "planned", "not runnable"}
        Whether crossalign runs it now, will (its source is public), or cannot (no package).
    reason : str
        Why it is not runnable, or what differs.
    input : mapping, optional
        How its frames are prepared where that differs from the model's own preprocessing
        (a study's ``models[].input``): the paper feeds timm, VISSL and V-JEPA 2 models the
        256 x 256 frames as they are, normalised with the ImageNet statistics.
    """

    name: str
    family: str
    paper_source: str
    tag: str
    layers: tuple[str, ...]
    frames: str = FRAMES_256
    model: str = ""
    status: str = "runnable"
    reason: str = ""
    input: Mapping[str, Any] | None = None


def _blocks(prefix: str, indices: str) -> tuple[str, ...]:
    return tuple(f"{prefix}{i}" for i in indices.split())


_RESNET50 = _blocks("layer", "1.0 1.1 1.2 2.0 2.1 2.2 2.3 3.1 3.2 3.3 3.4 3.5 4.0 4.1 4.2")
_CONVNEXT = _blocks(
    "stages.",
    "0.blocks.0 0.blocks.2 1.blocks.2 2.blocks.1 2.blocks.4 2.blocks.6 2.blocks.9 "
    "2.blocks.11 2.blocks.14 2.blocks.17 2.blocks.19 2.blocks.22 2.blocks.24 3.blocks.0 "
    "3.blocks.2",
)
_CONVNEXT_TINY = _blocks(
    "stages.",
    "0.blocks.0 0.blocks.1 0.blocks.2 1.blocks.0 1.blocks.2 2.blocks.0 2.blocks.1 "
    "2.blocks.2 2.blocks.4 2.blocks.5 2.blocks.6 2.blocks.8 3.blocks.0 3.blocks.1 3.blocks.2",
)
_VIT_12 = _blocks("image_encoder.transformer.resblocks.", " ".join(str(i) for i in range(12)))
_VIT_L = _blocks("image_encoder.transformer.resblocks.", "0 1 3 4 6 8 9 11 13 14 16 18 19 21 23")
#: the 15 bottleneck blocks ResNet-50 encoders are read at in the paper (layer2.3 is not one)
_BLOCKS_15 = "1.0 1.1 1.2 2.0 2.1 2.2 3.0 3.1 3.2 3.3 3.4 3.5 4.0 4.1 4.2"
_CLIP_RN50 = tuple(f"{b}.relu3" for b in _blocks("image_encoder.layer", _BLOCKS_15))
_TASKONOMY = tuple(f"{b}.relu" for b in _blocks("encoder.layer", _BLOCKS_15))
_TASKS = _blocks(
    "",
    "autoencoding class_object class_scene colorization curvature denoising depth_euclidean "
    "depth_zbuffer edge_occlusion edge_texture egomotion fixated_pose inpainting jigsaw "
    "keypoints2d keypoints3d nonfixated_pose normal point_matching reshading room_layout "
    "segment_semantic segment_unsup25d segment_unsup2d vanishing_point",
)
_CLIP_NOTE = (
    "OpenAI's weights through open_clip (QuickGELU architectures), the paper's layer names "
    "mapped to open_clip's modules; frames take CLIP's resize, centre crop and normalisation, "
    "as in the paper"
)
_TIMM_NOTE = (
    "the paper's timm weights; the paper's 256 x 256 frames fed as they are (no resize or "
    "crop; ImageNet statistics)"
)
#: The paper's input for timm, VISSL and V-JEPA 2: the 256 x 256 frames as they are (no
#: resize, no crop), normalised with the ImageNet statistics.
AS_IS: Mapping[str, Any] = {
    "size": 256,
    "crop_pct": 1.0,
    "mean": list(IMAGENET.mean),
    "std": list(IMAGENET.std),
}
_VJEPA_NOTE = (
    "built here as a video model (vjepa2:<size>; weights from the hub id), its encoder blocks "
    "named blocks.N as in its authors' code; the paper's 256 x 256 clips fed as they are"
)

_HOEFLING2026: tuple[PaperModel, ...] = (
    *(
        PaperModel(f"timm_{arch}.{tag}", "timm", f"timm/{arch}.{tag}", tag, layers,
                   model=f"timm:{arch}.{tag}", reason=_TIMM_NOTE, input=AS_IS)
        for arch, tag, layers in (
            ("resnet18", "a1_in1k", _blocks("layer", "1.0 1.1 2.0 2.1 3.0 3.1 4.0 4.1")),
            ("resnet50", "a1_in1k", _RESNET50),
            ("convnext_tiny", "fb_in1k", _CONVNEXT_TINY),
            ("convnext_small", "fb_in1k", _CONVNEXT),
            ("convnext_base", "fb_in1k", _CONVNEXT),
            ("convnext_large", "fb_in1k", _CONVNEXT),
        )
    ),
    *(
        PaperModel(name, "CLIP", f"clip/{arch}", "openai", layers,
                   model=f"openclip:{spec}-quickgelu/openai", reason=_CLIP_NOTE)
        for name, arch, spec, layers in (
            ("clip_rn50", "RN50", "RN50", _CLIP_RN50),
            ("clip_vit-b_16", "ViT-B/16", "ViT-B-16", _VIT_12),
            ("clip_vit-b_32", "ViT-B/32", "ViT-B-32", _VIT_12),
            ("clip_vit-l_14", "ViT-L/14", "ViT-L-14", _VIT_L),
            ("clip_vit-l_14@336px", "ViT-L/14@336px", "ViT-L-14-336", _VIT_L),
        )
    ),
    *(
        PaperModel(f"taskonomy_{task}", "Taskonomy", f"taskonomy/{task}", "", _TASKONOMY,
                   model=f"taskonomy:{task}")
        for task in _TASKS
    ),
    *(
        PaperModel(f"v_jepa_vjepa2_{size}", "V-JEPA 2", f"v_jepa/vjepa2_{size}", "",
                   _blocks("blocks.", indices), model=f"vjepa2:{size}", reason=_VJEPA_NOTE,
                   input=AS_IS)
        for size, indices in (
            ("vit_large", "0 1 3 5 6 8 10 11 13 15 17 18 20 22 23"),
            ("vit_huge", "0 2 4 6 9 11 13 15 18 20 22 25 27 29 31"),
            ("vit_giant", "0 2 5 8 11 14 17 19 22 25 28 31 34 37 39"),
            ("vit_giant_384", "0 2 5 8 11 14 17 19 22 25 28 31 34 37 39"),
        )
    ),
    *(
        PaperModel(name, "mmaction2", f"mmaction2/{config}", "kinetics400", layers,
                   status="not runnable",
                   reason="mmaction2 needs mmcv's compiled operators, which the package "
                   "registries do not provide for CPU-only Python 3.11; no other weights "
                   "are substituted")
        for name, config, layers in (
            ("mmaction2_mvit_small", "mvit-small-p244_32xb16-16x4x1-200e_kinetics400-rgb",
             _blocks("backbone.blocks.", " ".join(str(i) for i in range(16)))),
            ("mmaction2_swin_tiny",
             "swin-tiny-p244-w877_in1k-pre_8xb8-amp-32x2x1-30e_kinetics400-rgb",
             ("backbone.layers.0", "backbone.layers.1", "backbone.layers.2.blocks.1",
              "backbone.layers.2.blocks.2", "backbone.layers.2.blocks.3",
              "backbone.layers.2.blocks.4", "backbone.layers.2.blocks.5", "backbone.layers.3")),
            ("mmaction2_timesformer_jointST",
             "timesformer_jointST_8xb8-8x32x1-15e_kinetics400-rgb",
             _blocks("backbone.transformer_layers.layers.",
                     " ".join(str(i) for i in range(12)))),
        )
    ),
    *(
        PaperModel(f"vissl_simclr_{arch}_1000epochs", "VISSL SimCLR",
                   f"vissl/simclr_{arch}_1000epochs", "1000 epochs", layers,
                   model=f"vissl:simclr_{arch}_1000epochs", input=AS_IS)
        for arch, layers in (
            ("resnet50", _RESNET50),
            ("resnet101", _blocks("layer", "1.0 1.2 2.1 3.0 3.2 3.4 3.7 3.9 3.11 3.14 3.16 "
                                  "3.18 3.21 4.0 4.2")),
        )
    ),
    PaperModel("vggt_vggt-1b", "VGGT", "vggt/VGGT-1B", "",
               _blocks("aggregator.patch_embed.blocks.",
                       "0 1 3 5 6 8 10 11 13 15 17 18 20 22 23"),
               frames=FRAMES_SLOW, status="not runnable",
               reason="VGGT is published as a GitHub repository, not a package on PyPI"),
    PaperModel("opt_cwm_opt_cwm", "Opt-CWM", "opt_cwm/opt_cwm", "",
               _blocks("cwm_model.encoder.blocks.", " ".join(str(i) for i in range(12))),
               frames=FRAMES_SLOW, status="not runnable",
               reason="Opt-CWM is published as a GitHub repository, not a package on PyPI"),
)  # fmt: skip

PAPER_ZOOS: Registry[tuple[PaperModel, ...]] = Registry("paper")
PAPER_ZOOS.register("hoefling2026", _HOEFLING2026)


def paper_models(paper: str, status: str | None = None) -> Mapping[str, PaperModel]:
    """The models of ``paper`` by the paper's names, in the paper's order.

    Parameters
    ----------
    paper : str
        A paper in :data:`PAPER_ZOOS` (``hoefling2026``).
    status : str, optional
        Only the entries with this status (``runnable``, ``planned``, ``not runnable``).

    Returns
    -------
    Mapping of str to PaperModel
    """
    zoo = PAPER_ZOOS.get(paper)
    return MappingProxyType({m.name: m for m in zoo if status is None or m.status == status})
