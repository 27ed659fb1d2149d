"""The fitted state of an evaluation: its labels, split, chosen layers and test score tensors,
and the per-subject values and matrices computed from them."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import xarray as xr

from crossalign.analysis.aps import aps_kernels, subject_pair_mean
from crossalign.analysis.patterns import compare_matrices
from crossalign.data.containers import BrainData, ModelData
from crossalign.errors import InputError
from crossalign.evaluation.protocols import Protocol
from crossalign.metrics import Metric

__all__ = ["STATISTICS", "outcome_bound"]

STATISTICS = ("score", "aps", "brain_aps")


def outcome_bound(per_subject: np.ndarray, outcome: str) -> np.ndarray:
    """The (region, subject) ceiling a normalised outcome divides by.

    Parameters
    ----------
    per_subject : numpy.ndarray
        (2, R, S): lower and upper per-subject ceilings.
    outcome : {"norm_lower", "norm_upper"}

    Returns
    -------
    numpy.ndarray
    """
    return per_subject[0 if outcome == "norm_lower" else 1]


@dataclass
class EvaluationState:
    """The fields of an :class:`~crossalign.evaluation.core.Evaluation` (documented there) and
    what is computed from them alone."""

    model: str
    regions: list[Hashable]
    subjects: list[Hashable]
    layer_names: list[Hashable]
    layers: dict[Hashable, Hashable]
    train: list[Hashable]
    test: list[Hashable]
    t: np.ndarray  # (S, R, S, R) brain tensor on test stimuli
    u: np.ndarray  # (L, S, R) model-vs-brain tensor on test stimuli
    spec: Protocol
    metric: Metric | None = None  # the metric of the test tensors (with its options)
    layer_profile: xr.DataArray | None = None
    model_matrix: np.ndarray | None = None
    ceiling: xr.DataArray | None = None
    data: tuple[ModelData, BrainData] | None = field(default=None, repr=False)
    subject_ceiling: np.ndarray | None = None  # (2, R, S): lower, upper per subject (test)
    raw_u: np.ndarray | None = None  # (L, S, R) raw model scores when the outcome is normalised

    # ------------------------------------------------------------------ per-subject values
    @property
    def outcome(self) -> str:
        """What the tensors hold: ``score``, ``norm_upper`` or ``norm_lower``."""
        return str(self.spec.outcome)

    def raw_scores(self) -> np.ndarray:
        """(R, S) the raw score of the chosen layer per region and subject, whatever the
        outcome.

        Returns
        -------
        numpy.ndarray
        """
        u = self.u if self.raw_u is None else self.raw_u
        return u[self._layer_index(), :, np.arange(len(self.regions))]

    def to_outcome(self, u: np.ndarray) -> np.ndarray:
        """A raw model-to-brain tensor (L, S, R) on the test stimuli in the outcome's units.

        Parameters
        ----------
        u : numpy.ndarray

        Returns
        -------
        numpy.ndarray
        """
        if self.outcome == "score" or self.subject_ceiling is None:
            return u
        with np.errstate(divide="ignore", invalid="ignore"):
            return u / outcome_bound(self.subject_ceiling, self.outcome).T[None]

    def noise_ceiling(self) -> xr.DataArray:
        """The noise ceiling on the test stimuli (every fitted evaluation has one).

        Returns
        -------
        xarray.DataArray
            (region, bound), with per-subject ceilings in ``attrs["subject_upper"]`` where the
            protocol defines them.
        """
        if self.ceiling is None:
            raise InputError(f"The evaluation of {self.model!r} holds no noise ceiling.")
        return self.ceiling

    @property
    def aps_defined(self) -> bool:
        """APS needs 3 subjects and 3 regions (4 without the same-region entry)."""
        need = 3 if self.spec.include_same_region else 4
        return len(self.subjects) >= 3 and len(self.regions) >= need

    def _layer_index(self) -> np.ndarray:
        return np.array([self.layer_names.index(self.layers[r]) for r in self.regions])

    def values(
        self, t: np.ndarray | None = None, u: np.ndarray | None = None, valid: Any = None
    ) -> np.ndarray:
        """(3, R, S): pointwise score, model APS and brain APS per region and subject (of the
        given tensors; default the evaluation's own).

        Parameters
        ----------
        t, u : numpy.ndarray, optional
            Brain and model-vs-brain tensors (default: the evaluation's).
        valid : numpy.ndarray of bool, optional
            Which subject pairs count (see :func:`crossalign.analysis.aps.brain_aps_kernel`).

        Returns
        -------
        numpy.ndarray
        """
        t = self.t if t is None else t
        u = self.u if u is None else u
        li, ri = self._layer_index(), np.arange(len(self.regions))
        score = u[li, :, ri]
        if not self.aps_defined:
            nan = np.full_like(score, np.nan)
            return np.stack([score, nan, nan])
        kw: dict[str, Any] = {
            "include_same_region": self.spec.include_same_region,
            "similarity": self.spec.similarity,
        }
        model, brain = aps_kernels(u, t, valid, **kw)
        return np.stack([score, model[li, ri], brain])

    def matrices(self, n_permutations: int = 1000) -> dict[str, Any]:
        """The brain's and the model's cross-region matrices on test stimuli and their
        matrix-level comparison (the less strict test), with ``n_permutations``.

        Parameters
        ----------
        n_permutations : int

        Returns
        -------
        dict
        """
        brain, model = self.region_matrices()
        comparison = compare_matrices(
            brain, model, n_permutations=n_permutations, seed=self.spec.seed
        )
        return {"brain": brain, "model": model, "comparison": comparison}

    def region_matrices(self) -> tuple[np.ndarray, np.ndarray]:
        """The brain's cross-region matrix (mean over pairs of different subjects) and the
        model's own matrix, on the test stimuli.

        Returns
        -------
        tuple of numpy.ndarray
            Two (region, region) matrices.
        """
        if self.model_matrix is None:
            raise InputError(f"The evaluation of {self.model!r} holds no model matrix.")
        return subject_pair_mean(self.t)[0], self.model_matrix
