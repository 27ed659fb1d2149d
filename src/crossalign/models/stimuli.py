"""Stimulus images: resolving what the user passed, and preprocessing them for a model."""

from __future__ import annotations

import hashlib
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from crossalign.data.representations import Representations
from crossalign.errors import InputError, InputTypeError, MissingFileError
from crossalign.models.video import frame_files

__all__ = ["IMAGENET", "Preprocess", "StimulusSet", "resolve_stimuli"]


@dataclass(frozen=True)
class Preprocess:
    """Resize the shorter side to ``size / crop_pct``, centre-crop ``size``, scale to [0, 1],
    normalise with ``mean`` / ``std`` (per RGB channel), channels first.

    Parameters
    ----------
    size : int
    crop_pct : float
    mean, std : tuple of float
    interpolation : str
        PIL's resampling filter (``"bicubic"``, ``"bilinear"``).
    """

    size: int = 224
    crop_pct: float = 0.875
    mean: tuple[float, float, float] = (0.485, 0.456, 0.406)
    std: tuple[float, float, float] = (0.229, 0.224, 0.225)
    interpolation: str = "bicubic"

    def key(self) -> str:
        """A string that identifies this preprocessing (part of the activation cache key).

        Returns
        -------
        str
        """
        return repr(sorted(asdict(self).items()))

    def __call__(self, image: Any) -> np.ndarray:
        from PIL import Image

        img: Any
        if isinstance(image, str | Path):
            with Image.open(image) as opened:
                img = opened.convert("RGB")
        elif isinstance(image, np.ndarray):
            arr = image
            if arr.ndim == 3 and arr.shape[0] in (1, 3) and arr.shape[-1] not in (1, 3):
                arr = np.moveaxis(arr, 0, -1)
            if arr.dtype != np.uint8:
                arr = np.clip(arr * (255.0 if arr.max() <= 1.0 else 1.0), 0, 255).astype(np.uint8)
            img = Image.fromarray(arr.squeeze()).convert("RGB")
        else:
            img = image.convert("RGB")
        modes = Image.Resampling
        resample = {"bicubic": modes.BICUBIC, "bilinear": modes.BILINEAR}.get(
            self.interpolation, modes.BICUBIC
        )
        scale = (self.size / self.crop_pct) / min(img.size)
        w, h = img.size
        img = img.resize(
            (max(self.size, round(w * scale)), max(self.size, round(h * scale))), resample
        )
        w, h = img.size
        left, top = (w - self.size) // 2, (h - self.size) // 2
        img = img.crop((left, top, left + self.size, top + self.size))
        x: np.ndarray = np.asarray(img, dtype=np.float32) / 255.0
        x = (x - np.asarray(self.mean, dtype=np.float32)) / np.asarray(self.std, dtype=np.float32)
        return np.ascontiguousarray(x.transpose(2, 0, 1))


IMAGENET = Preprocess()


@dataclass(frozen=True)
class StimulusSet:
    """Stimulus ids and, for each id, the images whose activations are averaged for it.

    Parameters
    ----------
    ids : list
    images : list of list
        For each id, its images (paths, arrays or clips).
    """

    ids: list[Hashable]
    images: list[list[Any]]  # paths or arrays, one or more per stimulus

    def key(self) -> str:
        """A content hash of the stimulus set (ids and image bytes)."""
        h = hashlib.sha256()
        for sid, group in zip(self.ids, self.images, strict=True):
            h.update(repr(sid).encode())
            for image in group:
                if isinstance(image, str | Path) and Path(image).is_dir():  # a clip's frames
                    for frame in frame_files(Path(image)):
                        h.update(frame.name.encode())
                        h.update(frame.read_bytes())
                elif isinstance(image, str | Path):
                    h.update(Path(image).read_bytes())
                else:
                    h.update(np.ascontiguousarray(np.asarray(image)).tobytes())
        return h.hexdigest()[:24]


def resolve_stimuli(stimuli: Any, ids: Sequence[Hashable] | None = None) -> StimulusSet:
    """Turn what the user passed into a :class:`StimulusSet`.

    Accepted: a list of paths of images, video files or folders of frames (ids: file stems),
    an array of images (N, H, W[, C]) or clips (N, T, H, W, 3), a list of arrays, a mapping
    ``{id: path | [paths]}`` (the activations of several images are averaged for one id,
    e.g. exemplars of a condition), or a dataset from
    :func:`crossalign.load_dataset` (its ``stimulus_paths``, in its stimulus order).

    Parameters
    ----------
    stimuli : object
        One of the forms above.
    ids : sequence, optional
        Ids for an array or a list of arrays.

    Returns
    -------
    StimulusSet
    """
    if isinstance(stimuli, Representations):
        paths = stimuli.attrs.get("stimulus_paths")
        if not paths:
            raise InputError(
                "This dataset carries no stimulus images (attrs['stimulus_paths'] is empty)."
            )
        if isinstance(paths, Mapping):
            return resolve_stimuli({k: paths[k] for k in stimuli.stimuli})
        return StimulusSet(list(stimuli.stimuli), [[p] for p in paths])
    if isinstance(stimuli, Mapping):
        keys = list(stimuli)
        groups = [list(v) if isinstance(v, list | tuple) else [v] for v in stimuli.values()]
        empty = [k for k, g in zip(keys, groups, strict=True) if not g]
        if empty:
            raise InputError(f"Stimulus {empty[0]!r} has no image.")
        return StimulusSet(keys, groups)
    if isinstance(stimuli, np.ndarray):
        if stimuli.ndim not in (3, 4, 5):
            raise InputError(
                "The 'stimuli' array must be images (N, H, W) or (N, H, W, C), or clips "
                f"(N, T, H, W, 3). Got shape {stimuli.shape}."
            )
        items: list[Any] = list(stimuli)
    elif isinstance(stimuli, str | Path):
        raise InputTypeError("The 'stimuli' argument must be a list of images, not a single path.")
    else:
        items = list(stimuli)
    if not items:
        raise InputError("The 'stimuli' argument holds no image.")
    for item in items:
        if isinstance(item, str | Path) and not Path(item).exists():
            raise MissingFileError(f"The stimulus '{item}' does not exist.")
    if ids is None:
        ids = (
            [Path(p).stem for p in items]
            if all(isinstance(p, str | Path) for p in items)
            else list(range(len(items)))
        )
    if len(ids) != len(items) or len(set(ids)) != len(ids):
        raise InputError(
            f"The stimulus ids must be unique, one per image: {len(items)} images, "
            f"{len(set(ids))} distinct ids."
        )
    return StimulusSet(list(ids), [[x] for x in items])
