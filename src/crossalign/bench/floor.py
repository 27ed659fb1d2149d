"""The arithmetic floor of all-pairs linear predictivity, timed in the same run as crossalign.

The floor is the time of the exact algorithm's unavoidable products alone, each timed once at
its true shape (best of 3, on random matrices) and multiplied by how often the analysis needs
it; everything else (validation, z-scoring, element-wise work, Python) is what crossalign adds.
Per source and fold (the centred training matrix ``X``, n x p, of rank r): its smaller Gram
matrix and that matrix's eigendecomposition; per alpha, ``U diag(phi) U^T`` (n x r x n) and the
symmetric product ``F^T F`` (n x n x n, syrk) of the leave-one-out matrix ``E``; one product of
the stacked ``E`` (alphas x n^2) with every target's Gram matrix; for the chosen alpha, the test
projection, the prediction map and its symmetric product, met by the targets' stacked matrices.
Per target and fold: ``Yc Yc^T`` and ``Yc D Yc^T`` (symmetric) and the test cross product.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from crossalign.data.containers import BrainData
from crossalign.engine.core import score_tensor

__all__ = ["FLOOR_SIZES", "bench_predictivity_floor", "predictivity_floor"]

#: subjects, regions, stimuli, units (full: the 36 x 700 x 300 workload of the floor analysis)
FLOOR_SIZES = {"small": (2, 4, 200, 50), "full": (6, 6, 700, 300)}


def _best(func: Callable[[], Any], repeats: int = 3) -> float:
    func()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return min(times)


def predictivity_floor(
    n_sources: int, n_targets: int, n: int, p: int, folds: int = 5, n_alphas: int = 19
) -> dict[str, float]:
    """Seconds of the unavoidable products of all-pairs predictivity (module docstring).

    Parameters
    ----------
    n_sources, n_targets : int
    n : int
        Stimuli (each fold trains on ``n - n // folds``).
    p : int
        Units of every representation.
    folds, n_alphas : int

    Returns
    -------
    dict
        Seconds per part and ``floor_s``, their sum.
    """
    rng = np.random.default_rng(0)
    n_te = n // folds
    n_tr = n - n_te
    r = min(p, n_tr - 1)
    x, x_te = rng.standard_normal((n_tr, p)), rng.standard_normal((n_te, p))
    u, phi = np.linalg.qr(rng.standard_normal((n_tr, r)))[0], rng.uniform(size=r)
    ut, f = np.ascontiguousarray(u.T), rng.standard_normal((n_tr, n_tr))
    stack = np.empty((n_alphas, n_tr * n_tr))
    grams = rng.standard_normal((n_targets, n_tr * n_tr))
    crosses = rng.standard_normal((n_targets, n_te * n_tr))
    small = x.T @ x if p <= n_tr else x @ x.T
    pred = rng.standard_normal((n_te, n_tr))
    y, y_te = rng.standard_normal((n_tr, p)), rng.standard_normal((n_te, p))
    per_source = {
        "spectrum": _best(lambda: np.linalg.eigh(x.T @ x if p <= n_tr else x @ x.T)),
        "loo_matrices": n_alphas
        * (
            _best(lambda: (u * phi) @ ut)
            + _best(lambda: np.matmul(f.T, f, out=stack[0].reshape(n_tr, n_tr)))
        ),
        "loo_errors": _best(lambda: stack @ grams.T),
        "held_out": _best(lambda: ((x_te @ small[:, :r]) * phi) @ ut)
        + _best(lambda: pred.T @ pred)
        + 2 * _best(lambda: crosses @ pred.ravel()),
    }
    per_target = {"targets": 2 * _best(lambda: y @ y.T) + _best(lambda: y_te @ y.T)}
    out = {k: v * n_sources * folds for k, v in per_source.items()}
    out.update({k: v * n_targets * folds for k, v in per_target.items()})
    out["floor_s"] = float(sum(out.values()))
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
    start = time.perf_counter()
    score_tensor(brain, metric="predictivity")
    ours = time.perf_counter() - start
    floor = predictivity_floor(k, k, n, p)
    return {
        "benchmark": "predictivity-floor",
        "size": size,
        "workload": f"{k} representations x {n} stimuli x {p} units, all {k * k} ordered pairs, "
        "5 folds, 19 alphas",
        "crossalign_s": ours,
        **{f"floor_{key}" if key != "floor_s" else key: v for key, v in floor.items()},
        "ratio_to_floor": ours / floor["floor_s"],
    }
