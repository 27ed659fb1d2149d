"""Draw docs/images/crossnobis_bias.png: the noise bias of RDMs across regions of different
reliability (synthetic data), for 1 - Pearson, squared Euclidean of averaged repeats, and the
cross-validated Euclidean distance. ``python tools/crossnobis_figure.py``."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from crossalign.compute.crossval import cv_rdm_vector
from crossalign.compute.rdm import rdm_vectors

OUT = Path(__file__).resolve().parents[1] / "docs" / "images" / "crossnobis_bias.png"


def main() -> None:
    rng = np.random.default_rng(0)
    n, p, n_rep = 40, 100, 3
    signal = rng.normal(size=(n, p)) * 0.5
    truth = rdm_vectors(signal, "sqeuclidean") / p
    levels = np.array([0.25, 0.5, 1.0, 2.0, 4.0])
    rows = {"squared Euclidean of the averaged repeats": [], "cross-validated Euclidean": []}
    corr = []
    for level in levels:
        x = signal[:, :, None] + level * rng.normal(size=(n, p, n_rep))
        rows["squared Euclidean of the averaged repeats"].append(
            (rdm_vectors(x.mean(axis=2), "sqeuclidean") / p).mean() / truth.mean()
        )
        rows["cross-validated Euclidean"].append(cv_rdm_vector(x).mean() / truth.mean())
        corr.append(np.corrcoef(rdm_vectors(x.mean(axis=2), "correlation"), truth)[0, 1])
    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.4))
    for label, values in rows.items():
        a.plot(levels, values, marker="o", label=label)
    a.axhline(1.0, color="grey", lw=0.8, ls="--")
    a.set(
        xscale="log",
        xlabel="noise SD per repeat (lower reliability ->)",
        ylabel="mean distance / true mean distance",
        title="Bias of the distances",
    )
    a.legend(fontsize=7, frameon=False)
    b.plot(levels, corr, marker="o", color="C2")
    b.set(
        xscale="log",
        xlabel="noise SD per repeat",
        ylabel="Pearson r with the true RDM",
        title="1 - Pearson RDM vs the truth",
    )
    for ax in (a, b):
        ax.minorticks_off()
        ax.set_xticks(levels, [f"{v:g}" for v in levels])
    fig.tight_layout()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(OUT, dpi=110)


if __name__ == "__main__":
    main()
