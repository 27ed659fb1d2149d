"""Figures and the HTML report of a study, drawn from its results table."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from .figures import draw_figures, slug
from .html import render_report

__all__ = ["draw_figures", "render_report", "slug", "write_report"]

from ..citations import HOEFLING2026 as _APA
from ..citations import SCHUETT2023 as _SCHUETT


def _citations(results: pd.DataFrame, config: Any) -> dict[str, str]:
    from ..io.datasets import DATASETS
    from ..metrics import METRICS

    out = {"alignment patterns (APS)": _APA, "inference": _SCHUETT}
    for name in dict.fromkeys(results["metric"].dropna()):
        if name in METRICS:
            out[f"metric: {name}"] = METRICS.get(name).citation
    for d in config.datasets:
        if d.path is None and d.name in DATASETS:
            out[f"dataset: {d.name}"] = DATASETS.get(d.name).citation
    return out


def write_report(
    results: pd.DataFrame, config: Any, out: Path, run_id: str
) -> tuple[dict[str, list[tuple[str, Path]]], Path]:
    """Draw ``out/figures/*`` and write ``out/report.html``; return (figures, report path)."""
    from .. import __version__

    figures = draw_figures(results, out / "figures")
    html = render_report(
        results, config.model_dump(), figures, run_id, _citations(results, config), __version__
    )
    target = out / "report.html"
    tmp = target.with_suffix(".html.tmp")
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(target)
    return figures, target
