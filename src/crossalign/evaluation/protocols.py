"""Evaluation protocols: named sets of every choice an evaluation makes.

``crossalign`` (the default) and ``hoefling2026`` (the choices of Hoefling et al. 2026,
"Only Brains Align with Brains", arXiv:2604.21780, as their analysis code makes them). Every
choice is also an option of :func:`crossalign.evaluate_model`; an option given explicitly
overrides the protocol's.

=====================  ===========================  ===========================
choice                 ``crossalign``               ``hoefling2026``
=====================  ===========================  ===========================
RSA comparator         Spearman                     Pearson
RDM distance           1 - Pearson                  1 - Pearson
APS similarity         Pearson, source included     Pearson, source included
split                  the dataset's fixed split,   the dataset's fixed split,
                       else given, else random      else given, else random
layer selection        argmax of the subject mean   argmax of the subject mean
                       on training stimuli          on training stimuli
predictivity (LP)      cross-validated within the   fold models fitted on the
test score             test stimuli                 training stimuli, R^2 on the
                                                    test stimuli (mean of folds)
LP folds               KFold(5, shuffle, seed 0),   KFold(5, shuffle, seed 1),
                       folds weighted equally       training folds weighted by size
bootstrap              subjects, patterns           subjects over fixed per-subject
                       recomputed in each resample  values, resample b drawn with
                                                    ``default_rng(seed + b)``
model features         as extracted                 sparse random projection to
(studies)                                           the Johnson-Lindenstrauss
                                                    dimension (eps 0.1), seeded
voxels (with repeats)  all                          NCSNR >= 0.2 (Allen et al.
                                                    2022), from the repeats
noise ceiling          Nili et al. 2014: upper =    upper = pool of the other
                       pool of all subjects, lower  subjects, lower = mean pairwise
                       = pool of the others; score  score; score normalised per
                       / upper                      subject
outcome                the raw score                the raw score (the published
                                                    figures: ``norm_lower``)
partners               every other subject          every other subject
=====================  ===========================  ===========================
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from crossalign._registry import Registry
from crossalign.papers import PAPERS

__all__ = ["PROTOCOLS", "Protocol", "get_protocol"]


@dataclass(frozen=True)
class Protocol:
    """Every choice of an evaluation. Fields are the option names of
    :func:`crossalign.evaluate_model`.

    Parameters
    ----------
    name, description : str
        The protocol's name and what it reproduces.
    metric, rdm, similarity : str
        Alignment metric, RDM distance, and how alignment patterns are compared.
    include_same_region : bool
        Whether a region's own entry is part of its pattern.
    assignment : str
        Layer assignment (argmax, one-to-one, monotone).
    bootstrap : str
        Bootstrap estimator (:data:`crossalign.evaluation.state.BOOTSTRAPS`).
    predictivity_test, predictivity_seed, fold_weights : str, int, str
        The predictivity protocol: train-fitted or cross-validated test scores, the seed
        of its folds, and how fold scores are weighted.
    ceiling : str
        Noise-ceiling definition (nili2014, hoefling2026).
    ncsnr_threshold : float or None
        Keep units whose NCSNR reaches it (entries with repeats); None keeps all.
    outcome : {"score", "norm_upper", "norm_lower"}
        What layer selection, scores, patterns, APS and bootstraps are computed on: the raw
        score, or the score divided per (region, subject) by the upper or lower noise
        ceiling of the same split (:func:`crossalign.noise_ceiling` with
        ``per_subject=True``).
    partners : "all" or int
        Which ordered subject pairs enter the lower ceilings and the brain's patterns: every
        other subject, or this many partners per target subject drawn with the seed.
    projection : int, str or None
        Sparse random projection of model features in studies (a dimension, ``"jl"``, or
        None).
    citation : str
        BibTeX of the protocol's source.
    """

    name: str
    description: str
    metric: str = "spearman"
    rdm: str = "correlation"
    similarity: str = "pearson"
    include_same_region: bool = True
    assignment: str = "argmax"
    bootstrap: str = "recompute"
    predictivity_test: str = "cross-validated"
    predictivity_seed: int = 0
    fold_weights: str = "equal"
    ceiling: str = "nili2014"
    ncsnr_threshold: float | None = None
    outcome: str = "score"
    partners: int | str = "all"
    projection: int | str | None = None
    citation: str = ""

    def choices(self) -> dict[str, Any]:
        """The evaluation options this protocol sets (everything but its name, text,
        citation and the extraction-time ``projection``)."""
        skip = {"name", "description", "citation", "projection"}
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name not in skip}


PROTOCOLS: Registry[Protocol] = Registry("protocol")
PROTOCOLS.register(
    "crossalign",
    Protocol(
        "crossalign",
        "crossalign's defaults: Spearman RSA, predictivity cross-validated within the test "
        "stimuli, subject bootstraps that recompute the reference patterns",
    ),
)
for _paper in PAPERS.values():  # each paper's protocol, as the paper wrote it
    PROTOCOLS.register(
        _paper.name,
        Protocol(_paper.name, _paper.description, citation=_paper.citation, **_paper.protocol),
    )


def get_protocol(name: str | Protocol) -> Protocol:
    """The protocol registered as ``name`` (an instance is returned as is).

    Parameters
    ----------
    name : str or Protocol

    Returns
    -------
    Protocol
    """
    return name if isinstance(name, Protocol) else PROTOCOLS.get(name)
