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
from typing import Any, Literal

import numpy as np
import xarray as xr

from .data import BrainData
from .engine import _labels, representation_inputs
from .metrics import Metric, get_metric

__all__ = [
    "bootstrap_indices",
    "ceiling_normalise",
    "double_criterion",
    "equivalence",
    "fdr_bh",
    "fwer_maxstat",
    "noise_ceiling",
    "paradigm_summary",
    "percentile_ci",
    "permutation_p_value",
    "resample_rdm_vectors",
    "two_factor_variance",
]


# ---------------------------------------------------------------------- noise ceilings
def noise_ceiling(
    data: BrainData,
    metric: str | Metric = "spearman",
    *,
    rdm: str = "correlation",
    pool: Literal["mean", "metric"] = "mean",
) -> xr.DataArray:
    """Leave-one-subject-out noise ceiling per region: DataArray (region, bound).

    ``upper = mean_s M(pool(all subjects), X[s])`` and ``lower = mean_s M(pool(others), X[s])``
    (Nili et al. 2014). For RSA metrics ``pool="mean"`` averages RDMs (DESIGN section 1);
    ``pool="metric"`` averages them the way the metric would (ranks for Spearman/Kendall,
    z-scores for Pearson, RMS-normalised for cosine), which is what rsatoolbox's
    ``boot_noise_ceiling`` does. For metrics on responses (CKA, predictivity, ...) the
    subjects' responses are averaged, which needs the same units in every subject; for an
    asymmetric metric the pool predicts the held-out subject.
    """
    if not isinstance(data, BrainData):
        raise TypeError(f"The 'data' argument must be a BrainData. Got {type(data).__name__}.")
    if len(data.subjects) < 2:
        raise ValueError(
            "A leave-one-subject-out noise ceiling needs at least 2 subjects. Got "
            f"{len(data.subjects)}."
        )
    from ._validation import check_option

    check_option(pool, "pool", ["mean", "metric"], "noise_ceiling")
    m = get_metric(metric)
    out = np.empty((len(data.regions), 2))
    for i, region in enumerate(data.regions):
        if m.input_kind == "responses":
            out[i] = _response_ceiling(data.select(areas=[region]), m)
            continue
        v = representation_inputs(data.select(areas=[region]), m, rdm)  # (S, m)
        pooled_in = m.pool_inputs(v) if pool == "metric" else v
        n = len(v)
        total = pooled_in.sum(axis=0)
        loo = (total[None, :] - pooled_in) / (n - 1)  # (S, m): pool of the others
        prep_v = m.prepare(v, list(data.subjects))
        upper = m.cross(m.prepare((total / n)[None], ["pool"]), prep_v)[0]
        lower = np.diag(m.cross(m.prepare(loo, None), prep_v))
        out[i] = (lower.mean(), upper.mean())
    return xr.DataArray(
        out,
        dims=("region", "bound"),
        coords={"region": _labels(data.regions), "bound": ["lower", "upper"]},
        attrs={"metric": m.name, "rdm": rdm, "pool": pool, "n_subjects": len(data.subjects)},
        name="noise_ceiling",
    )


def _response_ceiling(data: BrainData, m: Metric) -> tuple[float, float]:
    """(lower, upper) for a response metric: subjects' responses averaged (same units)."""
    xs = data.response_arrays(m.name)
    shapes = {x.shape for x in xs}
    if len(shapes) != 1:
        raise ValueError(
            f"A noise ceiling for {m.name!r} averages responses across subjects, which needs "
            f"the same units in every subject. Got shapes {sorted(shapes)} in region "
            f"{data.regions[0]!r}."
        )
    stack = np.stack(xs)
    n = len(stack)
    total = stack.sum(axis=0)
    prep_s = m.prepare(xs, list(data.subjects))
    upper = m.cross(m.prepare([total / n], ["pool"]), prep_s)[0]
    loo = [(total - x) / (n - 1) for x in stack]
    lower = np.diag(m.cross(m.prepare(loo, None), prep_s))
    return float(lower.mean()), float(upper.mean())


def ceiling_normalise(
    scores: xr.DataArray, ceiling: xr.DataArray, bound: Literal["lower", "upper"] = "upper"
) -> xr.DataArray:
    """Scores divided by the noise ceiling of their region (``bound`` = lower or upper)."""
    out = scores / ceiling.sel(bound=bound, drop=True)
    out.attrs = {**scores.attrs, "normalised_by": f"{bound} noise ceiling"}
    return out


# ---------------------------------------------------------------------- bootstrap
def bootstrap_indices(n: int, n_bootstrap: int, *, seed: int | None = 0) -> np.ndarray:
    """``n_bootstrap`` resamples (with replacement) of ``range(n)``: array (B, n)."""
    if not isinstance(n_bootstrap, int | np.integer) or n_bootstrap < 1:
        raise ValueError(
            f"The 'n_bootstrap' argument must be a positive integer. Got {n_bootstrap!r}."
        )
    return np.random.default_rng(seed).integers(0, n, size=(n_bootstrap, n))


def percentile_ci(samples: np.ndarray, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Percentile confidence interval along axis 0 (NaN samples ignored)."""
    if not 0.0 < level < 1.0:
        raise ValueError(f"The 'level' argument must lie between 0 and 1. Got {level!r}.")
    alpha = (1.0 - level) / 2.0
    with warnings.catch_warnings():  # an undefined statistic (all NaN) has an undefined CI
        warnings.simplefilter("ignore", RuntimeWarning)
        low, high = np.nanpercentile(samples, [100 * alpha, 100 * (1 - alpha)], axis=0)
    return low, high


def resample_rdm_vectors(vectors: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """RDM upper-triangle vectors of a stimulus bootstrap sample ``idx``.

    Pairs of copies of the same stimulus (zero dissimilarity by construction) are dropped, as
    in rsatoolbox's pattern bootstrap; every other pair keeps its multiplicity.
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
def permutation_p_value(observed: np.ndarray, null: np.ndarray) -> np.ndarray:
    """One-sided Monte-Carlo p-value ``(1 + #{null >= observed}) / (1 + n)`` along axis 0."""
    null = np.asarray(null, dtype=float)
    ge = np.sum(null >= np.asarray(observed)[None] - 1e-12, axis=0)
    return (1.0 + ge) / (1.0 + null.shape[0])


def fdr_bh(p_values: Any) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (q-values), same shape as the input."""
    p = np.asarray(p_values, dtype=float)
    flat = p.ravel()
    n = flat.size
    order = np.argsort(flat)
    ranked = flat[order] * n / np.arange(1, n + 1)
    q = np.minimum.accumulate(ranked[::-1])[::-1]
    out = np.empty(n)
    out[order] = np.minimum(q, 1.0)
    return out.reshape(p.shape)


def fwer_maxstat(observed: np.ndarray, null: np.ndarray) -> np.ndarray:
    """Max-statistic FWER-adjusted p-values: for each test k,
    ``(1 + #{max_j null[:, j] >= observed[k]}) / (1 + n)`` (Nichols & Holmes 2002).

    ``null`` (n_permutations, K) must come from the same permutations for every test.
    """
    null = np.asarray(null, dtype=float)
    max_null = np.nanmax(null.reshape(null.shape[0], -1), axis=1)
    obs = np.asarray(observed, dtype=float)
    ge = np.sum(max_null[:, None] >= obs.ravel()[None, :] - 1e-12, axis=0)
    return ((1.0 + ge) / (1.0 + len(max_null))).reshape(obs.shape)


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
    """
    names = list(means)
    if not names:
        return {}
    if higher_is_better:
        best = max(names, key=lambda k: means[k])
        threshold = lower_bounds[best]
        return {k: bool(means[k] >= threshold) for k in names}
    if upper_bounds is None:
        raise ValueError("Pass 'upper_bounds' when lower scores are better.")
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
    """
    names = list(evaluations)
    if not names:
        raise ValueError("The 'evaluations' argument must hold at least one model.")
    first = evaluations[names[0]]
    regions = list(regions) if regions is not None else list(first.coords["region"].values)
    for name in names:
        ev = evaluations[name]
        if "score_low" not in ev:
            raise ValueError(
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
    coords = {"region": _labels(regions), "model": _labels(names)}
    dims = ("region", "model")
    return xr.Dataset(
        {
            "score_equivalent": (dims, out["score"]),
            "aps_equivalent": (dims, out["aps"]),
            "double": (dims, out["score"] & out["aps"]),
        },
        coords=coords,
    )


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
    """
    rows = {}
    for paradigm, evaluations in evaluations_by_paradigm.items():
        if not evaluations:
            raise ValueError(f"Paradigm {paradigm!r} has no evaluated models.")
        evs = list(evaluations.values())
        if any("samples" not in ev for ev in evs):
            raise ValueError(
                f"Every evaluation of paradigm {paradigm!r} needs bootstrap samples; run "
                "evaluate_model with n_bootstrap > 0."
            )
        n_boot = {ev.sizes["bootstrap"] for ev in evs}
        if len(n_boot) != 1:
            raise ValueError(
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
    ds = xr.Dataset(coords={"paradigm": _labels(names), "statistic": ["score", "aps"]})
    dims = ("paradigm", "statistic")
    ds["mean"] = (dims, np.array([rows[p][0] for p in names]))
    ds["low"] = (dims, np.array([rows[p][1] for p in names]))
    ds["high"] = (dims, np.array([rows[p][2] for p in names]))
    ds["n_models"] = ("paradigm", np.array([rows[p][3] for p in names]))
    ds.attrs["level"] = level
    return ds
