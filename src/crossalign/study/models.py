"""The models of a study, built from its config: registry models, user modules, activation and
RDM files, the pixel baseline."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import numpy as np

from crossalign.analysis.encoding import EncodingModel
from crossalign.analysis.splits import split_stimuli
from crossalign.data.containers import BrainData, ModelData
from crossalign.errors import InputError
from crossalign.evaluation.protocols import get_protocol
from crossalign.io import load_activations
from crossalign.models import as_adapter, extract, load_brain_model, load_model
from crossalign.models.extract import ClipSampling
from crossalign.models.stimuli import IMAGENET
from crossalign.study.config import (
    FILE_SOURCES,
    IMAGE_SOURCES,
    DatasetConfig,
    EncodingConfig,
    ModelConfig,
    StudyConfig,
)

__all__: list[str] = []


def models_for(cfg: StudyConfig, dataset: DatasetConfig) -> list[ModelConfig]:
    return [
        m
        for m in cfg.models
        if m.datasets is None or dataset.key in m.datasets or dataset.name in m.datasets
    ]


def check_models(
    cfg: StudyConfig, dataset: DatasetConfig, brain: BrainData, allow_user_modules: bool
) -> None:
    """Refuse, before anything runs, a model that cannot run on this dataset or whose
    results would share a name with another model's."""
    names = [m.name for m in cfg.models]
    for mcfg in models_for(cfg, dataset):
        if mcfg.source == "module":
            _user_module_allowed(mcfg, allow_user_modules)
        needs_images = mcfg.source in IMAGE_SOURCES or (
            mcfg.source == "encoding" and mcfg.path is None
        )
        if needs_images and not brain.attrs.get("stimulus_paths"):
            raise InputError(
                f"Model {mcfg.name!r} needs the stimulus images of dataset {dataset.key!r}, "
                "which has none. Give the dataset a 'stimuli' folder (one image per stimulus "
                f"id, named by the id), or limit the model with datasets = [...]."
            )
        if mcfg.source == "predictors":
            preds = brain.attrs.get("models")
            if preds is None:
                raise InputError(
                    f"Model {mcfg.name!r} (source 'predictors') needs a dataset with "
                    f"hand-built predictor models; dataset {dataset.key!r} has none. Limit "
                    "it with datasets = [...]."
                )
            clash = sorted({str(p) for p in preds.models} & set(names))
            if clash:
                raise InputError(
                    f"The predictor models of dataset {dataset.key!r} are named {clash}, as "
                    "are other models of the study; results are keyed by model name. Rename "
                    "those models."
                )


# ---------------------------------------------------------------------- models
def pixel_model(size: int = 64) -> Callable[[list[Any]], dict[str, np.ndarray]]:
    """A pixel-space model: each image as grey levels on a size x size grid."""

    def pixels(images: list[Any]) -> dict[str, np.ndarray]:
        from PIL import Image

        out = []
        for image in images:
            if isinstance(image, str | Path):
                with Image.open(image) as img:
                    grey = img.convert("L").resize((size, size), Image.Resampling.BILINEAR)
            else:
                grey = Image.fromarray(np.asarray(image)).convert("L").resize((size, size))
            out.append(np.asarray(grey, dtype=np.float64).ravel() / 255.0)
        return {"pixels": np.stack(out)}

    pixels.name = "pixels"  # type: ignore[attr-defined]
    return pixels


def _user_module_allowed(mcfg: ModelConfig, allowed: bool) -> None:
    if not allowed:
        raise InputError(
            f"Model {mcfg.name!r} names Python code to import ({mcfg.module!r}); pass "
            "--allow-user-modules to run code named in a config file."
        )
    if not mcfg.module or ":" not in mcfg.module:
        raise InputError(
            f"Model {mcfg.name!r}: 'module' must look like 'package.module:factory'. Got "
            f"{mcfg.module!r}."
        )


def user_module(mcfg: ModelConfig, allowed: bool) -> Any:
    _user_module_allowed(mcfg, allowed)

    module_name, _, factory = str(mcfg.module).partition(":")
    return getattr(importlib.import_module(module_name), factory)()


def registry_model(mcfg: ModelConfig, allowed: bool) -> Any:
    adapter = load_model(
        mcfg.model or mcfg.name, pretrained=mcfg.pretrained, seed=mcfg.seed, weights=mcfg.weights
    )
    if mcfg.input is None:
        return adapter
    return as_adapter(adapter, preprocess=mcfg.input.applied_to(adapter.preprocess or IMAGENET))


def _file_model(mcfg: ModelConfig, brain: BrainData) -> ModelData:
    kind: Literal["rdm", "auto"] = "rdm" if mcfg.source == "rdms" else "auto"
    layers = mcfg.layers if isinstance(mcfg.layers, list) else None
    md = load_activations(str(mcfg.path), model=mcfg.name, layers=layers, kind=kind)
    return md.align_to(brain.stimuli)


def build_models(
    cfg: StudyConfig,
    dataset: DatasetConfig,
    brain: BrainData,
    allow_user_modules: bool,
    console: Any,
) -> list[tuple[ModelConfig, ModelData]]:
    out = []
    for mcfg in models_for(cfg, dataset):
        if mcfg.source == "predictors":
            preds = brain.attrs["models"]
            for name in preds.models:
                md = preds.select([name])
                md.attrs.update(preds.attrs)
                out.append((mcfg.model_copy(update={"name": str(name)}), md))
            continue
        if mcfg.source in FILE_SOURCES:
            out.append((mcfg, _file_model(mcfg, brain)))
            continue
        if mcfg.source == "encoding":
            out.append((mcfg, _encoding_model(cfg, dataset, mcfg, brain, console)))
            continue
        model = IMAGE_MODELS[mcfg.source](mcfg, allow_user_modules)
        out.append((mcfg, _extracted(cfg, dataset, mcfg, model, brain, console)))
    return out


def _extracted(
    cfg: StudyConfig,
    dataset: DatasetConfig,
    mcfg: ModelConfig,
    model: Any,
    brain: BrainData,
    console: Any,
) -> ModelData:
    """A model's activations to the dataset's stimuli, with the entry's and study's
    extraction settings (layers, pooling, projection fitted on the study's training stimuli,
    clips, batches, cache)."""
    return extract(
        model,
        brain,
        layers=mcfg.layers,
        pool=mcfg.pool,
        projection=projection(cfg, mcfg),
        projection_fit=study_split(cfg, brain)[0],
        **_clip_sampling(dataset, mcfg),
        temporal=mcfg.temporal,
        batch_size=cfg.batch_size,
        cache=cfg.cache_dir or True,
        progress=console.is_terminal,
    )


def study_split(cfg: StudyConfig, brain: BrainData) -> tuple[list[Any], list[Any]]:
    """The (train, test) stimuli every evaluation of the study uses: the dataset's fixed
    split, else the study's seeded split (as :meth:`crossalign.Evaluation.fit` draws it)."""
    fixed = brain.attrs.get("split")
    if fixed is not None:
        return list(fixed["train"]), list(fixed["test"])
    return split_stimuli(brain.stimuli, cfg.test_fraction, seed=cfg.seed)


def _encoding_model(
    cfg: StudyConfig, dataset: DatasetConfig, mcfg: ModelConfig, brain: BrainData, console: Any
) -> ModelData:
    """A brain-predictive model: encoding models from the backbone's features, fitted on the
    study's training stimuli only, as an in-silico brain over every stimulus (its training
    stimuli recorded in ``attrs["fitted_on"]``)."""
    settings = mcfg.encoding or EncodingConfig()
    if mcfg.path is not None:
        backbone = _file_model(mcfg, brain)
    else:
        backbone = _extracted(cfg, dataset, mcfg, registry_model(mcfg, False), brain, console)
    train, _ = study_split(cfg, brain)
    encoder = EncodingModel(
        cv=settings.cv,
        seed=settings.seed,
        subjects=settings.subjects,
        refit=settings.refit,
        layers=settings.layers,
    ).fit(backbone, brain, stimuli=train)
    return encoder.as_model(backbone, name=mcfg.name)  # records attrs["fitted_on"]


def _clip_sampling(dataset: DatasetConfig, mcfg: ModelConfig) -> dict[str, Any]:
    """The frames, fps and decoding of clips: the dataset's ``clips``, with a model's own
    ``frames`` taking the place of the dataset's frame sampling."""
    clips = dataset.clips
    if clips is None:
        return {"frames": mcfg.frames}
    sampling = ClipSampling(size=clips.size, max_frames=clips.max_frames, fps_mode=clips.fps_mode)
    if mcfg.frames is not None:
        return {"frames": mcfg.frames, "clip": sampling}
    return {"frames": clips.frames, "fps": clips.fps, "clip": sampling}


def projection(cfg: StudyConfig, mcfg: ModelConfig) -> int | str | None:
    """The model's own projection setting, else the protocol's ("none": None)."""
    value = (
        mcfg.projection if mcfg.projection is not None else get_protocol(cfg.protocol).projection
    )
    return None if value == "none" else value


def rename_model(md: ModelData, name: str) -> ModelData:
    if md.attrs.get("held_out"):  # one model per held-out subject, named "<name>|<subject>"
        return md
    old = md.models[0]
    if old == name:
        return md
    entries = {(name, layer): md[(old, layer)] for layer in md.layers(old)}
    return ModelData(
        {k: v.values for k, v in entries.items()},
        {k: md.kind((old, k[1])) for k in entries},
        md.stimuli,
        md.attrs,
    )


#: How a model that sees the stimulus images is built, by source.
IMAGE_MODELS: dict[str, Callable[[ModelConfig, bool], Any]] = {
    "registry": registry_model,
    "pixels": lambda mcfg, allowed: pixel_model(),
    "module": user_module,
    "brain": lambda mcfg, allowed: load_brain_model(str(mcfg.path), allow_user_modules=allowed),
}
