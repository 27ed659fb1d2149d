"""Alignment patterns and the alignment pattern score (APS).

Hoefling et al. 2026 (arXiv:2604.21780), DESIGN section 1. With ``T[a, r, b, q] =
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
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any, Literal

import numpy as np
import xarray as xr
from scipy import stats

from ._validation import check_option
from .data import BrainData, ModelData
from .engine import _labels, score_tensor
from .errors import InputError, InputTypeError
from .layers import assign_layers, layer_scores, split_stimuli
from .metrics import Metric, get_metric
from .patterns import compare_matrices, model_cross_region_matrix

__all__ = [
    "aps_permutation_test",
    "brain_aps",
    "brain_aps_ci",
    "brain_patterns",
    "evaluate_model",
    "model_aps",
    "model_patterns",
]

Similarity = Literal["pearson", "spearman"]


# ---------------------------------------------------------------------- kernels (numpy)
def _selection(n_regions: int, include_same_region: bool) -> np.ndarray:
    """Indices (R, Q') of the target regions entering region r's pattern."""
    if include_same_region:
        return np.tile(np.arange(n_regions), (n_regions, 1))
    return np.array([[q for q in range(n_regions) if q != r] for r in range(n_regions)])


def _standardise(x: np.ndarray, similarity: str) -> np.ndarray:
    """Centre and scale the last axis to unit norm (ranks first for Spearman); NaN if flat."""
    if similarity == "spearman":
        x = stats.rankdata(x, axis=-1)
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


def brain_aps_kernel(
    t: np.ndarray,
    valid: np.ndarray | None = None,
    *,
    include_same_region: bool = True,
    similarity: str = "pearson",
) -> np.ndarray:
    """APS_brain (R, S) from the score tensor ``t`` (S, R, S, R).

    ``valid[a, b]`` says whether subjects a and b are different (default: a != b); a
    subject bootstrap passes ``idx[:, None] != idx[None, :]``.
    """
    n_sub, n_reg = t.shape[0], t.shape[1]
    valid = ~np.eye(n_sub, dtype=bool) if valid is None else valid
    sel = _selection(n_reg, include_same_region)
    tsel = np.take_along_axis(t, sel[None, :, None, :], axis=3)  # (S, R, S, Q')
    k, w = _pair_masks(valid)
    count = k.sum(axis=(0, 1))  # (S,)
    q = tsel.shape[-1]
    flat = tsel.transpose(0, 2, 1, 3).reshape(n_sub * n_sub, n_reg * q)  # (a*b, r*k)
    ref_sum = k.reshape(n_sub * n_sub, n_sub).T @ flat  # (s, r*k)
    with np.errstate(invalid="ignore", divide="ignore"):
        ref = (ref_sum / count[:, None]).reshape(n_sub, n_reg, q)  # (s, r, k)
    ref_n = _standardise(ref, similarity)  # (s, r, k)
    ap_n = _standardise(tsel, similarity)  # (a, r, s, k)
    c = np.einsum("srk,arsk->ars", ref_n, ap_n)
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
    """APS_model (L, R, S) from the model-vs-brain tensor ``u`` (L, S, R) and ``t``."""
    n_sub, n_reg = t.shape[0], t.shape[1]
    valid = ~np.eye(n_sub, dtype=bool) if valid is None else valid
    sel = _selection(n_reg, include_same_region)
    tsel = np.take_along_axis(t, sel[None, :, None, :], axis=3)  # (a, r, s, k)
    usel = u[:, :, sel]  # (L, S, R, Q')
    w = valid.astype(float)
    c = np.einsum("lsrk,arsk->alrs", _standardise(usel, similarity), _standardise(tsel, similarity))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.einsum("alrs,as->lrs", c, w) / w.sum(axis=0)[None, None, :]


# ---------------------------------------------------------------------- labelled API
def _check_brain(data: Any, min_subjects: int = 3, min_regions: int = 3) -> BrainData:
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
    return data


def brain_patterns(
    data: BrainData, metric: str | Metric = "spearman", *, rdm: str = "correlation"
) -> xr.DataArray:
    """All brain alignment patterns: ``AP[a->b](r)[q]`` as a DataArray
    (subject, region, target_subject, target_region) - the engine's score tensor."""
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
    region)."""
    name = model_data._one_model(model)
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
    """Brain alignment pattern score ``APS_brain(r, s)``: DataArray (region, subject).

    ``metric`` is the alignment metric M that fills the patterns (any registered metric, as
    everywhere in crossalign); ``similarity`` compares patterns (Pearson by default, or
    Spearman). ``include_same_region`` keeps the entry q = r in each pattern.
    """
    data = _check_brain(data, min_regions=3 if include_same_region else 4)
    check_option(similarity, "similarity", ["pearson", "spearman"], "brain_aps")
    m = get_metric(metric)
    t = brain_patterns(data, m, rdm=rdm)
    values = brain_aps_kernel(
        t.values, include_same_region=include_same_region, similarity=similarity
    )
    return xr.DataArray(
        values,
        dims=("region", "subject"),
        coords={"region": _labels(data.regions), "subject": _labels(data.subjects)},
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
) -> xr.Dataset:
    """Brain APS per region with subject-bootstrap percentile CIs: Dataset (region).

    Variables ``mean`` (mean over subjects of ``APS_brain(r, s)``), ``low``, ``high``,
    ``aps`` (region, subject) and ``samples`` (bootstrap, region). Each resample re-indexes the
    score tensor; a subject drawn twice never pairs with itself. ``kept`` is the fraction of
    resamples that define APS (a resample needs 3 distinct subjects) and ``degenerate`` flags
    intervals resting on fewer than half of them or of zero width
    (:func:`~crossalign.stats.interval_diagnostics`, which also warns).
    """
    from .stats import bootstrap_indices, interval_diagnostics, percentile_ci

    aps = brain_aps(
        data, metric, similarity=similarity, include_same_region=include_same_region, rdm=rdm
    )
    t = brain_patterns(data, metric, rdm=rdm).values
    r = np.arange(t.shape[1])
    kw = {"include_same_region": include_same_region, "similarity": similarity}
    samples = np.empty((n_bootstrap, t.shape[1]))
    with warnings.catch_warnings():  # resamples with < 3 distinct subjects give NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        for b, idx in enumerate(bootstrap_indices(t.shape[0], n_bootstrap, seed=seed)):
            tb = t[np.ix_(idx, r, idx, r)]
            samples[b] = np.nanmean(brain_aps_kernel(tb, idx[:, None] != idx[None, :], **kw), 1)
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
    ds.attrs.update(aps.attrs, n_bootstrap=n_bootstrap, level=level, bootstrap="subjects")
    return ds


def _prepare_model(
    model_data: ModelData, brain_data: BrainData, model: Hashable | None
) -> tuple[Hashable, ModelData]:
    if not isinstance(model_data, ModelData):
        raise InputTypeError(
            "The 'model_data' argument must be a ModelData. Got "
            f"{type(model_data).__name__} instead."
        )
    name = model_data._one_model(model)
    return name, model_data.select([name]).align_to(brain_data.stimuli)


def model_aps(
    model_data: ModelData,
    brain_data: BrainData,
    layers_by_region: Mapping[Hashable, Hashable] | None = None,
    *,
    metric: str | Metric = "spearman",
    similarity: Similarity = "pearson",
    include_same_region: bool = True,
    rdm: str = "correlation",
    model: Hashable | None = None,
    **split_options: Any,
) -> xr.DataArray:
    """Model APS at the layer chosen for each region: DataArray (region, subject).

    Without ``layers_by_region`` the layer of each region is selected on training stimuli and
    the APS is computed on held-out test stimuli (see :func:`evaluate_model` for the split
    options). The selected layers are in the ``layer`` coordinate.
    """
    result = evaluate_model(
        model_data,
        brain_data,
        layers_by_region,
        metric=metric,
        similarity=similarity,
        include_same_region=include_same_region,
        rdm=rdm,
        model=model,
        n_bootstrap=0,
        **split_options,
    )
    out = result["aps"].assign_coords(layer=result["layer"])
    out.attrs.update(result.attrs)
    return out


def evaluate_model(
    model_data: ModelData,
    brain_data: BrainData,
    layers_by_region: Mapping[Hashable, Hashable] | None = None,
    *,
    metric: str | Metric = "spearman",
    similarity: Similarity = "pearson",
    include_same_region: bool = True,
    rdm: str = "correlation",
    model: Hashable | None = None,
    train_stimuli: Sequence[Hashable] | None = None,
    test_stimuli: Sequence[Hashable] | None = None,
    test_fraction: float = 0.5,
    labels: Sequence[Hashable] | None = None,
    seed: int | None = 0,
    assignment: str = "argmax",
    region_order: Sequence[Hashable] | None = None,
    n_bootstrap: int = 1000,
    bootstrap: Literal["subjects", "stimuli", "both"] = "subjects",
    level: float = 0.95,
    n_permutations: int = 1000,
) -> xr.Dataset:
    """The paper's test for one model: pointwise score and APS per region, with CIs.

    1. Layer selection (unless ``layers_by_region`` is given): stimuli are split into train and
       test (``train_stimuli``/``test_stimuli`` explicitly, or a seeded split with
       ``test_fraction``, stratified by ``labels`` when given); ``l*(r)`` is chosen on train by
       ``assignment`` (``argmax``, ``one-to-one`` or ``monotone`` along ``region_order``).
    2. On test stimuli only: pointwise score ``M(F[l*(r)], X[s, r])``, model APS and brain APS
       per subject, and the noise ceiling.
    3. Bootstrap CIs of the subject means (``n_bootstrap`` resamples, seeded). ``bootstrap=
       "subjects"`` (default) re-indexes the precomputed score tensors (no comparison is
       recomputed); ``"stimuli"`` resamples test stimuli (pairs of copies dropped) and rescores;
       ``"both"`` runs the two-factor bootstrap and reports a t interval from the variance
       corrected as in Schütt et al. 2023 (``{stat}_var``). Percentile intervals otherwise.
       ``{stat}_kept`` (fraction of resamples defining the statistic) and
       ``{stat}_degenerate`` flag intervals that cannot be trusted (a warning says why).
    4. The matrix-level comparison's permutation p-value uses ``n_permutations``.

    Returns an :class:`xarray.Dataset` with per-(region, subject) ``score``, ``aps``,
    ``brain_aps``; per-region ``layer`` and ``{score,aps,brain_aps}_{mean,low,high}``;
    ``ceiling`` (region, bound) and ``score_normalised`` (mean score / upper ceiling);
    ``layer_profile`` (candidate_layer, region): every layer's score on the training stimuli;
    ``brain_pattern`` (+ ``_low``/``_high``: 2.5/97.5 percentiles over subject pairs) and
    ``model_pattern`` (region, target_region), the latter being the model-to-brain matrix;
    ``brain_matrix`` and ``model_matrix`` (region, target_region) with the matrix-level
    comparison in ``attrs["matrix_*"]`` (the seed's less strict test, side by side);
    bootstrap ``samples`` when ``n_bootstrap > 0``.
    """
    from .stats import interval_diagnostics, noise_ceiling, percentile_ci

    # pointwise scores need 2 subjects; APS needs 3 subjects and 3 (or 4) regions
    brain = _check_brain(brain_data, min_subjects=2, min_regions=1)
    aps_defined = len(brain.subjects) >= 3 and len(brain.regions) >= (
        3 if include_same_region else 4
    )
    check_option(similarity, "similarity", ["pearson", "spearman"], "evaluate_model")
    m = get_metric(metric)
    name, md = _prepare_model(model_data, brain, model)
    if layers_by_region is None:
        if train_stimuli is None or test_stimuli is None:
            if train_stimuli is not None or test_stimuli is not None:
                raise InputError(
                    "Pass both 'train_stimuli' and 'test_stimuli', or neither (seeded split)."
                )
            train, test = split_stimuli(md.stimuli, test_fraction, seed=seed, labels=labels)
        else:
            train, test = list(train_stimuli), list(test_stimuli)
            overlap = set(train) & set(test)
            if overlap:
                raise InputError(
                    f"The train and test stimuli overlap in {len(overlap)} id(s), e.g. "
                    f"{sorted(map(str, overlap))[:5]}: selecting and scoring on the same "
                    "stimuli inflates scores. Expected disjoint sets."
                )
        selection = layer_scores(md, brain, metric=m, rdm=rdm, stimuli=train)
        layer_profile = selection
        layers = assign_layers(
            selection, assignment, higher_is_better=m.higher_is_better, region_order=region_order
        )
    else:
        missing = [r for r in brain.regions if r not in layers_by_region]
        if missing:
            raise InputError(
                f"The 'layers_by_region' argument has no layer for region(s) {missing}."
            )
        layers = {r: layers_by_region[r] for r in brain.regions}
        unknown = [la for la in layers.values() if la not in md.layers()]
        if unknown:
            raise InputError(
                f"The 'layers_by_region' argument names layer(s) {unknown} that model "
                f"{name!r} does not have. Available layers: {md.layers()}."
            )
        train = []
        test = list(test_stimuli) if test_stimuli is not None else list(md.stimuli)
        layer_profile = None
    brain_t, md_t = brain.subset_stimuli(test), md.subset_stimuli(test)
    t = score_tensor(brain_t, metric=m, rdm=rdm).values  # (S, R, S, R)
    u = score_tensor(md_t, brain_t, metric=m, rdm=rdm).values[0]  # (L, S, R)
    layer_names = md_t.layers()
    li = np.array([layer_names.index(layers[r]) for r in brain.regions])
    ri = np.arange(len(brain.regions))
    kw = {"include_same_region": include_same_region, "similarity": similarity}

    def statistics(tb: np.ndarray, ub: np.ndarray, valid: np.ndarray | None = None) -> np.ndarray:
        """(3, R, S): pointwise score at l*(r), model APS at l*(r), brain APS."""
        score = ub[li, :, ri]
        if not aps_defined:  # too few regions/subjects for a pattern: APS is undefined
            return np.stack([score, np.full_like(score, np.nan), np.full_like(score, np.nan)])
        aps_all = model_aps_kernel(ub, tb, valid, **kw)  # (L, R, S)
        return np.stack([score, aps_all[li, ri], brain_aps_kernel(tb, valid, **kw)])

    score, aps_model, aps_brain = statistics(t, u)
    regions, subjects = _labels(brain.regions), _labels(brain.subjects)
    rs = ("region", "subject")
    ds = xr.Dataset(
        {
            "score": (rs, score),
            "aps": (rs, aps_model),
            "brain_aps": (rs, aps_brain),
            "layer": ("region", _labels([layers[r] for r in brain.regions])),
        },
        coords={"region": regions, "subject": subjects},
    )
    # alignment patterns on test stimuli, for figures: brain AP[a->s](r) over ordered pairs of
    # different subjects (mean and 2.5/97.5 percentiles), the model's AP[m,l*(r)](s) mean
    pairs = ~np.eye(t.shape[0], dtype=bool)
    brain_ap = t.transpose(1, 3, 0, 2)[:, :, pairs]  # (r, q, pairs)
    rr = ("region", "target_region")
    ds["brain_pattern"] = (rr, brain_ap.mean(axis=2))
    ds["brain_pattern_low"] = (rr, np.percentile(brain_ap, 2.5, axis=2))
    ds["brain_pattern_high"] = (rr, np.percentile(brain_ap, 97.5, axis=2))
    ds["model_pattern"] = (rr, u[li].mean(axis=1))
    ds["ceiling"] = noise_ceiling(brain_t, m, rdm=rdm)
    if layer_profile is not None:  # every layer's train-set score: the selection's evidence
        ds["layer_profile"] = layer_profile.rename(layer="candidate_layer").drop_attrs()
    for var in ("score", "aps", "brain_aps"):
        ds[f"{var}_mean"] = ds[var].mean("subject")
    ds["score_normalised"] = ds["score_mean"] / ds["ceiling"].sel(bound="upper", drop=True)
    # The seed's matrix-level comparison, side by side: the less strict test.
    n_sub = t.shape[0]
    brain_matrix = (t.sum(axis=(0, 2)) - np.einsum("srsq->rq", t)) / (n_sub * (n_sub - 1))
    model_matrix = model_cross_region_matrix(md_t, layers, metric=m, rdm=rdm).values
    matrix_cmp = compare_matrices(
        brain_matrix, model_matrix, n_permutations=n_permutations, seed=seed
    )
    ds["brain_matrix"] = (rr, brain_matrix)
    ds["model_matrix"] = (rr, model_matrix)
    ds = ds.assign_coords(target_region=regions)
    if n_bootstrap:
        check_option(bootstrap, "bootstrap", ["subjects", "stimuli", "both"], "evaluate_model")
        resampler = _Resampler(brain_t, md_t, m, rdm, statistics, seed)
        stat_names = ["score", "aps", "brain_aps"]
        if bootstrap == "both":
            samples, variance = resampler.two_factor(n_bootstrap)
            crit = stats.t.ppf(0.5 + level / 2, df=min(len(subjects), len(test)) - 1)
            for i, var in enumerate(stat_names):
                mean = ds[f"{var}_mean"].values
                half = crit * np.sqrt(variance[i])
                ds[f"{var}_low"] = ("region", mean - half)
                ds[f"{var}_high"] = ("region", mean + half)
                ds[f"{var}_var"] = ("region", variance[i])
        else:
            samples = resampler.run(bootstrap, n_bootstrap)
            for i, var in enumerate(stat_names):
                low, high = percentile_ci(samples[:, i], level)
                ds[f"{var}_low"] = ("region", low)
                ds[f"{var}_high"] = ("region", high)
        for i, var in enumerate(stat_names):
            kept, degenerate = interval_diagnostics(
                samples[:, i],
                ds[f"{var}_low"].values,
                ds[f"{var}_high"].values,
                what=f"{name}: {var.replace('_', ' ')}",
                labels=regions,
                warn=var != "brain_aps" and (i == 0 or aps_defined),
            )
            ds[f"{var}_kept"] = ("region", kept)
            ds[f"{var}_degenerate"] = ("region", degenerate)
        ds["samples"] = (("bootstrap", "statistic", "region"), samples)
        ds = ds.assign_coords(statistic=stat_names)
    ds.attrs.update(
        model=str(name),
        metric=m.name,
        similarity=similarity,
        include_same_region=include_same_region,
        rdm=rdm,
        assignment=assignment if layers_by_region is None else "given",
        n_train=len(train),
        n_test=len(test),
        test_stimuli=[str(x) for x in test],
        split_seed=seed if seed is not None else "none",
        n_bootstrap=n_bootstrap,
        level=level,
        score_normalised_by="upper noise ceiling",
        matrix_test="less strict: brain vs model cross-region matrices (compare_matrices)",
        matrix_pattern_correlation=matrix_cmp.pattern_correlation,
        matrix_pattern_correlation_with_diagonal=matrix_cmp.pattern_correlation_with_diagonal,
        matrix_p_value=matrix_cmp.p_value,
        n_permutations=n_permutations,
        aps_defined=aps_defined,
        bootstrap=bootstrap if n_bootstrap else "none",
        interval=(
            "none"
            if not n_bootstrap
            else "t interval, two-factor variance corrected as in Schuett et al. 2023"
            if bootstrap == "both"
            else "percentile"
        ),
    )
    return ds


class _Resampler:
    """Bootstrap resamples of the test-set tensors over subjects, stimuli, or both."""

    def __init__(
        self,
        brain: BrainData,
        model: ModelData,
        metric: Metric,
        rdm: str,
        statistics: Callable[..., np.ndarray],
        seed: int | None,
    ) -> None:
        from .engine import representation_inputs

        self.metric = metric
        self.statistics = statistics
        self.n_sub, self.n_reg = len(brain.subjects), len(brain.regions)
        self.n_layers = len(model)
        self.n_stim = brain.n_stimuli
        self.rng = np.random.default_rng(seed)
        self.brain_vec = representation_inputs(brain, metric, rdm)
        self.model_vec = representation_inputs(model, metric, rdm)

    def tensors(self, stim_idx: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """T (S, R, S, R) and U (L, S, R) on the stimuli ``stim_idx`` (all when None)."""
        from .stats import resample_rdm_vectors

        bv, mv = self.brain_vec, self.model_vec
        if stim_idx is not None and self.metric.input_kind != "rdm":
            raise InputError(
                f"bootstrap='stimuli' or 'both' resamples RDM entries; the metric "
                f"{self.metric.name!r} compares raw responses, where stimuli drawn twice would "
                "leak across cross-validation folds. Use bootstrap='subjects'."
            )
        if stim_idx is not None:
            bv = resample_rdm_vectors(bv, stim_idx)
            mv = resample_rdm_vectors(mv, stim_idx)
        prep_b = self.metric.prepare(bv, None)
        t = self.metric.cross(prep_b, prep_b)
        u = self.metric.cross(self.metric.prepare(mv, None), prep_b)
        return (
            t.reshape(self.n_sub, self.n_reg, self.n_sub, self.n_reg),
            u.reshape(self.n_layers, self.n_sub, self.n_reg),
        )

    def _subject_means(
        self, t: np.ndarray, u: np.ndarray, sub_idx: np.ndarray | None
    ) -> np.ndarray:
        valid = None
        if sub_idx is not None:
            r = np.arange(self.n_reg)
            t = t[np.ix_(sub_idx, r, sub_idx, r)]
            u = u[:, sub_idx]
            valid = sub_idx[:, None] != sub_idx[None, :]
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN: < 3 distinct subjects
            return np.nanmean(self.statistics(t, u, valid), axis=2)

    def sample(self, stim_idx: np.ndarray | None, sub_idx: np.ndarray | None) -> np.ndarray:
        if stim_idx is not None and self.metric.input_kind != "rdm":
            self.tensors(stim_idx)  # raises the explanation
        try:
            t, u = self.tensors(stim_idx)
        except ValueError:  # a resample that leaves an RDM constant: undefined score
            return np.full((3, self.n_reg), np.nan)
        return self._subject_means(t, u, sub_idx)

    def draw(self, kind: str) -> tuple[np.ndarray | None, np.ndarray | None]:
        stim = self.rng.integers(0, self.n_stim, self.n_stim) if kind != "subjects" else None
        sub = self.rng.integers(0, self.n_sub, self.n_sub) if kind != "stimuli" else None
        return stim, sub

    def run(self, kind: str, n: int) -> np.ndarray:
        """(n, 3, R) bootstrap samples of the subject means of score, APS and brain APS."""
        if kind == "subjects":  # tensors computed once; each resample only re-indexes them
            t, u = self.tensors(None)
            return np.stack([self._subject_means(t, u, self.draw(kind)[1]) for _ in range(n)])
        return np.stack([self.sample(*self.draw(kind)) for _ in range(n)])

    def two_factor(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Joint-bootstrap samples and the corrected variance (3, R) (Schütt et al. 2023)."""
        from .stats import two_factor_variance

        both, subj, stim = (np.empty((n, 3, self.n_reg)) for _ in range(3))
        for b in range(n):
            stim_idx, sub_idx = self.draw("both")
            both[b] = self.sample(stim_idx, sub_idx)
            subj[b] = self.sample(None, sub_idx)
            stim[b] = self.sample(stim_idx, None)
        var = [np.nanvar(x, axis=0, ddof=1) for x in (both, subj, stim)]
        return both, two_factor_variance(*var, n_subjects=self.n_sub, n_stimuli=self.n_stim)


def aps_permutation_test(
    evaluation: xr.Dataset,
    model_data: ModelData,
    brain_data: BrainData,
    *,
    null: Literal["regions", "stimuli"] = "regions",
    n_permutations: int = 1000,
    seed: int | None = 0,
) -> xr.Dataset:
    """Permutation nulls for a model's alignment-pattern similarity, per region.

    Reuses the layers, test stimuli and options of ``evaluation`` (from
    :func:`evaluate_model`).

    ``null="regions"``
        permutes the target-region labels of the model's patterns ``AP[m,l](s)`` (the same
        relabelling for every subject): the model keeps its scores, loses their
        correspondence to regions. Exact over all R! relabellings when R! <= n_permutations.
    ``null="stimuli"``
        shuffles the stimulus labels of the model's RDMs (rows and columns together): the model
        keeps its geometry, loses its alignment with the brain. Tests the score and the APS.

    Returns per region the observed subject means, one-sided p-values (``(1 + #{null >=
    observed}) / (1 + n)``, or exact), Benjamini-Hochberg ``p_fdr`` and max-statistic
    ``p_fwer`` across regions, and the null samples.
    """
    import itertools
    import math

    from .engine import representation_inputs
    from .stats import fdr_bh, fwer_maxstat, permutation_p_value

    check_option(null, "null", ["regions", "stimuli"], "aps_permutation_test")
    if not isinstance(n_permutations, int | np.integer) or n_permutations < 1:
        raise InputError(
            f"The 'n_permutations' argument must be a positive integer. Got {n_permutations!r}."
        )
    attrs = evaluation.attrs
    m = get_metric(attrs["metric"])
    name, md = _prepare_model(model_data, brain_data, attrs["model"])
    test = list(evaluation.attrs["test_stimuli"])
    ids = {str(x): x for x in md.stimuli}
    test = [ids[t] for t in test]
    brain_t, md_t = brain_data.subset_stimuli(test), md.subset_stimuli(test)
    kw = {
        "include_same_region": bool(attrs["include_same_region"]),
        "similarity": attrs["similarity"],
    }
    rdm = attrs["rdm"]
    regions = list(brain_t.regions)
    layers = [_py_label(x) for x in evaluation["layer"].values]
    layer_names = md_t.layers()
    li = np.array([layer_names.index(la) for la in layers])
    ri = np.arange(len(regions))
    bv = representation_inputs(brain_t, m, rdm)
    prep_b = m.prepare(bv, None)
    n_sub, n_reg = len(brain_t.subjects), len(regions)
    t = m.cross(prep_b, prep_b).reshape(n_sub, n_reg, n_sub, n_reg)
    mv = representation_inputs(md_t, m, rdm)
    u = m.cross(m.prepare(mv, None), prep_b).reshape(len(layer_names), n_sub, n_reg)

    def stats_of(ub: np.ndarray) -> np.ndarray:  # (2, R): mean score, mean APS
        aps_all = model_aps_kernel(ub, t, **kw)
        return np.stack([ub[li, :, ri].mean(axis=1), aps_all[li, ri].mean(axis=1)])

    observed = stats_of(u)
    rng = np.random.default_rng(seed)
    exact = False
    if null == "regions":
        exact = math.factorial(n_reg) <= n_permutations
        perms = (
            np.array(list(itertools.permutations(range(n_reg))))
            if exact
            else np.array([rng.permutation(n_reg) for _ in range(n_permutations)])
        )
        samples = np.stack([stats_of(u[:, :, p]) for p in perms])
    else:
        n = brain_t.n_stimuli
        iu, ju = np.triu_indices(n, k=1)
        from .rdm import square_from_vector

        square = square_from_vector(mv)  # (L, n, n)
        samples = np.empty((n_permutations, 2, n_reg))
        for k in range(n_permutations):
            p = rng.permutation(n)
            shuffled = square[:, p[iu], p[ju]]
            ub = m.cross(m.prepare(shuffled, None), prep_b).reshape(u.shape)
            samples[k] = stats_of(ub)
        perms = None
    names = ["score", "aps"]
    ds = xr.Dataset(coords={"region": _labels(regions), "statistic": names})
    ds["observed"] = (("statistic", "region"), observed)
    if exact:
        p_values = np.mean(samples >= observed[None] - 1e-12, axis=0)
    else:
        p_values = permutation_p_value(observed, samples)
    if null == "regions":
        p_values[0] = np.nan  # relabelling targets leaves the pointwise score unchanged
    ds["p_value"] = (("statistic", "region"), p_values)
    ds["p_fdr"] = (("statistic", "region"), np.stack([_fdr_or_nan(p, fdr_bh) for p in p_values]))
    fwer = np.stack([fwer_maxstat(observed[i], samples[:, i]) for i in range(2)])
    if exact:
        max_null = samples.max(axis=2)  # (P, 2)
        fwer = np.mean(max_null[:, :, None] >= observed[None] - 1e-12, axis=0)
    if null == "regions":
        fwer[0] = np.nan
    ds["p_fwer"] = (("statistic", "region"), fwer)
    ds["null"] = (("permutation", "statistic", "region"), samples)
    ds.attrs.update(
        model=str(name),
        null=null,
        n_permutations=len(samples),
        exact=exact,
        metric=m.name,
        similarity=kw["similarity"],
    )
    return ds


def _fdr_or_nan(p: np.ndarray, fdr: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    return np.full_like(p, np.nan) if np.isnan(p).all() else fdr(p)


def _py_label(x: Any) -> Hashable:
    return x.item() if isinstance(x, np.generic) else x
