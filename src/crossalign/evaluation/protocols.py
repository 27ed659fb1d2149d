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
model features         as extracted                 scikit-learn sparse random
(studies)                                           projection (seed 1234) to
                                                    min(JL dimension of the train
                                                    stimuli at eps 0.1, width)
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

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np

from crossalign._registry import Registry
from crossalign._validation import Constraint, closest, keywords_checked
from crossalign.analysis.aps import SIMILARITIES
from crossalign.compute.rdm import DISTANCES
from crossalign.errors import InputError
from crossalign.metrics import METRICS, Metric, get_metric
from crossalign.papers import PAPERS
from crossalign.stats.ceilings import CEILINGS, OUTCOMES

__all__ = ["BOOTSTRAPS", "CONSTRAINTS", "PROTOCOLS", "Protocol", "get_protocol"]

#: Bootstrap estimators: ``fixed`` resamples subjects over fixed per-subject values (the
#: paper's); ``recompute`` (alias ``subjects``) resamples subjects and recomputes the
#: reference patterns from the resampled subjects; ``stimuli`` and ``both`` resample stimuli
#: (and subjects) and rescore (RDM metrics only).
BOOTSTRAPS = ("fixed", "recompute", "subjects", "stimuli", "both")


def _integer(value: Any) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_)


def _threshold(value: Any) -> bool:
    if value is None:
        return True
    number = isinstance(value, float | int | np.floating | np.integer)
    return number and not isinstance(value, bool | np.bool_) and math.isfinite(float(value))


#: Every choice's allowed values, declared once: checked whenever a :class:`Protocol` is made.
CONSTRAINTS: Mapping[str, Constraint] = {
    "metric": Constraint(
        check=lambda v: isinstance(v, Metric) or (isinstance(v, str) and v in METRICS),
        expected="a registered metric name (crossalign metrics) or a Metric",
    ),
    "rdm": Constraint(
        check=lambda v: isinstance(v, str) and v in DISTANCES,
        expected=f"a registered RDM distance ({', '.join(DISTANCES.names())})",
    ),
    "similarity": Constraint(values=SIMILARITIES),
    "include_same_region": Constraint(check=lambda v: isinstance(v, bool), expected="True/False"),
    "assignment": Constraint(values=("argmax", "one-to-one", "monotone", "given")),
    "bootstrap": Constraint(values=BOOTSTRAPS),
    "predictivity_test": Constraint(values=("train-fitted", "cross-validated")),
    "predictivity_seed": Constraint(check=_integer, expected="an integer"),
    "fold_weights": Constraint(values=("equal", "size")),
    "ceiling": Constraint(values=CEILINGS),
    "ncsnr_threshold": Constraint(check=_threshold, expected="a finite number or None"),
    "outcome": Constraint(values=OUTCOMES),
    "partners": Constraint(
        check=lambda v: v == "all" or (_integer(v) and v >= 1),
        expected="'all' or a positive integer",
    ),
    "seed": Constraint(check=lambda v: v is None or _integer(v), expected="an integer or None"),
}


@keywords_checked
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
        Sparse random projection of model features in studies (a dimension, a rule of
        :data:`crossalign.models.projection.PROJECTIONS`, or None).
    citation : str
        BibTeX of the protocol's source.
    seed : int or None
        The evaluation's seed (seeded split, partners, bootstraps, permutations).
    """

    name: str
    description: str
    metric: str | Metric = "spearman"
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
    seed: int | None = 0

    def __post_init__(self) -> None:
        for name, constraint in CONSTRAINTS.items():
            constraint.validate(name, getattr(self, name), noun="option")

    def choices(self) -> dict[str, Any]:
        """The evaluation options this protocol sets (everything but its name, text,
        citation, seed and the extraction-time ``projection``).

        Returns
        -------
        dict
        """
        skip = {"name", "description", "citation", "projection", "seed"}
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name not in skip}

    def with_choices(self, seed: int | None = 0, **choices: Any) -> Protocol:
        """This protocol with ``choices`` applied (None keeps the protocol's) and ``seed``:
        the spec an evaluation runs. An unknown choice is an error naming the closest valid
        one; a metric is given by its registered name or as a Metric.

        Parameters
        ----------
        seed : int or None
        **choices
            Fields of :class:`Protocol` (:meth:`choices`).

        Returns
        -------
        Protocol
        """
        allowed = self.choices()
        unknown = sorted(set(choices) - set(allowed))
        if unknown:
            hint = closest(unknown[0], list(allowed))
            raise InputError(
                f"Unknown evaluation option(s) {unknown}"
                + (f"; did you mean {hint!r}?" if hint else ".")
                + f" Options: {sorted(allowed)}."
            )
        given = {k: v for k, v in choices.items() if v is not None}
        metric = given.get("metric", self.metric)
        given["metric"] = metric if isinstance(metric, Metric) else get_metric(metric).name
        return replace(self, seed=seed, **given)

    def stored(self) -> dict[str, Any]:
        """The spec as plain values (a metric instance as its name and parameters), for the
        files an evaluation is saved to (:meth:`from_stored` reads it back).

        Returns
        -------
        dict
        """
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        if isinstance(self.metric, Metric):
            out["metric"] = {"name": self.metric.name, "parameters": self.metric.options}
        return out

    @classmethod
    def from_stored(cls, values: Mapping[str, Any]) -> Protocol:
        """The spec :meth:`stored` wrote (checked again).

        Parameters
        ----------
        values : Mapping

        Returns
        -------
        Protocol
        """
        values = dict(values)
        metric = values.get("metric")
        if isinstance(metric, dict):
            values["metric"] = get_metric(metric["name"], **metric["parameters"])
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})


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
