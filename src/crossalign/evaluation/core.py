"""The evaluation of one model against a brain dataset, built once and then queried.

:meth:`Evaluation.fit` makes every decision of the paper's test once (Hoefling et al. 2026,
arXiv:2604.21780): the protocol's options, the train/test split, the layer chosen for each
region on training stimuli, and the two score tensors on test stimuli, the brain's
``T[a, r, b, q]`` and the model's ``U[l, s, q]``. Everything else is computed from those:
per-subject scores and APS, bootstraps of either kind, permutation nulls, cross-region
matrices, and :meth:`Evaluation.to_dataset` (what :func:`evaluate_model` returns).
:meth:`Evaluation.save` and :meth:`Evaluation.load` keep it on disk, so a study resumes without
recomputing.
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

import crossalign.evaluation.persistence as persistence
import crossalign.evaluation.resampling as resampling
from crossalign.analysis.aps import (
    check_brain,
    prepare_model,
)
from crossalign.analysis.layers import assign_layers, layer_scores
from crossalign.analysis.splits import split_stimuli
from crossalign.compute.context import current_context, using
from crossalign.data.containers import BrainData, ModelData
from crossalign.engine.core import score_tensor
from crossalign.errors import InputError, ReliabilityWarning
from crossalign.evaluation.protocols import Protocol, get_protocol
from crossalign.evaluation.state import EvaluationState, outcome_bound
from crossalign.metrics import Metric, get_metric
from crossalign.metrics.predictivity import Predictivity
from crossalign.stats.ceilings import noise_ceiling, partner_pairs
from crossalign.stats.reliability import reliable_units

__all__ = ["Evaluation", "outcome_tensors", "partner_tensor"]


class Evaluation(EvaluationState):
    """One model against one brain dataset: the split, the selected layers and the test
    score tensors, with the statistics computed from them. Build with :meth:`fit`.

    Parameters
    ----------
    model : str
        The model's name.
    regions, subjects, layer_names : list
        Labels of the tensors' axes.
    layers : dict
        ``{region: layer}``, the selected (or given) assignment.
    train, test : list
        Stimulus ids of the split (``train`` empty for a given assignment).
    t : numpy.ndarray
        (subject, region, subject, region) brain scores on the test stimuli (NaN for
        missing cells).
    u : numpy.ndarray
        (layer, subject, region) model-to-brain scores on the test stimuli.
    spec : Protocol
        Every choice (the protocol's, and those given), with the seed.
    metric : Metric, optional
        The metric of the test tensors, with its options.
    layer_profile : xarray.DataArray, optional
        (layer, region) training scores behind the selection.
    model_matrix : numpy.ndarray, optional
        The model's own (region, region) matrix.
    ceiling : xarray.DataArray, optional
        The noise ceiling on the test stimuli.
    data : tuple, optional
        The (model, brain) data on the test stimuli, for resampling stimuli.
    subject_ceiling : numpy.ndarray, optional
        (2, region, subject): the lower and upper per-subject ceilings on the test stimuli,
        for a ceiling-normalised outcome.
    raw_u : numpy.ndarray, optional
        The raw model-to-brain tensor when ``t`` and ``u`` hold a normalised outcome.
    """

    # ------------------------------------------------------------------ building
    @classmethod
    def fit(
        cls,
        model_data: ModelData,
        brain_data: BrainData,
        layers_by_region: Mapping[Hashable, Hashable] | None = None,
        *,
        protocol: str | Protocol = "crossalign",
        model: Hashable | None = None,
        train_stimuli: Sequence[Hashable] | None = None,
        test_stimuli: Sequence[Hashable] | None = None,
        test_fraction: float = 0.5,
        labels: Sequence[Hashable] | None = None,
        seed: int | None = 0,
        region_order: Sequence[Hashable] | None = None,
        **choices: Any,
    ) -> Evaluation:
        """Split, select layers on training stimuli and score on test stimuli.

        The parameters are those of :func:`evaluate_model` without the statistics' options.

        Parameters
        ----------
        model_data : ModelData
        brain_data : BrainData
        layers_by_region : mapping, optional
            ``{region: layer}``; default: selected on the training stimuli.
        protocol : str or Protocol
            The evaluation protocol (``"crossalign"``, ``"hoefling2026"``).
        model : Hashable, optional
            Which model of ``model_data`` (when it holds several).
        train_stimuli, test_stimuli : sequence, optional
            A fixed split (both or neither; default: the dataset's own, else seeded).
        test_fraction : float
        labels : sequence, optional
            Stratify the seeded split by these stimulus labels.
        seed : int or None
        region_order : sequence, optional
            The regions' order in results.
        **choices
            Override the protocol's choices: ``metric``, ``rdm``, ``similarity``,
            ``include_same_region``, ``assignment``, ``bootstrap``, ``predictivity_test``,
            ``predictivity_seed``, ``fold_weights``, ``ceiling``, ``ncsnr_threshold`` (entries
            with repeats keep the units whose NCSNR reaches it), ``outcome`` (``score``,
            ``norm_upper``, ``norm_lower``: what selection, scores, patterns, APS and
            bootstraps are computed on) and ``partners`` (``"all"`` or partners per target
            subject, drawn with ``seed``).

        Returns
        -------
        Evaluation
        """
        with using(current_context()):  # one context: selection and test share its memories
            spec = get_protocol(protocol).with_choices(seed, **choices)
            brain, unfiltered = _filtered_brain(brain_data, spec)
            train_stimuli, test_stimuli = _unseen(model_data, brain, train_stimuli, test_stimuli)
            name, md, layers_by_region = _the_model(model_data, brain, layers_by_region, model)
            if layers_by_region is None:
                train, test = _split(
                    md, brain, train_stimuli, test_stimuli, test_fraction, labels, seed
                )
                profile = _selection_profile(md, brain, train, spec, unfiltered)
                higher = get_metric(spec.metric).higher_is_better
                layers = assign_layers(
                    profile, spec.assignment, higher_is_better=higher, region_order=region_order
                )
            else:
                first = md.select([md.models[0]])
                layers, profile = _given_layers(layers_by_region, brain, first, name), None
                # train-fitted metrics need the training stimuli even with given layers
                train = list(train_stimuli) if train_stimuli is not None else []
                test = list(test_stimuli) if test_stimuli is not None else list(md.stimuli)
                spec = replace(spec, assignment="given")
            return cls._scored(str(name), md, brain, layers, profile, train, test, spec, unfiltered)

    @classmethod
    def _scored(
        cls,
        name: str,
        md: ModelData,
        brain: BrainData,
        layers: dict[Hashable, Hashable],
        profile: xr.DataArray | None,
        train: list[Hashable],
        test: list[Hashable],
        spec: Protocol,
        unfiltered: BrainData | None = None,
    ) -> Evaluation:
        """The test tensors: on the test stimuli, or for train-fitted predictivity on train
        and test stimuli together, with the metric told which are which."""
        metric = _metric(spec, "test", n_train=len(train), n_test=len(test))
        stimuli = [*train, *test] if _train_fitted(spec) else test
        brain_x, t, ceiling, per_subject = _brain_side(
            brain, stimuli, metric, spec, _aligned_source(unfiltered, stimuli)
        )
        md_x = md.subset_stimuli(stimuli)
        rdm = spec.rdm
        raw_u = _model_tensor(md_x, brain_x, metric, rdm)
        t_out, u_out = outcome_tensors(
            partner_tensor(t, _pairs(spec, len(brain.subjects))),
            raw_u,
            per_subject,
            spec.outcome,
            list(brain.regions),
        )
        assert t_out is not None and u_out is not None  # both were given
        chosen = list(dict.fromkeys(layers[r] for r in brain.regions))
        own_all = score_tensor(md_x.select(areas=chosen), metric=metric, rdm=rdm).values
        own = np.mean([own_all[m, :, m] for m in range(len(md_x.models))], axis=0)
        pos = [chosen.index(layers[r]) for r in brain.regions]
        return cls(
            model=name,
            regions=list(brain.regions),
            subjects=list(brain.subjects),
            layer_names=list(md_x.layers(md_x.models[0])),
            layers=layers,
            train=train,
            test=test,
            t=t_out,
            u=u_out,
            spec=replace(spec, metric=metric.name),
            metric=metric,
            layer_profile=profile,
            model_matrix=own[np.ix_(pos, pos)],
            ceiling=ceiling,
            data=(md_x, brain_x),
            subject_ceiling=per_subject,
            raw_u=raw_u if spec.outcome != "score" else None,
        )

    # ------------------------------------------------------------------ statistics
    def bootstrap(
        self, n_bootstrap: int, kind: str | None = None, level: float = 0.95
    ) -> xr.Dataset:
        """Bootstrap CIs of the subject means of score, APS and brain APS, per region.

        Parameters
        ----------
        n_bootstrap : int
            Resamples.
        kind : str, optional
            One of :data:`BOOTSTRAPS` (default: the protocol's).
        level : float
            Coverage of the percentile interval (a t interval for ``both``).

        Returns
        -------
        xarray.Dataset
            ``samples`` (bootstrap, statistic, region), ``low``/``high``, ``kept`` and
            ``degenerate`` (statistic, region); ``variance`` for ``both``.
        """
        return resampling.bootstrap(self, n_bootstrap, kind, level)

    def permutation_test(
        self, null: str = "regions", n_permutations: int = 1000, seed: int | None = 0
    ) -> xr.Dataset:
        """Permutation nulls for the model's pattern similarity (see
        :func:`aps_permutation_test`).

        Parameters
        ----------
        null : {"regions", "stimuli", "subjects"}
        n_permutations : int
        seed : int or None

        Returns
        -------
        xarray.Dataset
        """
        return resampling.permutation_test(self, null, n_permutations, seed)

    def compare(
        self,
        other: Evaluation,
        *,
        n_bootstrap: int = 1000,
        n_permutations: int = 10000,
        level: float = 0.95,
    ) -> xr.Dataset:
        """A paired comparison of this model with ``other`` on the same subjects.

        Per region, the difference of the subject means of the pointwise score and of APS
        (this model minus ``other``), its bootstrap CI over subjects (the per-subject
        differences resampled, :func:`~crossalign.stats.resampling.fixed_subject_bootstrap`), and a
        two-sided paired permutation p-value (each subject's difference flips its sign; exact
        over all 2^S patterns when there are at most ``n_permutations``).

        Parameters
        ----------
        other : Evaluation
            Another model on the same data, split and subjects.
        n_bootstrap : int
        n_permutations : int
        level : float

        Returns
        -------
        xarray.Dataset
            ``difference``, ``low``, ``high``, ``p_value`` (statistic, region), and the same
            for the mean over regions of each subject's differences (``mean_difference``,
            ``mean_low``, ``mean_high``, ``mean_p_value``; statistic).
        """
        return resampling.compare(
            self, other, n_bootstrap=n_bootstrap, n_permutations=n_permutations, level=level
        )

    # ------------------------------------------------------------------ the Dataset
    def to_dataset(
        self,
        n_bootstrap: int = 1000,
        *,
        bootstrap: str | None = None,
        level: float = 0.95,
        n_permutations: int = 1000,
    ) -> xr.Dataset:
        """Everything :func:`evaluate_model` returns, as one labelled Dataset.

        Parameters
        ----------
        n_bootstrap : int
        bootstrap : {"fixed", "recompute", "subjects", "stimuli", "both"}, optional
            Default: the protocol's.
        level : float
        n_permutations : int

        Returns
        -------
        xarray.Dataset
        """
        return persistence.to_dataset(
            self, n_bootstrap, bootstrap=bootstrap, level=level, n_permutations=n_permutations
        )

    # ------------------------------------------------------------------ on disk
    def save(self, path: str | Path) -> Path:
        """Write the evaluation (tensors, split, layers, options) to a netCDF file,
        atomically; :meth:`load` reads it back for every statistic but the stimulus
        resamples, which need the data.

        Parameters
        ----------
        path : str or Path

        Returns
        -------
        Path
        """
        return persistence.save(self, path)

    @classmethod
    def load(cls, path: str | Path) -> Evaluation:
        """Read an evaluation written by :meth:`save`.

        Parameters
        ----------
        path : str or Path

        Returns
        -------
        Evaluation
        """
        return persistence.load(cls, path)


def _unseen(
    model_data: Any,
    brain: BrainData,
    train: Sequence[Hashable] | None,
    test: Sequence[Hashable] | None,
) -> tuple[Sequence[Hashable] | None, Sequence[Hashable] | None]:
    """For a model fitted on brain data (``attrs["fitted_on"]``): its training stimuli as the
    split's training part and every other stimulus as the test part, unless a split is given,
    which must not test on a stimulus the model was fitted on."""
    fitted = set(getattr(model_data, "attrs", {}).get("fitted_on") or [])
    if not fitted:
        return train, test
    if test is None:
        return (
            [s for s in brain.stimuli if str(s) in fitted],
            [s for s in brain.stimuli if str(s) not in fitted],
        )
    seen = [s for s in test if str(s) in fitted]
    if seen:
        raise InputError(
            f"The model was fitted on brain responses to {len(seen)} of the test stimuli "
            f"(e.g. {seen[:3]}); scoring it there would leak. Expected test stimuli it was "
            "not fitted on (the default split does this)."
        )
    return train, test


def _held_out(
    model_data: ModelData,
    brain: BrainData,
    layers_by_region: Mapping[Hashable, Hashable] | None,
    model: Hashable | None,
) -> tuple[Hashable, ModelData, Mapping[Hashable, Hashable] | None]:
    """An in-silico brain with one model per scored subject (``attrs["held_out"]``:
    subject -> model): every subject must have its model, and all share their layers."""
    held = {str(k): v for k, v in model_data.attrs["held_out"].items()}
    missing = [s for s in brain.subjects if str(s) not in held]
    if missing:
        raise InputError(
            f"The model data holds one model per held-out subject, but none for subject(s) "
            f"{missing[:5]} of the brain data. Fit the encoding model on these subjects."
        )
    order = [held[str(s)] for s in brain.subjects]
    md = model_data.select(order).align_to(brain.stimuli)
    md.attrs["held_out"] = {str(s): held[str(s)] for s in brain.subjects}
    given = layers_by_region or model_data.layers_by_region.get(order[0])
    name = model if model is not None else str(order[0]).rsplit("|", 1)[0]
    return name, md, given


def _model_tensor(md: ModelData, brain: BrainData, metric: Metric, rdm: str) -> np.ndarray:
    """(L, S, R): every layer against every (subject, region); with one model per held-out
    subject, subject s is scored against its own model only."""
    held = md.attrs.get("held_out")
    if not held:
        return score_tensor(md, brain, metric=metric, rdm=rdm).values[0]
    columns = [
        score_tensor(
            md.select([held[str(s)]]), brain.select(sources=[s]), metric=metric, rdm=rdm
        ).values[0, :, 0]
        for s in brain.subjects
    ]
    return np.stack(columns, axis=1)


def _filtered_brain(brain_data: BrainData, spec: Protocol) -> tuple[BrainData, BrainData | None]:
    """The checked brain data, filtered to the units reliable across repeats when the spec
    sets an NCSNR threshold, and the data before the filter where every entry was filtered
    (the paper's ceiling pools it), else None."""
    brain = check_brain(brain_data, min_subjects=2, min_regions=1)
    if spec.ncsnr_threshold is not None:
        brain = _reliable(brain, spec.ncsnr_threshold)
    filtered = set(brain.attrs.get("ncsnr") or {})
    return brain, (brain_data if filtered and filtered == set(brain.keys()) else None)


def _the_model(
    model_data: ModelData,
    brain: BrainData,
    layers_by_region: Mapping[Hashable, Hashable] | None,
    model: Hashable | None,
) -> tuple[Hashable, ModelData, Mapping[Hashable, Hashable] | None]:
    """The evaluated model's name, its data and its layers where they are given: an in-silico
    brain held out per subject, or a brain-predictive model whose regions stand for
    themselves."""
    held_out = model_data.attrs.get("held_out") if isinstance(model_data, ModelData) else None
    if held_out:  # one model per scored subject (an in-silico brain without that subject)
        return _held_out(model_data, brain, layers_by_region, model)
    name, md = prepare_model(model_data, brain, model)
    if layers_by_region is None and md.attrs.get("paradigm") == "brain-predictive":
        layers_by_region = md.layers_by_region.get(name)
    return name, md, layers_by_region


def _kept_with(brain: BrainData, name: str, key: Hashable, make: Callable[[], Any]) -> Any:
    """``make()``, kept for ``brain`` under ``name`` by the execution context in use
    (:class:`~crossalign.compute.context.Memos`: never in the user's object) and returned
    again while ``key`` is unchanged and ``brain`` lives."""
    return current_context().memos.get(brain, name, key, make)


def _reliable(brain: BrainData, threshold: float) -> BrainData:
    """:func:`reliable_units` of ``brain``, kept with it: every model evaluated against the
    same brain data gets the same filtered data, and with it the brain side's memo
    (:func:`_brain_side`)."""
    return _kept_with(brain, "_reliable_memo", threshold, lambda: reliable_units(brain, threshold))


def _brain_side(
    brain: BrainData,
    stimuli: list[Hashable],
    metric: Metric,
    spec: Protocol,
    unfiltered: BrainData | None = None,
) -> tuple[BrainData, np.ndarray, xr.DataArray, np.ndarray | None]:
    """The brain's part of an evaluation on ``stimuli``: the subset, its score tensor, its
    noise ceiling and, for a normalised outcome, the per-subject ceilings (lower over the
    partner subjects, upper), (2, R, S). It depends on the brain data, the stimuli, the
    metric and the partners only, so it is kept with ``brain`` and every further model
    evaluated against the same brain data reuses it instead of recomputing it."""
    pairs = _pairs(spec, len(brain.subjects))
    normalised = spec.outcome != "score"

    def make() -> tuple[BrainData, np.ndarray, xr.DataArray, np.ndarray | None]:
        brain_x = brain.subset_stimuli(stimuli)
        tensor = score_tensor(brain_x, metric=metric, rdm=spec.rdm)
        paper = spec.ceiling == "hoefling2026"
        ceiling = noise_ceiling(
            brain_x,
            metric,
            rdm=spec.rdm,
            definition=spec.ceiling,
            scores=tensor,
            unfiltered=unfiltered if paper else None,
        )
        per_subject = None
        if normalised:
            per_subject = noise_ceiling(
                brain_x,
                metric,
                rdm=spec.rdm,
                definition="hoefling2026",
                scores=tensor,
                per_subject=True,
                pairs=pairs,
                unfiltered=unfiltered,
            ).values
        return brain_x, tensor.values, ceiling, per_subject

    key = (
        tuple(stimuli),
        _metric_key(metric),
        spec.rdm,
        spec.ceiling,
        normalised,
        pairs.tobytes(),
    )
    return _kept_with(brain, "_brain_side_memo", key, make)


def _aligned_source(source: BrainData | None, stimuli: list[Hashable]) -> BrainData | None:
    """The data before the NCSNR filter on ``stimuli``, where every subject's units are the
    same in each region (grayordinates): the paper's pool of the others then averages their
    responses over the units reliable on average; None otherwise."""
    if source is None or any(source.kind(k) != "responses" for k in source):
        return None
    for r in source.regions:
        shapes = {source[(s, r)].values.shape[1] for s in source.subjects_with(r)}
        if len(shapes) != 1:
            return None
    return source.subset_stimuli(stimuli)


def _pairs(spec: Protocol, n_subjects: int) -> np.ndarray:
    """The ordered subject pairs of the evaluation (:func:`partner_pairs`)."""
    return partner_pairs(n_subjects, spec.partners, spec.seed)


def partner_tensor(t: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    """The brain tensor with the pairs of different subjects that are not partners removed
    (NaN): every mean over pairs and sources then skips them.

    Parameters
    ----------
    t : numpy.ndarray
        (S, R, S, R).
    pairs : numpy.ndarray of bool
        (S, S), :func:`~crossalign.stats.ceilings.partner_pairs`.

    Returns
    -------
    numpy.ndarray
    """
    if pairs.sum() == pairs.shape[0] * (pairs.shape[0] - 1):
        return t
    out = t.copy()
    sources, targets = np.nonzero(~pairs & ~np.eye(len(pairs), dtype=bool))
    out[sources, :, targets, :] = np.nan
    return out


def outcome_tensors(
    t: np.ndarray | None,
    u: np.ndarray | None,
    per_subject: np.ndarray | None,
    outcome: str,
    regions: list[Hashable] | None = None,
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """The brain and model tensors of an outcome: as they are for ``score``; divided entry by
    entry by the ceiling of the predicted (region, subject) for ``norm_lower`` and
    ``norm_upper`` (``t[a, r, s, q] / c[q, s]``, ``u[l, s, q] / c[q, s]``). A ceiling near
    or below 0 makes the normalised outcome unstable: warned, naming the cells.

    Parameters
    ----------
    t : numpy.ndarray or None
        (S, R, S, R) brain tensor (None: not needed).
    u : numpy.ndarray or None
        (L, S, R) model-to-brain tensor (None: not needed).
    per_subject : numpy.ndarray or None
        (2, R, S): lower and upper per-subject ceilings.
    outcome : {"score", "norm_upper", "norm_lower"}
    regions : list, optional
        Region names, for the warning.

    Returns
    -------
    tuple
        The two tensors (None where None was given).
    """
    if outcome == "score":
        return t, u
    if per_subject is None:
        raise InputError(f"The outcome {outcome!r} needs per-subject noise ceilings.")
    bound = outcome_bound(per_subject, outcome)  # (R, S)
    unstable = np.argwhere(~(np.abs(bound) >= 0.05) | (bound <= 0))
    if unstable.size:
        names = regions or list(range(bound.shape[0]))
        cells = [f"{names[r]!s}/subject {s}" for r, s in unstable[:8]]
        warnings.warn(
            f"The outcome {outcome!r} divides by per-subject ceilings near or below 0 in "
            f"{len(unstable)} (region, subject) cell(s), e.g. {cells}: the normalised values "
            "there are unstable.",
            ReliabilityWarning,
            stacklevel=3,
        )
    per = bound.T  # (S, R): c[s, q]
    with np.errstate(divide="ignore", invalid="ignore"):
        return (
            None if t is None else t / per[None, None],
            None if u is None else u / per[None],
        )


def _selection_profile(
    md: ModelData,
    brain: BrainData,
    train: list[Hashable],
    spec: Protocol,
    unfiltered: BrainData | None = None,
) -> xr.DataArray:
    """The (layer, region) profile layers are selected on: the training stimuli's mean over
    subjects of the outcome (the raw score, or the score over the training split's
    per-subject ceiling)."""
    metric = _metric(spec, "train")
    rdm = spec.rdm
    if spec.outcome == "score":
        return layer_scores(md, brain, metric=metric, rdm=rdm, stimuli=train)
    md_t, brain_t = md.subset_stimuli(train), brain.subset_stimuli(train)
    scores = score_tensor(md_t, brain_t, metric=metric, rdm=rdm).isel(model=0)
    per_subject = noise_ceiling(
        brain_t,
        metric,
        rdm=rdm,
        definition="hoefling2026",
        per_subject=True,
        pairs=_pairs(spec, len(brain.subjects)),
        unfiltered=_aligned_source(unfiltered, train),
    ).values
    _, normalised = outcome_tensors(None, scores.values, per_subject, spec.outcome, brain.regions)
    assert normalised is not None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a region without any ceiling
        mean = np.nanmean(normalised, axis=1)
    out = scores.mean("subject").copy(data=mean)
    out.attrs.update(scores.attrs, n_stimuli=brain_t.n_stimuli, outcome=spec.outcome)
    return out


def _metric_key(metric: Metric) -> tuple:
    """A metric's name and options as a hashable key (arrays by content)."""

    def plain(v: Any) -> Any:
        if isinstance(v, np.ndarray):
            digest = hashlib.sha256(np.ascontiguousarray(v).tobytes()).hexdigest()
            return (v.shape, str(v.dtype), digest)
        if isinstance(v, list | tuple):
            return tuple(plain(x) for x in v)
        return v

    return (metric.name, tuple((k, plain(v)) for k, v in sorted(metric.options.items())))


def _train_fitted(spec: Protocol) -> bool:
    """Whether the test tensors are fitted on the training stimuli and scored on the test
    stimuli (train-fitted predictivity, held-out Procrustes)."""
    m = get_metric(spec.metric)
    if m.held_out:
        return True
    return m.name == "predictivity" and spec.predictivity_test == "train-fitted"


def _metric(spec: Protocol, part: str, n_train: int = 0, n_test: int = 0) -> Metric:
    """The metric for layer selection (``part="train"``) or the test tensors. Predictivity
    takes the protocol's seed and fold weights unless its own options set them; held-out
    Procrustes selects layers by its training score and is tested on the split."""
    m = get_metric(spec.metric)
    if m.held_out:
        return m.with_split(n_train, n_test) if part == "test" else m.for_selection()
    if not isinstance(m, Predictivity):
        return m
    own: dict[str, Any] = {}
    if m.seed is None:
        own["seed"] = spec.predictivity_seed
    if part == "test" and _train_fitted(spec):
        own.update(
            test="train-fitted",
            split=(np.arange(n_train), np.arange(n_train, n_train + n_test)),
        )
    elif part != "test" and m.fold_weights is None:
        own["fold_weights"] = spec.fold_weights
    return get_metric(m, **own)


def _split(
    md: ModelData,
    brain: BrainData,
    train_stimuli: Sequence[Hashable] | None,
    test_stimuli: Sequence[Hashable] | None,
    test_fraction: float,
    labels: Sequence[Hashable] | None,
    seed: int | None,
) -> tuple[list[Hashable], list[Hashable]]:
    """The given split, else the dataset's fixed split, else a seeded random split."""
    if (train_stimuli is None) != (test_stimuli is None):
        raise InputError("Pass both 'train_stimuli' and 'test_stimuli', or neither (seeded split).")
    if train_stimuli is None:
        fixed = brain.attrs.get("split")
        if fixed is not None:
            return list(fixed["train"]), list(fixed["test"])
        return split_stimuli(md.stimuli, test_fraction, seed=seed, labels=labels)
    train, test = list(train_stimuli), list(test_stimuli or [])
    overlap = set(train) & set(test)
    if overlap:
        raise InputError(
            f"The train and test stimuli overlap in {len(overlap)} id(s), e.g. "
            f"{sorted(map(str, overlap))[:5]}: selecting and scoring on the same "
            "stimuli inflates scores. Expected disjoint sets."
        )
    return train, test


def _given_layers(
    layers_by_region: Mapping[Hashable, Hashable], brain: BrainData, md: ModelData, name: Hashable
) -> dict[Hashable, Hashable]:
    missing = [r for r in brain.regions if r not in layers_by_region]
    if missing:
        raise InputError(f"The 'layers_by_region' argument has no layer for region(s) {missing}.")
    layers = {r: layers_by_region[r] for r in brain.regions}
    unknown = [la for la in layers.values() if la not in md.layers()]
    if unknown:
        raise InputError(
            f"The 'layers_by_region' argument names layer(s) {unknown} that model "
            f"{name!r} does not have. Available layers: {md.layers()}."
        )
    return layers
