"""One-call evaluations: :func:`evaluate_model`, :func:`model_aps` and the APS permutation test."""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import xarray as xr

from crossalign._validation import keywords_checked
from crossalign.data.containers import BrainData, ModelData
from crossalign.errors import InputError
from crossalign.evaluation.core import Evaluation
from crossalign.evaluation.protocols import Protocol
from crossalign.metrics import Metric

__all__ = [
    "aps_permutation_test",
    "evaluate_model",
    "model_aps",
]


# ---------------------------------------------------------------------- the function API
@keywords_checked
def evaluate_model(
    model_data: ModelData,
    brain_data: BrainData,
    layers_by_region: Mapping[Hashable, Hashable] | None = None,
    *,
    metric: str | Metric | None = None,
    protocol: str | Protocol = "crossalign",
    similarity: str | None = None,
    include_same_region: bool | None = None,
    rdm: str | None = None,
    model: Hashable | None = None,
    train_stimuli: Sequence[Hashable] | None = None,
    test_stimuli: Sequence[Hashable] | None = None,
    test_fraction: float = 0.5,
    labels: Sequence[Hashable] | None = None,
    seed: int | None = 0,
    assignment: str | None = None,
    region_order: Sequence[Hashable] | None = None,
    n_bootstrap: int = 1000,
    bootstrap: str | None = None,
    level: float = 0.95,
    n_permutations: int = 1000,
    predictivity_test: str | None = None,
    predictivity_seed: int | None = None,
    fold_weights: str | None = None,
    ceiling: str | None = None,
    ncsnr_threshold: float | None = None,
    outcome: str | None = None,
    partners: int | str | None = None,
) -> xr.Dataset:
    """The paper's test for one model: pointwise score and APS per region, with CIs.

    1. The split: ``train_stimuli``/``test_stimuli`` when given, else the dataset's fixed
       split (``brain_data.attrs["split"]``), else a seeded random split with
       ``test_fraction`` (stratified by ``labels`` when given). Without ``layers_by_region``
       the layer ``l*(r)`` of each region is chosen on the training stimuli by
       ``assignment`` (``argmax`` of the subject-mean score, ``one-to-one``, or ``monotone``
       along ``region_order``).
    2. On test stimuli: the pointwise score ``M(F[l*(r)], X[s, r])``, model APS and brain APS
       per subject, the noise ceiling, and the cross-region matrices.
    3. Bootstrap CIs of the subject means (``n_bootstrap`` resamples).

    Parameters
    ----------
    model_data, brain_data : ModelData, BrainData
        The model's layers and the brain data, over the same stimulus ids.
    layers_by_region : mapping, optional
        A fixed layer per region (no selection; everything is scored on ``test_stimuli``
        or all stimuli).
    metric : str or Metric, optional
        The alignment metric (default: the protocol's: Spearman, or Pearson for
        ``hoefling2026``).
    protocol : {"crossalign", "hoefling2026"}
        A named set of every choice below (:mod:`crossalign.evaluation.protocols`); an option given
        here overrides it. ``"hoefling2026"`` reproduces Hoefling et al. 2026.
    similarity : {"pearson", "spearman", "cosine", "mse", "mae", "r2"}, optional
        How alignment patterns are compared.
    include_same_region : bool, optional
        Keep the entry q = r in each pattern.
    rdm : str, optional
        The RDM distance for RSA metrics (default ``"correlation"``: 1 - Pearson).
    model : hashable, optional
        Which model of ``model_data`` (needed when it holds several).
    train_stimuli, test_stimuli : sequence, optional
        An explicit split (both or neither).
    test_fraction : float
        Test share of a random split.
    labels : sequence, optional
        Categories for a stratified random split.
    seed : int, optional
        Seeds the random split and the resamples (fixed bootstrap resample b uses
        ``numpy.random.default_rng(seed + b)``).
    assignment : {"argmax", "one-to-one", "monotone"}, optional
        Layer assignment.
    region_order : sequence, optional
        The hierarchy for ``assignment="monotone"``.
    n_bootstrap : int
        Bootstrap resamples (0: no CIs).
    bootstrap : {"fixed", "recompute", "subjects", "stimuli", "both"}, optional
        The estimator: ``fixed`` resamples subjects over fixed per-subject values (the
        paper's); ``recompute`` (= ``subjects``) recomputes the reference patterns from each
        subject resample; ``stimuli`` resamples test stimuli; ``both`` runs the two-factor
        bootstrap and reports a t interval from the variance corrected as in Schütt et al.
        2023 (``{stat}_var``). Percentile intervals otherwise.
    level : float
        Interval coverage.
    n_permutations : int
        Permutations of the matrix-level comparison.
    predictivity_test : {"train-fitted", "cross-validated"}, optional
        Predictivity on test stimuli: fold models fitted on the training stimuli and scored
        on the test stimuli (the paper's), or cross-validated within the test stimuli.
    predictivity_seed : int, optional
        The KFold seed of predictivity (paper: 1).
    fold_weights : {"size", "equal"}, optional
        How cross-validated fold scores are averaged on the training stimuli.
    ceiling : {"nili2014", "hoefling2026"}, optional
        The noise-ceiling definition (:func:`crossalign.noise_ceiling`).
    ncsnr_threshold : float, optional
        Keep the units whose NCSNR reaches it (entries with repeats).
    outcome : {"score", "norm_upper", "norm_lower"}, optional
        What selection, scores, patterns, APS and bootstraps are computed on: the raw score
        or the score over the per-subject upper or lower ceiling of the same split (the
        paper's figures: ``norm_lower``). The raw score (``raw_score``) and both ceilings
        (``subject_ceiling``) are returned beside it.
    partners : "all" or int, optional
        Partner subjects per target subject in the lower ceilings and the brain's patterns
        (drawn with ``seed``; the paper: 5 of 10).

    Returns
    -------
    xarray.Dataset
        Per (region, subject) ``score``, ``aps``, ``brain_aps``; per region ``layer`` and
        ``{score,aps,brain_aps}_{mean,low,high,kept,degenerate}``; ``ceiling`` (region,
        bound), ``score_normalised``, ``layer_profile`` (candidate_layer, region: every
        layer's training score), ``brain_pattern`` (+ ``_low``/``_high``), ``model_pattern``,
        ``brain_matrix`` and ``model_matrix`` with the matrix-level comparison in
        ``attrs["matrix_*"]``, and bootstrap ``samples``.

    See Also
    --------
    Evaluation : the object behind this function, for further statistics.
    """
    evaluation = Evaluation.fit(
        model_data,
        brain_data,
        layers_by_region,
        protocol=protocol,
        model=model,
        train_stimuli=train_stimuli,
        test_stimuli=test_stimuli,
        test_fraction=test_fraction,
        labels=labels,
        seed=seed,
        region_order=region_order,
        metric=metric,
        similarity=similarity,
        include_same_region=include_same_region,
        rdm=rdm,
        assignment=assignment,
        bootstrap=bootstrap,
        predictivity_test=predictivity_test,
        predictivity_seed=predictivity_seed,
        fold_weights=fold_weights,
        ceiling=ceiling,
        ncsnr_threshold=ncsnr_threshold,
        outcome=outcome,
        partners=partners,
    )
    return evaluation.to_dataset(
        n_bootstrap, bootstrap=bootstrap, level=level, n_permutations=n_permutations
    )


@keywords_checked
def aps_permutation_test(
    evaluation: Evaluation,
    *,
    null: str = "regions",
    n_permutations: int = 1000,
    seed: int | None = 0,
) -> xr.Dataset:
    """Permutation nulls for a model's alignment-pattern similarity, per region.

    Parameters
    ----------
    evaluation : Evaluation
        From :meth:`Evaluation.fit` (its layers, test tensors and options are reused).
    null : {"regions", "stimuli"}
        ``"regions"`` permutes the target-region labels of the model's patterns (the same
        relabelling for every subject): the model keeps its scores, loses their
        correspondence to regions; exact over all R! relabellings when R! <=
        ``n_permutations``. ``"stimuli"`` shuffles the stimulus labels of the model's RDMs:
        the model keeps its geometry, loses its alignment with the brain (tests the score
        and the APS).
    n_permutations : int
        Monte Carlo permutations (or the bound for exact enumeration).
    seed : int, optional
        Seeds the permutations.

    Returns
    -------
    xarray.Dataset
        Per statistic (score, aps) and region: ``observed`` subject means, one-sided
        ``p_value`` (``(1 + #{null >= observed}) / (1 + n)``, or the exact share), ``p_fdr``
        (Benjamini-Hochberg across regions), ``p_fwer`` (max statistic), and the ``null``.
    """
    if not isinstance(evaluation, Evaluation):
        raise InputError(
            "The 'evaluation' argument must be an Evaluation (crossalign.Evaluation.fit). Got "
            f"{type(evaluation).__name__}."
        )
    return evaluation.permutation_test(null, n_permutations, seed)


def model_aps(
    model_data: ModelData,
    brain_data: BrainData,
    layers_by_region: Mapping[Hashable, Hashable] | None = None,
    *,
    metric: str | Metric | None = None,
    model: Hashable | None = None,
    **options: Any,
) -> xr.DataArray:
    """Model APS at the layer chosen for each region: DataArray (region, subject).

    Without ``layers_by_region`` the layer of each region is selected on training stimuli and
    the APS is computed on held-out test stimuli; ``options`` are those of
    :func:`evaluate_model` (split, protocol, similarity, ...). The selected layers are in the
    ``layer`` coordinate.

    Parameters
    ----------
    model_data : ModelData
        The model's layers (one model, or name it with ``model``).
    brain_data : BrainData
        The brain data.
    layers_by_region : mapping, optional
        A fixed ``{region: layer}`` assignment; default: selected on training stimuli.
    metric : str or Metric, optional
        The alignment metric (default the protocol's).
    model : hashable, optional
        Which model of ``model_data``.
    **options
        The options of :func:`evaluate_model`.

    Returns
    -------
    xarray.DataArray
        (region, subject) with the selected ``layer`` per region as a coordinate.
    """
    result = evaluate_model(
        model_data,
        brain_data,
        layers_by_region,
        metric=metric,
        model=model,
        n_bootstrap=0,
        **options,
    )
    out = result["aps"].assign_coords(layer=result["layer"])
    out.attrs.update(result.attrs)
    return out
