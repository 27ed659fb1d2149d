"""Benchmarks on seeded synthetic data (``crossalign bench``).

Each benchmark builds its workload, runs crossalign and, where one exists, the reference tool
on the same data in the same process, and returns a JSON-able dict of timings (seconds), the
largest absolute difference between the two results and the peak resident memory.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import resource
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from scipy.io import savemat

import crossalign as ca
from crossalign.bench.cortex import bench_cortex
from crossalign.bench.floor import bench_predictivity_floor
from crossalign.bench.paper import bench_paper
from crossalign.bench.temporal import bench_time
from crossalign.config import get_option, options
from crossalign.data.containers import BrainData, ModelData
from crossalign.engine.core import all_pairs, score_tensor
from crossalign.engine.plan import plan_scores
from crossalign.evaluation.core import Evaluation
from crossalign.io.nsd import load_nsd
from crossalign.models import extract, load_model
from crossalign.models.video import write_video
from crossalign.stats.permutation import random_order

__all__ = [
    "BENCHMARKS",
    "bench_aps",
    "bench_crossnobis",
    "bench_evaluate",
    "bench_extract",
    "bench_nsd",
    "bench_predictivity",
    "bench_rsa",
    "bench_stream",
    "blas_config",
]

SIZES: dict[str, dict[str, tuple[Any, ...]]] = {
    "rsa": {"small": (4, 3, 200, 300), "full": (8, 6, 1000, 2000)},
    "crossnobis": {"small": (4, 60, 3, 80), "full": (12, 300, 3, 500)},
    "aps": {"small": (6, 8, 200, 50, 6), "full": (10, 19, 1000, 100, 12)},
    "predictivity": {"small": (4, 3, 200, 50, 4), "full": (10, 6, 1000, 500, 6)},
    "extract": {"small": (16, 2), "full": (64, 7)},
    # clips per timed batch, repeats, clips of the projected run, projection dimension
    "extract-video": {"small": (8, 2, 60, 256), "full": (64, 3, 1000, 1024)},
    "stream": {"small": (8, 4, 500, 50, 26 * 10**6), "full": (8, 8, 2000, 100, 6 * 10**8)},
    # NSD volume grid, sessions, ROI voxels (V1-like, nsdgeneral-like): subj01's real sizes
    "nsd": {"small": ((30, 30, 30), 1, (300, 2000)), "full": ((81, 104, 83), 2, (1350, 15724))},
    # stimuli, subjects, regions, voxels, repeats, layer widths (full: EfficientNet-Lite0's 19
    # default layers, flattened)
    "evaluate": {
        "small": (40, 4, 4, 100, 3, (20000, 8000, 4000, 1000)),
        "full": (
            78,
            4,
            4,
            200,
            3,
            (
                401408,
                200704,
                75264,
                75264,
                31360,
                31360,
                15680,
                15680,
                15680,
                21952,
                21952,
                21952,
                9408,
                9408,
                9408,
                9408,
                15680,
                62720,
                1000,
            ),
        ),
    },
}


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def blas_config() -> str:
    """The BLAS libraries loaded in this process and their threads, e.g. ``"openblas 0.3.27
    (2 threads, libscipy_openblas64_); openblas 0.3.27 (2 threads, libscipy_openblas)"``: a
    benchmark's times depend on them (which library each package links, and its threads).

    Returns
    -------
    str
    """
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "unknown (threadpoolctl is not installed)"
    pools = [p for p in threadpool_info() if p.get("user_api") == "blas"]
    return "; ".join(
        f"{p.get('internal_api')} {p.get('version')} ({p.get('num_threads')} threads, "
        f"{Path(p.get('filepath', '')).name.split('-')[0]})"
        for p in pools
    )


def _responses(
    n_sub: int, n_reg: int, n: int, p: int, seed: int = 0
) -> tuple[dict[tuple[str, str], np.ndarray], list[np.ndarray]]:
    """Subjects x regions responses with a shared cross-region structure."""
    rng = np.random.default_rng(seed)
    base = rng.normal(size=(4, n, 16))
    weights = rng.uniform(0, 1, size=(n_reg, 4)) ** 2
    latent = [
        np.einsum("k,knd->nd", weights[r], base) + 0.5 * rng.normal(size=(n, 16))
        for r in range(n_reg)
    ]
    data = {
        (f"sub{s:02d}", f"R{r:02d}"): latent[r] @ rng.normal(size=(16, p))
        + 2.0 * rng.normal(size=(n, p))
        for s in range(n_sub)
        for r in range(n_reg)
    }
    return data, latent


def _timed(func: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = func()
    return time.perf_counter() - t0, out


def bench_rsa(size: str = "small", *, reference: bool = True) -> dict[str, Any]:
    """All-pairs RSA: correlation RDMs + Spearman for every pair of representations.

    Compared with rsatoolbox (``calc_rdm`` + ``compare``, one run) on the same data, and with
    the floor: one batched Gram product ``X @ X^T`` over the centred, normalised responses in
    the working dtype (the ``dtype`` option). crossalign (from the raw responses: building
    the BrainData, RDMs, ranks, scores) and the floor are timed as the best of 3 runs after a
    warm-up. crossalign runs on the ``backend`` option.

    Parameters
    ----------
    size : {"small", "full"}
        ``"full"`` is the scale the published figures use; ``"small"`` a quick check.
    reference : bool
        Also time rsatoolbox (when installed).

    Returns
    -------
    dict
        Timings, ratios to the floor and to rsatoolbox, and the largest difference.
    """
    n_sub, n_reg, n, p = SIZES["rsa"][size]
    data, _ = _responses(n_sub, n_reg, n, p)
    stack = np.stack(list(data.values()))

    def ours() -> np.ndarray:
        brain = BrainData.from_responses(data)
        t = score_tensor(brain, metric="spearman", rdm="correlation").values
        return t.reshape(n_sub * n_reg, n_sub * n_reg)

    dtype = get_option("dtype")
    z = stack - stack.mean(axis=2, keepdims=True)
    z = (z / np.linalg.norm(z, axis=2, keepdims=True)).astype(dtype)

    def floor() -> np.ndarray:
        return z @ z.swapaxes(-1, -2)

    # best of 3 after a warm-up for both (as timeit): fresh-page costs of the first run are
    # the machine's, not the method's
    _timed(ours), _timed(floor)
    t_ours, scores = min((_timed(ours) for _ in range(3)), key=lambda r: r[0])
    t_floor = min(_timed(floor)[0] for _ in range(3))
    out: dict[str, Any] = {
        "benchmark": "rsa",
        "size": size,
        "workload": f"{n_sub * n_reg} representations ({n_sub} subjects x {n_reg} regions), "
        f"{n} stimuli x {p} units, correlation RDMs + Spearman, all pairs",
        "backend": get_option("backend"),
        "dtype": dtype,
        "crossalign_s": t_ours,
        "floor_s": t_floor,
    }
    if reference:
        import rsatoolbox

        def theirs() -> np.ndarray:
            datasets: Any = [rsatoolbox.data.Dataset(x) for x in stack]
            rdms: Any = rsatoolbox.rdm.calc_rdm(datasets, method="correlation")
            return rsatoolbox.rdm.compare(rdms, rdms, method="spearman")

        t_ref, ref = _timed(theirs)
        out["rsatoolbox_s"] = t_ref
        out["speedup_vs_rsatoolbox"] = t_ref / t_ours
        out["max_abs_diff"] = float(np.abs(ref - scores).max())
    out["crossalign_over_floor"] = t_ours / t_floor
    out["peak_rss_mb"] = _peak_rss_mb()
    return out


def bench_aps(size: str = "small", *, n_bootstrap: int = 1000) -> dict[str, Any]:
    """End to end: the paper's test for one model with ``n_bootstrap`` subject bootstraps.

    Times the score tensors (RDMs, preparation, products) and the bootstrap separately; the
    bootstrap only re-indexes the precomputed tensors, so it costs no RDM comparison.

    Parameters
    ----------
    size : {"small", "full"}
        ``"full"`` is the scale the published figures use; ``"small"`` a quick check.
    n_bootstrap : int
        Subject bootstrap resamples.

    Returns
    -------
    dict
        Timings (seconds) and sizes.
    """
    n_sub, n_reg, n, p, n_layers = SIZES["aps"][size]
    data, latent = _responses(n_sub, n_reg, n, p)
    rng = np.random.default_rng(1)
    acts = {f"layer{i}": latent[i % n_reg] @ rng.normal(size=(16, 64)) for i in range(n_layers)}
    brain = BrainData.from_responses(data)
    model = ModelData.from_activations(acts, model="net", stimuli=brain.stimuli)
    layers = {r: f"layer{i % n_layers}" for i, r in enumerate(brain.regions)}
    t_tensor, ev = _timed(lambda: Evaluation.fit(model, brain, layers, metric="spearman"))
    t_boot, boot = _timed(lambda: ev.bootstrap(n_bootstrap, "recompute"))
    samples = boot["samples"].values
    return {
        "benchmark": "aps",
        "size": size,
        "workload": f"{n_sub} subjects x {n_reg} regions x {n} stimuli ({p} units), model with "
        f"{n_layers} layers, Spearman RSA, {n_bootstrap} subject bootstraps of score, model "
        "APS and brain APS",
        "tensor_s": t_tensor,
        "bootstrap_s": t_boot,
        "total_s": t_tensor + t_boot,
        "per_bootstrap_ms": 1000.0 * t_boot / n_bootstrap,
        "finite_samples": int(np.isfinite(samples).all(axis=(1, 2)).sum()),
        "peak_rss_mb": _peak_rss_mb(),
    }


def bench_predictivity(
    size: str = "small", *, seed: int = 0, floor: bool = False
) -> dict[str, Any]:
    """All-pairs linear predictivity (APA protocol) against per-pair scikit-learn, or (with
    ``floor``) against its timed arithmetic floor (:mod:`crossalign.bench.floor`).

    crossalign scores every ordered pair; scikit-learn's ``RidgeCV`` inside
    ``KFold(5, shuffle=True, random_state=seed)`` on z-scored data (the paper's implementation)
    runs on a sample of pairs, and its time is extrapolated to all pairs.

    Parameters
    ----------
    size : {"small", "full"}
        ``"full"`` is the scale the published figures use; ``"small"`` a quick check.
    seed : int
        Seed of the synthetic data and of the folds.
    floor : bool
        Time the floor in the same run instead of scikit-learn.

    Returns
    -------
    dict
        Timings, the speed-up and the largest difference on the sampled pairs.
    """
    if floor:
        return bench_predictivity_floor(size)
    from sklearn.linear_model import RidgeCV
    from sklearn.metrics import r2_score
    from sklearn.model_selection import KFold
    from sklearn.preprocessing import StandardScaler

    n_sub, n_reg, n, p, n_sample = SIZES["predictivity"][size]
    data, _ = _responses(n_sub, n_reg, n, p)
    brain = BrainData.from_responses(data)
    k = len(brain)
    t_ours, scores = _timed(lambda: score_tensor(brain, metric="predictivity").values.reshape(k, k))
    arrays = list(data.values())
    rng = np.random.default_rng(seed)
    pairs = [tuple(rng.choice(k, 2, replace=False)) for _ in range(n_sample)]

    def sklearn_pair(i: int, j: int) -> float:
        x = StandardScaler().fit_transform(arrays[i])
        y = StandardScaler().fit_transform(arrays[j])
        out = []
        for tr, te in KFold(5, shuffle=True, random_state=seed).split(x):
            model = RidgeCV(alphas=np.logspace(0, 9, 19)).fit(x[tr], y[tr])
            out.append(r2_score(y[te], model.predict(x[te])))
        return float(np.mean(out))

    t_ref, ref = _timed(lambda: [sklearn_pair(i, j) for i, j in pairs])
    diffs = [abs(r - scores[i, j]) for r, (i, j) in zip(ref, pairs, strict=True)]
    per_pair = t_ref / len(pairs)
    return {
        "benchmark": "predictivity",
        "size": size,
        "workload": f"{k} representations ({n_sub} subjects x {n_reg} regions), {n} stimuli x "
        f"{p} units, ridge X->Y, z-scored, 5 folds, LOO alpha over logspace(0, 9, 19), all "
        f"{k * k} ordered pairs; scikit-learn on {len(pairs)} sampled pairs",
        "crossalign_s": t_ours,
        "sklearn_per_pair_s": per_pair,
        "sklearn_all_pairs_s_extrapolated": per_pair * k * k,
        "speedup_vs_sklearn": per_pair * k * k / t_ours,
        "max_abs_diff": float(max(diffs)),
        "peak_rss_mb": _peak_rss_mb(),
    }


def bench_extract(size: str = "small") -> dict[str, Any]:
    """Feature extraction (hooks on every default layer of EfficientNet-Lite0, flattened)
    against the model's bare forward pass on the same preprocessed batch; images/s.

    Parameters
    ----------
    size : {"small", "full"}
        ``"full"`` is the scale the published figures use; ``"small"`` a quick check.

    Returns
    -------
    dict
        Timings (seconds), memory and sizes.
    """
    import torch

    n_images, repeats = SIZES["extract"][size]
    adapter = load_model("efficientnet_lite0")
    rng = np.random.default_rng(0)
    batch = rng.normal(size=(n_images, 3, 224, 224)).astype(np.float32)
    ready = dataclasses.replace(adapter, preprocess=None)  # same batch, no image decoding
    tensor = torch.from_numpy(batch)

    def bare() -> None:
        with torch.inference_mode():
            adapter.module(tensor)

    def ours() -> Any:
        return extract(ready, list(batch), batch_size=n_images, cache=False, progress=False)

    bare()  # warm-up
    ours()
    times_bare, times_ours = [], []
    for _ in range(repeats):  # interleaved, so drifts of the machine hit both alike
        times_bare.append(_timed(bare)[0])
        times_ours.append(_timed(ours)[0])
    t_bare, t_ours = min(times_bare), min(times_ours)
    return {
        "benchmark": "extract",
        "size": size,
        "workload": f"EfficientNet-Lite0, {n_images} images 224x224 in one batch, hooks on its "
        f"{len(adapter.default_layers)} default layers, flattened (best of {repeats})",
        "bare_forward_images_per_s": n_images / t_bare,
        "extraction_images_per_s": n_images / t_ours,
        "overhead_pct": 100.0 * (t_ours / t_bare - 1.0),
        "torch_threads": torch.get_num_threads(),
        "peak_rss_mb": _peak_rss_mb(),
    }


def bench_stream(size: str = "small") -> dict[str, Any]:
    """An analysis whose RDM stack does not fit the memory budget, streamed in blocks, against
    the same analysis in one block: times, the budget, the traced peak of NumPy's allocations
    and the largest difference.

    Parameters
    ----------
    size : {"small", "full"}
        ``"full"`` is the scale the published figures use; ``"small"`` a quick check.

    Returns
    -------
    dict
        Timings (seconds), memory and sizes.
    """

    n_sub, n_reg, n, p, budget = SIZES["stream"][size]
    data, _ = _responses(n_sub, n_reg, n, p)
    brain = BrainData.from_responses(data)
    stack = len(brain) * n * (n - 1) // 2 * 8

    def traced(func: Callable[[], Any]) -> tuple[float, int, Any]:
        tracemalloc.start()
        try:
            seconds, out = _timed(func)
            return seconds, tracemalloc.get_traced_memory()[1], out
        finally:
            tracemalloc.stop()

    with options(memory_budget=budget):
        plan = plan_scores(brain, None, "spearman")
        t_stream, peak_stream, streamed = traced(lambda: all_pairs(brain, None, "spearman"))
    full_plan = plan_scores(brain, None, "spearman")
    t_full, peak_full, full = traced(lambda: all_pairs(brain, None, "spearman"))
    return {
        "benchmark": "stream",
        "size": size,
        "workload": f"{len(brain)} representations, {n} stimuli x {p} units, correlation RDMs + "
        f"Spearman, all pairs; RDM stack {stack / 1e9:.2f} GB, budget {budget / 1e9:.2f} GB",
        "plan": plan.describe(),
        "streamed_s": t_stream,
        "streamed_estimate_s": plan.seconds,
        "streamed_traced_peak_mb": peak_stream / 1e6,
        "budget_mb": budget / 1e6,
        "one_block_s": t_full,
        "one_block_estimate_s": full_plan.seconds,
        "one_block_traced_peak_mb": peak_full / 1e6,
        "max_abs_diff": float(np.abs(streamed - full).max()),
        "peak_rss_mb": _peak_rss_mb(),
    }


def bench_extract_video(size: str = "small") -> dict[str, Any]:
    """Video extraction with an untrained r3d_18 (16-frame clips at 112 x 112).

    1. Overhead: hooks on its five stages (pooled) against the bare forward pass on the same
       preprocessed batch, best of several interleaved repeats.
    2. Memory: a projected extraction of many clips decoded from files, one batch at a time,
       under a memory budget: the traced peak of NumPy's allocations against the budget and
       against the activations an unprojected extraction would hold.
    """
    import torch

    n_clips, repeats, n_big, k = SIZES["extract-video"][size]
    adapter = load_model("torchvision:r3d_18", pretrained=False, seed=0)
    layers = ["stem", "layer1", "layer2", "layer3", "layer4"]
    rng = np.random.default_rng(0)
    batch = rng.normal(size=(n_clips, 16, 3, 112, 112)).astype(np.float32)
    ready = dataclasses.replace(adapter, preprocess=None)
    tensor = torch.from_numpy(np.ascontiguousarray(batch.transpose(0, 2, 1, 3, 4)))

    def bare() -> None:
        with torch.inference_mode():
            adapter.module(tensor)

    def ours() -> Any:
        return extract(
            ready,
            list(batch),
            layers=layers,
            pool="avg",
            batch_size=n_clips,
            cache=False,
            progress=False,
        )

    bare()  # warm-up
    ours()
    times_bare, times_ours = [], []
    for _ in range(repeats):
        times_bare.append(_timed(bare)[0])
        times_ours.append(_timed(ours)[0])
    t_bare, t_ours = min(times_bare), min(times_ours)
    with tempfile.TemporaryDirectory() as folder:
        paths = []
        for i in range(n_big):
            frames = rng.integers(0, 256, size=(16, 64, 64, 3), dtype=np.uint8)
            paths.append(write_video(Path(folder) / f"clip{i:04d}.mkv", frames))
        budget = 10**9
        tracemalloc.start()
        with options(memory_budget=budget):
            t_big, big = _timed(
                lambda: extract(
                    adapter,
                    paths,
                    layers=["layer1", "layer4"],
                    pool="flatten",
                    projection=k,
                    batch_size=8,
                    cache=False,
                    progress=False,
                )
            )
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    widths = {"layer1": 64 * 16 * 56 * 56, "layer4": 512 * 2 * 7 * 7}  # at 112 x 112
    return {
        "benchmark": "extract-video",
        "size": size,
        "workload": f"untrained r3d_18, {n_clips} clips x 16 frames at 112x112 in one batch, "
        f"hooks on {len(layers)} stages, pooled (best of {repeats}); then {n_big} clips "
        f"decoded from files, layer1 + layer4 flattened, projected to {k} dims per batch",
        "bare_forward_clips_per_s": n_clips / t_bare,
        "extraction_clips_per_s": n_clips / t_ours,
        "overhead_pct": 100.0 * (t_ours / t_bare - 1.0),
        "projected_run_s": t_big,
        "projected_shape": list(big[(big.models[0], "layer1")].shape),
        "memory_budget_mb": budget / 1e6,
        "traced_peak_mb": peak / 1e6,
        "unprojected_activations_mb": n_big * sum(widths.values()) * 4 / 1e6,
        "torch_threads": torch.get_num_threads(),
        "peak_rss_mb": _peak_rss_mb(),
    }


def _nsd_fixture(root: Path, grid: tuple[int, int, int], n_sessions: int, sizes: tuple) -> None:
    """One subject in the NSD layout: uncompressed int16 sessions of 750 trials, a label
    volume with two ROIs of the given voxel counts, and a design where every image repeats 3
    times."""
    import nibabel as nib

    rng = np.random.default_rng(0)
    order = (np.arange(30000) // 3) % 10000 + 1  # images 1, 1, 1, 2, 2, 2, ...
    subjectim = np.tile(np.arange(10000) + 1, (8, 1))
    design = root / "nsddata" / "experiments" / "nsd"
    design.mkdir(parents=True)
    savemat(
        design / "nsd_expdesign.mat",
        {
            "masterordering": order[None],
            "subjectim": subjectim,
            "sharedix": np.arange(1, 1001)[None],
        },
    )
    labels = np.zeros(grid, dtype=np.int16)
    flat = random_order(labels.size, rng)
    labels.flat[flat[: sizes[0]]] = 1
    labels.flat[flat[sizes[0] : sizes[0] + sizes[1]]] = 2
    (root / "nsddata" / "freesurfer" / "subj01" / "label").mkdir(parents=True)
    (root / "nsddata" / "freesurfer" / "subj01" / "label" / "rois.mgz.ctab").write_text(
        "0 Unknown\n1 V1\n2 general\n"
    )
    roi = root / "nsddata" / "ppdata" / "subj01" / "func1pt8mm" / "roi"
    roi.mkdir(parents=True)
    for hemi in ("lh", "rh"):
        nib.save(
            nib.Nifti1Image(labels if hemi == "lh" else labels * 0, np.eye(4)),
            roi / f"{hemi}.rois.nii.gz",
        )
    betas = (
        root / "nsddata_betas" / "ppdata" / "subj01" / "func1pt8mm" / "betas_fithrf_GLMdenoise_RR"
    )
    betas.mkdir(parents=True)
    for k in range(n_sessions):
        data = rng.integers(-3000, 3000, size=(*grid, 750), dtype=np.int16)
        nib.save(nib.Nifti1Image(data, np.eye(4)), betas / f"betas_session{k + 1:02d}.nii")
        del data


def _proc_status_mb(field: str) -> float:
    """A memory field of /proc/self/status (Linux) in MB: ``VmHWM`` is this process's own
    peak RSS (``ru_maxrss`` would include the parent's, inherited across fork and exec)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def _load_nsd_child(root: str, n_sessions: int, conn: Any) -> None:
    baseline = _proc_status_mb("VmRSS")
    start = time.perf_counter()
    data = load_nsd(root, roi_sets=["rois"], sessions=list(range(1, n_sessions + 1)), stimuli="all")
    conn.send(
        {
            "seconds": time.perf_counter() - start,
            "stimuli": data.n_stimuli,
            "voxels": {str(k[1]): int(data.entry_shape(k)[1]) for k in data},
            "repeats": int(data.entry_shape(data.keys()[0])[2]),
            "stored_mb": sum(data[k].values.nbytes for k in data) / 1e6,
            "loader_peak_rss_mb": _proc_status_mb("VmHWM"),
            "rss_after_imports_mb": baseline,
        }
    )


def bench_nsd(size: str = "small") -> dict[str, Any]:
    """Peak memory of ``load_nsd`` on an NSD-layout subject of the real grid size, measured
    in a child process (its own peak RSS), against the size of one session as
    ``get_fdata()`` (float64) would load it.

    Parameters
    ----------
    size : {"small", "full"}
        ``"full"`` is the scale the published figures use; ``"small"`` a quick check.

    Returns
    -------
    dict
        Timings (seconds), memory and sizes.
    """
    grid, n_sessions, sizes = SIZES["nsd"][size]
    with tempfile.TemporaryDirectory() as tmp:
        _nsd_fixture(Path(tmp), grid, n_sessions, sizes)
        ctx = multiprocessing.get_context("spawn")
        parent, child = ctx.Pipe(duplex=False)
        proc = ctx.Process(target=_load_nsd_child, args=(tmp, n_sessions, child))
        proc.start()
        child.close()
        result = parent.recv()
        proc.join()
    n_vox = int(np.prod(grid))
    return {
        "grid": list(grid),
        "sessions": n_sessions,
        "session_int16_mb": n_vox * 750 * 2 / 1e6,
        "session_get_fdata_mb": n_vox * 750 * 8 / 1e6,
        **result,
    }


def bench_evaluate(size: str = "small") -> dict[str, Any]:
    """``evaluate_model`` on a model with many wide layers (float32 activations) against
    the floor of computing each layer's Gram matrix once (``x.astype(float64) @ x.T``); the
    best of ``repeats`` runs of each.

    Parameters
    ----------
    size : {"small", "full"}
        ``"full"``: 78 stimuli and EfficientNet-Lite0's 19 default layers, flattened.

    Returns
    -------
    dict
        Seconds of both, their ratio, and the sizes.
    """
    n, n_sub, n_reg, p, repeats, widths = SIZES["evaluate"][size]
    rng = np.random.default_rng(0)
    latent = rng.normal(size=(n, 8))
    acts = {
        f"layer{i:02d}": (latent @ rng.normal(size=(8, w)) + rng.normal(size=(n, w))).astype(
            np.float32
        )
        for i, w in enumerate(widths)
    }
    md = ca.ModelData.from_activations(acts, model="net", dtype=np.float32)
    brain = ca.BrainData.from_responses(
        {
            (f"s{s}", f"r{r}"): latent @ rng.normal(size=(8, p)) + rng.normal(size=(n, p))
            for s in range(n_sub)
            for r in range(n_reg)
        }
    )

    def floor() -> None:
        for x in acts.values():
            y = x.astype(np.float64)
            y @ y.T

    floor_s = min(_timed(floor)[0] for _ in range(repeats))
    ours = min(
        _timed(lambda: ca.evaluate_model(md, brain, n_bootstrap=100, seed=0))[0]
        for _ in range(repeats)
    )
    return {
        "stimuli": n,
        "layers": len(widths),
        "units": int(sum(widths)),
        "evaluate_model_s": ours,
        "floor_gram_s": floor_s,
        "ratio_to_floor": ours / floor_s,
        "peak_rss_mb": _peak_rss_mb(),
    }


def _paper(size: str = "small", metrics: tuple[str, ...] = ("spearman", "predictivity")) -> dict:
    return bench_paper(size, metrics=metrics)


def bench_crossnobis(size: str = "small") -> dict[str, Any]:
    """Crossnobis RDMs (shrinkage-diagonal noise precision per cell, then the RDM) of every
    cell, against rsatoolbox's ``prec_from_measurements`` + ``calc_rdm(method="crossnobis")``
    on the same data in the same run.

    Parameters
    ----------
    size : {"small", "full"}
        ``full``: 12 cells x 300 stimuli x 3 repetitions x 500 units.

    Returns
    -------
    dict
        Timings, the speed-up and the largest difference.
    """
    n_cells, n, n_rep, p = SIZES["crossnobis"][size]
    rng = np.random.default_rng(0)
    signal = rng.normal(size=(n, p))
    cells = [
        signal[:, :, None] + rng.uniform(0.5, 2.0) * rng.normal(size=(n, p, n_rep))
        for _ in range(n_cells)
    ]
    data = BrainData.from_responses({(f"s{k}", "V1"): x for k, x in enumerate(cells)})

    def ours() -> np.ndarray:
        fresh = data.select(areas=["V1"])  # no cached RDMs
        return fresh.rdm_vectors("crossnobis")

    import rsatoolbox
    from rsatoolbox.data.noise import prec_from_measurements

    conds, reps = np.tile(np.arange(n), n_rep), np.repeat(np.arange(n_rep), n)

    def theirs() -> np.ndarray:
        out = []
        for x in cells:
            ds = rsatoolbox.data.Dataset(
                x.transpose(2, 0, 1).reshape(n_rep * n, p),
                obs_descriptors={"conds": conds, "rep": reps},
            )
            prec = prec_from_measurements(ds, obs_desc="conds", method="shrinkage_diag")
            rdm: Any = rsatoolbox.rdm.calc_rdm(
                ds, method="crossnobis", descriptor="conds", cv_descriptor="rep", noise=prec
            )
            out.append(rdm.dissimilarities[0])
        return np.stack(out)

    # rsatoolbox first: NumPy's and SciPy's OpenBLAS pools are separate, and a reference run
    # right after ours would wait for SciPy's still-spinning threads (about 2x slower here)
    t_ref, ref = _timed(theirs)
    _timed(ours)
    t_ours, mine = min((_timed(ours) for _ in range(3)), key=lambda r: r[0])
    return {
        "benchmark": "crossnobis",
        "size": size,
        "workload": f"{n_cells} cells x {n} stimuli x {n_rep} repetitions x {p} units, "
        "shrinkage-diagonal precision and crossnobis RDM per cell",
        "crossalign_s": t_ours,
        "rsatoolbox_s": t_ref,
        "speedup_vs_rsatoolbox": t_ref / t_ours,
        "max_abs_diff": float(np.abs(ref - mine).max()),
        "peak_rss_mb": _peak_rss_mb(),
    }


BENCHMARKS: dict[str, Callable[..., dict[str, Any]]] = {
    "cortex": bench_cortex,
    "crossnobis": bench_crossnobis,
    "evaluate": bench_evaluate,
    "paper": _paper,
    "paper-rsa": lambda size="small": _paper(size, ("spearman",)),
    "paper-lp": lambda size="small": _paper(size, ("predictivity",)),
    "nsd": bench_nsd,
    "extract-video": bench_extract_video,
    "stream": bench_stream,
    "rsa": bench_rsa,
    "aps": bench_aps,
    "predictivity": bench_predictivity,
    "extract": bench_extract,
    "time": bench_time,
}
