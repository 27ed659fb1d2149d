"""How a study's model sees its stimuli: the preprocessing a ``[[models]]`` entry's ``input``
table puts in place of the model's own, field by field."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["InputConfig"]


class InputConfig(BaseModel):
    """How a registry model's input is prepared, replacing the model's own preprocessing
    field by field (:class:`crossalign.models.Preprocess`). ``size = 256, crop_pct = 1.0``
    feeds 256 x 256 frames as they are (no resize, no crop), as Hoefling et al. (2026) feed
    their timm, VISSL and V-JEPA 2 models.

    Parameters
    ----------
    size : int, optional
        The input side.
    crop_pct : float, optional
        The centre crop's share of the resized image (1: no crop).
    mean, std : list of float, optional
        Per-channel normalisation (RGB).
    interpolation : {"bicubic", "bilinear"}, optional
    """

    model_config = ConfigDict(extra="forbid", strict=True)
    size: Annotated[int, Field(ge=1)] | None = None
    crop_pct: Annotated[float, Field(gt=0.0, le=1.0)] | None = None
    mean: Annotated[list[float], Field(min_length=3, max_length=3)] | None = None
    std: (
        Annotated[list[Annotated[float, Field(gt=0.0)]], Field(min_length=3, max_length=3)] | None
    ) = None
    interpolation: Literal["bicubic", "bilinear"] | None = None

    def applied_to(self, preprocess: Any) -> Any:
        """``preprocess`` with this config's fields replaced.

        Parameters
        ----------
        preprocess : crossalign.models.Preprocess

        Returns
        -------
        crossalign.models.Preprocess
        """
        changes = {k: tuple(v) if isinstance(v, list) else v for k, v in self.model_dump().items()}
        return dataclasses.replace(
            preprocess, **{k: v for k, v in changes.items() if v is not None}
        )
