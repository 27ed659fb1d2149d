"""The arithmetic floor of linear predictivity, timed in the same run as crossalign.

The floor is the time of the exact algorithm's unavoidable products alone: a run records every
chunk of work its kernels did (:func:`crossalign.compute.ridge.recording`), and each product is
then timed once at its true shape (best of ``repeats`` after a warm-up, on stand-in matrices)
and multiplied by how often the run needed it. Everything else (validation, z-scoring,
element-wise work, Python, memory traffic beyond the products) is what crossalign adds.

Per source and fold (the centred training matrix ``X``, n x p, of rank r): the smaller Gram
matrix and its eigendecomposition, and the test projection (n_te x p x r); per alpha,
``U diag(phi) U^T`` (n x r x n) and the symmetric product ``F^T F`` (n x n x n) of the
leave-one-out matrix ``E`` (a source scored against one target alone, as in a noise ceiling's
leave-one-subject-out pools, takes the per-pair form instead: one n x r x min(q, r) product per
alpha). Per chunk of sources: one product of the stacked ``E`` (sources x alphas rows of
n(n+1)/2, one packed triangle each) with every target's Gram matrix; per (source, chosen
alpha) the prediction map (n_te x r x n) and its symmetric product, and for the chunk's maps
the two products with the targets' stacked test matrices. Per target and fold: ``Yc Yc^T`` and
``Yc D Yc^T`` (symmetric) and the test cross product. A source whose penalties were remembered
from an earlier analysis of the same training data (:mod:`crossalign.compute.choices`) needs
no ``E`` and no errors, and when all were, the targets need no ``Yc Yc^T``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from crossalign.compute.ridge import ChunkWork, recording
from crossalign.data.containers import BrainData
from crossalign.engine.core import score_tensor

__all__ = ["FLOOR_SIZES", "bench_predictivity_floor", "price_floor"]

#: subjects, regions, stimuli, units (full: the 36 x 700 x 300 workload of the floor analysis)
FLOOR_SIZES = {"small": (2, 4, 200, 50), "full": (6, 6, 700, 300)}


def _best(func: Callable[[], Any], repeats: int) -> float:
    func()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return min(times)


class _Timer:
    """Seconds of each product, timed once per distinct shape on stand-in matrices."""

    def __init__(self, repeats: int) -> None:
        self.repeats = repeats
        self.seconds: dict[tuple, float] = {}
        self.rng = np.random.default_rng(0)

    def _matrix(self, *shape: int) -> np.ndarray:
        return self.rng.uniform(-1.0, 1.0, size=shape)

    def time(self, key: tuple, make: Callable[[], Callable[[], Any]]) -> float:
        if key not in self.seconds:
            self.seconds[key] = _best(make(), self.repeats)
        return self.seconds[key]

    def gemm(self, m: int, k: int, n: int) -> float:
        def make() -> Callable[[], Any]:
            a, b, out = self._matrix(m, k), self._matrix(k, n), np.empty((m, n))
            return lambda: np.matmul(a, b, out=out)

        return self.time(("gemm", m, k, n), make)

    def syrk(self, k: int, n: int) -> float:
        """``a^T a`` for ``a`` (k, n)."""

        def make() -> Callable[[], Any]:
            a, out = self._matrix(k, n), np.empty((n, n))
            return lambda: np.matmul(a.T, a, out=out)

        return self.time(("syrk", k, n), make)

    def eigh(self, n: int) -> float:
        def make() -> Callable[[], Any]:
            a = self._matrix(n, n)
            a = a + a.T
            return lambda: np.linalg.eigh(a)

        return self.time(("eigh", n), make)

    def stacked(self, rows: int, cols: int, t: int) -> float:
        """``(rows, cols) @ (cols, t)``: stacked matrices met by every target's."""

        def make() -> Callable[[], Any]:
            a, b = np.full((rows, cols), 0.5), np.full((t, cols), 0.25)
            return lambda: a @ b.T

        return self.time(("stacked", rows, cols, t), make)


def _direct_floor(timer: _Timer, work: ChunkWork) -> dict[str, float]:
    """One source against one target by the per-pair form: ``B = U^T Yc`` and ``U B``, then
    per alpha one n x r x min(q, r) product (with ``B B^T`` and ``Yp B^T`` once when the
    target is wider than the source's rank), and the held-out prediction."""
    n, n_te, n_alphas = work.n_train, work.n_test, work.n_alphas
    (p, r), (q,) = work.sources[0], work.targets
    setup = timer.gemm(r, n, q) + timer.gemm(n, r, q)
    if q > r:
        setup += timer.gemm(r, q, r) + timer.gemm(n, q, r)
    return {
        "spectrum": _spectrum_floor(timer, n, n_te, p, r),
        "loo_matrices": setup + n_alphas * timer.gemm(n, r, min(q, r)),
        "held_out": timer.gemm(n_te, p, r) + timer.gemm(n_te, r, q),
    }


def _spectrum_floor(timer: _Timer, n: int, n_te: int, p: int, r: int) -> float:
    gram = timer.syrk(n, p) if p <= n else timer.syrk(p, n)
    return gram + timer.eigh(min(n, p)) + timer.gemm(n_te, p, r)


def _chunk_floor(timer: _Timer, work: ChunkWork) -> dict[str, float]:
    if work.direct:
        return _direct_floor(timer, work)
    n, n_te, n_alphas, t = work.n_train, work.n_test, work.n_alphas, len(work.targets)
    out = {"spectrum": 0.0, "loo_matrices": 0.0, "loo_errors": 0.0, "held_out": 0.0}
    built = work.loo or (True,) * len(work.sources)  # remembered penalties build nothing
    for (p, r), loo in zip(work.sources, built, strict=True):
        out["spectrum"] += _spectrum_floor(timer, n, n_te, p, r)
        if loo:
            out["loo_matrices"] += n_alphas * (timer.gemm(n, r, n) + timer.syrk(n, n))
    if any(built):
        out["loo_errors"] = timer.stacked(sum(built) * n_alphas, n * (n + 1) // 2, t)
    maps = sum(work.maps)
    if maps:
        for (_, r), count in zip(work.sources, work.maps, strict=True):
            out["held_out"] += count * (timer.gemm(n_te, r, n) + timer.syrk(n_te, n))
        packed = n * (n + 1) // 2
        out["held_out"] += timer.stacked(maps, n_te * n, t) + timer.stacked(maps, packed, t)
    out["targets"] = (
        sum((1 + work.grams) * timer.syrk(q, n) + timer.gemm(n, q, n_te) for q in work.targets)
        if work.fills_targets
        else 0.0
    )
    return out


def price_floor(work: Sequence[ChunkWork], repeats: int = 2) -> dict[str, float]:
    """Seconds of the unavoidable products of the recorded ``work`` (module docstring).

    Parameters
    ----------
    work : sequence of ChunkWork
        What a run's kernels did (:func:`crossalign.compute.ridge.recording`).
    repeats : int
        Timings per distinct shape (the best is kept, after a warm-up).

    Returns
    -------
    dict
        Seconds per part and ``floor_s``, their sum; ``shapes_timed``.
    """
    timer = _Timer(repeats)
    total: dict[str, float] = {}
    for chunk in work:
        for key, value in _chunk_floor(timer, chunk).items():
            total[key] = total.get(key, 0.0) + value
    out: dict[str, float] = {key: float(v) for key, v in total.items()}
    out["floor_s"] = float(sum(total.values()))
    out["shapes_timed"] = float(len(timer.seconds))
    return out


def bench_predictivity_floor(size: str = "small") -> dict[str, Any]:
    """All-pairs predictivity (APA protocol, 5 folds, 19 alphas) against its timed floor, in
    the same run: seconds of both and their ratio.

    Parameters
    ----------
    size : {"small", "full"}
        ``"full"``: 36 representations (6 subjects x 6 regions) x 700 stimuli x 300 units.

    Returns
    -------
    dict
    """
    n_sub, n_reg, n, p = FLOOR_SIZES[size]
    rng = np.random.default_rng(0)
    shared = rng.standard_normal((n_reg, n, 16))
    brain = BrainData.from_responses(
        {
            (f"s{s}", f"r{r}"): shared[r] @ rng.standard_normal((16, p))
            + rng.standard_normal((n, p))
            for s in range(n_sub)
            for r in range(n_reg)
        }
    )
    k = len(brain)
    with recording() as work:
        start = time.perf_counter()
        score_tensor(brain, metric="predictivity")
        ours = time.perf_counter() - start
    floor = price_floor(work, repeats=3)
    return {
        "benchmark": "predictivity-floor",
        "size": size,
        "workload": f"{k} representations x {n} stimuli x {p} units, all {k * k} ordered pairs, "
        "5 folds, 19 alphas",
        "crossalign_s": ours,
        "prediction_maps": sum(sum(c.maps) for c in work),
        **{f"floor_{key}" if key != "floor_s" else key: v for key, v in floor.items()},
        "ratio_to_floor": ours / floor["floor_s"],
    }
