"""Plans of all-pairs analyses, decided before anything runs: whether the work fits the memory
budget in one block, streams in blocks (one side held whole while the other streams past it,
or both sides in blocks spilled to disk), or cannot run; with the memory and time estimates
that are printed before a long run (from each metric's declared cost and rates probed on this
machine).
"""

from __future__ import annotations

import functools
import time
import warnings
from dataclasses import dataclass

import numpy as np

from crossalign.compute.backends import Backend, get_backend
from crossalign.compute.context import Context, current_context
from crossalign.config import MemoryBudgetError
from crossalign.data.representations import Representations
from crossalign.engine.costs import metric_cost
from crossalign.metrics import Metric, get_metric

__all__ = [
    "ScoringPlan",
    "effective_backend",
    "estimate_bytes",
    "format_duration",
    "plan_scores",
]


def _widths(data: Representations) -> list[int]:
    return [
        int(np.prod(data.entry_shape(k)[1:2])) if data.kind(k) == "responses" else 0 for k in data
    ]


def _footprint(
    data: Representations, other: Representations | None, m: Metric, backend: Backend
) -> tuple[int, int, int]:
    """Bytes per representation as metric input and as prepared, and the fixed working set
    of preparing and of one product, as declared for the metric (:func:`.metric_cost`), with the
    backend's temporaries for the entries it ranks."""
    cost = metric_cost(m, data.n_stimuli, _width(data, other))
    work = cost.working_bytes
    if cost.prepare_ranked:
        work += backend.rank_bytes(int(cost.prepare_ranked))
    return int(cost.input_bytes), int(cost.prepared_bytes), int(work)


def _whole_bytes(data: Representations, other: Representations | None, m: Metric) -> int:
    """Bytes of every representation as metric input and as prepared, each at its own width
    (the blocks of a streamed plan are sized at the widest)."""
    widths = _widths(data) + ([] if other is None else _widths(other))
    each = {p: metric_cost(m, data.n_stimuli, max(p, 1)) for p in set(widths)}
    return int(sum(each[p].input_bytes + each[p].prepared_bytes for p in widths))


def _width(data: Representations, other: Representations | None) -> int:
    widths = _widths(data) + ([] if other is None else _widths(other))
    return max(max(widths, default=1), 1)


@dataclass(frozen=True)
class ScoringPlan:
    """How an all-pairs analysis will run: block size, memory and time, decided before it
    starts (:func:`plan_scores`).

    Parameters
    ----------
    metric : str
    n_a, n_b : int
        Representations on each side (``n_b`` 0: data against itself).
    n_stimuli : int
    block : int
        Representations per block (``n_a`` or more: one block).
    input_bytes, prepared_bytes : int
        One representation as metric input and as prepared.
    working_bytes : int
        The fixed working set.
    budget : int
        The memory budget (bytes).
    backend, dtype : str
        Where and in what precision the kernels run.
    seconds : float
        The predicted time.
    col_block : int, optional
        Representations per block of ``other`` when it differs from ``block``: a side small
        enough to be held whole is one block, and the other side streams past it in blocks of
        this size (each prepared once, nothing written to disk). None: ``block``.
    whole_bytes : int, optional
        Every representation as metric input and as prepared, each at its own width (what
        one block holds); None: every one at the widest.
    """

    metric: str
    n_a: int
    n_b: int  # 0: data against itself
    n_stimuli: int
    block: int  # representations per block (n_a, or more: one block)
    input_bytes: int  # per representation
    prepared_bytes: int  # per representation
    working_bytes: int
    budget: int
    backend: str
    dtype: str
    seconds: float
    col_block: int | None = None
    whole_bytes: int | None = None

    @property
    def n_blocks(self) -> int:
        return len(self.blocks(self.n_a)) * (len(self.column_blocks()) if self.held else 1)

    @property
    def streamed(self) -> bool:
        if self.held:
            return True
        return self.block < max(self.n_a, self.n_b)

    @property
    def held(self) -> bool:
        """One side held whole while the other streams past it in its own blocks."""
        return self.col_block is not None

    @property
    def score_bytes(self) -> int:
        return self.n_a * (self.n_b or self.n_a) * 8

    @property
    def peak_bytes(self) -> int:
        """Estimated peak: one held block of prepared representations, one block being
        prepared (inputs and prepared), the working set and the score matrix."""
        per = self.input_bytes + self.prepared_bytes
        fixed = self.working_bytes + self.score_bytes
        if self.held:  # the held side whole, one block of the other side at a time
            return (self.block + (self.col_block or 0)) * per + fixed
        if not self.streamed:
            whole = self.whole_bytes
            return ((self.n_a + self.n_b) * per if whole is None else whole) + fixed
        return self.block * (per + self.prepared_bytes) + fixed

    def blocks(self, n: int) -> list[range]:
        """The blocks of ``n`` representations this plan runs.

        Parameters
        ----------
        n : int

        Returns
        -------
        list of range
        """
        return [range(i, min(i + self.block, n)) for i in range(0, n, self.block)]

    def column_blocks(self) -> list[range]:
        """The blocks of the columns (``other``, or the data itself).

        Returns
        -------
        list of range
        """
        size = self.col_block or self.block
        n = self.n_b or self.n_a
        return [range(i, min(i + size, n)) for i in range(0, n, size)]

    def describe(self) -> str:
        """One line for the user, printed before a long run starts."""
        what = f"{self.n_a} x {self.n_b or self.n_a} representations of {self.n_stimuli} stimuli"
        if self.held:
            big, size = (
                (self.n_b, self.col_block) if self.block == self.n_a else (self.n_a, self.block)
            )
            how = (
                f"the {min(self.n_a, self.n_b)} held whole, the {big} streamed past them in "
                f"blocks of {size} ({self.n_blocks} blocks)"
            )
        elif self.streamed:
            how = f"streamed in blocks of {self.block} ({self.n_blocks} blocks)"
        else:
            how = "in one block"
        return (
            f"{what}, {self.metric} on {self.backend} ({self.dtype}): {how}; peak memory about "
            f"{_gb(self.peak_bytes)} (budget {_gb(self.budget)}); time about "
            f"{format_duration(self.seconds)}"
        )


def _gb(n: int) -> str:
    return f"{n / 1e9:.2f} GB" if n >= 1e7 else f"{n / 1e6:.1f} MB"


def format_duration(seconds: float) -> str:
    """A duration for people: seconds, minutes or hours, one decimal.

    Parameters
    ----------
    seconds : float

    Returns
    -------
    str
    """
    if seconds < 60:
        return f"{max(seconds, 0.1):.1f} s"
    if seconds < 3600:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


@functools.cache
def _rates(backend: str, dtype: str) -> tuple[float, float, float]:
    """Measured speed of this machine: symmetric-product units (n^2 p) per second, ranked
    elements per second and bytes copied per second, from probes of 10-30 ms (best of three)."""
    b = get_backend(backend)
    rng = np.random.default_rng(0)
    z = rng.standard_normal((512, 512))
    v = rng.standard_normal((1, 2**20))  # as long as a 1450-stimulus RDM: caches miss alike
    out = np.empty_like(v)
    src, dst = np.ones(2**22), np.empty(2**22)
    best = [np.inf] * 3
    for _ in range(3):
        for k, step in enumerate(
            (lambda: b.gram(z, dtype), lambda: b.rank(v, out), lambda: np.copyto(dst, src))
        ):
            t0 = time.perf_counter()
            step()
            best[k] = min(best[k], time.perf_counter() - t0)
    gram_t, rank_t, copy_t = (max(t, 1e-6) for t in best)
    return 512**3 / gram_t, v.size / rank_t, 2 * src.nbytes / copy_t


def _seconds(
    m: Metric, n: int, p: int, n_a: int, n_b: int, block: int, backend: str, dtype: str
) -> float:
    """Rough run time from the metric's declared cost (:func:`.metric_cost`) and rates
    measured on this machine: preparations (counting re-preparations when streamed), the
    responses-to-RDM step of RDM metrics, and the pair products."""
    gram_rate, rank_rate, copy_rate = _rates(backend, dtype)
    n_blocks = -(-n_a // block)
    c = metric_cost(m, n, p)
    if c.spillable:
        n_blocks = 1  # streamed blocks are prepared once and kept on disk (_SpilledBlocks)
    if n_b:
        preps = n_a + (n_b if n_blocks == 1 else n_blocks * n_b)
        pairs = n_a * n_b
    else:
        preps = n_a + (0 if n_blocks == 1 else block * n_blocks * (n_blocks - 1) // 2)
        pairs = n_a * n_a
    prep = (
        c.prepare_products / gram_rate + c.prepare_ranked / rank_rate + c.prepare_copied / copy_rate
    )
    if m.input_kind == "rdm":  # responses -> RDM: a Gram product and its triangle
        prep += n * n * p / gram_rate + (3 * n * n + 6 * n * p) * 8 / copy_rate
    pair = c.pair_products / gram_rate + c.pair_ranked / rank_rate
    return preps * prep + pairs * pair


def effective_backend(m: Metric, ctx: Context) -> Context:
    """The context's backend where the metric has kernels for it, else ``numpy`` (with a
    warning naming the metric): nothing silently runs elsewhere than the plan says.

    Parameters
    ----------
    m : Metric
    ctx : Context

    Returns
    -------
    Context
        ``ctx``, or ``ctx`` on numpy (sharing its memories).
    """
    requested = ctx.backend.name
    if ctx.backend.family in m.backends:
        return ctx
    warnings.warn(
        f"The metric {m.name!r} has kernels for {list(m.backends)} only; it runs on numpy "
        f"although the backend option is {requested!r} (RDMs are still computed there).",
        stacklevel=3,
    )
    return ctx.on("numpy")


def plan_scores(
    data: Representations,
    other: Representations | None,
    metric: str | Metric,
    ctx: Context | None = None,
) -> ScoringPlan:
    """Decide, before anything runs, how scoring ``data`` against ``other`` (or itself) fits
    the memory budget (the ``memory_budget`` option): in one block when it all fits, else
    streamed in blocks of representations; refused with :class:`MemoryBudgetError` when not
    even two representations at a time fit. The plan carries its memory and time estimates.

    Parameters
    ----------
    data : Representations
        The representations scored (rows).
    other : Representations or None
        The representations they are scored against (columns); None for ``data`` itself.
    metric : str or Metric
        Any registered metric; its declared cost (:func:`.metric_cost`) sizes the plan.
    ctx : Context, optional
        Its memory budget, backend and precision; default
        :func:`~crossalign.compute.context.current_context`.

    Returns
    -------
    ScoringPlan
        Block size, memory (input, prepared, working, peak) and time estimates, and the
        backend the metric will run on.

    Raises
    ------
    MemoryBudgetError
        Not even two representations at a time fit the budget.
    """
    m = get_metric(metric)
    ctx = effective_backend(m, current_context() if ctx is None else ctx)
    n_a, n_b = len(data), (0 if other is None else len(other))
    inp, prep, work = _footprint(data, other, m, ctx.backend)
    budget = ctx.budget()
    score = n_a * (n_b or n_a) * 8
    whole = _whole_bytes(data, other, m)
    full = whole + work + score
    col_block = None
    if full <= budget:
        block = max(n_a, n_b)
    elif n_b and (held := _held_blocks(n_a, n_b, inp + prep, budget - work - score)):
        block, col_block = held
    else:
        # streamed: a held block of prepared representations plus one being prepared
        block = (budget - work - score) // (inp + 2 * prep)
        if block < 1:
            need = inp + 2 * prep + work + score
            raise MemoryBudgetError(
                f"Scoring {n_a} x {n_b or n_a} representations of {data.n_stimuli} stimuli "
                f"with {m.name!r} needs about {_gb(need)}, over the memory budget of "
                f"{_gb(budget)}, even streamed one representation at a time (all at once: "
                f"{_gb(full)}). Score fewer stimuli at once, or set a larger "
                "budget (crossalign.options(memory_budget='16GB'), or --memory-budget) if the "
                "machine has the memory."
            )
        block = int(min(block, max(n_a, n_b)))
    backend, dtype = ctx.backend.name, ctx.dtype
    p = _width(data, other)
    return ScoringPlan(
        metric=m.name,
        n_a=n_a,
        n_b=n_b,
        n_stimuli=data.n_stimuli,
        block=block,
        input_bytes=inp,
        prepared_bytes=prep,
        working_bytes=work,
        budget=budget,
        backend=backend,
        dtype=dtype,
        seconds=_seconds(
            m, data.n_stimuli, p, n_a, n_b, n_a if col_block else block, backend, dtype
        ),
        col_block=col_block,
        whole_bytes=whole,
    )


def _held_blocks(n_a: int, n_b: int, per: int, room: int) -> tuple[int, int] | None:
    """(row block, column block) holding the smaller side whole and streaming the larger in
    the blocks that fit beside it; None when the smaller side plus one of the larger does not
    fit ``room`` bytes."""
    small, big = min(n_a, n_b), max(n_a, n_b)
    size = (room - small * per) // per if per else big
    if size < 1:
        return None
    size = int(min(size, big))
    return (n_a, size) if n_a <= n_b else (size, n_b)


def estimate_bytes(
    data: Representations,
    other: Representations | None,
    metric: str | Metric,
    ctx: Context | None = None,
) -> int:
    """Peak memory (bytes) of scoring ``data`` against ``other`` with ``metric`` in one
    block: inputs and prepared copies of every representation, the working set of one
    preparation and the score matrix.

    Parameters
    ----------
    data, other : Representations
    metric : str or Metric
    ctx : Context, optional
        Its backend's temporaries count; default
        :func:`~crossalign.compute.context.current_context`.

    Returns
    -------
    int
    """
    m = get_metric(metric)
    ctx = current_context() if ctx is None else ctx
    work = _footprint(data, other, m, ctx.backend)[2]
    n_a, n_b = len(data), (0 if other is None else len(other))
    return _whole_bytes(data, other, m) + work + n_a * (n_b or n_a) * 8


# ---------------------------------------------------------------------------- running
