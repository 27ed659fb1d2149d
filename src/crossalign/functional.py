"""The function-level API: nine functions for a quick analysis, implemented on the engine.

These are the functions of the "Cross-Region Alignment Patterns" skill that accompanied
Hoefling et al. 2026 (arXiv:2604.21780), with the same names and arguments. Where the original
functions computed something questionable, these do the right thing (the "function-level API"
page of the documentation lists every difference). In short:

* RDMs are computed once per representation, not inside the region loop;
* brain cross-region matrices average over pairs of *different* subjects, so the diagonal is
  the cross-subject reliability (never set to 1);
* p-values come from stimulus-label permutations (RDM entries are not independent, so the
  parametric p-value of ``spearmanr`` is invalid) and exist for every method;
* best layers are chosen on training stimuli and reported on held-out ones.

Import them from here (``from crossalign.functional import compute_rdm``); the library's own
API (``BrainData``, ``cross_region_matrix``, ``evaluate_model`` ...) is the top-level namespace.
The names also remain importable from ``crossalign`` itself, with a ``DeprecationWarning``.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from crossalign._validation import describe, keywords_checked
from crossalign.analysis.layers import layer_scores, select_layers
from crossalign.analysis.patterns import (
    compare_matrices,
    cross_region_matrix,
    model_cross_region_matrix,
    model_to_brain_matrix,
    region_matrix,
)
from crossalign.compute.rdm import check_rdm, compute_rdms, upper_triangle
from crossalign.data.containers import BrainData, ModelData
from crossalign.data.representations import Representations
from crossalign.engine.core import cross, prepare
from crossalign.errors import InputError, InputTypeError
from crossalign.evaluation.core import Evaluation
from crossalign.evaluation.summaries import paradigm_summary
from crossalign.metrics import get_metric
from crossalign.models import extract
from crossalign.stats.permutation import permutation_p_value

__all__ = [
    "collect_model_responses",
    "collect_multi_region_data",
    "compare_alignment_patterns",
    "compare_model_paradigms",
    "compute_alignment_score",
    "compute_cross_region_alignment",
    "compute_rdm",
    "identify_best_layers",
    "validate_model_comprehensive",
]

ModelLike = ModelData | Callable[[Any], Mapping[Hashable, Any]]


# ---------------------------------------------------------------------- helpers
def _stimulus_ids(stimuli: Any) -> list[Hashable] | None:
    """Ids when ``stimuli`` is a list of ids or paths; None for arrays of images."""
    if stimuli is None or isinstance(stimuli, np.ndarray | xr.DataArray):
        return None
    if isinstance(stimuli, BrainData | ModelData):
        return list(stimuli.stimuli)
    try:
        items = list(stimuli)
    except TypeError:
        return None
    if all(isinstance(s, str | int | np.integer | Path) for s in items):
        return [str(s) if isinstance(s, Path) else s for s in items]
    return None


def _model_name(model: Any) -> Hashable:
    if isinstance(model, ModelData):
        return model.one_model(None)
    for attr in ("name", "__name__"):
        value = getattr(model, attr, None)
        if isinstance(value, str) and value:
            return value
    return type(model).__name__


def _as_brain(brain_data: Any, stimuli: Any = None) -> BrainData:
    if isinstance(brain_data, BrainData):
        return brain_data
    if isinstance(brain_data, Mapping):
        return BrainData.from_responses(brain_data, stimuli=_stimulus_ids(stimuli))
    raise InputTypeError(
        "The 'brain_data' argument must be a BrainData or a mapping {(subject, region): "
        f"array (n_stimuli, n_units)}}. Got {describe(brain_data)} instead."
    )


def _is_network(model: Any) -> bool:
    """A torch nn.Module, or a crossalign model adapter (``load_model``) wrapping one."""
    return hasattr(model, "named_modules") or hasattr(
        getattr(model, "module", None), "named_modules"
    )


def _model_data(model: ModelLike, stimuli: Any, ids: Sequence[Hashable]) -> ModelData:
    """All layers of ``model`` on ``stimuli``, labelled with stimulus ``ids``."""
    name = _model_name(model)
    if isinstance(model, ModelData):
        return model.select([name]).align_to(_index(ids))
    if callable(model) and not hasattr(model, "named_modules"):
        acts = model(stimuli)
        if not isinstance(acts, Mapping):
            raise InputTypeError(
                f"The model {name!r} must return a mapping {{layer: array (n_stimuli, ...)}} "
                f"when called on the stimuli. Got {describe(acts)} instead."
            )
        return ModelData.from_activations(acts, model=name, stimuli=list(ids))
    raise InputTypeError(
        "Each model must be a ModelData (precomputed activations) or a callable returning "
        f"{{layer: array}} for the stimuli. Got {describe(model)} instead. For a torch "
        "nn.Module, wrap it in a function that returns its layer activations."
    )


def _index(ids: Sequence[Hashable]) -> Any:
    return pd.Index(list(ids), name="stimulus")


def _ids_for(brain: BrainData, stimuli: Any) -> list[Hashable]:
    ids = _stimulus_ids(stimuli)
    if ids is None:
        return list(brain.stimuli)
    return ids


# ---------------------------------------------------------------------- Step 1-2: data
@keywords_checked
def collect_multi_region_data(
    subjects: Sequence[Hashable],
    regions: Sequence[Hashable],
    stimuli: Any,
    loader: Callable[[Hashable, Hashable, Any], Any],
) -> BrainData:
    """Step 1: responses of every subject in every region, as :class:`BrainData`.

    ``loader(subject, region, stimuli)`` returns an (n_stimuli, n_units) array (rows in the
    order of ``stimuli``) or a DataArray with a ``stimulus`` coordinate (matched by id).

    Parameters
    ----------
    subjects, regions : sequence
        The labels.
    stimuli : sequence or array
        The stimuli (ids are taken from it where it has them).
    loader : callable
        ``loader(subject, region, stimuli)``, as above.

    Returns
    -------
    BrainData
    """
    if not callable(loader):
        raise InputTypeError(
            f"The 'loader' argument must be callable (subject, region, stimuli) -> responses. "
            f"Got {describe(loader)} instead."
        )
    responses = {(s, r): loader(s, r, stimuli) for s in subjects for r in regions}
    return BrainData.from_responses(responses, stimuli=_stimulus_ids(stimuli))


@keywords_checked
def collect_model_responses(
    models: Sequence[ModelLike] | Mapping[Hashable, ModelLike],
    stimuli: Any,
    layers_by_region: Mapping[Hashable, Any],
) -> ModelData:
    """Step 2: each model's activations at the layers assigned to regions, as ModelData.

    ``models`` are crossalign models (:func:`crossalign.load_model`) or torch modules (their
    layers are extracted with hooks from the stimulus images), callables returning
    ``{layer: array}`` for ``stimuli``, or ModelData (precomputed activations); a mapping
    names them. ``layers_by_region`` is ``{region:
    layer}`` for every model, or ``{model_name: {region: layer}}``. The assignment is kept in
    the result's :attr:`ModelData.layers_by_region`.

    Parameters
    ----------
    models : sequence or mapping
        The models, as above.
    stimuli : sequence or array
        Stimulus images (for networks) or ids.
    layers_by_region : mapping
        As above.

    Returns
    -------
    ModelData
    """
    named = dict(models) if isinstance(models, Mapping) else {_model_name(m): m for m in models}
    if not isinstance(models, Mapping) and len(named) != len(models):
        raise InputError(
            "The 'models' argument holds models with duplicate names; pass a mapping "
            "{name: model} to name them."
        )
    ids = _stimulus_ids(stimuli)
    entries: dict[tuple[Hashable, Hashable], Any] = {}
    assignments: dict[Hashable, dict[Hashable, Hashable]] = {}
    for name, model in named.items():
        mapping = layers_by_region.get(name, layers_by_region)
        if not isinstance(mapping, Mapping) or any(
            isinstance(v, Mapping) for v in mapping.values()
        ):
            raise InputError(
                f"The 'layers_by_region' argument has no {{region: layer}} mapping for model "
                f"{name!r}. Got {describe(layers_by_region)}."
            )
        if isinstance(model, ModelData):
            md = model
        elif _is_network(model):  # a torch module or a crossalign model: extract by hooks
            md = extract(model, stimuli, layers=list(dict.fromkeys(mapping.values())))
        else:
            md = _model_data(model, stimuli, ids if ids is not None else range(_n(stimuli)))
        src = _model_name(md)
        for layer in dict.fromkeys(mapping.values()):
            if (src, layer) not in md:
                raise InputError(
                    f"The 'layers_by_region' argument names layer {layer!r}, which model "
                    f"{name!r} does not have. Available layers: {md.layers(src)}."
                )
            entries[(name, layer)] = md[(src, layer)]
        assignments[name] = dict(mapping)
    out = ModelData.from_responses(entries)
    out.attrs["layers_by_region"] = assignments
    return out


def _n(stimuli: Any) -> int:
    try:
        return len(stimuli)
    except TypeError as exc:
        raise InputTypeError(
            f"The 'stimuli' argument must be a sequence. Got {describe(stimuli)}."
        ) from exc


# ---------------------------------------------------------------------- Step 3: RSA
@keywords_checked
def compute_rdm(responses: Any, metric: str = "correlation") -> np.ndarray:
    """Step 3a: the RDM (n_stimuli, n_stimuli) of one response matrix (n_stimuli, n_units).

    Parameters
    ----------
    responses : array_like
        (n_stimuli, n_units).
    metric : str
        The RDM distance (correlation, cosine, euclidean, sqeuclidean).

    Returns
    -------
    numpy.ndarray
    """
    arr = responses.values if isinstance(responses, xr.DataArray) else responses
    rdm = compute_rdms(np.asarray(arr), metric, name="responses")
    if rdm.ndim != 2:
        raise InputError(
            "The 'responses' argument must be one matrix (n_stimuli, n_units). Got an array "
            f"of shape {np.shape(arr)} instead."
        )
    return rdm


@keywords_checked
def compute_alignment_score(
    rdm1: Any,
    rdm2: Any,
    method: str = "spearman",
    *,
    n_permutations: int = 1000,
    seed: int | None = 0,
) -> tuple[float, float]:
    """Step 3b: RSA score between two RDMs and its stimulus-permutation p-value.

    The p-value is one-sided (H1: score > 0): rows and columns of ``rdm2`` are permuted
    together ``n_permutations`` times, p = (1 + #{null >= observed}) / (1 + n_permutations).
    This replaces the parametric p-value of the original skill function, which assumes
    independent RDM entries.

    Parameters
    ----------
    rdm1, rdm2 : array_like
        RDMs (n, n) over the same stimuli.
    method : str
        An RSA metric.
    n_permutations : int
        Stimulus permutations for the p-value.
    seed : int or None
        Seed of the permutations.

    Returns
    -------
    tuple of float
        The score and its p-value.
    """
    m = get_metric(method)
    a = check_rdm(rdm1, "rdm1")
    b = check_rdm(rdm2, "rdm2")
    if a.ndim != 2 or b.ndim != 2 or a.shape != b.shape:
        raise InputError(
            "The 'rdm1' and 'rdm2' arguments must be single RDMs of the same shape. Got "
            f"{a.shape} and {b.shape}."
        )
    if not isinstance(n_permutations, int | np.integer) or n_permutations < 1:
        raise InputError(
            f"The 'n_permutations' argument must be a positive integer. Got {n_permutations!r}."
        )
    prep_a = prepare(m, upper_triangle(a)[None], ["rdm1"])
    score = float(cross(prep_a, prepare(m, upper_triangle(b)[None], ["rdm2"]))[0, 0])
    n = a.shape[0]
    rng = np.random.default_rng(seed)
    perms = np.argsort(rng.random((n_permutations, n)), axis=1)
    iu, ju = np.triu_indices(n, k=1)
    null_vecs = b[perms[:, iu], perms[:, ju]]
    null = cross(prep_a, prepare(m, null_vecs))[0]
    p = float(permutation_p_value(np.array([score]), np.asarray(null)[:, None])[0])
    return score, float(p)


# ---------------------------------------------------------------------- Step 4-5: patterns
@keywords_checked
def compute_cross_region_alignment(
    data_dict: Representations | Mapping[tuple[Hashable, Hashable], Any],
    regions: Sequence[Hashable],
    *,
    metric: str = "spearman",
    rdm: str = "correlation",
) -> xr.DataArray:
    """Step 4: the cross-region alignment matrix (region, target_region).

    ``data_dict`` is BrainData, ModelData (with a layer per region), or the original skill's
    mapping ``{(source, region): responses}``. With two or more sources (subjects) the matrix
    averages over pairs of *different* sources; with a single source (a model) it is that
    source's own ``M(X[r], X[q])``.

    Parameters
    ----------
    data_dict : Representations or mapping
        As above.
    regions : sequence
        The regions, in the matrix's order.
    metric : str
        Any registered metric.
    rdm : str
        The RDM distance for responses under RSA metrics.

    Returns
    -------
    xarray.DataArray
    """
    regions = list(regions)
    if isinstance(data_dict, Mapping) and not isinstance(data_dict, Representations):
        sources = {k[0] for k in data_dict if isinstance(k, tuple)}
        if len(sources) >= 2:
            data: Representations = BrainData.from_responses(
                {k: v for k, v in data_dict.items() if k[1] in regions}
            )
        else:
            data = ModelData.from_responses(data_dict)
            data.attrs["layers_by_region"] = {next(iter(sources)): {r: r for r in regions}}
    else:
        data = data_dict
    if isinstance(data, BrainData):
        return cross_region_matrix(data.select(areas=regions), metric, rdm=rdm)
    if isinstance(data, ModelData):
        name = data.one_model(None)
        mapping = data.layers_by_region.get(name) or {r: r for r in regions}
        missing = [r for r in regions if r not in mapping]
        if missing:
            raise InputError(
                f"The 'regions' argument names region(s) {missing} that have no layer assigned "
                f"in model {name!r} (assigned: {list(mapping)})."
            )
        return model_cross_region_matrix(
            data, {r: mapping[r] for r in regions}, metric=metric, rdm=rdm
        )
    raise InputTypeError(
        "The 'data_dict' argument must be BrainData, ModelData or a mapping {(source, region): "
        f"responses}}. Got {describe(data_dict)} instead."
    )


def _ordered(matrix: Any, region_names: Sequence[Hashable], name: str) -> np.ndarray:
    if isinstance(matrix, xr.DataArray) and {"region", "target_region"} <= set(matrix.dims):
        have = list(matrix.coords["region"].values)
        missing = [r for r in region_names if r not in have]
        if missing:
            raise InputError(f"The '{name}' argument has no region(s) {missing}; it covers {have}.")
        return matrix.sel(region=list(region_names), target_region=list(region_names)).values
    arr = np.asarray(matrix, dtype=float)
    if arr.shape != (len(region_names), len(region_names)):
        raise InputError(
            f"The '{name}' argument must be a {len(region_names)} x {len(region_names)} matrix "
            f"(one row and column per region in 'region_names'). Got shape {arr.shape}."
        )
    return arr


@keywords_checked
def compare_alignment_patterns(
    brain_matrix: Any,
    model_matrices: Mapping[Hashable, Any],
    region_names: Sequence[Hashable],
    *,
    threshold: float = 0.5,
    n_permutations: int = 1000,
    seed: int | None = 0,
    include_diagonal: bool = False,
) -> dict[str, Any]:
    """Step 5: compare each model's cross-region matrix with the brain's.

    Returns the original skill's dict: ``brain_to_brain`` (mean/std of the off-diagonal, the
    pattern), ``model_to_brain`` (per model: mean/std, pattern correlation, the pattern) and
    ``comparisons`` (per model: ``mean_diff`` = brain - model, ``pattern_similarity``,
    ``captures_cross_region`` = similarity > ``threshold``, and the one-sided region-label
    permutation ``p_value`` of the similarity beside it: with R regions the smallest possible
    exact p-value is 1/R!, so read both). Matrices may be DataArrays (reordered by region
    label) or arrays ordered as ``region_names``.

    Parameters
    ----------
    brain_matrix : array_like or xarray.DataArray
        The brain's (region, region) matrix.
    model_matrices : mapping
        ``{model: matrix}``.
    region_names : sequence
        The regions, in the arrays' order.
    threshold : float
        The similarity above which a model "captures" the pattern.
    n_permutations : int
        Region relabellings for the p-values.
    seed : int or None
        Seed of the relabellings.
    include_diagonal : bool
        Compare the diagonal too.

    Returns
    -------
    dict
    """
    if not isinstance(model_matrices, Mapping):
        raise InputTypeError(
            "The 'model_matrices' argument must be a mapping {model_name: matrix}. Got "
            f"{describe(model_matrices)} instead."
        )
    regions = list(region_names)
    brain = _ordered(brain_matrix, regions, "brain_matrix")
    off = np.triu_indices(len(regions), k=1)
    results: dict[str, Any] = {
        "brain_to_brain": {
            "mean_alignment": float(brain[off].mean()) if len(off[0]) else float("nan"),
            "std_alignment": float(brain[off].std()) if len(off[0]) else float("nan"),
            "pattern": region_matrix(brain, regions),
        },
        "model_to_brain": {},
        "comparisons": {},
    }
    for name, matrix in model_matrices.items():
        mdl = _ordered(matrix, regions, f"model_matrices[{name!r}]")
        cmp = compare_matrices(
            brain,
            mdl,
            include_diagonal=include_diagonal,
            n_permutations=n_permutations,
            seed=seed,
        )
        results["model_to_brain"][name] = {
            "mean_alignment": cmp.model_mean,
            "std_alignment": cmp.model_std,
            "pattern_correlation": cmp.pattern_correlation,
            "pattern": region_matrix(mdl, regions),
        }
        captured = bool(cmp.pattern_correlation > threshold)  # NaN (undefined) -> False
        results["comparisons"][name] = {
            "mean_diff": cmp.mean_difference,
            "pattern_similarity": cmp.pattern_correlation,
            "pattern_similarity_with_diagonal": cmp.pattern_correlation_with_diagonal,
            "p_value": cmp.p_value,
            "n_permutations": cmp.n_permutations,
            "exact_permutation_test": cmp.exact,
            "captures_cross_region": captured,
            "threshold": threshold,
        }
    return results


# ---------------------------------------------------------------------- Applications
@keywords_checked
def identify_best_layers(
    model: ModelLike,
    regions: Sequence[Hashable],
    brain_data: BrainData | Mapping[tuple[Hashable, Hashable], Any],
    stimuli: Any,
    *,
    metric: str = "spearman",
    rdm: str = "correlation",
    train_stimuli: Sequence[Hashable] | None = None,
) -> dict[Hashable, Hashable]:
    """The layer of ``model`` that best matches each region (mean over subjects).

    Pass ``train_stimuli`` (ids) to select on a training split; report scores on the other
    stimuli (as :func:`validate_model_comprehensive` does).

    Parameters
    ----------
    model : model-like
        A crossalign model, torch module, callable or ModelData.
    regions : sequence
        The regions to assign.
    brain_data : BrainData or mapping
        BrainData, or ``{(subject, region): responses}``.
    stimuli : sequence or array
        The stimuli.
    metric, rdm : str
        Metric and RDM distance.
    train_stimuli : sequence, optional
        Ids to select on.

    Returns
    -------
    dict
        ``{region: layer}``.
    """
    brain = _as_brain(brain_data, stimuli).select(areas=list(regions))
    md = _model_data(model, stimuli, _ids_for(brain, stimuli))
    scores = layer_scores(md, brain, metric=metric, rdm=rdm, stimuli=train_stimuli)
    return select_layers(scores, higher_is_better=get_metric(metric).higher_is_better)


@keywords_checked
def validate_model_comprehensive(
    model: ModelLike,
    brain_data: BrainData | Mapping[tuple[Hashable, Hashable], Any],
    stimuli: Any,
    regions: Sequence[Hashable],
    *,
    metric: str = "spearman",
    rdm: str = "correlation",
    test_fraction: float = 0.5,
    seed: int | None = 0,
    threshold: float = 0.5,
    n_permutations: int = 1000,
) -> dict[str, Any]:
    """Application 1: select layers on train stimuli, then score the model on test stimuli.

    Returns ``within_region_alignment`` ({region: mean over subjects of M(F[l*(r)], X[s, r])}),
    ``cross_region_alignment`` (:func:`compare_alignment_patterns` of the brain matrix against
    the model's own matrix), ``model_to_brain_matrix``, ``overall_score`` (mean within-region),
    ``captures_global_dynamics``, ``selected_layers`` and the ``split``.

    Parameters
    ----------
    model : model-like
        A crossalign model, torch module, callable or ModelData.
    brain_data : BrainData or mapping
        BrainData, or ``{(subject, region): responses}``.
    stimuli : sequence or array
        The stimuli.
    regions : sequence
        The regions.
    metric, rdm : str
        Metric and RDM distance.
    test_fraction : float
        Share of the stimuli held out.
    seed : int or None
        Seed of the split and permutations.
    threshold : float
        As for :func:`compare_alignment_patterns`.
    n_permutations : int
        Relabellings for the pattern p-value.

    Returns
    -------
    dict
    """
    regions = list(regions)
    brain = _as_brain(brain_data, stimuli).select(areas=regions)
    md = _model_data(model, stimuli, _ids_for(brain, stimuli))
    options = {"metric": metric, "rdm": rdm, "test_fraction": test_fraction, "seed": seed}
    report, _ = _validated(md, brain, regions, options, threshold, n_permutations)
    return report


def _validated(
    md: ModelData,
    brain: BrainData,
    regions: list[Hashable],
    options: Mapping[str, Any],
    threshold: float,
    n_permutations: int,
) -> tuple[dict[str, Any], Evaluation]:
    """The report of :func:`validate_model_comprehensive` and the evaluation behind it (one
    split, one layer selection: the dataset's own split where it has one)."""
    name = _model_name(md)
    brain = brain.align_to(md.stimuli)
    m = get_metric(options.get("metric", "spearman"))
    rdm = options.get("rdm", "correlation")
    ev = Evaluation.fit(
        md,
        brain,
        test_fraction=options.get("test_fraction", 0.5),
        seed=options.get("seed", 0),
        metric=m.name,
        rdm=rdm,
    )
    per_region = np.nanmean(ev.values()[0], axis=1)  # pointwise score, mean over subjects
    within = {r: float(per_region[ev.regions.index(r)]) for r in regions}
    brain_values, model_values = ev.region_matrices()
    brain_matrix = region_matrix(brain_values, ev.regions)
    model_matrix = region_matrix(model_values, ev.regions)
    comparison = compare_alignment_patterns(
        brain_matrix,
        {name: model_matrix},
        regions,
        threshold=threshold,
        n_permutations=n_permutations,
        seed=options.get("seed", 0),
    )
    md_test, brain_test = md.subset_stimuli(ev.test), brain.subset_stimuli(ev.test)
    fixed = brain.attrs.get("split") is not None
    report = {
        "model": name,
        "metric": m.name,
        "selected_layers": dict(ev.layers),
        "within_region_alignment": within,
        "cross_region_alignment": comparison,
        "model_to_brain_matrix": model_to_brain_matrix(
            md_test, brain_test, ev.layers, metric=m, rdm=rdm
        ),
        "overall_score": float(np.mean(list(within.values()))),
        "captures_global_dynamics": comparison["comparisons"][name]["captures_cross_region"],
        "split": {
            "train": list(ev.train),
            "test": list(ev.test),
            "seed": None if fixed else options.get("seed", 0),
            "source": "the dataset's fixed split" if fixed else "seeded",
        },
    }
    return report, ev


#: The options :func:`compare_model_paradigms` takes (those of the evaluation and the report).
_PARADIGM_OPTIONS = (
    "metric",
    "rdm",
    "test_fraction",
    "seed",
    "n_bootstrap",
    "threshold",
    "n_permutations",
)


def compare_model_paradigms(
    models_by_paradigm: Mapping[str, Sequence[ModelLike] | Mapping[Hashable, ModelLike]],
    brain_data: BrainData | Mapping[tuple[Hashable, Hashable], Any],
    stimuli: Any,
    regions: Sequence[Hashable],
    **options: Any,
) -> dict[str, dict[str, Any]]:
    """Application 2: validate every model and summarise per training paradigm.

    ``models_by_paradigm`` maps a paradigm (e.g. "supervised", "self-supervised", "untrained")
    to its models. Per paradigm: ``mean_within_region``, ``mean_cross_region`` (mean pattern
    correlation), ``captures_global`` (fraction of models that capture the pattern), and each
    model's report under ``models``. With >= 3 subjects and regions, each model also runs the
    paper's test (:func:`~crossalign.evaluate_model`: layers chosen on train stimuli, score and
    APS on test) and the paradigm gets ``mean_within_region_test``, ``mean_aps_test`` and
    subject-bootstrap CIs ``within_region_ci`` / ``aps_ci``
    (:func:`~crossalign.paradigm_summary`). ``options`` go to
    :func:`validate_model_comprehensive` (``metric``, ``rdm``, ``test_fraction``, ``seed`` and
    ``n_bootstrap`` also to the evaluation).

    Parameters
    ----------
    models_by_paradigm : mapping
        ``{paradigm: models}``.
    brain_data : BrainData or mapping
        BrainData, or ``{(subject, region): responses}``.
    stimuli : sequence or array
        The stimuli.
    regions : sequence
        The regions.
    **options
        Options of :func:`validate_model_comprehensive` (and ``n_bootstrap`` for the
        paper's test).

    Returns
    -------
    dict
        Per paradigm, the summary above.
    """
    if not isinstance(models_by_paradigm, Mapping) or not models_by_paradigm:
        raise InputTypeError(
            "The 'models_by_paradigm' argument must be a non-empty mapping {paradigm: [models]}."
            f" Got {describe(models_by_paradigm)} instead."
        )
    brain = _as_brain(brain_data, stimuli)
    regions = list(regions)
    results: dict[str, dict[str, Any]] = {}
    apa_possible = len(brain.subjects) >= 3 and len(regions) >= 3
    evaluations: dict[str, dict[Hashable, xr.Dataset]] = {}
    for paradigm, models in models_by_paradigm.items():
        named = dict(models) if isinstance(models, Mapping) else {_model_name(m): m for m in models}
        if not named:
            raise InputError(f"Paradigm {paradigm!r} has no models.")
        unknown = set(options) - set(_PARADIGM_OPTIONS)
        if unknown:
            raise InputError(
                f"Unknown option(s) {sorted(unknown)} for compare_model_paradigms; expected "
                f"among {sorted(_PARADIGM_OPTIONS)}."
            )
        reports: dict[Hashable, dict[str, Any]] = {}
        fitted: dict[Hashable, Evaluation] = {}
        for name, model in named.items():
            md = _model_data(_renamed(model, name), stimuli, _ids_for(brain, stimuli))
            reports[name], fitted[name] = _validated(
                md,
                brain.select(areas=regions),
                regions,
                options,
                options.get("threshold", 0.5),
                options.get("n_permutations", 1000),
            )
        pattern = [
            r["cross_region_alignment"]["comparisons"][r["model"]]["pattern_similarity"]
            for r in reports.values()
        ]
        if apa_possible:  # the paper's test on the same split and layers
            n_bootstrap = options.get("n_bootstrap", 1000)
            evaluations[paradigm] = {
                name: ev.to_dataset(n_bootstrap) for name, ev in fitted.items()
            }
        results[paradigm] = {
            "mean_within_region": float(np.mean([r["overall_score"] for r in reports.values()])),
            "mean_cross_region": float(np.nanmean(pattern))
            if np.isfinite(pattern).any()
            else float("nan"),
            "captures_global": float(
                np.mean([r["captures_global_dynamics"] for r in reports.values()])
            ),
            "n_models": len(reports),
            "models": reports,
        }
    if apa_possible:
        summary = paradigm_summary(evaluations)
        for paradigm in results:
            sel = summary.sel(paradigm=paradigm)
            for stat, key in (("score", "within_region"), ("aps", "aps")):
                results[paradigm][f"mean_{key}_test"] = float(sel["mean"].sel(statistic=stat))
                results[paradigm][f"{key}_ci"] = (
                    float(sel["low"].sel(statistic=stat)),
                    float(sel["high"].sel(statistic=stat)),
                )
            results[paradigm]["evaluations"] = evaluations[paradigm]
    return results


def _renamed(model: ModelLike, name: Hashable) -> ModelLike:
    if isinstance(model, ModelData) or _model_name(model) == name:
        return model

    def wrapped(stimuli: Any) -> Mapping[Hashable, Any]:
        return model(stimuli)

    wrapped.name = name  # type: ignore[attr-defined]
    return wrapped
