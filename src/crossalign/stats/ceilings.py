"""Noise ceilings: how well the brain predicts itself, per region (leave one subject out)."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Hashable
from typing import Any, Literal

import numpy as np
import xarray as xr

from crossalign._validation import check_option
from crossalign.data.containers import BrainData
from crossalign.data.labels import coord
from crossalign.engine.core import cross, paired, prepare, representation_inputs
from crossalign.errors import InputError, InputTypeError, ReliabilityWarning
from crossalign.metrics import Metric, get_metric

__all__ = [
    "CEILINGS",
    "ceiling_normalise",
    "noise_ceiling",
    "unreliable_regions",
]


# ---------------------------------------------------------------------- noise ceilings
#: Noise-ceiling definitions (``definition=`` of :func:`noise_ceiling`).
CEILINGS = ("nili2014", "hoefling2026")


def noise_ceiling(
    data: BrainData,
    metric: str | Metric = "spearman",
    *,
    rdm: str = "correlation",
    pool: Literal["mean", "metric"] = "mean",
    definition: str = "nili2014",
    scores: xr.DataArray | None = None,
) -> xr.DataArray:
    """Noise ceiling per region: DataArray (region, bound), with per-subject upper bounds in
    ``attrs["subject_upper"]`` where the definition normalises per subject.

    Parameters
    ----------
    data : BrainData
        Every region in at least 2 subjects.
    metric : str or Metric
        The metric the ceiling bounds.
    rdm : str
        The RDM distance for response entries under RSA metrics.
    pool : {"mean", "metric"}
        How subjects are averaged into a reference (see below).
    definition : {"nili2014", "hoefling2026"}
        Which bounds (see below).
    scores : xarray.DataArray, optional
        The score tensor of ``data`` under the same metric (:func:`crossalign.score_tensor`,
        dims subject, region, target_subject, target_region): the pairwise bound is read from
        its within-region pairs instead of being computed again.

    Returns
    -------
    xarray.DataArray
        (region, bound) with bounds ``lower`` and ``upper``; ``attrs`` hold the choices,
        ``subjects_per_region`` and ``subject_upper`` (region, subject).

    ``definition="nili2014"`` (Nili et al. 2014): ``upper = mean_s M(pool(all subjects),
    X[s])`` and ``lower = mean_s M(pool(others), X[s])``. ``definition="hoefling2026"``
    (Hoefling et al. 2026): ``upper = mean_s M(pool(others), X[s])`` (the leave-one-out pool
    of the other subjects) and ``lower`` the mean pairwise score ``M(X[a], X[b])`` over
    ordered pairs of different subjects; scores are normalised per subject by
    ``M(pool(others), X[s])``.

    For RSA metrics ``pool="mean"`` averages RDMs; ``pool="metric"`` averages them the way
    the metric would (ranks for Spearman/Kendall, z-scores for Pearson, RMS-normalised for
    cosine), as rsatoolbox's ``boot_noise_ceiling`` does. For metrics on responses (CKA,
    predictivity, ...) the subjects' responses are averaged where every subject has the same
    units; where the units differ (subject-specific voxels, e.g. after an NCSNR filter) a
    pool is the subjects' units side by side. For an asymmetric metric the pool predicts the
    held-out subject.

    A region uses the subjects that have it (at least 2); ``attrs["subjects_per_region"]``
    gives their counts and ``subject_upper`` is NaN where a subject lacks the region.
    """
    if not isinstance(data, BrainData):
        raise InputTypeError(f"The 'data' argument must be a BrainData. Got {type(data).__name__}.")
    if len(data.subjects) < 2:
        raise InputError(
            "A leave-one-subject-out noise ceiling needs at least 2 subjects. Got "
            f"{len(data.subjects)}."
        )
    check_option(pool, "pool", ["mean", "metric"], "noise_ceiling")
    check_option(definition, "definition", CEILINGS, "noise_ceiling")
    data.require_subjects(2, "a leave-one-subject-out noise ceiling")
    m = get_metric(metric)
    present = data.present().values.T  # (R, S)
    loo = np.full(present.shape, np.nan)  # (R, S): M(pool(others), s); NaN where s lacks r
    everyone = np.full(present.shape, np.nan)
    pairwise = np.empty(len(data.regions))
    if scores is not None:
        _check_scores(scores, data)
    for i, r in enumerate(data.regions):
        subjects = data.subjects_with(r)
        parts = _ceiling_parts(
            data.select(sources=subjects, areas=[r]), m, rdm, pool, definition, scores is None
        )
        loo[i, present[i]], everyone[i, present[i]], pairwise[i] = parts
        if scores is not None and definition == "hoefling2026":
            pairs = scores.sel(
                subject=subjects, region=r, target_subject=subjects, target_region=r
            ).values
            pairwise[i] = float(pairs[~np.eye(len(subjects), dtype=bool)].mean())
    if definition == "nili2014":
        out = np.stack([np.nanmean(loo, axis=1), np.nanmean(everyone, axis=1)], axis=1)
    else:
        out = np.stack([pairwise, np.nanmean(loo, axis=1)], axis=1)
    return xr.DataArray(
        out,
        dims=("region", "bound"),
        coords={"region": coord(data.regions), "bound": ["lower", "upper"]},
        attrs={
            "metric": m.name,
            "rdm": rdm,
            "pool": pool,
            "definition": definition,
            "n_subjects": len(data.subjects),
            "subjects_per_region": present.sum(axis=1).tolist(),
            "subject_upper": loo.tolist() if definition == "hoefling2026" else [],
        },
        name="noise_ceiling",
    )


def _check_scores(scores: Any, data: BrainData) -> None:
    dims = ("subject", "region", "target_subject", "target_region")
    if not isinstance(scores, xr.DataArray) or scores.dims != dims:
        raise InputError(
            "The 'scores' argument of noise_ceiling must be the data's score tensor (a "
            f"DataArray with dims {dims}, from crossalign.score_tensor). Got "
            f"{getattr(scores, 'dims', type(scores).__name__)!r}."
        )
    for dim, want in (("subject", data.subjects), ("region", data.regions)):
        for name in (dim, f"target_{dim}"):
            if list(scores.coords[name].values) != list(want):
                raise InputError(
                    f"The 'scores' tensor's {name} labels do not match the data's {dim}s: "
                    f"got {list(scores.coords[name].values)[:5]}, expected {list(want)[:5]}."
                )


def _ceiling_parts(
    data: BrainData, m: Metric, rdm: str, pool: str, definition: str, pairs: bool = True
) -> tuple[np.ndarray, np.ndarray, float]:
    """For one region: per subject M(pool(others), s) and, where the definition uses them,
    M(pool(all), s) (``nili2014``) and the mean pairwise score over ordered pairs of different
    subjects (``hoefling2026``, unless ``pairs`` is False: read from a score tensor); a part
    not computed is NaN."""
    everyone_needed = definition == "nili2014"
    pairs = pairs and definition == "hoefling2026"
    if m.input_kind == "responses":
        xs = data.response_arrays(m.name)
        if len({x.shape for x in xs}) != 1:
            return _concatenated_parts(xs, m, list(data.subjects), everyone_needed, pairs)
        stack = np.stack(xs)
        v, pooled_in, prep = stack, stack, prepare(m, xs, list(data.subjects))
        as_input: Callable[[Any], Any] = list
    else:
        v = representation_inputs(data, m, rdm)  # (S, m)
        pooled_in = m.pool_inputs(v) if pool == "metric" else v
        prep = prepare(m, v, list(data.subjects))
        as_input = np.asarray
    n = len(v)
    total = pooled_in.sum(axis=0)
    loo = paired(prepare(m, as_input([(total - x) / (n - 1) for x in pooled_in])), prep)
    everyone = np.full(n, np.nan)
    if everyone_needed:
        everyone = cross(prepare(m, as_input([total / n]), ["pool"]), prep)[0]
    return loo, everyone, _pairwise(prep, n) if pairs else float("nan")


def _pairwise(prep: Any, n: int) -> float:
    """The mean score over ordered pairs of different subjects."""
    return float(cross(prep)[~np.eye(n, dtype=bool)].mean())


def _concatenated_parts(
    xs: list[np.ndarray], m: Metric, subjects: list[Hashable], everyone_needed: bool, pairs: bool
) -> tuple[np.ndarray, np.ndarray, float]:
    """The ceiling parts of responses whose units differ between subjects (subject-specific
    voxels, e.g. after an NCSNR filter): a pool is the subjects' units side by side."""
    n = len(xs)
    prep = prepare(m, xs, subjects)
    others = [np.concatenate([x for j, x in enumerate(xs) if j != i], axis=1) for i in range(n)]
    loo = paired(prepare(m, others), prep)
    everyone = np.full(n, np.nan)
    if everyone_needed:
        everyone = cross(prepare(m, [np.concatenate(xs, axis=1)], ["pool"]), prep)[0]
    return loo, everyone, _pairwise(prep, n) if pairs else float("nan")


def unreliable_regions(ceiling: xr.DataArray, *, warn: bool = True) -> xr.DataArray:
    """Regions whose noise-ceiling interval [lower, upper] does not lie above 0 (it includes
    0, or lies below it): the subjects do not agree beyond chance, so no model score there can
    be interpreted. Warns
    (:class:`~crossalign.errors.ReliabilityWarning`) naming them.

    Parameters
    ----------
    ceiling : xarray.DataArray
        From :func:`noise_ceiling` (region, bound).
    warn : bool
        Warn naming the regions.

    Returns
    -------
    xarray.DataArray of bool (region)
    """
    flags = ~(ceiling.sel(bound="lower", drop=True) > 0)  # NaN (undefined) is flagged too
    if warn and bool(flags.any()):
        names = [str(r) for r in flags.coords["region"].values[flags.values]]
        warnings.warn(
            f"The noise ceiling of {names} does not lie above 0: the subjects do not agree "
            "there beyond chance, so scores in these regions cannot be interpreted.",
            ReliabilityWarning,
            stacklevel=2,
        )
    return flags.rename("unreliable")


def ceiling_normalise(
    scores: xr.DataArray, ceiling: xr.DataArray, bound: Literal["lower", "upper"] = "upper"
) -> xr.DataArray:
    """Scores divided by the noise ceiling of their region (``bound`` = lower or upper).

    Parameters
    ----------
    scores : xarray.DataArray
        Scores with a ``region`` dimension.
    ceiling : xarray.DataArray
        (region, bound), from :func:`noise_ceiling`.
    bound : {"lower", "upper"}
        Which bound divides.

    Returns
    -------
    xarray.DataArray
        The normalised scores, aligned by region.
    """
    out = scores / ceiling.sel(bound=bound, drop=True)
    out.attrs = {**scores.attrs, "normalised_by": f"{bound} noise ceiling"}
    return out
