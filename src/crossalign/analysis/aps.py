"""Alignment patterns and the alignment pattern score (APS).

Hoefling et al. 2026 (arXiv:2604.21780). With ``T[a, r, b, q] =
M(X[a, r], X[b, q])`` the all-pairs score tensor (computed once by the engine):

* alignment pattern of region r from subject a to subject b: ``AP[a->b](r) = T[a, r, b, :]``
  (the same-region entry q = r included by default);
* reference for held-out subject s: ``Ref[-s](r) = mean over a != b, a, b != s of AP[a->b](r)``;
* brain APS: ``APS_brain(r, s) = mean over a != s of corr(Ref[-s](r), AP[a->s](r))``;
* a model layer l standing in for region r: ``AP[m,l](s) = [M(F[m, l], X[s, q])]_q`` and
  ``APS_model(l, r, s) = mean over a != s of corr(AP[m,l](s), AP[a->s](r))``.

Everything here works on the score tensors, so a subject bootstrap only re-indexes them (no
RDM comparison is ever recomputed). Subjects duplicated by a bootstrap are treated as the same
subject: pairs of copies are excluded, as the definition excludes a subject paired with itself.
"""

from __future__ import annotations

import warnings
from collections.abc import Hashable
from typing import Any, Literal

import numpy as np
import xarray as xr
from scipy import stats

from crossalign._validation import check_option
from crossalign.data.containers import BrainData, ModelData
from crossalign.data.labels import coord
from crossalign.engine.core import score_tensor
from crossalign.errors import InputError, InputTypeError
from crossalign.metrics import Metric, get_metric
from crossalign.stats.resampling import (
    bootstrap_indices,
    check_n_bootstrap,
    fixed_subject_bootstrap,
    interval_diagnostics,
    percentile_ci,
)

__all__ = [
    "SIMILARITIES",
    "aps_kernels",
    "brain_aps",
    "brain_aps_ci",
    "brain_aps_ci_of",
    "brain_aps_kernel",
    "brain_patterns",
    "model_aps_kernel",
    "model_patterns",
    "pattern_similarity",
]

Similarity = Literal["pearson", "spearman", "cosine", "mse", "mae", "r2"]
#: How two alignment patterns x, y (over the same target regions) are compared, as the paper's
#: analysis code offers it (Hoefling et al. 2026): ``pearson`` r; ``spearman`` rho (Pearson
#: of ranks); ``cosine`` x.y / (|x| |y|), uncentred; ``mse`` 1 / (1 + mean((x - y)^2));
#: ``mae`` 1 / (1 + mean(|x - y|)); ``r2`` the explained variance r^2 (Pearson squared).
SIMILARITIES = ("pearson", "spearman", "cosine", "mse", "mae", "r2")
#: Similarities computed entry by entry (no unit-norm form): always through the masked path.
_DIRECT = ("mse", "mae")


# ---------------------------------------------------------------------- kernels (numpy)
def _selection(n_regions: int, include_same_region: bool) -> np.ndarray:
    """Indices (R, Q') of the target regions entering region r's pattern."""
    if include_same_region:
        return np.tile(np.arange(n_regions), (n_regions, 1))
    return np.array([[q for q in range(n_regions) if q != r] for r in range(n_regions)])


def _standardise(x: np.ndarray, similarity: str) -> np.ndarray:
    """Centre and scale the last axis to unit norm (ranks first for Spearman; no centring for
    cosine); NaN if flat. Inner products of the results are the similarities (squared for
    ``r2``)."""
    if similarity == "spearman":
        x = stats.rankdata(x, axis=-1)
    if similarity != "cosine":
        x = x - x.mean(axis=-1, keepdims=True)
    norm = np.linalg.norm(x, axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = x / norm
    out[np.broadcast_to(norm <= 1e-12, out.shape)] = np.nan
    return out


def _pair_masks(valid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """K[a, b, s] (pairs entering Ref[-s]) and w[a, s] (sources entering the mean over a)."""
    w = valid.astype(float)
    k = w[:, :, None] * w[:, None, :] * w[None, :, :]  # valid[a,b] * valid[a,s] * valid[b,s]
    return k, w


def _squared(c: np.ndarray, similarity: str) -> np.ndarray:
    """``r2`` is the square of Pearson's r; every other similarity is as computed."""
    return c**2 if similarity == "r2" else c


def _masked_corr(x: np.ndarray, y: np.ndarray, similarity: str) -> np.ndarray:
    """The similarity along the last axis over the entries finite in both (broadcast). NaN
    with fewer than 3 such entries (1 for ``mse``/``mae``) or a flat side (a zero vector for
    cosine). Spearman ranks those entries only."""
    x, y = np.broadcast_arrays(x, y)
    both = np.isfinite(x) & np.isfinite(y)
    x, y = np.where(both, x, np.nan), np.where(both, y, np.nan)
    if similarity in _DIRECT or similarity == "cosine":
        return _masked_direct(x, y, both, similarity)
    if similarity == "spearman":
        x = stats.rankdata(x, axis=-1, nan_policy="omit")
        y = stats.rankdata(y, axis=-1, nan_policy="omit")
    n = both.sum(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        xc = np.where(both, x - np.nansum(x, axis=-1, keepdims=True) / n, 0.0)
        yc = np.where(both, y - np.nansum(y, axis=-1, keepdims=True) / n, 0.0)
        sx, sy = np.sqrt((xc**2).sum(axis=-1)), np.sqrt((yc**2).sum(axis=-1))
        r = (xc * yc).sum(axis=-1) / (sx * sy)
    r[(n[..., 0] < 3) | (sx <= 1e-12) | (sy <= 1e-12)] = np.nan
    return _squared(r, similarity)


def pattern_similarity(x: np.ndarray, y: np.ndarray, similarity: str = "pearson") -> np.ndarray:
    """The similarity of patterns along the last axis (broadcast), over the entries finite in
    both; NaN where it is undefined (see :data:`SIMILARITIES`).

    Parameters
    ----------
    x, y : numpy.ndarray
        Patterns, broadcast against each other.
    similarity : str
        One of :data:`SIMILARITIES`.

    Returns
    -------
    numpy.ndarray
    """
    check_option(similarity, "similarity", SIMILARITIES, "pattern_similarity")
    return _masked_corr(np.asarray(x, dtype=float), np.asarray(y, dtype=float), similarity)


def _masked_direct(x: np.ndarray, y: np.ndarray, both: np.ndarray, similarity: str) -> np.ndarray:
    """Cosine, ``mse`` and ``mae`` similarity over the entries ``both`` marks."""
    n = both.sum(axis=-1)
    x0, y0 = np.where(both, x, 0.0), np.where(both, y, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        if similarity == "cosine":
            sx, sy = np.sqrt((x0**2).sum(axis=-1)), np.sqrt((y0**2).sum(axis=-1))
            out = (x0 * y0).sum(axis=-1) / (sx * sy)
            out[(sx <= 1e-12) | (sy <= 1e-12)] = np.nan
        else:
            diff = x0 - y0
            err = (diff**2 if similarity == "mse" else np.abs(diff)).sum(axis=-1) / n
            out = 1.0 / (1.0 + err)
    out[n < 1] = np.nan
    return out


def _cells(t: np.ndarray) -> np.ndarray:
    """Which (subject, region) cells of a score tensor (S, R, S, R) exist: those with any
    finite score."""
    return np.isfinite(t).any(axis=(2, 3))


def _weighted_mean(c: np.ndarray, weight: np.ndarray, axis: int) -> np.ndarray:
    """Mean of ``c`` over ``axis`` with 0/1 weights; an undefined value with weight 1 stays
    NaN (a flat pattern), one with weight 0 is skipped."""
    with np.errstate(invalid="ignore", divide="ignore"):
        total = np.where(weight > 0, c, 0.0) * weight
        return total.sum(axis=axis) / weight.sum(axis=axis)


def _brain_aps_masked(
    tsel: np.ndarray, valid: np.ndarray, present: np.ndarray, similarity: str
) -> np.ndarray:
    """APS_brain (R, S) when some (subject, region) cells are missing (NaN scores): the
    reference averages, per entry, the pairs that have it; correlations use the entries
    both patterns have; the mean over source subjects skips those lacking the region."""
    k, w = _pair_masks(valid)
    finite = np.isfinite(tsel)
    num = np.einsum("abs,arbk->srk", k, np.where(finite, tsel, 0.0))
    den = np.einsum("abs,arbk->srk", k, finite.astype(float))
    with np.errstate(invalid="ignore", divide="ignore"):
        ref = np.where(den > 0, num / den, np.nan)  # (s, r, k)
    c = _masked_corr(ref.transpose(1, 0, 2)[None], tsel, similarity)  # (a, r, s)
    # sources that have the region and were scored against s (a pair left out of a partner
    # design has no finite entry and is skipped; a flat pattern stays NaN)
    weight = w[:, None, :] * present[:, :, None] * finite.any(axis=-1)  # (a, r, s)
    return _weighted_mean(c, weight, axis=0)


def brain_aps_kernel(
    t: np.ndarray,
    valid: np.ndarray | None = None,
    *,
    include_same_region: bool = True,
    similarity: str = "pearson",
) -> np.ndarray:
    """APS_brain (R, S) from the score tensor ``t`` (S, R, S, R).

    ``valid[a, b]`` says whether subjects a and b are different (default: a != b); a
    subject bootstrap passes ``idx[:, None] != idx[None, :]``. NaN scores mark missing
    (subject, region) cells: every mean and correlation then uses the entries that exist.

    Parameters
    ----------
    t : numpy.ndarray
        The score tensor (S, R, S, R), NaN where a cell is missing.
    valid : numpy.ndarray of bool, optional
        (S, S): which subject pairs count (default: pairs of different subjects).
    include_same_region : bool
        Whether a pattern includes its own region.
    similarity : {"pearson", "spearman", "cosine", "mse", "mae", "r2"}
        How two patterns are compared (:data:`SIMILARITIES`).

    Returns
    -------
    numpy.ndarray
        (R, S).
    """
    valid, _, tsel = _brain_patterns(t, valid, include_same_region)
    if np.isnan(t).any() or similarity in _DIRECT:
        return _brain_aps_masked(tsel, valid, _cells(t), similarity)
    return _brain_aps_plain(tsel, _standardise(tsel, similarity), valid, similarity)


def _brain_aps_plain(
    tsel: np.ndarray, ap_n: np.ndarray, valid: np.ndarray, similarity: str
) -> np.ndarray:
    """APS_brain (R, S) of complete patterns ``tsel`` (a, r, s, k), ``ap_n`` standardised."""
    n_sub, n_reg, q = tsel.shape[0], tsel.shape[1], tsel.shape[-1]
    k, w = _pair_masks(valid)
    count = k.sum(axis=(0, 1))  # (S,)
    flat = tsel.transpose(0, 2, 1, 3).reshape(n_sub * n_sub, n_reg * q)  # (a*b, r*k)
    ref_sum = k.reshape(n_sub * n_sub, n_sub).T @ flat  # (s, r*k)
    with np.errstate(invalid="ignore", divide="ignore"):
        ref = (ref_sum / count[:, None]).reshape(n_sub, n_reg, q)  # (s, r, k)
    ref_n = _standardise(ref, similarity)  # (s, r, k)
    c = _squared(np.einsum("srk,arsk->ars", ref_n, ap_n), similarity)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.einsum("ars,as->rs", c, w) / w.sum(axis=0)[None, :]


def model_aps_kernel(
    u: np.ndarray,
    t: np.ndarray,
    valid: np.ndarray | None = None,
    *,
    include_same_region: bool = True,
    similarity: str = "pearson",
) -> np.ndarray:
    """APS_model (L, R, S) from the model-vs-brain tensor ``u`` (L, S, R) and ``t``.

    Parameters
    ----------
    u : numpy.ndarray
        Model-vs-brain scores (L, S, R): layer l against subject s's region r.
    t : numpy.ndarray
        The brain score tensor (S, R, S, R).
    valid : numpy.ndarray of bool, optional
        (S, S): which subject pairs count (default: pairs of different subjects).
    include_same_region : bool
        Whether a pattern includes its own region.
    similarity : {"pearson", "spearman", "cosine", "mse", "mae", "r2"}
        How two patterns are compared (:data:`SIMILARITIES`).

    Returns
    -------
    numpy.ndarray
        (L, R, S).
    """
    valid, sel, tsel = _brain_patterns(t, valid, include_same_region)
    usel = u[:, :, sel]  # (L, S, R, Q')
    w = valid.astype(float)
    if np.isnan(t).any() or np.isnan(u).any() or similarity in _DIRECT:
        c = _masked_corr(usel.transpose(0, 2, 1, 3)[None], tsel[:, None], similarity)
        scored = np.isfinite(tsel).any(axis=-1)  # (a, r, s): a pair scored (partner designs)
        weight = (w[:, None, :] * _cells(t)[:, :, None] * scored)[:, None]  # (a, 1, r, s)
        return _weighted_mean(c, weight, axis=0)
    return _model_aps_plain(usel, _standardise(tsel, similarity), w, similarity)


def _model_aps_plain(
    usel: np.ndarray, tsel_n: np.ndarray, w: np.ndarray, similarity: str
) -> np.ndarray:
    """APS_model (L, R, S) of complete patterns: ``usel`` (L, S, R, Q'), the brain's
    standardised ``tsel_n`` (a, r, s, k), pair weights ``w`` (a, s)."""
    c = np.einsum("lsrk,arsk->alrs", _standardise(usel, similarity), tsel_n)
    c = _squared(c, similarity)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.einsum("alrs,as->lrs", c, w) / w.sum(axis=0)[None, None, :]


def aps_kernels(
    u: np.ndarray,
    t: np.ndarray,
    valid: np.ndarray | None = None,
    *,
    include_same_region: bool = True,
    similarity: str = "pearson",
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`model_aps_kernel` and :func:`brain_aps_kernel` of the same tensors, equal to
    those computed apart, with what they share (the brain's patterns, standardised) made
    once: a bootstrap computes both for every resample.

    Parameters
    ----------
    u : numpy.ndarray
        Model-vs-brain scores (L, S, R).
    t : numpy.ndarray
        The brain score tensor (S, R, S, R).
    valid : numpy.ndarray of bool, optional
        (S, S): which subject pairs count (default: pairs of different subjects).
    include_same_region : bool
        Whether a pattern includes its own region.
    similarity : {"pearson", "spearman", "cosine", "mse", "mae", "r2"}
        How two patterns are compared (:data:`SIMILARITIES`).

    Returns
    -------
    tuple of numpy.ndarray
        APS_model (L, R, S) and APS_brain (R, S).
    """
    kw: dict[str, Any] = {"include_same_region": include_same_region, "similarity": similarity}
    if np.isnan(t).any() or np.isnan(u).any() or similarity in _DIRECT:
        return model_aps_kernel(u, t, valid, **kw), brain_aps_kernel(t, valid, **kw)
    valid, sel, tsel = _brain_patterns(t, valid, include_same_region)
    tsel_n = _standardise(tsel, similarity)
    model = _model_aps_plain(u[:, :, sel], tsel_n, valid.astype(float), similarity)
    return model, _brain_aps_plain(tsel, tsel_n, valid, similarity)


def _brain_patterns(
    t: np.ndarray, valid: np.ndarray | None, include_same_region: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The pairs that count (default: different subjects), the target regions of each
    region's pattern (R, Q') and the brain's patterns ``t[a, r, s, sel[r]]`` (a, r, s, Q')."""
    n_sub, n_reg = t.shape[0], t.shape[1]
    valid = ~np.eye(n_sub, dtype=bool) if valid is None else valid
    sel = _selection(n_reg, include_same_region)
    return valid, sel, np.take_along_axis(t, sel[None, :, None, :], axis=3)


def subject_pair_mean(t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The cross-region matrix (R, R) of a score tensor (S, R, S, R): the mean over ordered
    pairs of different subjects of ``t[a, r, b, q]``, skipping NaN (missing cells), with the
    number of pairs behind each entry."""
    finite = np.isfinite(t) & ~np.eye(t.shape[0], dtype=bool)[:, None, :, None]
    pairs = finite.sum(axis=(0, 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(finite, t, 0.0).sum(axis=(0, 2)) / pairs, pairs


# ---------------------------------------------------------------------- labelled API
def check_brain(data: Any, min_subjects: int = 3, min_regions: int = 3) -> BrainData:
    if not isinstance(data, BrainData):
        raise InputTypeError(
            f"The 'data' argument must be a BrainData. Got {type(data).__name__} instead."
        )
    if len(data.subjects) < min_subjects:
        raise InputError(
            f"APS needs at least {min_subjects} subjects (a held-out subject, a source subject "
            f"and a reference pair). Got {len(data.subjects)}."
        )
    if len(data.regions) < min_regions:
        raise InputError(
            f"APS needs at least {min_regions} regions: an alignment pattern over fewer target "
            f"regions has no correlation to speak of. Got {len(data.regions)} "
            f"({data.regions})."
        )
    data.require_subjects(2, "the alignment pattern score")
    return data


def brain_patterns(
    data: BrainData, metric: str | Metric = "spearman", *, rdm: str = "correlation"
) -> xr.DataArray:
    """All brain alignment patterns: ``AP[a->b](r)[q]`` as a DataArray
    (subject, region, target_subject, target_region) - the engine's score tensor.

    Parameters
    ----------
    data : BrainData
        The brain data (missing cells give NaN entries).
    metric : str or Metric
        Any registered metric.
    rdm : str
        The RDM distance for response entries under RSA metrics.

    Returns
    -------
    xarray.DataArray
        (subject, region, target_subject, target_region).
    """
    return score_tensor(data, metric=metric, rdm=rdm)


def model_patterns(
    model_data: ModelData,
    brain_data: BrainData,
    metric: str | Metric = "spearman",
    *,
    rdm: str = "correlation",
    model: Hashable | None = None,
) -> xr.DataArray:
    """Model alignment patterns ``AP[m,l](s)[q] = M(F[m, l], X[s, q])``: (layer, subject,
    region).

    Parameters
    ----------
    model_data : ModelData
        The model's layers.
    brain_data : BrainData
        The brain data (missing cells give NaN entries).
    metric : str or Metric
        Any registered metric.
    rdm : str
        The RDM distance for response entries under RSA metrics.
    model : hashable, optional
        Which model of ``model_data``.

    Returns
    -------
    xarray.DataArray
        (layer, subject, region), with the model in ``attrs``.
    """
    name = model_data.one_model(model)
    t = score_tensor(model_data.select([name]), brain_data, metric=metric, rdm=rdm)
    out = t.isel(model=0, drop=True)
    out.attrs.update(model=str(name))
    return out


def brain_aps(
    data: BrainData,
    metric: str | Metric = "spearman",
    *,
    similarity: Similarity = "pearson",
    include_same_region: bool = True,
    rdm: str = "correlation",
) -> xr.DataArray:
    """Brain alignment pattern score ``APS_brain(r, s)`` (Hoefling et al. 2026).

    Parameters
    ----------
    data : BrainData
        At least 3 subjects and 3 regions (4 without the same-region entry); every region in
        at least 2 subjects (missing cells are skipped).
    metric : str or Metric
        The alignment metric M that fills the patterns (any registered metric).
    similarity : {"pearson", "spearman", "cosine", "mse", "mae", "r2"}
        How a subject's pattern is compared with the reference pattern
        (:data:`SIMILARITIES`).
    include_same_region : bool
        Keep the entry q = r in each pattern.
    rdm : str
        The RDM distance for response entries under RSA metrics.

    Returns
    -------
    xarray.DataArray
        (region, subject), named ``aps_brain``, with the choices in ``attrs``.

    Raises
    ------
    InputError
        Too few subjects or regions, or a region in fewer than 2 subjects.
    """
    data = check_brain(data, min_regions=3 if include_same_region else 4)
    check_option(similarity, "similarity", SIMILARITIES, "brain_aps")
    m = get_metric(metric)
    t = brain_patterns(data, m, rdm=rdm)
    values = brain_aps_kernel(
        t.values, include_same_region=include_same_region, similarity=similarity
    )
    return xr.DataArray(
        values,
        dims=("region", "subject"),
        coords={"region": coord(data.regions), "subject": coord(data.subjects)},
        attrs={
            "metric": m.name,
            "similarity": similarity,
            "include_same_region": include_same_region,
            "rdm": rdm,
            "n_stimuli": data.n_stimuli,
        },
        name="aps_brain",
    )


def brain_aps_ci(
    data: BrainData,
    metric: str | Metric = "spearman",
    *,
    similarity: Similarity = "pearson",
    include_same_region: bool = True,
    rdm: str = "correlation",
    n_bootstrap: int = 1000,
    level: float = 0.95,
    seed: int | None = 0,
    bootstrap: str = "recompute",
) -> xr.Dataset:
    """Brain APS per region with subject-bootstrap percentile CIs.

    Each resample re-indexes the score tensor; a subject drawn twice never pairs with itself
    (``bootstrap="recompute"``); ``bootstrap="fixed"`` resamples the fixed per-subject values
    instead (:func:`~crossalign.stats.resampling.fixed_subject_bootstrap`).

    Parameters
    ----------
    data, metric, similarity, include_same_region, rdm
        As for :func:`brain_aps`.
    n_bootstrap : int
        Resamples (fewer than 100 warn).
    level : float
        Coverage of the percentile interval.
    seed : int or None
        Seed of the resampling.
    bootstrap : {"recompute", "subjects", "fixed"}
        Recompute the patterns in each resample (``subjects`` is an alias), or resample
        fixed per-subject values.

    Returns
    -------
    xarray.Dataset
        Over ``region``: ``mean`` (mean over subjects), ``low``, ``high``, ``kept`` (the
        fraction of resamples that define APS: a resample needs 3 distinct subjects),
        ``degenerate`` (intervals resting on fewer than half of them, or of zero width; see
        :func:`~crossalign.stats.resampling.interval_diagnostics`, which also warns), ``aps``
        (region,
        subject) and ``samples`` (bootstrap, region).
    """
    check_n_bootstrap(n_bootstrap, "brain APS")

    aps = brain_aps(
        data, metric, similarity=similarity, include_same_region=include_same_region, rdm=rdm
    )
    t = brain_patterns(data, metric, rdm=rdm).values
    kw: dict[str, Any] = {"include_same_region": include_same_region, "similarity": similarity}
    return brain_aps_ci_of(t, aps, n_bootstrap, level=level, seed=seed, bootstrap=bootstrap, **kw)


def brain_aps_ci_of(
    t: np.ndarray,
    aps: xr.DataArray,
    n_bootstrap: int,
    *,
    level: float = 0.95,
    seed: int | None = 0,
    bootstrap: str = "recompute",
    **kw: Any,
) -> xr.Dataset:
    """:func:`brain_aps_ci` of a score tensor ``t`` (S, R, S, R) whose brain APS is ``aps``
    (region, subject): for tensors that are not plain scores (a ceiling-normalised outcome,
    partner pairs only).

    Parameters
    ----------
    t : numpy.ndarray
    aps : xarray.DataArray
        ``brain_aps_kernel(t, **kw)`` as (region, subject), with its attrs.
    n_bootstrap : int
    level : float
    seed : int or None
    bootstrap : {"recompute", "subjects", "fixed"}
    **kw
        ``include_same_region`` and ``similarity``.

    Returns
    -------
    xarray.Dataset
        As :func:`brain_aps_ci`.
    """
    r = np.arange(t.shape[1])
    check_option(bootstrap, "bootstrap", ["recompute", "subjects", "fixed"], "brain_aps_ci")
    if bootstrap == "fixed":
        samples = fixed_subject_bootstrap(aps.values, n_bootstrap, seed)
    else:
        samples = np.empty((n_bootstrap, t.shape[1]))
        with warnings.catch_warnings():  # resamples with < 3 distinct subjects give NaN
            warnings.simplefilter("ignore", RuntimeWarning)
            for b, idx in enumerate(bootstrap_indices(t.shape[0], n_bootstrap, seed=seed)):
                tb = t[np.ix_(idx, r, idx, r)]
                valid = idx[:, None] != idx[None, :]
                samples[b] = np.nanmean(brain_aps_kernel(tb, valid, **kw), 1)
    low, high = percentile_ci(samples, level)
    kept, degenerate = interval_diagnostics(
        samples, low, high, what="brain APS", labels=aps.coords["region"].values
    )
    ds = xr.Dataset(
        {
            "aps": aps,
            "mean": aps.mean("subject"),
            "low": ("region", low),
            "high": ("region", high),
            "kept": ("region", kept),
            "degenerate": ("region", degenerate),
            "samples": (("bootstrap", "region"), samples),
        }
    )
    ds.attrs.update(aps.attrs, n_bootstrap=n_bootstrap, level=level, bootstrap=bootstrap)
    return ds


def prepare_model(
    model_data: ModelData, brain_data: BrainData, model: Hashable | None
) -> tuple[Hashable, ModelData]:
    if not isinstance(model_data, ModelData):
        raise InputTypeError(
            "The 'model_data' argument must be a ModelData. Got "
            f"{type(model_data).__name__} instead."
        )
    name = model_data.one_model(model)
    return name, model_data.select([name]).align_to(brain_data.stimuli)
