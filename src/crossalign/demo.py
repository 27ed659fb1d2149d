"""The built-in demonstration study on the reference datasets.

Cichy et al. 2014 (15 subjects, EVC and IT, 92 images) and Castaldi et al. 2019 (20 subjects,
10 regions, 18 dot-array conditions): the brain-to-brain cross-region matrices, and the
hand-built predictor models of Castaldi et al. scored against every region.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from rich import box
from rich.console import Console
from rich.table import Table

from .engine import score_tensor
from .io import load_dataset
from .patterns import cross_region_matrix

__all__ = ["run_demo"]


def run_demo(metric: str = "spearman", console: Console | None = None) -> dict[str, Any]:
    """Run the demo study, print its tables to ``console`` and return the numbers."""
    from .cli import matrix_table

    console = console or Console()
    results: dict[str, Any] = {"metric": metric, "datasets": {}}

    cichy = load_dataset("cichy2014")
    c = cross_region_matrix(cichy, metric)
    console.print(
        matrix_table(
            c,
            f"Cichy 2014: brain-to-brain cross-region alignment ({metric}, "
            f"{len(cichy.subjects)} subjects, {cichy.n_stimuli} images)",
        )
    )
    results["datasets"]["cichy2014"] = {
        "regions": list(map(str, cichy.regions)),
        "cross_region_matrix": c.values.tolist(),
    }

    castaldi = load_dataset("castaldi2019", task="both")
    c2 = cross_region_matrix(castaldi, metric)
    console.print(
        matrix_table(
            c2,
            f"Castaldi 2019 (taskBoth): brain-to-brain cross-region alignment "
            f"({metric}, {len(castaldi.subjects)} subjects, 18 conditions)",
        )
    )
    predictors = castaldi.attrs["models"]
    t = score_tensor(predictors, castaldi, metric=metric).isel(layer=0).mean("subject")
    console.print(
        f"[bold]Castaldi 2019: predictor RDMs vs each region ({metric}, mean over subjects)[/]"
    )
    table = Table(box=box.SIMPLE_HEAD)
    table.add_column("predictor", style="bold")
    for r in t.coords["region"].values:
        table.add_column(str(r), justify="right")
    for name, row in zip(t.coords["model"].values, t.values, strict=True):
        table.add_row(str(name), *(f"{v:.3f}" for v in row))
    console.print(table)
    best = {
        str(r): str(t.coords["model"].values[int(np.argmax(t.sel(region=r).values))])
        for r in t.coords["region"].values
    }
    console.print("Best predictor per region: " + ", ".join(f"{r}: {m}" for r, m in best.items()))
    results["datasets"]["castaldi2019"] = {
        "task": "both",
        "regions": list(map(str, castaldi.regions)),
        "cross_region_matrix": c2.values.tolist(),
        "predictor_scores": {
            str(m): dict(zip(map(str, t.coords["region"].values), map(float, row), strict=True))
            for m, row in zip(t.coords["model"].values, t.values, strict=True)
        },
        "best_predictor": best,
    }
    return results
