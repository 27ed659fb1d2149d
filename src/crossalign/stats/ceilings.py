"""Noise ceilings: how well the brain predicts itself, per region (leave one subject out)."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Hashable
from typing import Any, Literal

import numpy as np
import xarray as xr

from crossalign._validation import check_option
from crossalign.compute.rdm import DISTANCES, rdm_vectors
from crossalign.data.construct import average_repeats
from crossalign.data.containers import BrainData
from crossalign.data.labels import coord
from crossalign.engine.core import cross, paired, prepare, representation_inputs
from crossalign.errors import InputError, InputTypeError, ReliabilityWarning
from crossalign.metrics import Metric, get_metric

__all__ = [
    "CEILINGS",
    "OUTCOMES",
    "ceiling_normalise",
    "noise_ceiling",
    "partner_pairs",
    "unreliable_regions",
]


# ---------------------------------------------------------------------- noise ceilings
#: Noise-ceiling definitions (``definition=`` of :func:`noise_ceiling`).
CEILINGS = ("nili2014", "hoefling2026")
#: What an evaluation is computed on: the raw score, or the score over a per-subject ceiling.
OUTCOMES = ("score", "norm_upper", "norm_lower")


def partner_pairs(n_subjects: int, partners: int | str = "all", seed: int | None = 0) -> np.ndarray:
    """Which ordered subject pairs are scored: ``pairs[a, s]`` says a is a partner of s.

    Parameters
    ----------
    n_subjects : int
    partners : "all" or int
        Every other subject, or this many per target subject, drawn without replacement with
        ``numpy.random.default_rng(seed)``, target by target in subject order (Hoefling et
        al. 2026 used 5 partners per target of 10 subjects).
    seed : int or None

    Returns
    -------
    numpy.ndarray of bool
        (subject, subject), False on the diagonal.
    """
    others = ~np.eye(n_subjects, dtype=bool)
    if partners == "all":
        return others
    if (
        isinstance(partners, bool)
        or not isinstance(partners, int | np.integer)
        or not (1 <= partners <= n_subjects - 1)
    ):
        raise InputError(
            f"The 'partners' argument must be 'all' or an integer from 1 to {n_subjects - 1} "
            f"(the other subjects). Got {partners!r}."
        )
    rng = np.random.default_rng(seed)
    pairs = np.zeros((n_subjects, n_subjects), dtype=bool)
    for s in range(n_subjects):
        pairs[rng.choice(np.flatnonzero(others[:, s]), size=int(partners), replace=False), s] = True
    return pairs


def noise_ceiling(
    data: BrainData,
    metric: str | Metric = "spearman",
    *,
    rdm: str = "correlation",
    pool: Literal["mean", "metric"] = "mean",
    definition: str = "nili2014",
    scores: xr.DataArray | None = None,
    per_subject: bool = False,
    pairs: np.ndarray | None = None,
    unfiltered: BrainData | None = None,
) -> xr.DataArray:
    """Noise ceiling per region: DataArray (region, bound), with per-subject upper bounds in
    ``attrs["subject_upper"]`` where the definition normalises per subject; with
    ``per_subject=True`` the per-subject bounds themselves, (bound, region, subject).

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
    per_subject : bool
        Return the bounds per subject (``definition="hoefling2026"``): ``upper(r, s)`` the
        score of the leave-one-out pool predicting subject s, ``lower(r, s)`` the mean over
        s's partner subjects a of the score of a predicting s.
    pairs : numpy.ndarray of bool, optional
        (subject, subject): ``pairs[a, s]`` says that a is a partner of s (default: every
        other subject), for the per-subject lower bound.
    unfiltered : BrainData, optional
        ``data`` before its per-subject NCSNR filter (``data`` is
        :func:`~crossalign.stats.reliability.reliable_units` of it): under ``hoefling2026``
        the leave-one-out pool is then the others' mean response over the units whose
        NCSNR averaged over the others reaches the threshold, as the paper's
        ``intersubject_consistency.py`` builds it (units aligned across subjects).

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
    ``M(pool(others), X[s])``. Under ``hoefling2026`` a pool of responses over the same
    units in every subject (grayordinates) is the unit-wise mean of the responses for every
    metric, RSA included (the RDM of the mean responses, as the paper's analysis code
    computes it).

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
    n_sub = len(data.subjects)
    within = np.full((len(data.regions), n_sub, n_sub), np.nan)  # (R, a, b): a predicting b
    if scores is not None:
        _check_scores(scores, data)
    if per_subject and definition != "hoefling2026":
        raise InputError(
            "noise_ceiling(per_subject=True) gives the per-subject bounds of "
            f"definition='hoefling2026'. Got definition={definition!r}."
        )
    for i, r in enumerate(data.regions):
        subjects = data.subjects_with(r)
        cell = np.ix_(present[i], present[i])
        parts = _ceiling_parts(
            data.select(sources=subjects, areas=[r]), m, rdm, pool, definition, scores is None
        )
        loo[i, present[i]], everyone[i, present[i]], within[i][cell] = parts
        if unfiltered is not None and definition == "hoefling2026":
            loo[i, present[i]] = _ncsnr_pool_scores(data, unfiltered, r, subjects, m, rdm)
        if scores is not None and definition == "hoefling2026":
            within[i][cell] = scores.sel(
                subject=subjects, region=r, target_subject=subjects, target_region=r
            ).values
    pairwise = _pairwise_means(within)
    if per_subject:
        return _per_subject(data, m, loo, _partner_means(within, pairs), rdm, pool)
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


def _ncsnr_pool_scores(
    data: BrainData,
    unfiltered: BrainData,
    region: Hashable,
    subjects: list[Hashable],
    m: Metric,
    rdm: str,
) -> np.ndarray:
    """M(pool(others), s) for each subject of ``region``, the pool being the others' mean
    unfiltered response over the units whose NCSNR, averaged over the others, reaches the
    threshold; s's own (filtered) responses as they are."""
    snr = data.attrs.get("ncsnr", {})
    threshold = data.attrs.get("ncsnr_threshold")
    keys = [(s, region) for s in subjects]
    raw = [average_repeats(np.asarray(unfiltered[k].values, dtype=np.float64)) for k in keys]
    if threshold is None or any(k not in snr for k in keys) or len({x.shape for x in raw}) != 1:
        raise InputError(
            f"The 'unfiltered' data of noise_ceiling must be the data before an NCSNR filter "
            f"over the same units in every subject; region {region!r} has "
            f"{sorted({x.shape[1] for x in raw})} units and NCSNR for "
            f"{sum(k in snr for k in keys)} of {len(keys)} subjects."
        )
    values = np.stack([np.asarray(snr[k], dtype=float) for k in keys])
    out = np.empty(len(keys))
    for i, key in enumerate(keys):
        others = [j for j in range(len(keys)) if j != i]
        keep = np.nanmean(values[others], axis=0) >= threshold
        pool = np.mean([raw[j] for j in others], axis=0)[:, keep]
        own = average_repeats(np.asarray(data[key].values, dtype=np.float64))
        if m.input_kind == "rdm":
            pair = rdm_vectors(np.stack([pool]), rdm), rdm_vectors(np.stack([own]), rdm)
            out[i] = cross(prepare(m, pair[0]), prepare(m, pair[1]))[0, 0]
        else:
            out[i] = cross(prepare(m, [pool], ["pool"]), prepare(m, [own], [key]))[0, 0]
    return out


def _pairwise_means(within: np.ndarray) -> np.ndarray:
    """Per region, the mean score over ordered pairs of different subjects that have it."""
    off = ~np.eye(within.shape[1], dtype=bool)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a region never scored in pairs
        return np.nanmean(np.where(off[None], within, np.nan), axis=(1, 2))


def _partner_means(within: np.ndarray, pairs: np.ndarray | None) -> np.ndarray:
    """(R, S): the mean over s's partners a of ``within[r, a, s]`` (a predicting s)."""
    n = within.shape[1]
    use = ~np.eye(n, dtype=bool) if pairs is None else np.asarray(pairs, dtype=bool)
    if use.shape != (n, n):
        raise InputError(
            f"The 'pairs' argument must be a ({n}, {n}) boolean matrix over the subjects. "
            f"Got shape {use.shape}."
        )
    use = use & ~np.eye(n, dtype=bool)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a subject without partners: NaN
        return np.nanmean(np.where(use[None], within, np.nan), axis=1)


def _per_subject(
    data: BrainData, m: Metric, loo: np.ndarray, lower: np.ndarray, rdm: str, pool: str
) -> xr.DataArray:
    return xr.DataArray(
        np.stack([lower, loo]),
        dims=("bound", "region", "subject"),
        coords={
            "bound": ["lower", "upper"],
            "region": coord(data.regions),
            "subject": coord(data.subjects),
        },
        attrs={"metric": m.name, "rdm": rdm, "pool": pool, "definition": "hoefling2026"},
        name="subject_ceiling",
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
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For one region: per subject M(pool(others), s) and, where the definition uses them,
    M(pool(all), s) (``nili2014``) and the scores of every ordered pair of subjects, a
    predicting b (``hoefling2026``, unless ``pairs`` is False: read from a score tensor); a
    part not computed is NaN."""
    everyone_needed = definition == "nili2014"
    pairs = pairs and definition == "hoefling2026"
    if definition == "hoefling2026" and m.input_kind == "rdm" and _aligned(data, rdm):
        return _pooled_response_parts(data, m, rdm, pairs)
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
    return loo, everyone, _pairs(prep, n, pairs)


def _pairs(prep: Any, n: int, wanted: bool) -> np.ndarray:
    """The scores of every ordered pair (a predicting b), or NaN when not wanted."""
    return cross(prep) if wanted else np.full((n, n), np.nan)


def _aligned(data: BrainData, rdm: str) -> bool:
    """Whether every subject's responses in this region are over the same units (their mean
    is a response pattern): 2-D responses of one shape, under a distance of single patterns."""
    if DISTANCES.get(rdm).cross_validated is not None:
        return False
    if any(data.kind(k) != "responses" for k in data):
        return False
    return len({data[k].values.shape for k in data}) == 1 and data[next(iter(data))].ndim == 2


def _pooled_response_parts(
    data: BrainData, m: Metric, rdm: str, pairs: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The ``hoefling2026`` parts of an RSA metric on aligned responses: each subject's
    leave-one-out pool is the unit-wise mean of the others' responses, then its RDM."""
    xs = np.stack([np.asarray(data[k].values, dtype=np.float64) for k in data])
    n = len(xs)
    v = data.rdm_vectors(rdm)
    prep = prepare(m, v, list(data.subjects))
    pools = (xs.sum(axis=0)[None] - xs) / (n - 1)  # (S, stimuli, units)
    loo = paired(prepare(m, rdm_vectors(pools, rdm, name="the leave-one-out pools")), prep)
    return loo, np.full(n, np.nan), _pairs(prep, n, pairs)


def _concatenated_parts(
    xs: list[np.ndarray], m: Metric, subjects: list[Hashable], everyone_needed: bool, pairs: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The ceiling parts of responses whose units differ between subjects (subject-specific
    voxels, e.g. after an NCSNR filter): a pool is the subjects' units side by side."""
    n = len(xs)
    prep = prepare(m, xs, subjects)
    others = [np.concatenate([x for j, x in enumerate(xs) if j != i], axis=1) for i in range(n)]
    loo = paired(prepare(m, others), prep)
    everyone = np.full(n, np.nan)
    if everyone_needed:
        everyone = cross(prepare(m, [np.concatenate(xs, axis=1)], ["pool"]), prep)[0]
    return loo, everyone, _pairs(prep, n, pairs)


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
