"""The published experiments crossalign reproduces, each paper's choices written once.

A :class:`Paper` holds what a paper chose, by the part of crossalign that applies it: the
evaluation protocol (:mod:`crossalign.evaluation.protocols` registers it under the paper's
name), the dataset loader's preset (``load_bold_moments(preset=...)``) and the study that
``crossalign reproduce`` writes (metrics, outcomes, clip sampling). Every other module reads
these values from here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from crossalign.citations import HOEFLING2026 as _HOEFLING2026_BIB

__all__ = ["HOEFLING2026", "PAPERS", "Paper"]


@dataclass(frozen=True)
class Paper:
    """One published experiment's choices.

    Parameters
    ----------
    name : str
        The name protocols, presets and ``crossalign reproduce`` know it by.
    description : str
        What it reproduces, in one line.
    citation : str
        BibTeX.
    protocol : Mapping
        Evaluation choices (fields of :class:`crossalign.evaluation.protocols.Protocol`).
    dataset : str
        The dataset it used (a name of :data:`crossalign.io.datasets.DATASETS`).
    loader : Mapping
        The dataset loader's options (its preset).
    study : Mapping
        What the reproduction study adds: ``metrics``, ``outcome`` and ``clips``.
    """

    name: str
    description: str
    citation: str
    protocol: Mapping[str, Any]
    dataset: str
    loader: Mapping[str, Any]
    study: Mapping[str, Any]


#: The 19 HCP-MMP1 parcels of Hoefling et al. (2026), each the union of left and right.
_ROIS = (
    "V1", "V2", "V3", "V4", "V8", "PIT", "FFC", "V3A", "V3B", "V6", "V6A", "V7", "IPS1", "MT",
    "MST", "FST", "LO1", "LO2", "LO3",
)  # fmt: skip
#: The videos the paper leaves out: 2 corrupted train clips and 6 test clips (998 + 96 stay).
_EXCLUDED = (
    "vid0258", "vid0831", "vid1001", "vid1097", "vid1090", "vid1085", "vid1094", "vid1093",
)  # fmt: skip
#: Grayordinates kept: NCSNR of the train split (3 repeats) at least this.
_NCSNR_THRESHOLD = 0.2

HOEFLING2026 = Paper(
    name="hoefling2026",
    description=(
        "Hoefling et al. 2026: Pearson RSA on 1 - Pearson RDMs, train-fitted predictivity, "
        "subject bootstrap over fixed per-subject values"
    ),
    citation=_HOEFLING2026_BIB,
    protocol=MappingProxyType(
        {
            "metric": "pearson",
            "bootstrap": "fixed",
            "predictivity_test": "train-fitted",
            "predictivity_seed": 1,
            "fold_weights": "size",
            "ceiling": "hoefling2026",
            "ncsnr_threshold": _NCSNR_THRESHOLD,
            "projection": "hoefling2026",
        }
    ),
    dataset="bold_moments",
    loader=MappingProxyType(
        {
            "space": "fsLR32k",
            "source": "betas",
            "parcellation": "hcp_mmp1",
            "rois": list(_ROIS),
            "exclude": list(_EXCLUDED),
            "ncsnr_threshold": _NCSNR_THRESHOLD,
            "repeats": "paper",
        }
    ),
    study=MappingProxyType(
        {
            "metrics": ["pearson", "predictivity"],
            # both outcomes the paper aggregated; the published figures first
            "outcome": ["norm_lower", "score"],
            "clips": {"fps": 4.0, "size": 256, "max_frames": 12, "fps_mode": "blend"},
        }
    ),
)

#: Every paper by name.
PAPERS: Mapping[str, Paper] = MappingProxyType({HOEFLING2026.name: HOEFLING2026})
