"""All-pairs scoring: prepare each representation once, then batched products.

:func:`pairwise_scores` is the numerical core (plain arrays in, a score matrix out);
:func:`score_tensor` applies it to labelled containers and returns a labelled
:class:`xarray.DataArray`, e.g. (subject, region, target_subject, target_region) for the
brain-to-brain tensor from which cross-region matrices, alignment patterns and APS are all read
without another RDM comparison.
"""

from __future__ import annotations

import tempfile
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from crossalign._registry import Registry
from crossalign._validation import check_option
from crossalign.compute.context import Context, current_context
from crossalign.data.containers import ModelData
from crossalign.data.labels import coord
from crossalign.data.representations import Representations, match_stimuli
from crossalign.engine.plan import ScoringPlan, effective_backend, format_duration, plan_scores
from crossalign.errors import InputError, LongRunWarning
from crossalign.metrics import Metric, get_metric

__all__ = [
    "EXECUTORS",
    "LONG_RUN_SECONDS",
    "Prepared",
    "all_pairs",
    "cross",
    "paired",
    "pairwise_scores",
    "prepare",
    "representation_inputs",
    "score",
    "score_tensor",
]


def pairwise_scores(
    reps_a: np.ndarray,
    reps_b: np.ndarray | None = None,
    *,
    metric: str | Metric = "spearman",
    labels_a: Sequence[Any] | None = None,
    labels_b: Sequence[Any] | None = None,
    backend: str | None = None,
    context: Context | None = None,
) -> np.ndarray:
    """Scores between every representation of ``reps_a`` and every one of ``reps_b``.

    Parameters
    ----------
    reps_a, reps_b
        Stacks (K, ...) of metric inputs: RDM upper-triangle vectors (K, m) for RSA metrics.
        ``reps_b=None`` scores ``reps_a`` against itself (prepared once, symmetric product).
    metric
        A registered metric name or a :class:`~crossalign.metrics.Metric` instance.
    labels_a, labels_b
        Names of the representations, for the metric's error messages.
    backend
        Where the kernels run (:mod:`crossalign.compute.backends`); default the context's.
    context
        The execution context; default :func:`~crossalign.compute.context.current_context`.

    Returns
    -------
    numpy.ndarray
        (K_a, K_b) with ``out[i, j] = M(reps_a[i], reps_b[j])``.
    """
    ctx = _context(context, backend)
    prep_a = prepare(metric, reps_a, labels_a, context=ctx)
    return cross(prep_a, None if reps_b is None else prepare(metric, reps_b, labels_b, context=ctx))


def _context(context: Context | None, backend: str | None = None) -> Context:
    """``context`` (default the current one), on ``backend`` when given."""
    ctx = current_context() if context is None else context
    return ctx if backend is None else ctx.on(backend)


@dataclass(frozen=True)
class Prepared:
    """A stack of representations prepared once by a metric (:func:`prepare`), to be scored
    against other stacks with :func:`cross` as often as needed (resamples, nulls, ceilings).

    Parameters
    ----------
    metric : Metric
        The metric that prepared it.
    data : object
        The metric's prepared form.
    context : Context
        Where it was prepared (on the context's backend where the metric has kernels for it,
        else numpy); scoring it runs there too.
    """

    metric: Metric
    data: Any
    context: Context

    @property
    def backend(self) -> str:
        """The name of the backend it was prepared on."""
        return self.context.backend.name


def prepare(
    metric: str | Metric,
    inputs: Any,
    labels: Sequence[Any] | None = None,
    *,
    context: Context | None = None,
) -> Prepared:
    """Prepare a stack of metric inputs once, on the backend the engine picks for the metric.

    Every score of the library goes through :func:`prepare` and :func:`cross` (or the
    all-pairs functions built on them), so the backend and precision options and the
    metric's declared kernels apply everywhere.

    Parameters
    ----------
    metric : str or Metric
    inputs : numpy.ndarray or list of numpy.ndarray
        RDM vectors (K, m) for RSA metrics, else K response matrices.
    labels : sequence, optional
        The representations' labels, for error messages.
    context : Context, optional
        The execution context; default :func:`~crossalign.compute.context.current_context`.

    Returns
    -------
    Prepared
    """
    m = get_metric(metric)
    ctx = effective_backend(m, _context(context))
    return Prepared(m, m.prepare(inputs, labels, ctx=ctx), ctx)


def cross(a: Prepared, b: Prepared | None = None) -> np.ndarray:
    """The scores (Ka, Kb) of two prepared stacks (``b`` None: ``a`` against itself, a
    symmetric product where the metric allows it).

    Parameters
    ----------
    a, b : Prepared
        Prepared by the same metric.

    Returns
    -------
    numpy.ndarray
        ``out[i, j] = M(a_i, b_j)``.
    """
    b = a if b is None else b
    _check_same_metric(a, b)
    return a.metric.cross(a.data, b.data, ctx=a.context)


def _check_same_metric(a: Prepared, b: Prepared) -> None:
    if b.metric != a.metric:
        raise InputError(
            f"Both stacks must be prepared by the same metric. Got {a.metric.name!r} and "
            f"{b.metric.name!r}."
        )


def paired(a: Prepared, b: Prepared) -> np.ndarray:
    """The scores of corresponding entries, ``M(a_i, b_i)`` (the diagonal of
    :func:`cross`, which a metric may compute without the other pairs).

    Parameters
    ----------
    a, b : Prepared
        Prepared by the same metric, of equal length.

    Returns
    -------
    numpy.ndarray
        (K,).
    """
    _check_same_metric(a, b)
    return a.metric.paired(a.data, b.data, ctx=a.context)


def representation_inputs(
    data: Representations,
    metric: str | Metric,
    rdm: str = "correlation",
    context: Context | None = None,
) -> Any:
    """The metric inputs for every entry of ``data``, in ``data.keys()`` order: RDM vectors
    (K, m) for RDM metrics (responses turned into RDMs with ``rdm``), the response matrices
    (repetitions averaged) for response metrics.

    Parameters
    ----------
    data : Representations
    metric : str or Metric
    rdm : str
        The RDM distance for responses.
    context : Context, optional
        Where RDMs are computed; default :func:`~crossalign.compute.context.current_context`.

    Returns
    -------
    numpy.ndarray or list of numpy.ndarray
    """
    m = get_metric(metric)
    if m.input_kind == "rdm":
        return data.rdm_vectors(rdm, ctx=_context(context))
    return data.response_arrays(m.name)


# ---------------------------------------------------------------------------- planning
#: Plans predicted to run longer than this (seconds) are announced with a LongRunWarning.
LONG_RUN_SECONDS = 3600.0


def all_pairs(
    data: Representations,
    other: Representations | None,
    metric: str | Metric,
    rdm: str = "correlation",
    *,
    plan: ScoringPlan | None = None,
    context: Context | None = None,
) -> np.ndarray:
    """The (len(data), len(other or data)) score matrix, in ``keys()`` order.

    Runs the ``plan`` (default: :func:`plan_scores` under the context): in one block
    when everything fits the memory budget; else streamed, holding one block of prepared
    representations while the next is prepared and scored, so peak memory stays within the
    budget whatever the number of representations; on a Dask cluster when the ``cluster``
    option is set (:mod:`crossalign.engine.distributed`). ``other`` must share ``data``'s stimuli.

    Parameters
    ----------
    data, other : Representations
        Scored against each other (``other`` None: ``data`` against itself).
    metric : str or Metric
    rdm : str
        The RDM distance for RSA metrics on responses.
    plan : ScoringPlan, optional
        Default: :func:`plan_scores` under the context.
    context : Context, optional
        The execution context; default :func:`~crossalign.compute.context.current_context`.

    Returns
    -------
    numpy.ndarray
    """
    m = get_metric(metric)
    ctx = _context(context)
    plan = plan or plan_scores(data, other, m, ctx)
    ctx = ctx.on(plan.backend)  # where the plan runs the metric (it warned if not asked)
    if ctx.cluster is not None:
        return EXECUTORS.get("dask")(data, other, m, rdm, plan, ctx)
    if plan.seconds > LONG_RUN_SECONDS:
        warnings.warn(
            f"Planned: {plan.describe()}. On this machine that is over "
            f"{format_duration(LONG_RUN_SECONDS)}; a Dask cluster (the cluster option, e.g. "
            "'tcp://...') spreads the blocks over workers, and a GPU backend (the backend "
            "option 'torch:cuda', or --backend torch:cuda) runs the products in seconds.",
            LongRunWarning,
            stacklevel=2,
        )
    if not plan.streamed:
        return pairwise_scores(
            representation_inputs(data, m, rdm, ctx),
            None if other is None else representation_inputs(other, m, rdm, ctx),
            metric=m,
            labels_a=data.keys(),
            labels_b=None if other is None else other.keys(),
            context=ctx,
        )
    return _streamed(data, other, m, rdm, plan, ctx)


#: Executors that run a plan elsewhere than in this process, by name. Each registers itself
#: when its module is imported (:mod:`crossalign.engine.distributed` registers ``"dask"``;
#: the engine package imports it), so the engine core depends on no executor module: an
#: executor depends on the engine's public block functions (``prepare_entries``,
#: ``block_pairs``, ``place_block``). A function takes (data, other, metric, rdm, plan,
#: context) and returns the score matrix of :func:`all_pairs`.
EXECUTORS: Registry[Any] = Registry("executor")


def prepare_block(data: Representations, rows: range, m: Metric, rdm: str, ctx: Context) -> Any:
    """Metric inputs and preparation of the entries ``rows`` of ``data`` (keys order)."""
    keys = data.keys()
    return prepare_entries(data.block([keys[i] for i in rows]), m, rdm, ctx)


def prepare_entries(block: Any, m: Metric, rdm: str, ctx: Context) -> Any:
    """The metric's preparation of an :class:`~crossalign.data.representations.EntryBlock`:
    its RDM vectors or response matrices, prepared under ``ctx`` (what an executor runs per
    block)."""
    if m.input_kind == "rdm":
        inputs = block.rdm_vectors(rdm, ctx=ctx)
    else:
        inputs = block.response_arrays(m.name)
    return m.prepare(inputs, list(block.keys), ctx=ctx)


def block_pairs(plan: ScoringPlan) -> list[tuple[int, int]]:
    """The (row block, column block) pairs to compute: for a symmetric metric scoring data
    against itself only the upper triangle of blocks (the rest is its transpose)."""
    n_rows = len(plan.blocks(plan.n_a))
    n_cols = len(plan.column_blocks())
    upper = not plan.n_b and get_metric(plan.metric).symmetric
    return [(i, j) for i in range(n_rows) for j in range(n_cols) if not upper or j >= i]


def place_block(out: np.ndarray, plan: ScoringPlan, i: int, j: int, scores: np.ndarray) -> None:
    """Write the scores of block pair (i, j) into ``out`` (and their transpose below the
    diagonal when only the upper triangle of blocks is computed)."""
    rows = plan.blocks(plan.n_a)[i]
    cols = plan.column_blocks()[j]
    out[rows.start : rows.stop, cols.start : cols.stop] = scores
    if not plan.n_b and get_metric(plan.metric).symmetric and i != j:
        out[cols.start : cols.stop, rows.start : rows.stop] = scores.T


def _streamed(
    data: Representations,
    other: Representations | None,
    m: Metric,
    rdm: str,
    plan: ScoringPlan,
    ctx: Context,
) -> np.ndarray:
    """Block by block within the budget. Where the metric's prepared form is one array per
    block (RDM metrics), every block is prepared exactly once and kept in a temporary file
    on disk, from which each pair of blocks is read; otherwise column blocks are prepared
    again for each row block."""
    target = data if other is None else other
    out = np.empty((len(data), len(target)))
    if plan.held and other is not None:
        return _past_held(data, other, m, rdm, plan, out, ctx)
    with _SpilledBlocks(data, m, rdm, plan, ctx) as rows_store:
        cols_store = rows_store if other is None else _SpilledBlocks(target, m, rdm, plan, ctx)
        with cols_store:
            for i, j in block_pairs(plan):
                held = rows_store.get(i)
                cols = held if other is None and i == j else cols_store.get(j)
                place_block(out, plan, i, j, m.cross(held, cols, ctx=ctx))
                del cols, held
    return out


def _past_held(
    data: Representations,
    other: Representations,
    m: Metric,
    rdm: str,
    plan: ScoringPlan,
    out: np.ndarray,
    ctx: Context,
) -> np.ndarray:
    """The smaller side prepared once and held; each block of the larger side prepared once,
    scored against it and dropped (e.g. a model's layers against every brain cell)."""
    rows, cols = plan.blocks(plan.n_a), plan.column_blocks()
    if len(rows) == 1:
        held = prepare_block(data, rows[0], m, rdm, ctx)
        for j, block in enumerate(cols):
            scores = m.cross(held, prepare_block(other, block, m, rdm, ctx), ctx=ctx)
            place_block(out, plan, 0, j, scores)
    else:
        held = prepare_block(other, cols[0], m, rdm, ctx)
        for i, block in enumerate(rows):
            scores = m.cross(prepare_block(data, block, m, rdm, ctx), held, ctx=ctx)
            place_block(out, plan, i, 0, scores)
    return out


class _SpilledBlocks:
    """Prepared blocks of one container: written once to a temporary memory-mapped file when
    the preparation is an array, else prepared on each request."""

    def __init__(
        self, data: Representations, m: Metric, rdm: str, plan: ScoringPlan, ctx: Context
    ) -> None:
        self.data, self.m, self.rdm, self.ctx = data, m, rdm, ctx
        self.blocks = plan.blocks(len(data))
        self.file: Any = None
        self.store: np.ndarray | None = None

    def __enter__(self) -> _SpilledBlocks:
        if self.m.input_kind != "rdm" or self.store is not None:
            return self
        for rows in self.blocks:
            prepared = prepare_block(self.data, rows, self.m, self.rdm, self.ctx)
            if not isinstance(prepared, np.ndarray):
                return self  # prepared on request instead
            if self.store is None:
                self.file = tempfile.TemporaryFile(prefix="crossalign-blocks-")
                shape = (len(self.data), prepared.shape[1])
                self.file.truncate(int(np.prod(shape)) * prepared.dtype.itemsize)
                self.store = np.memmap(self.file, dtype=prepared.dtype, mode="r+", shape=shape)
            self.store[rows.start : rows.stop] = prepared
            del prepared
        return self

    def get(self, b: int) -> Any:
        rows = self.blocks[b]
        if self.store is None:
            return prepare_block(self.data, rows, self.m, self.rdm, self.ctx)
        return np.asarray(self.store[rows.start : rows.stop])

    def __exit__(self, *exc: object) -> None:
        self.store = None
        if self.file is not None:
            self.file.close()
            self.file = None


def _grid_dims(data: Representations, prefix: str = "") -> tuple[list[str], dict[str, Any]]:
    if not data.is_grid and not data.missing_cells:
        raise InputError(
            f"Scoring needs a complete {data.source_dim} x {data.area_dim} grid; this "
            f"{type(data).__name__} is ragged ({len(data)} entries for {len(data.sources)} "
            f"{data.source_dim}s and {len(data.areas)} {data.area_dim}s). Select one "
            f"{data.source_dim} with .select(sources=[...])."
        )
    dims = [prefix + data.source_dim, prefix + data.area_dim]
    return dims, {dims[0]: coord(data.sources), dims[1]: coord(data.areas)}


def on_grid(scores: np.ndarray, data: Representations, other: Representations) -> np.ndarray:
    """Scores between entries (``keys()`` orders) placed on the full (source x area) grids
    of both containers, NaN where a cell is missing."""
    if data.is_grid and other.is_grid:
        return scores
    out = np.full(
        (len(data.sources) * len(data.areas), len(other.sources) * len(other.areas)), np.nan
    )
    out[np.ix_(data.grid_positions(), other.grid_positions())] = scores
    return out


def score_tensor(
    data: Representations,
    other: Representations | None = None,
    *,
    metric: str | Metric = "spearman",
    rdm: str = "correlation",
    backend: str | None = None,
    context: Context | None = None,
) -> xr.DataArray:
    """Scores between every entry of ``data`` and every entry of ``other`` (or of ``data``).

    Planned before it starts (:func:`plan_scores`: streamed in blocks when the analysis does
    not fit the memory budget) and run by :func:`all_pairs` under the execution context, on
    ``backend`` (default: the context's) or a Dask cluster (the context's ``cluster``).

    Returns a DataArray with dims ``(source, area, target_source, target_area)`` named after
    the containers (e.g. ``subject, region, target_subject, target_region`` for brains, or
    ``model, layer, subject, region`` for a model against brains). Element
    ``[a, r, b, q]`` is ``M(rep[a, r], other_rep[b, q])``; direction matters for asymmetric
    metrics. Where brain data lacks a (subject, region) cell, its scores are NaN.

    Parameters
    ----------
    data : Representations
        Brain or model data (brain data may miss cells; other containers must be grids).
    other : Representations, optional
        The targets; default ``data`` itself. Stimuli are matched by id.
    metric : str or Metric
        Any registered metric.
    rdm : str
        The RDM distance for response entries under RSA metrics.
    backend : str, optional
        Where the kernels run; default the context's backend.
    context : Context, optional
        The execution context; default :func:`~crossalign.compute.context.current_context`.

    Returns
    -------
    xarray.DataArray
        The score tensor described above, with ``metric``, ``rdm`` and ``n_stimuli`` in
        ``attrs``.
    """
    m = get_metric(metric)
    dims_a, coords_a = _grid_dims(data)
    target = data if other is None else match_stimuli(data, other)
    ctx = _context(context, backend)
    scores = all_pairs(data, None if other is None else target, m, rdm, context=ctx)
    clash = other is None or {target.source_dim, target.area_dim} & set(dims_a)
    dims_b, coords_b = _grid_dims(target, prefix="target_" if clash else "")
    shape = (
        len(data.sources),
        len(data.areas),
        len(target.sources),
        len(target.areas),
    )
    return xr.DataArray(
        on_grid(scores, data, target).reshape(shape),
        dims=(*dims_a, *dims_b),
        coords={**coords_a, **coords_b},
        attrs={
            "metric": m.name,
            "rdm": rdm if m.input_kind == "rdm" else None,
            "n_stimuli": data.n_stimuli,
        },
        name="score",
    )


def _one_representation(value: Any, name: str, kind: str) -> Representations:
    check_option(kind, "kind", ["auto", "rdm", "responses"], "score")
    arr = value.values if isinstance(value, xr.DataArray) else np.asarray(value)
    if arr.ndim != 2:
        raise InputError(
            f"The '{name}' argument must be a 2-D array: responses (n_stimuli, n_units) or an "
            f"RDM (n_stimuli, n_stimuli). Got an array of shape {arr.shape} instead."
        )
    is_rdm = kind == "rdm" or (kind == "auto" and arr.shape[0] == arr.shape[1])
    if is_rdm:
        stimuli = None
        if isinstance(value, xr.DataArray) and value.dims[0] in value.coords:
            stimuli = list(value.coords[value.dims[0]].values)
        return ModelData.from_rdms({name: arr[None]}, sources=[name], stimuli=stimuli)
    return ModelData.from_responses({(name, name): value})


def score(
    x: Any,
    y: Any,
    *,
    metric: str | Metric = "spearman",
    rdm: str = "correlation",
    kind: str = "auto",
) -> float:
    """The alignment of one pair of representations under any registered metric.

    Parameters
    ----------
    x, y : array_like or xarray.DataArray
        Responses (n_stimuli, n_units) or RDMs (n_stimuli, n_stimuli) over the same stimuli
        (a DataArray's first coordinate gives stimulus ids, matched by id). A square array
        is an RDM and is checked as one unless ``kind="responses"``.
    metric : str or Metric
        Any registered metric (``crossalign metrics`` lists them). RSA metrics accept
        responses (turned into RDMs with ``rdm``) or RDMs; response metrics (CKA, shape,
        predictivity, kNN) need responses.
    rdm : str
        The RDM distance used when an RSA metric gets responses.
    kind : {"auto", "rdm", "responses"}
        What the arrays hold; ``"auto"`` takes square arrays as RDMs.

    Returns
    -------
    float
        ``M(x, y)``; for asymmetric metrics (predictivity) ``x`` predicts ``y``.

    Examples
    --------
    >>> import numpy as np, crossalign as ca
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(20, 50))
    >>> round(ca.score(x, x, metric="cka"), 6)
    1.0
    """
    a = _one_representation(x, "x", kind)
    b = _one_representation(y, "y", kind)
    return float(score_tensor(a, b, metric=metric, rdm=rdm).values.ravel()[0])
