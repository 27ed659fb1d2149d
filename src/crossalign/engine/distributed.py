"""Run the all-pairs engine on a Dask cluster (``dask.distributed``).

The analysis is cut as in the single-process streamed run
(:func:`crossalign.engine.plan.plan_scores`):
blocks of representations are prepared once each (one task per block, held in the workers'
memory, which Dask spills to disk beyond its limits), and every needed pair of blocks is one
task of batched products. A metric that sums parts (linear predictivity's folds,
:attr:`crossalign.metrics.Metric.parts`) is cut instead into one task per block of sources and
part, each against every target, and the parts are summed in order. The same kernels give the
same numbers as the single-process run.

>>> import crossalign as ca
>>> with ca.distributed.cluster(workers=2) as client:       # doctest: +SKIP
...     ca.cross_region_matrix(brain)                        # runs on the 2 local workers
>>> with ca.distributed.cluster(scheduler="tcp://head:8786"):  # doctest: +SKIP
...     ...                                                  # any running scheduler

On a real cluster, start the scheduler and workers with dask-jobqueue (SLURM, PBS, ...) or the
Dask Kubernetes operator and pass the scheduler address; see docs/scale.md.
"""

from __future__ import annotations

import contextlib
import dataclasses
import socket
import urllib.parse
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from crossalign.compute.context import Context, current_context
from crossalign.config import options
from crossalign.engine.core import EXECUTORS, block_pairs, place_block, prepare_entries
from crossalign.errors import InputError

if TYPE_CHECKING:
    from crossalign.data.representations import Representations
    from crossalign.engine.plan import ScoringPlan
    from crossalign.metrics import Metric

__all__ = ["cluster", "dask_all_pairs"]


def _distributed() -> Any:
    try:
        import distributed
    except ImportError as exc:
        raise ImportError(
            "Running on a Dask cluster needs dask.distributed: pip install 'crossalign[dask]'."
        ) from exc
    return distributed


@contextlib.contextmanager
def cluster(workers: int | None = None, scheduler: str | None = None) -> Iterator[Any]:
    """Run the engine's all-pairs blocks on Dask for the duration of a ``with`` block.

    ``scheduler``: the address of a running scheduler (``tcp://host:8786``); otherwise a local
    cluster of ``workers`` processes (default 2, one thread each) is started and closed after.
    Yields the ``distributed.Client``.

    Parameters
    ----------
    workers : int, optional
        Worker processes of a local cluster (default 2).
    scheduler : str, optional
        Address of a running scheduler.

    Yields
    ------
    distributed.Client
    """
    distributed = _distributed()
    if scheduler is not None and workers is not None:
        raise InputError(
            f"Give either 'workers' (a local cluster) or 'scheduler' (an existing one), not "
            f"both. Got workers={workers!r}, scheduler={scheduler!r}."
        )
    if workers is not None and (not isinstance(workers, int) or workers < 1):
        raise InputError(f"The 'workers' argument must be a positive integer. Got {workers!r}.")
    with contextlib.ExitStack() as stack:
        if scheduler is not None:
            _check_listening(scheduler)
            try:
                client = stack.enter_context(distributed.Client(scheduler, timeout="10s"))
            except (OSError, TimeoutError) as exc:
                raise InputError(
                    f"Could not connect to the Dask scheduler at {scheduler!r} within 10 s "
                    f"({exc}). Expected the address of a running scheduler, e.g. "
                    "'tcp://host:8786'."
                ) from None
        else:
            local = stack.enter_context(
                distributed.LocalCluster(
                    n_workers=workers or 2,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=None,
                )
            )
            client = stack.enter_context(distributed.Client(local))
        with options(cluster=client):
            yield client


def _check_listening(scheduler: str) -> None:
    """Refuse at once a ``tcp://`` address where nothing listens (the client would retry it
    until its 10 s timeout); anything else is left to the client."""
    parsed = urllib.parse.urlsplit(scheduler if "://" in scheduler else f"tcp://{scheduler}")
    try:
        host, port = parsed.hostname, parsed.port
    except ValueError:  # a port that is no number: the client says so
        return
    if parsed.scheme != "tcp" or host is None or port is None:
        return
    try:
        socket.create_connection((host, port), timeout=10).close()
    except ConnectionRefusedError:
        raise InputError(
            f"Could not connect to the Dask scheduler at {scheduler!r}: nothing listens there "
            "(connection refused). Expected the address of a running scheduler, e.g. "
            "'tcp://host:8786'."
        ) from None
    except OSError:  # unknown host, unreachable, slow: the client's own timeout decides
        return


# Each task gets the run's context (its backend and precision; it reaches the worker without
# the cluster and with empty memories: :meth:`crossalign.compute.context.Context.__reduce__`).


def _prepare_task(block: Any, metric: Metric, rdm: str, ctx: Context) -> Any:
    return prepare_entries(block, metric, rdm, ctx)


def _cross_task(metric: Metric, a: Any, b: Any, ctx: Context) -> np.ndarray:
    return metric.cross(a, a if b is None else b, ctx=ctx)


def _part_task(metric: Metric, a: Any, b: Any, part: int, ctx: Context) -> np.ndarray:
    return metric.cross_part(a, b, part, ctx=ctx)


def dask_all_pairs(
    data: Representations,
    other: Representations | None,
    metric: Metric,
    rdm: str,
    plan: ScoringPlan,
    ctx: Context | None = None,
    client: Any = None,
) -> np.ndarray:
    """The score matrix of :func:`crossalign.engine.core.all_pairs`, computed on ``client``
    (default: the context's cluster, a Client or a scheduler address).

    Parameters
    ----------
    data, other : Representations
        Scored against each other (``other`` None: ``data`` against itself).
    metric : Metric
    rdm : str
        The RDM distance for RSA metrics on responses.
    plan : ScoringPlan
        The blocks to run.
    ctx : Context, optional
        The execution context; default :func:`~crossalign.compute.context.current_context`.
    client : distributed.Client or str, optional

    Returns
    -------
    numpy.ndarray
        (len(data), len(other or data)).
    """
    ctx = current_context() if ctx is None else ctx
    client = client if client is not None else ctx.cluster
    if isinstance(client, str):
        with _distributed().Client(client) as connected:
            return dask_all_pairs(data, other, metric, rdm, plan, ctx, connected)
    # at least two blocks per worker thread, so that every worker has pairs to score
    threads = max(1, sum(client.nthreads().values()))
    k = max(plan.n_a, plan.n_b)
    block = max(1, min(plan.block, plan.col_block or plan.block, -(-k // (2 * threads))))
    plan = dataclasses.replace(plan, block=block, col_block=None)
    task_ctx = ctx.on(plan.backend).without_cluster()
    target = data if other is None else other

    def prepared(source: Representations, rows: range) -> Any:
        keys = source.keys()
        block = client.scatter(source.block([keys[i] for i in rows]), hash=False)
        return client.submit(_prepare_task, block, metric, rdm, task_ctx, pure=False)

    row_ranges = plan.blocks(len(data))
    rows = [prepared(data, r) for r in row_ranges]
    if metric.parts > 1:  # (row block, part) tasks against the whole target side
        whole = prepared(target, range(len(target)))
        tasks = [
            [
                client.submit(_part_task, metric, row, whole, k, task_ctx, pure=False)
                for k in range(metric.parts)
            ]
            for row in rows
        ]
        out = np.zeros((len(data), len(target)))
        for span, parts in zip(row_ranges, client.gather(tasks), strict=True):
            for scores in parts:  # in order, from zeros: the sum the metric's cross forms
                out[span.start : span.stop] += scores
        return out
    cols = rows if other is None else [prepared(target, c) for c in plan.blocks(len(target))]
    pairs = block_pairs(plan)
    tasks = [
        client.submit(
            _cross_task,
            metric,
            rows[i],
            None if other is None and i == j else cols[j],
            task_ctx,
            pure=False,
        )
        for i, j in pairs
    ]
    out = np.empty((len(data), len(target)))
    for (i, j), scores in zip(pairs, client.gather(tasks), strict=True):
        place_block(out, plan, i, j, scores)
    return out


EXECUTORS.register("dask", dask_all_pairs)
