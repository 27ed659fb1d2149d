"""Statistics: noise ceilings, bootstrap, permutation nulls, multiple comparisons, equivalence.

References
----------
Nili et al. 2014, PLoS Comput. Biol. 10:e1003553 (noise ceilings for RSA).
Schütt, Kipnis, Diedrichsen & Kriegeskorte 2023, eLife 12:e82566 (two-factor bootstrap over
subjects and stimuli, and the correction of its variance).
Benjamini & Hochberg 1995, J. R. Stat. Soc. B 57:289 (false discovery rate).
Nichols & Holmes 2002, Hum. Brain Mapp. 15:1 (max-statistic family-wise error control).
"""

from __future__ import annotations

import warnings
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import xarray as xr

from .data import BrainData
from .engine import cross, format_duration, prepare, representation_inputs
from .errors import InputError, InputTypeError
from .labels import coord
from .metrics import Metric, get_metric

__all__ = [
    "CEILINGS",
    "bootstrap_indices",
    "ceiling_normalise",
    "check_n_bootstrap",
    "double_criterion",
    "equivalence",
    "fdr_bh",
    "fixed_subject_bootstrap",
    "fwer_maxstat",
    "interval_diagnostics",
    "leaderboard",
    "noise_ceiling",
    "paradigm_summary",
    "percentile_ci",
    "permutation_null",
    "permutation_p_value",
    "plan_inference",
    "resample_rdm_vectors",
    "sign_flips",
    "two_factor_variance",
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
    predictivity, ...) the subjects' responses are averaged, which needs the same units in
    every subject; for an asymmetric metric the pool predicts the held-out subject.

    A region uses the subjects that have it (at least 2); ``attrs["subjects_per_region"]``
    gives their counts and ``subject_upper`` is NaN where a subject lacks the region.
    """
    from ._validation import check_option

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
    for i, r in enumerate(data.regions):
        loo[i, present[i]], everyone[i, present[i]], pairwise[i] = _ceiling_parts(
            data.select(sources=data.subjects_with(r), areas=[r]), m, rdm, pool
        )
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


def _ceiling_parts(
    data: BrainData, m: Metric, rdm: str, pool: str
) -> tuple[np.ndarray, np.ndarray, float]:
    """For one region: per subject M(pool(others), s) and M(pool(all), s), and the mean
    pairwise score over ordered pairs of different subjects."""
    if m.input_kind == "responses":
        xs = data.response_arrays(m.name)
        shapes = {x.shape for x in xs}
        if len(shapes) != 1:
            raise InputError(
                f"A noise ceiling for {m.name!r} averages responses across subjects, which "
                f"needs the same units in every subject. Got shapes {sorted(shapes)} in region "
                f"{data.regions[0]!r}."
            )
        stack = np.stack(xs)
        v, pooled_in, prep = stack, stack, prepare(m, xs, list(data.subjects))
        as_input = list
    else:
        v = representation_inputs(data, m, rdm)  # (S, m)
        pooled_in = m.pool_inputs(v) if pool == "metric" else v
        prep = prepare(m, v, list(data.subjects))
        as_input = np.asarray
    n = len(v)
    total = pooled_in.sum(axis=0)
    loo = np.diag(cross(prepare(m, as_input([(total - x) / (n - 1) for x in pooled_in])), prep))
    everyone = cross(prepare(m, as_input([total / n]), ["pool"]), prep)[0]
    pairs = cross(prep)
    pairwise = float(pairs[~np.eye(n, dtype=bool)].mean())
    return loo, everyone, pairwise


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
    from .errors import ReliabilityWarning

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


# ---------------------------------------------------------------------- bootstrap
def bootstrap_indices(n: int, n_bootstrap: int, *, seed: int | None = 0) -> np.ndarray:
    """``n_bootstrap`` resamples (with replacement) of ``range(n)``: array (B, n).

    Parameters
    ----------
    n : int
        Items resampled.
    n_bootstrap : int
        Resamples.
    seed : int or None
        Seed of ``numpy.random.default_rng``.

    Returns
    -------
    numpy.ndarray
        (n_bootstrap, n) integer indices.
    """
    if not isinstance(n_bootstrap, int | np.integer) or n_bootstrap < 1:
        raise InputError(
            f"The 'n_bootstrap' argument must be a positive integer. Got {n_bootstrap!r}."
        )
    return np.random.default_rng(seed).integers(0, n, size=(n_bootstrap, n))


def fixed_subject_bootstrap(
    values: np.ndarray, n_bootstrap: int, seed: int | None = 0
) -> np.ndarray:
    """Subject means over resampled subjects of fixed per-subject ``values`` (..., S):
    array (B, ...). Resample b draws ``numpy.random.default_rng(seed + b).choice(S, S,
    replace=True)`` (the estimator of Hoefling et al. 2026: the values are not recomputed
    from the resampled subjects); NaN values are left out of a mean.

    Parameters
    ----------
    values : numpy.ndarray
        (..., S).
    n_bootstrap : int
    seed : int or None

    Returns
    -------
    numpy.ndarray
    """
    values = np.asarray(values, dtype=float)
    n_sub = values.shape[-1]
    base = 0 if seed is None else int(seed)
    out = np.empty((n_bootstrap, *values.shape[:-1]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN statistic stays NaN
        for b in range(n_bootstrap):
            idx = np.random.default_rng(base + b).choice(n_sub, n_sub, replace=True)
            out[b] = np.nanmean(values[..., idx], axis=-1)
    return out


def percentile_ci(samples: np.ndarray, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Percentile confidence interval along axis 0 (NaN samples ignored).

    Parameters
    ----------
    samples : numpy.ndarray
        Bootstrap samples along axis 0.
    level : float
        Coverage, in (0, 1).

    Returns
    -------
    tuple of numpy.ndarray
        The lower and upper bounds, each of the shape of ``samples[0]``.
    """
    if not 0.0 < level < 1.0:
        raise InputError(f"The 'level' argument must lie between 0 and 1. Got {level!r}.")
    alpha = (1.0 - level) / 2.0
    with warnings.catch_warnings():  # an undefined statistic (all NaN) has an undefined CI
        warnings.simplefilter("ignore", RuntimeWarning)
        low, high = np.nanpercentile(samples, [100 * alpha, 100 * (1 - alpha)], axis=0)
    return low, high


#: A bootstrap interval is flagged when fewer than this fraction of resamples define it.
MIN_KEPT_FRACTION = 0.5
#: Fewer bootstrap resamples than this give unstable percentile intervals: a warning.
MIN_BOOTSTRAP = 100


def check_n_bootstrap(n_bootstrap: int, what: str = "bootstrap") -> None:
    """Warn (:class:`~crossalign.errors.ReliabilityWarning`) when fewer than 100 resamples
    are asked for: percentile intervals from so few are unstable.

    Parameters
    ----------
    n_bootstrap : int
    what : str
        What is resampled, for the message.
    """
    from .errors import ReliabilityWarning

    if 0 < n_bootstrap < MIN_BOOTSTRAP:
        warnings.warn(
            f"{what}: {n_bootstrap} bootstrap resamples give unstable percentile intervals; "
            f"use at least {MIN_BOOTSTRAP} (1000 is the default).",
            ReliabilityWarning,
            stacklevel=3,
        )


def interval_diagnostics(
    samples: np.ndarray,
    low: np.ndarray,
    high: np.ndarray,
    *,
    what: str = "statistic",
    labels: Sequence[Hashable] | None = None,
    min_kept: float = MIN_KEPT_FRACTION,
    warn: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """How far a bootstrap interval can be trusted, per column of ``samples``.

    Parameters
    ----------
    samples : numpy.ndarray, shape (B, ...)
        Bootstrap samples; NaN marks a resample that left the statistic undefined (e.g. a
        subject resample with fewer than 3 distinct subjects, for APS).
    low, high : numpy.ndarray
        The interval's bounds, shaped like ``samples[0]``.
    what : str
        The statistic's name, for warnings.
    labels : sequence, optional
        Names of the last axis (regions), for warnings.
    min_kept : float
        The smallest fraction of defined resamples an interval may rest on.
    warn : bool
        Emit a :class:`~crossalign.errors.ReliabilityWarning` for the flagged intervals.

    Returns
    -------
    kept : numpy.ndarray
        Fraction of resamples that defined the statistic.
    degenerate : numpy.ndarray of bool
        The interval rests on fewer than ``min_kept`` of the resamples or has zero width
        (every kept resample gave the same value); undefined statistics (all NaN) are not
        flagged.
    """
    from .errors import ReliabilityWarning

    samples = np.asarray(samples, dtype=float)
    kept = np.isfinite(samples).mean(axis=0)
    width = np.asarray(high, dtype=float) - np.asarray(low, dtype=float)
    scale = np.maximum(1.0, np.abs(np.nan_to_num(np.asarray(high, dtype=float))))
    defined = kept > 0
    degenerate = defined & ((kept < min_kept) | (np.nan_to_num(width) <= 1e-12 * scale))
    if warn and degenerate.any():
        names = np.asarray(list(labels) if labels is not None else range(kept.shape[-1]))
        flagged = sorted({str(names[i[-1]]) for i in np.argwhere(degenerate)})
        warnings.warn(
            f"{what}: the bootstrap interval is degenerate for {flagged}: "
            f"{float(kept[degenerate].min()):.0%} or fewer of the resamples define it, or "
            "they all give one value (zero width). Too few subjects to estimate its "
            "uncertainty; the interval is flagged in the results.",
            ReliabilityWarning,
            stacklevel=2,
        )
    return kept, degenerate


def resample_rdm_vectors(vectors: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """RDM upper-triangle vectors of a stimulus bootstrap sample ``idx``.

    Pairs of copies of the same stimulus (zero dissimilarity by construction) are dropped, as
    in rsatoolbox's pattern bootstrap; every other pair keeps its multiplicity.

    Parameters
    ----------
    vectors : numpy.ndarray
        (K, n (n - 1) / 2).
    idx : numpy.ndarray
        (n,) resampled stimulus positions.

    Returns
    -------
    numpy.ndarray
    """
    n = round((1 + np.sqrt(1 + 8 * vectors.shape[-1])) / 2)
    i, j = np.triu_indices(len(idx), k=1)
    a, b = idx[i], idx[j]
    keep = a != b
    lo, hi = np.minimum(a[keep], b[keep]), np.maximum(a[keep], b[keep])
    # position of (lo, hi) in the row-major strict upper triangle of an n x n matrix
    pos = lo * n - lo * (lo + 1) // 2 + (hi - lo - 1)
    return vectors[..., pos]


def two_factor_variance(
    var_both: np.ndarray,
    var_subjects: np.ndarray,
    var_stimuli: np.ndarray,
    n_subjects: int | None = None,
    n_stimuli: int | None = None,
) -> np.ndarray:
    """Corrected variance of a statistic bootstrapped over subjects and stimuli together.

    The naive two-factor bootstrap counts the measurement noise twice. Schütt et al. 2023
    (eLife 12:e82566) combine the three bootstraps (both, subjects only, stimuli only): for
    large samples ``2 (V_subj + V_stim) - V_both``; with the sample sizes given, the
    small-sample form ``n_s/(n_s-1) V_subj + n_c/(n_c-1) V_stim - n_s n_c / ((n_s-1)(n_c-1))
    (V_both - V_subj - V_stim)``. The estimate is kept between ``max(V_subj, V_stim)`` and
    ``V_both``.

    Parameters
    ----------
    var_both, var_subjects, var_stimuli : numpy.ndarray
        Bootstrap variances over both factors, subjects only and stimuli only.
    n_subjects, n_stimuli : int, optional
        Sample sizes for the small-sample form.

    Returns
    -------
    numpy.ndarray
        The corrected variance.
    """
    vb, vs, vc = (np.asarray(v, dtype=float) for v in (var_both, var_subjects, var_stimuli))
    if n_subjects is None or n_stimuli is None:
        v = 2.0 * (vs + vc) - vb
    else:
        ns, nc = n_subjects, n_stimuli
        v = (
            ns / (ns - 1) * vs
            + nc / (nc - 1) * vc
            - ns * nc / ((ns - 1) * (nc - 1)) * (vb - vs - vc)
        )
    return np.minimum(np.maximum(v, np.maximum(vs, vc)), vb)


# ---------------------------------------------------------------------- tests
def permutation_null(
    n_items: int, n_permutations: int, seed: int | None = 0
) -> tuple[np.ndarray, bool]:
    """The permutations of ``range(n_items)`` a permutation test runs: every one of the
    ``n_items!`` relabellings when there are at most ``n_permutations`` (an exact test; the
    identity included), else ``n_permutations`` seeded random ones (Monte Carlo).

    Parameters
    ----------
    n_items : int
    n_permutations : int
    seed : int or None

    Returns
    -------
    permutations : numpy.ndarray, shape (P, n_items)
    exact : bool
    """
    import itertools
    import math

    if not isinstance(n_permutations, int | np.integer) or n_permutations < 1:
        raise InputError(
            f"The 'n_permutations' argument must be a positive integer. Got {n_permutations!r}."
        )
    if math.factorial(n_items) <= n_permutations:
        return np.array(list(itertools.permutations(range(n_items)))), True
    rng = np.random.default_rng(seed)
    return np.array([rng.permutation(n_items) for _ in range(n_permutations)]), False


def sign_flips(n_items: int, n_permutations: int, seed: int | None = 0) -> tuple[np.ndarray, bool]:
    """Sign patterns for a paired permutation test (each subject's difference keeps or flips
    its sign): all ``2**n_items`` when there are at most ``n_permutations`` (exact), else
    ``n_permutations`` seeded random ones. Returns (array (P, n_items) of +-1, exact).

    Parameters
    ----------
    n_items : int
    n_permutations : int
    seed : int or None
    """
    if not isinstance(n_permutations, int | np.integer) or n_permutations < 1:
        raise InputError(
            f"The 'n_permutations' argument must be a positive integer. Got {n_permutations!r}."
        )
    if 2**n_items <= n_permutations:
        bits = (np.arange(2**n_items)[:, None] >> np.arange(n_items)[None, :]) & 1
        return 1.0 - 2.0 * bits, True
    rng = np.random.default_rng(seed)
    return rng.choice([-1.0, 1.0], size=(n_permutations, n_items)), False


#: Null values within this of the observed value count as ties (at least as extreme).
TIE_TOLERANCE = 1e-12


def permutation_p_value(
    observed: np.ndarray, null: np.ndarray, *, exact: bool = False
) -> np.ndarray:
    """One-sided p-value along axis 0: the share of the null at least as large as the
    observed value when the null enumerates every permutation (``exact``), else the Monte
    Carlo estimate ``(1 + #{null >= observed}) / (1 + n)`` (Phipson & Smyth 2010). Ties
    within ``TIE_TOLERANCE`` count as at least as large; NaN in, NaN out.

    Parameters
    ----------
    observed : numpy.ndarray
    null : numpy.ndarray
        (P, ...).
    exact : bool

    Returns
    -------
    numpy.ndarray
    """
    null = np.asarray(null, dtype=float)
    observed = np.asarray(observed, dtype=float)
    ge = np.sum(null >= observed[None] - TIE_TOLERANCE, axis=0)
    p = ge / null.shape[0] if exact else (1.0 + ge) / (1.0 + null.shape[0])
    return np.where(np.isnan(observed), np.nan, p)


def fdr_bh(p_values: Any) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (q-values), same shape as the input
    (:func:`scipy.stats.false_discovery_control`).

    Parameters
    ----------
    p_values : array_like
        p-values in [0, 1].

    Returns
    -------
    numpy.ndarray
        The adjusted p-values.
    """
    from scipy.stats import false_discovery_control

    p = np.asarray(p_values, dtype=float)
    return false_discovery_control(p.ravel(), method="bh").reshape(p.shape)


def fwer_maxstat(observed: np.ndarray, null: np.ndarray, *, exact: bool = False) -> np.ndarray:
    """Max-statistic FWER-adjusted p-values (Nichols & Holmes 2002): for each test k, the
    p-value of ``observed[k]`` against the null of the maximum over tests
    (:func:`permutation_p_value`'s rule). ``null`` (n_permutations, K) must come from the
    same permutations for every test.

    Parameters
    ----------
    observed : numpy.ndarray
        (K,) observed statistics.
    null : numpy.ndarray
        (n_permutations, K) statistics under the same permutations.
    exact : bool
        Whether ``null`` enumerates every permutation (no +1 correction).

    Returns
    -------
    numpy.ndarray
        (K,) adjusted p-values.
    """
    null = np.asarray(null, dtype=float)
    max_null = np.nanmax(null.reshape(null.shape[0], -1), axis=1)
    obs = np.asarray(observed, dtype=float)
    return permutation_p_value(obs.ravel(), max_null[:, None], exact=exact).reshape(obs.shape)


def equivalence(
    means: Mapping[Hashable, float],
    lower_bounds: Mapping[Hashable, float],
    *,
    higher_is_better: bool = True,
    upper_bounds: Mapping[Hashable, float] | None = None,
) -> dict[Hashable, bool]:
    """Which models are practically equivalent to the best one.

    The best model has the highest mean; a model is equivalent when its mean lies at or above
    the best model's lower CI bound (at or below its upper bound when lower is better).

    Parameters
    ----------
    means : mapping
        ``{model: mean}``.
    lower_bounds : mapping
        ``{model: lower CI bound}``.
    higher_is_better : bool
        Whether larger means are better.
    upper_bounds : mapping, optional
        ``{model: upper CI bound}``, needed when lower is better.

    Returns
    -------
    dict
        ``{model: equivalent to the best}``.

    Raises
    ------
    InputError
        Lower is better and no upper bounds are given.
    """
    names = list(means)
    if not names:
        return {}
    if higher_is_better:
        best = max(names, key=lambda k: means[k])
        threshold = lower_bounds[best]
        return {k: bool(means[k] >= threshold) for k in names}
    if upper_bounds is None:
        raise InputError("Pass 'upper_bounds' when lower scores are better.")
    best = min(names, key=lambda k: means[k])
    return {k: bool(means[k] <= upper_bounds[best]) for k in names}


def double_criterion(
    evaluations: Mapping[Hashable, xr.Dataset],
    *,
    regions: Sequence[Hashable] | None = None,
) -> xr.Dataset:
    """The equivalence analysis for several models evaluated with :func:`evaluate_model`.

    Per region and model: ``score_equivalent`` (mean score >= best model's lower CI bound),
    ``aps_equivalent`` (the same for APS) and ``double`` (both). All evaluations must use the
    same subjects, seed and bootstrap count (paired resamples).

    Parameters
    ----------
    evaluations : mapping
        ``{model: Dataset}`` from :func:`evaluate_model` (with bootstrap samples).
    regions : sequence, optional
        The regions to report; default all.

    Returns
    -------
    xarray.Dataset
        Boolean (model, region) variables ``score_equivalent``, ``aps_equivalent`` and
        ``double``.
    """
    names = list(evaluations)
    if not names:
        raise InputError("The 'evaluations' argument must hold at least one model.")
    first = evaluations[names[0]]
    regions = list(regions) if regions is not None else list(first.coords["region"].values)
    for name in names:
        ev = evaluations[name]
        if "score_low" not in ev:
            raise InputError(
                f"The evaluation of {name!r} has no confidence intervals; run evaluate_model "
                "with n_bootstrap > 0."
            )
    out = {k: np.zeros((len(regions), len(names)), dtype=bool) for k in ("score", "aps")}
    for i, r in enumerate(regions):
        for stat in ("score", "aps"):
            means = {n: float(evaluations[n][f"{stat}_mean"].sel(region=r)) for n in names}
            lows = {n: float(evaluations[n][f"{stat}_low"].sel(region=r)) for n in names}
            eq = equivalence(means, lows)
            out[stat][i] = [eq[n] for n in names]
    coords = {"region": coord(regions), "model": coord(names)}
    dims = ("region", "model")
    return xr.Dataset(
        {
            "score_equivalent": (dims, out["score"]),
            "aps_equivalent": (dims, out["aps"]),
            "double": (dims, out["score"] & out["aps"]),
        },
        coords=coords,
    )


def leaderboard(evaluations: Mapping[Hashable, xr.Dataset], level: float = 0.95) -> xr.Dataset:
    """Models ranked on their means over regions: Dataset (model).

    Per model, the mean over regions of the pointwise score and of APS, with percentile CIs
    from the same bootstrap resamples (each resample's mean over regions), and the
    equivalence analysis on these means: ``score_equivalent`` (mean at or above the best
    model's lower bound), ``aps_equivalent`` and ``double`` (both).

    Parameters
    ----------
    evaluations : mapping
        ``{model: evaluate_model(...) Dataset}``, all with the same bootstrap.
    level : float
        The confidence level.

    Returns
    -------
    xarray.Dataset
    """
    names = list(evaluations)
    if not names or any("samples" not in evaluations[n] for n in names):
        raise InputError(
            "A leaderboard needs evaluations with bootstrap samples (n_bootstrap > 0)."
        )
    out: dict[str, list[float]] = {}
    with warnings.catch_warnings():  # an undefined APS (too few regions) stays NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        for stat in ("score", "aps"):
            means = [float(np.nanmean(evaluations[n][f"{stat}_mean"].values)) for n in names]
            per_sample = [
                np.nanmean(evaluations[n]["samples"].sel(statistic=stat).values, axis=1)
                for n in names
            ]
            bounds = [percentile_ci(x, level) for x in per_sample]
            out[f"{stat}_mean"] = means
            out[f"{stat}_low"] = [float(b[0]) for b in bounds]
            out[f"{stat}_high"] = [float(b[1]) for b in bounds]
            defined = [i for i, m in enumerate(means) if np.isfinite(m)]
            eq = equivalence(
                {names[i]: means[i] for i in defined},
                {names[i]: out[f"{stat}_low"][i] for i in defined},
            )
            # 1 / 0, or NaN where the statistic is undefined (APS with too few regions)
            out[f"{stat}_equivalent"] = [float(eq[n]) if n in eq else np.nan for n in names]
    out["double"] = [
        a * b for a, b in zip(out["score_equivalent"], out["aps_equivalent"], strict=True)
    ]
    return xr.Dataset({k: ("model", v) for k, v in out.items()}, coords={"model": coord(names)})


def paradigm_summary(
    evaluations_by_paradigm: Mapping[str, Mapping[Hashable, xr.Dataset]],
    *,
    level: float = 0.95,
) -> xr.Dataset:
    """Per-paradigm means of pointwise score and APS, with bootstrap CIs.

    ``evaluations_by_paradigm`` maps a paradigm ("supervised", "self-supervised", "untrained",
    "hand-built", ...) to its models' :func:`~crossalign.evaluate_model` results. The paradigm
    value is the mean over its models and over regions; its CI comes from the models' paired
    bootstrap samples (same subjects, seed and resample count are required), averaged the same
    way, so a paradigm's CI reflects subject sampling, not only the spread across models.

    Parameters
    ----------
    evaluations_by_paradigm : mapping
        ``{paradigm: {model: Dataset}}``.
    level : float
        Coverage of the intervals.

    Returns
    -------
    xarray.Dataset
        ``mean``, ``low`` and ``high`` over (paradigm, statistic) with statistics ``score``
        and ``aps``, and ``n_models`` per paradigm.
    """
    rows = {}
    for paradigm, evaluations in evaluations_by_paradigm.items():
        if not evaluations:
            raise InputError(f"Paradigm {paradigm!r} has no evaluated models.")
        evs = list(evaluations.values())
        if any("samples" not in ev for ev in evs):
            raise InputError(
                f"Every evaluation of paradigm {paradigm!r} needs bootstrap samples; run "
                "evaluate_model with n_bootstrap > 0."
            )
        n_boot = {ev.sizes["bootstrap"] for ev in evs}
        if len(n_boot) != 1:
            raise InputError(
                f"The evaluations of paradigm {paradigm!r} use different bootstrap counts "
                f"{sorted(n_boot)}; expected one (paired resamples)."
            )
        samples = np.mean([ev["samples"].values for ev in evs], axis=0)  # (B, 3, R)
        with warnings.catch_warnings():  # resamples with < 3 distinct subjects are all-NaN
            warnings.simplefilter("ignore", RuntimeWarning)
            per_sample = np.nanmean(samples, axis=2)  # (B, 3)
        low, high = percentile_ci(per_sample, level)
        with warnings.catch_warnings():  # APS is all-NaN where it is undefined (< 3 regions)
            warnings.simplefilter("ignore", RuntimeWarning)
            means = np.nanmean(
                [[np.nanmean(ev[f"{s}_mean"].values) for s in ("score", "aps")] for ev in evs],
                axis=0,
            )
        rows[paradigm] = (means, low[:2], high[:2], len(evs))
    names = list(rows)
    ds = xr.Dataset(coords={"paradigm": coord(names), "statistic": ["score", "aps"]})
    dims = ("paradigm", "statistic")
    ds["mean"] = (dims, np.array([rows[p][0] for p in names]))
    ds["low"] = (dims, np.array([rows[p][1] for p in names]))
    ds["high"] = (dims, np.array([rows[p][2] for p in names]))
    ds["n_models"] = ("paradigm", np.array([rows[p][3] for p in names]))
    ds.attrs["level"] = level
    return ds


@dataclass(frozen=True)
class InferencePlan:
    """Memory and time of a study's bootstrap and permutation loops, known before they run
    (:func:`plan_inference`)."""

    n_bootstrap: int
    n_permutations: int
    peak_bytes: int
    seconds: float

    def describe(self) -> str:
        """One line for the user, printed before the run starts."""
        return (
            f"{self.n_bootstrap} bootstraps and {self.n_permutations} permutations per model: "
            f"peak memory about {self.peak_bytes / 1e6:.1f} MB, time about "
            f"{format_duration(self.seconds)}"
        )


def plan_inference(
    n_subjects: int,
    n_regions: int,
    n_models: int,
    n_layers: int,
    *,
    n_bootstrap: int,
    n_permutations: int,
    budget: int | None = None,
) -> InferencePlan:
    """Plan the resampling loops of a study on one dataset and metric, and refuse one that
    cannot fit the memory budget before anything runs.

    Each subject resample re-indexes the score tensors: the brain's (S, R, S, R) and each
    model's (L, S, R); the samples kept are (B, R) for brain APS and (B, 3, R) per model.
    Permutation nulls keep (P, R) values per model.

    Parameters
    ----------
    n_subjects, n_regions, n_models, n_layers : int
        The dataset's and models' sizes (``n_layers``: the most of any model).
    n_bootstrap, n_permutations : int
        The study's resample counts.
    budget : int, optional
        Bytes allowed (default: the ``memory_budget`` option).

    Returns
    -------
    InferencePlan

    Raises
    ------
    MemoryBudgetError
        Naming ``n_bootstrap`` or ``n_permutations``, whichever needs the memory.
    """
    from ._options import MemoryBudgetError, get_option

    s, r, lay = n_subjects, n_regions, max(n_layers, 1)
    budget = get_option("memory_budget") if budget is None else budget
    per_resample = 8 * 2 * (s * s * r * r + lay * s * r)  # re-indexed tensors, freed each time
    boot_bytes = 8 * n_bootstrap * (r + 2 * 3 * r)
    perm_bytes = 8 * n_permutations * (2 * r + r)
    peak = per_resample + boot_bytes + perm_bytes
    if peak > budget:
        name, value = (
            ("n_bootstrap", n_bootstrap)
            if boot_bytes >= perm_bytes
            else ("n_permutations", n_permutations)
        )
        raise MemoryBudgetError(
            f"{name} = {value} needs about {peak / 1e9:.3g} GB for its resamples, over the "
            f"memory budget of {budget / 1e9:.3g} GB. Use a smaller {name} (1000 is usual) "
            "or a larger budget (--memory-budget)."
        )
    elements = s * s * r * r + n_models * (lay + s) * s * r * r
    seconds = n_bootstrap * (1 + n_models) * (60e-6 + elements / 2e8)
    seconds += n_models * n_permutations * (40e-6 + lay * s * r * r / 2e8)
    return InferencePlan(n_bootstrap, n_permutations, int(peak), float(seconds))
