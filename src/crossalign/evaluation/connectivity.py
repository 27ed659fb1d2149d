"""APS against connectivity for a brain dataset or an evaluated model (see
:mod:`crossalign.analysis.connectivity` for the definitions)."""

from __future__ import annotations

from collections.abc import Hashable
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from crossalign._validation import check_option
from crossalign.analysis.aps import SIMILARITIES, check_brain
from crossalign.analysis.connectivity import (
    brain_connectivity_aps,
    connectivity_patterns,
    model_connectivity_aps,
    random_connectivity,
)
from crossalign.data.containers import BrainData
from crossalign.data.labels import coord
from crossalign.engine.core import score_tensor
from crossalign.errors import InputError, InputTypeError
from crossalign.evaluation.core import Evaluation
from crossalign.io.connectivity import as_connectivity, load_connectivity

__all__ = ["connectivity_aps"]


def connectivity_aps(
    target: BrainData | Evaluation,
    connectivity: Any,
    *,
    metric: str = "spearman",
    rdm: str = "correlation",
    similarity: str = "pearson",
    n_random: int = 0,
    seed: int | None = 0,
    level: float = 0.95,
    regions: list[str] | None = None,
    of: str = "model",
) -> xr.Dataset:
    """APS of alignment patterns against connectivity patterns (Hoefling et al. 2026).

    Parameters
    ----------
    target : BrainData or Evaluation
        The brain (its pairwise patterns, scored with ``metric``), or an evaluated model (its
        patterns at its chosen layers, with the evaluation's own metric).
    connectivity : xarray.DataArray, array_like, str or Path
        (subject, region, target_region) or (region, target_region) weights, or a file
        (:func:`crossalign.io.load_connectivity`: ``.npy``, ``.npz``, ``.csv``, ``.mat``).
        Regions are matched to the target's by name; every target region must be there.
    metric, rdm : str
        The alignment metric and RDM distance of a brain target's patterns.
    similarity : {"pearson", "spearman", "cosine", "mse", "mae", "r2"}
        How a pattern is compared with the connectivity pattern.
    n_random : int
        Random connectivity matrices for the null (0: none); see
        :func:`crossalign.analysis.connectivity.random_connectivity`.
    seed : int or None
        Seed of the null.
    level : float
        The null band's coverage (0.95: the 2.5th to 97.5th percentiles).
    regions : list of str, optional
        Region names of an unlabelled array.
    of : {"model", "brain"}
        For an Evaluation target: the model's patterns, or the brain's pairwise patterns on
        the evaluation's test stimuli (in its outcome, partner pairs only).

    Returns
    -------
    xarray.Dataset
        ``aps`` (region, subject), ``mean`` (region), ``pattern`` (region, target_region;
        NaN on the diagonal); with ``n_random``: ``null`` (random, region) of subject means,
        ``low``/``high`` (region) and ``flag`` (region: ``above``, ``within`` or ``below``
        the band).
    """
    check_option(similarity, "similarity", SIMILARITIES, "connectivity_aps")
    if isinstance(n_random, bool) or not isinstance(n_random, int) or n_random < 0:
        raise InputError(f"The 'n_random' argument must be an integer >= 0. Got {n_random!r}.")
    if not (isinstance(level, float) and 0 < level < 1):
        raise InputError(f"The 'level' argument must be a number in (0, 1). Got {level!r}.")
    check_option(of, "of", ["model", "brain"], "connectivity_aps")
    compute, names, subjects, label = _target(target, metric, rdm, of)
    w = _matched(connectivity, names, regions)
    observed = compute(connectivity_patterns(w), similarity)
    out = _dataset(observed, names, subjects, w)
    if n_random:
        null = np.stack(
            [
                np.nanmean(compute(connectivity_patterns(wr), similarity), axis=1)
                for wr in random_connectivity(w, n_random, seed)
            ]
        )
        low, high = np.nanpercentile(null, [50 * (1 - level), 50 * (1 + level)], axis=0)
        mean = out["mean"].values
        flag = np.where(mean > high, "above", np.where(mean < low, "below", "within"))
        out = out.assign(
            null=(("random", "region"), null),
            low=("region", low),
            high=("region", high),
            flag=("region", flag),
        )
    out.attrs.update(
        target=label,
        similarity=similarity,
        n_random=n_random,
        seed=-1 if seed is None else seed,
        level=level,
        null="off-diagonal weights permuted per subject, symmetry kept",
        connectivity_subjects=len(w),
    )
    return out


def _target(
    target: Any, metric: str, rdm: str, of: str = "model"
) -> tuple[Any, list[str], list[Hashable], str]:
    """The APS computation of a target (a function of the patterns and similarity), its
    regions, subjects and name."""
    if isinstance(target, Evaluation) and of == "brain":

        def evaluated_brain(patterns: np.ndarray, similarity: str) -> np.ndarray:
            return brain_connectivity_aps(target.t, patterns, similarity)

        return evaluated_brain, [str(r) for r in target.regions], list(target.subjects), "brain"
    if isinstance(target, Evaluation):
        layers = np.array([target.layer_names.index(target.layers[r]) for r in target.regions])

        def model(patterns: np.ndarray, similarity: str) -> np.ndarray:
            return model_connectivity_aps(target.u, layers, patterns, similarity)

        return model, [str(r) for r in target.regions], list(target.subjects), target.model
    if isinstance(target, BrainData):
        data = check_brain(target, min_subjects=2, min_regions=3)
        t = score_tensor(data, metric=metric, rdm=rdm).values

        def brain(patterns: np.ndarray, similarity: str) -> np.ndarray:
            return brain_connectivity_aps(t, patterns, similarity)

        return brain, [str(r) for r in data.regions], list(data.subjects), "brain"
    raise InputTypeError(
        f"The 'target' argument must be a BrainData or an Evaluation. Got {type(target).__name__}."
    )


def _matched(connectivity: Any, names: list[str], regions: list[str] | None) -> np.ndarray:
    """The connectivity over the target's regions, in their order (matched by name)."""
    if isinstance(connectivity, str | Path):
        conn = load_connectivity(connectivity, regions=regions)
    else:
        conn = as_connectivity(connectivity, regions=regions)
    have = [str(r) for r in conn.coords["region"].values]
    missing = [r for r in names if r not in have]
    if missing:
        raise InputError(
            f"The connectivity has no region(s) {missing[:10]} of the target. It has "
            f"{have[:10]}{'...' if len(have) > 10 else ''}; regions are matched by name."
        )
    return conn.sel(region=names, target_region=names).values


def _dataset(
    aps: np.ndarray, names: list[str], subjects: list[Hashable], w: np.ndarray
) -> xr.Dataset:
    pattern = w.mean(axis=0)
    np.fill_diagonal(pattern, np.nan)
    return xr.Dataset(
        {
            "aps": (("region", "subject"), aps),
            "mean": ("region", np.nanmean(aps, axis=1)),
            "pattern": (("region", "target_region"), pattern),
        },
        coords={"region": names, "target_region": names, "subject": coord(subjects)},
    )
