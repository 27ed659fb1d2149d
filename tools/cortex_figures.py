"""The "Whole cortex" documentation's maps: a study on synthetic data with planted structure
on all 180 HCP-MMP1 parcels, run by crossalign's study runner; its cortex_* figures are
copied to docs/images/.

Planted structure: every parcel belongs to the cortical network it mostly falls in
(Cole-Anticevic partition); each network has its own latent stimulus features, and a parcel
mixes its network's features (weight falling from visual to frontal networks, so reliability
and APS vary across the cortex) with subject-specific noise. The model's layer k carries the
features of network k mod 6 only.

    python tools/cortex_figures.py [--subjects 8] [--stimuli 60]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

import numpy as np

import crossalign as ca
from crossalign.functional import compute_rdm
from crossalign.study.runner import run_study
from crossalign.viz import network_order

ROOT = Path(__file__).resolve().parents[1]


def synthetic(folder: Path, n_subjects: int, n_stimuli: int, seed: int = 0) -> tuple[Path, Path]:
    rng = np.random.default_rng(seed)
    mmp = ca.load_parcellation("hcp_mmp1")
    _, blocks = network_order(mmp.regions, mmp)
    order, _ = network_order(mmp.regions, mmp)
    network = {}
    for k, (_, start, stop) in enumerate(blocks):
        for region in order[start:stop]:
            network[region] = k
    latent = [rng.normal(size=(n_stimuli, 6)) for _ in blocks]
    shared = rng.normal(size=(n_stimuli, 6))
    rdms = {}
    for region in mmp.regions:
        k = network[region]
        signal = 1.5 * np.exp(-k / 4)  # strongest in the visual networks
        units = min(mmp.indices(region).size, 60)
        mixing = rng.normal(size=(6, units))
        stack = []
        for _ in range(n_subjects):
            x = (signal * latent[k] + 0.3 * shared) @ mixing
            stack.append(compute_rdm(x + 2.0 * rng.normal(size=x.shape)))
        rdms[region] = np.stack(stack)
    stimuli = np.array([f"clip{i:03d}" for i in range(n_stimuli)])
    np.savez(folder / "brain.npz", **rdms, stimuli=stimuli)
    layers = {
        f"layer{j:02d}": latent[j % 6] @ rng.normal(size=(6, 64))
        + 0.5 * rng.normal(size=(n_stimuli, 64))
        for j in range(12)
    }
    np.savez(folder / "model.npz", **layers, stimuli=stimuli)
    return folder / "brain.npz", folder / "model.npz"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--subjects", type=int, default=8)
    parser.add_argument("--stimuli", type=int, default=60)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        brain, model = synthetic(Path(tmp), args.subjects, args.stimuli)
        config = {
            "name": "whole cortex (synthetic)",
            "datasets": [{"name": "cortex", "path": str(brain), "parcellation": "hcp_mmp1"}],
            "models": [{"name": "model", "source": "activations", "path": str(model)}],
            "n_bootstrap": 200,
            "n_permutations": 100,
        }
        run_study(config, Path(tmp) / "out")
        args.out.mkdir(parents=True, exist_ok=True)
        for png in sorted((Path(tmp) / "out" / "figures").glob("cortex_*.png")):
            kind = png.stem.split("_")[1]
            name = {"matrix": "cortex-matrix.png", "brain": "cortex-brain.png"}.get(
                kind, "cortex-model.png"
            )
            shutil.copy(png, args.out / name)
            print(args.out / name)


if __name__ == "__main__":
    main()
