"""The "Whole cortex" documentation's maps, from the synthetic data of
``crossalign bench cortex`` (:func:`crossalign.bench.cortex_world`): all 180 HCP-MMP1 parcels
at their real sizes, 10 subjects, 1,000 train + 102 test clips, one model of 12 layers,
evaluated with the ``hoefling2026`` protocol. Writes docs/images/cortex-matrix.png,
cortex-brain.png and cortex-model.png.

    python tools/cortex_figures.py [--size full|small]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

import crossalign as ca
from crossalign.bench import cortex_world
from crossalign.evaluation.core import Evaluation

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", default="full", choices=["small", "full"])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images")
    args = parser.parse_args()
    brain, model = cortex_world(args.size)
    with ca.options(memory_budget="4GB"):
        ev = Evaluation.fit(model, brain, protocol="hoefling2026", seed=0)
    ds = ev.to_dataset(1000)
    regions = [str(r) for r in ds["region"].values]
    matrix = ds["brain_matrix"].values
    args.out.mkdir(parents=True, exist_ok=True)
    limit = float(np.nanmax(np.abs(matrix)))
    fig = ca.viz.plot_network_matrix(
        matrix,
        regions,
        title=f"brain cross-region matrix, {len(regions)} parcels by network",
        label="Pearson (test clips)",
        cmap="RdBu_r",
        vmin=-limit,
        vmax=limit,
    )
    fig.savefig(args.out / "cortex-matrix.png", dpi=100)
    plt.close(fig)
    reliability = dict(zip(regions, np.diag(matrix), strict=True))
    brain_aps = ds["brain_aps_mean"].to_series()
    fig = ca.viz.plot_parcel_maps(
        {"reliability": reliability, "brain APS": brain_aps},
        labels={"reliability": "cross-subject Pearson", "brain APS": "APS"},
    )
    fig.suptitle("the brain (test clips)", fontsize=10)
    fig.savefig(args.out / "cortex-brain.png", dpi=100)
    plt.close(fig)
    score, aps = ds["score_mean"].to_series(), ds["aps_mean"].to_series()
    fig = ca.viz.plot_parcel_maps(
        {"score": score, "APS": aps, "APS - brain APS": aps - brain_aps},
        labels={"score": "Pearson", "APS": "APS", "APS - brain APS": "difference"},
    )
    fig.suptitle(
        "the model (test clips, layer chosen per parcel on the training clips)", fontsize=10
    )
    fig.savefig(args.out / "cortex-model.png", dpi=100)
    plt.close(fig)
    for name in ("cortex-matrix.png", "cortex-brain.png", "cortex-model.png"):
        print(args.out / name)


if __name__ == "__main__":
    main()
