"""Brain volumes: NIfTI images cut by region masks or label volumes (nibabel)."""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from crossalign.data.containers import BrainData
from crossalign.errors import InputError
from crossalign.io.reading import reading_errors, require_file

__all__ = [
    "load_nifti",
]


# ---------------------------------------------------------------------- NIfTI
def load_nifti(
    betas: Mapping[Hashable, str | Path | Sequence[str | Path]],
    masks: Mapping[Hashable, str | Path] | None = None,
    *,
    atlas: str | Path | Mapping[Hashable, str | Path] | None = None,
    labels: Mapping[Hashable, int] | None = None,
    stimuli: Sequence[Hashable] | None = None,
) -> BrainData:
    """Voxel responses per ROI from NIfTI beta maps (nibabel).

    ``betas`` maps each subject to a 4-D image (x, y, z, stimulus) or a list of 3-D images,
    one per stimulus. ROIs come from ``masks`` ({region: mask image}, shared by all subjects,
    or {(subject, region): mask}) or from an ``atlas`` image (one for all, or {subject: atlas})
    with integer ``labels`` ({region: label}). Voxels that are NaN in a subject's betas are
    an error. Images and masks must share their grid and affine.

    Parameters
    ----------
    betas : mapping
        ``{subject: 4-D image or list of 3-D images}``.
    masks : mapping, optional
        ``{region: mask}`` or ``{(subject, region): mask}``.
    atlas : str, Path or mapping, optional
        An integer atlas image, or ``{subject: atlas}``.
    labels : mapping, optional
        ``{region: atlas label}``.
    stimuli : sequence, optional
        Stimulus ids, one per volume.

    Returns
    -------
    BrainData

    Examples
    --------
    >>> data = ca.io.load_nifti({"sub01": "sub01_betas.nii.gz"},   # doctest: +SKIP
    ...                         masks={"V1": "V1_mask.nii.gz", "IT": "IT_mask.nii.gz"})
    """
    try:
        import nibabel as nib
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise InputError("load_nifti needs nibabel: pip install 'crossalign[io]'") from exc
    if (masks is None) == (atlas is None):
        raise InputError("Pass exactly one of 'masks' or 'atlas' (with 'labels').")
    if atlas is not None and not labels:
        raise InputError("An 'atlas' needs 'labels': {region: integer label}.")

    def image(path: str | Path) -> Any:
        p = require_file(Path(path))
        with reading_errors(p):
            return nib.load(str(p))

    responses = {}
    for subject, spec in betas.items():
        if isinstance(spec, str | Path):
            img = image(spec)
            with reading_errors(spec):
                data = np.asarray(img.get_fdata(dtype=np.float64))
                if data.ndim != 4:
                    raise InputError(f"expected a 4-D image (x, y, z, stimulus), got {data.shape}")
            affine, grid = img.affine, data.shape[:3]
        else:
            imgs = [image(p) for p in spec]
            if not imgs:
                raise InputError(f"Subject {subject!r} has no beta images.")
            data = np.stack([np.asarray(i.get_fdata(dtype=np.float64)) for i in imgs], axis=-1)
            affine, grid = imgs[0].affine, data.shape[:3]
        for region, mask_img in _subject_masks(subject, masks, atlas, labels, image).items():
            where = f"{mask_img.get_filename()} ({region!r})"
            with reading_errors(where):
                if mask_img.shape[:3] != grid:
                    raise InputError(f"mask grid {mask_img.shape[:3]} differs from betas {grid}")
                if not np.allclose(mask_img.affine, affine, atol=1e-4):
                    raise InputError("mask affine differs from the betas' affine")
                mask = _mask_of(mask_img, region, labels)
                if not mask.any():
                    raise InputError("the mask selects no voxel")
                x = data[mask].T  # (stimuli, voxels)
                bad_voxels = int((~np.isfinite(x)).any(axis=0).sum())
                if bad_voxels:
                    raise InputError(
                        f"subject {subject!r} has NaN/inf betas in {bad_voxels} voxel(s) of "
                        "this ROI"
                    )
                responses[(subject, region)] = x
    return BrainData.from_responses(responses, stimuli=stimuli)


def _subject_masks(
    subject: Hashable, masks: Any, atlas: Any, labels: Any, image: Any
) -> dict[Hashable, Any]:
    if masks is not None:
        out = {}
        for key, path in masks.items():
            if isinstance(key, tuple):
                if key[0] == subject:
                    out[key[1]] = image(path)
            else:
                out[key] = image(path)
        return out
    path = atlas[subject] if isinstance(atlas, Mapping) else atlas
    img = image(path)
    return dict.fromkeys(labels, img)


def _mask_of(img: Any, region: Hashable, labels: Mapping[Hashable, int] | None) -> np.ndarray:
    values = np.asarray(img.get_fdata())
    if labels is not None and region in labels:
        return values == labels[region]
    return values > 0
