"""``crossalign bench paper``: the whole analysis of Hoefling et al. (2026) at BOLD Moments
scale, on synthetic data with planted structure.

Brains: subjects x regions (a few (subject, region) cells missing, as subject-specific
category ROIs are) responding to train + test stimuli through a shared latent space, each
region reading a different mix of its factors, each subject adding its own noise. Models:
layers mixing the same factors with a depth-dependent weighting, so layer selection has a
right answer. For RSA and linear predictivity, every model is evaluated as the paper does:
layer selection on the training stimuli, test scores, brain and model APS, bootstrap CIs and
the equivalence test; the brain's side (its tensor and noise ceiling) is computed once and
shared by all models. The paper's own approach (a scikit-learn ``RidgeCV`` per pair) is timed
on sampled pairs and extrapolated to the pairs this analysis scores. For linear predictivity
the run's arithmetic floor is timed after it (:mod:`crossalign.bench.floor`) and the ratio
reported.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from crossalign.bench.floor import price_floor
from crossalign.bench.memory import peak_rss_mb, reset_peak_rss
from crossalign.compute.ridge import recording
from crossalign.data.containers import BrainData, ModelData
from crossalign.evaluation.core import Evaluation
from crossalign.stats.equivalence import equivalence

__all__ = ["PAPER_SIZES", "bench_paper"]

#: subjects, regions, missing cells, train, test, voxel range, models, layers, units,
#: bootstraps, sampled RidgeCV pairs
PAPER_SIZES = {
    "small": (4, 5, 1, 150, 30, (40, 120), 2, 4, 256, 100, 2),
    "full": (10, 19, 3, 1000, 102, (200, 2000), 4, 12, 4096, 1000, 2),
}


def _world(size: str, seed: int = 0) -> tuple[Any, dict[str, Any]]:
    """Synthetic brain data (with its fixed split) and model activations."""
    n_sub, n_reg, n_missing, n_train, n_test, voxels, n_models, n_layers, units = PAPER_SIZES[size][
        :9
    ]
    rng = np.random.default_rng(seed)
    n, k = n_train + n_test, 24
    latent = rng.standard_normal((n, k))
    depth = np.linspace(0, 1, n_reg)
    profile = np.exp(-((np.arange(k)[None, :] / k - depth[:, None]) ** 2) / 0.05)  # (R, k)
    missing = {
        (int(s), int(r))
        for s, r in zip(
            rng.choice(n_sub, n_missing), n_reg - 1 - rng.choice(n_reg // 2, n_missing), strict=True
        )
    }
    responses = {}
    for r in range(n_reg):
        width = int(rng.integers(*voxels))
        template = (latent * profile[r]) @ rng.standard_normal((k, width))
        for s in range(n_sub):
            if (s, r) not in missing:
                noise = rng.standard_normal((n, width)) * (1.5 + 0.5 * s / n_sub)
                responses[(f"sub-{s + 1:02d}", f"R{r:02d}")] = (template + noise).astype(np.float32)
    stimuli = [f"vid{i + 1:04d}" for i in range(n)]
    brain = BrainData.from_responses(responses, stimuli=stimuli, dtype=np.float32)
    brain.attrs["split"] = {"train": stimuli[:n_train], "test": stimuli[n_train:]}
    models = {}
    for m in range(n_models):
        layers = {}
        for li, d in enumerate(np.linspace(0, 1, n_layers)):
            weights = np.exp(-((np.arange(k) / k - d) ** 2) / (0.03 + 0.05 * m))
            act = (latent * weights) @ rng.standard_normal((k, units))
            layers[f"layer{li:02d}"] = np.maximum(act + rng.standard_normal((n, units)), 0)
        models[f"model{m}"] = ModelData.from_activations(
            layers, model=f"model{m}", stimuli=stimuli, dtype=np.float32
        )
    return brain, models


def _evaluate(brain: Any, models: dict[str, Any], metric: str, n_bootstrap: int) -> dict:
    """Every model as the paper evaluates it; then which models are equivalent to the best
    on score and on APS (the best model's lower bootstrap bound)."""
    start = time.perf_counter()
    summary: dict[str, dict[str, Any]] = {}
    means: dict[str, dict[str, float]] = {"score": {}, "aps": {}}
    lows: dict[str, dict[str, float]] = {"score": {}, "aps": {}}
    for name, md in models.items():
        ev = Evaluation.fit(md, brain, protocol="hoefling2026", metric=metric, seed=0)
        samples = ev.bootstrap(n_bootstrap)["samples"].values  # (B, statistic, region)
        values = np.nanmean(ev.values(), axis=2)  # (statistic, region)
        for k, stat in enumerate(("score", "aps")):
            means[stat][name] = float(np.nanmean(values[k]))
            lows[stat][name] = float(np.nanpercentile(np.nanmean(samples[:, k], axis=1), 2.5))
        summary[name] = {
            "layers": {str(r): str(la) for r, la in ev.layers.items()},
            "score_mean": means["score"][name],
            "aps_mean": means["aps"][name],
            "brain_aps_mean": float(np.nanmean(values[2])),
        }
    for stat in ("score", "aps"):
        for model_name, ok in equivalence(means[stat], lows[stat]).items():
            summary[str(model_name)][f"{stat}_equivalent"] = ok
    return {"seconds": time.perf_counter() - start, "models": summary}


def _ridgecv_pair_seconds(brain: Any, n_pairs: int, seed: int = 0) -> float:
    """One pair the paper's way: z-scored on the training stimuli, RidgeCV in each of the
    5 training folds, R^2 of each fold model on the test stimuli."""
    from sklearn.linear_model import RidgeCV
    from sklearn.metrics import r2_score
    from sklearn.model_selection import KFold
    from sklearn.preprocessing import StandardScaler

    split = brain.attrs["split"]
    keys = brain.keys()
    rng = np.random.default_rng(seed)
    train = brain.stimuli.get_indexer(split["train"])
    test = brain.stimuli.get_indexer(split["test"])
    start = time.perf_counter()
    for _ in range(n_pairs):
        i, j = rng.choice(len(keys), 2, replace=False)
        x, y = (np.asarray(brain[keys[c]].values, dtype=np.float64) for c in (i, j))
        sx, sy = StandardScaler().fit(x[train]), StandardScaler().fit(y[train])
        x, y = sx.transform(x), sy.transform(y)
        for tr, _ in KFold(5, shuffle=True, random_state=1).split(train):
            model = RidgeCV(alphas=np.logspace(0, 9, 19)).fit(x[train][tr], y[train][tr])
            r2_score(y[test], model.predict(x[test]))
    return (time.perf_counter() - start) / n_pairs


def bench_paper(
    size: str = "small", *, metrics: tuple[str, ...] = ("spearman", "predictivity")
) -> dict[str, Any]:
    """The paper's analysis at scale (module docstring); seconds per metric, peak memory,
    and the per-pair RidgeCV approach extrapolated to the same predictivity pairs.

    Parameters
    ----------
    size : {"small", "full"}
        ``"full"`` is the scale the published figures use; ``"small"`` a quick check.
    metrics : tuple of str
        The metrics to run (``"spearman"`` for RSA, ``"predictivity"`` for LP).

    Returns
    -------
    dict
        Seconds per metric, peak memory and the extrapolated per-pair time.
    """
    sizes = PAPER_SIZES[size]
    n_bootstrap, n_sampled = sizes[9], sizes[10]
    start = time.perf_counter()
    brain, models = _world(size)
    setup = time.perf_counter() - start
    out: dict[str, Any] = {
        "benchmark": "paper",
        "size": size,
        "workload": f"{len(brain.subjects)} subjects x {len(brain.regions)} regions "
        f"({len(brain)} cells), {len(brain.attrs['split']['train'])} train + "
        f"{len(brain.attrs['split']['test'])} test stimuli, {sizes[5][0]}-{sizes[5][1]} voxels; "
        f"{len(models)} models x {sizes[7]} layers x {sizes[8]} units; hoefling2026 protocol, "
        f"{n_bootstrap} bootstraps",
        "setup_s": setup,
    }
    for metric in metrics:
        reset_peak_rss()
        brain, models = _world(size)  # fresh containers: no caches from the other metric
        with recording() as work:
            out[metric] = _evaluate(brain, models, metric, n_bootstrap)
        out[metric]["peak_rss_mb"] = peak_rss_mb()
        if work:  # linear predictivity: its floor, timed now, and the ratio
            floor = price_floor(work)
            out[metric]["floor_s"] = floor["floor_s"]
            out[metric]["floor_parts_s"] = {k: v for k, v in floor.items() if k != "floor_s"}
            out[metric]["ratio_to_floor"] = out[metric]["seconds"] / floor["floor_s"]
    if "predictivity" in metrics:
        n_cells, n_layers = len(brain), sum(len(md) for md in models.values())
        pairs = n_cells * n_cells + 2 * n_layers * n_cells  # brain, selection, test
        per_pair = _ridgecv_pair_seconds(brain, n_sampled)
        out["ridgecv_per_pair_s"] = per_pair
        out["ridgecv_pairs"] = pairs
        out["ridgecv_extrapolated_s"] = per_pair * pairs
    out["total_s"] = time.perf_counter() - start
    out["peak_rss_mb"] = peak_rss_mb()
    return out
