"""All-pairs scoring: prepare each representation once, then batched products.

:func:`pairwise_scores` is the numerical core (plain arrays in, a score matrix out);
:func:`score_tensor` applies it to labelled containers and returns a labelled
:class:`xarray.DataArray`, e.g. (subject, region, target_subject, target_region) for the
brain-to-brain tensor from which cross-region matrices, alignment patterns and APS are all read
without another RDM comparison.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np
import xarray as xr

from .data import Representations, match_stimuli
from .metrics import Metric, get_metric

__all__ = [
    "check_memory",
    "estimate_bytes",
    "pairwise_scores",
    "representation_inputs",
    "score_tensor",
]


def pairwise_scores(
    reps_a: np.ndarray,
    reps_b: np.ndarray | None = None,
    *,
    metric: str | Metric = "spearman",
    labels_a: Sequence[Any] | None = None,
    labels_b: Sequence[Any] | None = None,
) -> np.ndarray:
    """Scores between every representation of ``reps_a`` and every one of ``reps_b``.

    Parameters
    ----------
    reps_a, reps_b
        Stacks (K, ...) of metric inputs: RDM upper-triangle vectors (K, m) for RSA metrics.
        ``reps_b=None`` scores ``reps_a`` against itself (prepared once, symmetric product).
    metric
        A registered metric name or a :class:`~crossalign.metrics.Metric` instance.

    Returns
    -------
    numpy.ndarray
        (K_a, K_b) with ``out[i, j] = M(reps_a[i], reps_b[j])``.
    """
    m = get_metric(metric)
    prep_a = m.prepare(reps_a, labels_a)
    prep_b = prep_a if reps_b is None else m.prepare(reps_b, labels_b)
    return m.cross(prep_a, prep_b)


def representation_inputs(
    data: Representations, metric: str | Metric, rdm: str = "correlation"
) -> Any:
    """The metric inputs for every entry of ``data``, in ``data.keys()`` order: RDM vectors
    (K, m) for RDM metrics (responses turned into RDMs with ``rdm``), the response matrices
    (repetitions averaged) for response metrics."""
    m = get_metric(metric)
    if m.input_kind == "rdm":
        return data.rdm_vectors(rdm)
    return data.response_arrays(m.name)


def _widths(data: Representations) -> list[int]:
    return [int(np.prod(data[k].shape[1:2])) if data.kind(k) == "responses" else 0 for k in data]


def estimate_bytes(
    data: Representations, other: Representations | None, metric: str | Metric
) -> int:
    """Peak memory (bytes) of scoring ``data`` against ``other`` with ``metric``: the metric
    inputs and their prepared copies (for RSA also the ranks), plus the score matrix."""
    m = get_metric(metric)
    ka = len(data)
    kb = 0 if other is None else len(other)
    k = ka + kb
    n = data.n_stimuli
    if m.input_kind == "rdm":
        per = n * (n - 1) // 2 * 8 * 3  # vectors, ranks/centred, prepared
    elif m.name in ("cka", "cka_debiased", "cka_rbf", "mutual_knn"):
        per = n * n * 8 * 2
    elif m.name == "predictivity":
        per = n * n * 8 + n * max(_widths(data), default=1) * 8 * 2
    else:
        per = n * max(max(_widths(data), default=1), 1) * 8 * 2
    return int(k * per + ka * max(kb, ka) * 8)


def check_memory(
    data: Representations, other: Representations | None, metric: str | Metric
) -> None:
    """Refuse, before starting, a computation that would exceed the memory budget."""
    from ._options import MemoryBudgetError, get_option

    need = estimate_bytes(data, other, metric)
    budget = get_option("memory_budget")
    if need > budget:
        raise MemoryBudgetError(
            f"Scoring {len(data)} x {len(other) if other is not None else len(data)} "
            f"representations of {data.n_stimuli} stimuli with {get_metric(metric).name!r} needs "
            f"about {need / 1e9:.2f} GB, over the memory budget of {budget / 1e9:.2f} GB. Score "
            "fewer representations or stimuli at once, or set a larger budget (crossalign."
            "options(memory_budget='16GB'), or --memory-budget) if the machine has the memory."
        )


def _grid_dims(data: Representations, prefix: str = "") -> tuple[list[str], dict[str, Any]]:
    if not data.is_grid:
        raise ValueError(
            f"Scoring needs a complete {data.source_dim} x {data.area_dim} grid; this "
            f"{type(data).__name__} is ragged ({len(data)} entries for {len(data.sources)} "
            f"{data.source_dim}s and {len(data.areas)} {data.area_dim}s). Select one "
            f"{data.source_dim} with .select(sources=[...])."
        )
    dims = [prefix + data.source_dim, prefix + data.area_dim]
    return dims, {dims[0]: _labels(data.sources), dims[1]: _labels(data.areas)}


def _labels(labels: list[Hashable]) -> np.ndarray:
    arr = np.empty(len(labels), dtype=object)
    arr[:] = labels
    if labels and all(isinstance(x, str) for x in labels):
        return np.asarray(labels, dtype=str)
    return arr


def score_tensor(
    data: Representations,
    other: Representations | None = None,
    *,
    metric: str | Metric = "spearman",
    rdm: str = "correlation",
) -> xr.DataArray:
    """Scores between every entry of ``data`` and every entry of ``other`` (or of ``data``).

    Returns a DataArray with dims ``(source, area, target_source, target_area)`` named after
    the containers (e.g. ``subject, region, target_subject, target_region`` for brains, or
    ``model, layer, subject, region`` for a model against brains). Element
    ``[a, r, b, q]`` is ``M(rep[a, r], other_rep[b, q])``; direction matters for asymmetric
    metrics.
    """
    m = get_metric(metric)
    dims_a, coords_a = _grid_dims(data)
    check_memory(data, other, m)
    inputs_a = representation_inputs(data, m, rdm)
    labels_a = data.keys()
    if other is None:
        target = data
        scores = pairwise_scores(inputs_a, None, metric=m, labels_a=labels_a)
    else:
        target = match_stimuli(data, other)
        scores = pairwise_scores(
            inputs_a,
            representation_inputs(target, m, rdm),
            metric=m,
            labels_a=labels_a,
            labels_b=target.keys(),
        )
    clash = other is None or {target.source_dim, target.area_dim} & set(dims_a)
    dims_b, coords_b = _grid_dims(target, prefix="target_" if clash else "")
    shape = (
        len(data.sources),
        len(data.areas),
        len(target.sources),
        len(target.areas),
    )
    return xr.DataArray(
        scores.reshape(shape),
        dims=(*dims_a, *dims_b),
        coords={**coords_a, **coords_b},
        attrs={
            "metric": m.name,
            "rdm": rdm if m.input_kind == "rdm" else None,
            "n_stimuli": data.n_stimuli,
        },
        name="score",
    )
