"""Figures and the HTML report of a study, drawn from its results table.

Modules
-------
drawing      what every figure shares: the panel, the figure record, files, colour scales
summary      the answer first: score against APS per model, and its verdicts in words
figures      the figure registry (report order) and the brain and per-model figures
comparisons  models compared: per-region dot plots, paired-difference matrices
geometry     RDMs and Procrustes-aligned MDS per region
cortex       cortex maps and the network-ordered matrix of a parcellated dataset
tables       the tables (long form, each with its CSV)
html         the self-contained page (Jinja2 template, autoescaped)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from crossalign.study.report.drawing import ReportFigure
from crossalign.study.report.figures import draw_figures, slug
from crossalign.study.report.html import render_report

__all__ = [
    "ReportFigure",
    "draw_figures",
    "parcellations",
    "render_report",
    "slug",
    "write_report",
]

from crossalign._version import __version__
from crossalign.citations import HOEFLING2026 as _APA
from crossalign.citations import SCHUETT2023 as _SCHUETT
from crossalign.io.datasets import DATASETS
from crossalign.io.outputs import write_atomic


def _citations(results: pd.DataFrame, config: Any) -> dict[str, str]:
    out = {"alignment patterns (APS)": _APA, "inference": _SCHUETT}
    used = {str(m).split(" [")[0] for m in results["metric"].dropna()}  # "pearson [norm_lower]"
    for metric in config.metric_objects():
        if metric.label in used:
            out[f"metric: {metric.name}"] = metric.citation
    for d in config.datasets:
        if d.path is None and d.name in DATASETS:
            out[f"dataset: {d.name}"] = DATASETS.get(d.name).citation
    return out


def write_report(
    results: pd.DataFrame, config: Any, out: Path, run_id: str
) -> tuple[dict[str, list[ReportFigure]], Path]:
    """Draw ``out/figures/*`` and write ``out/report.html``; return (figures, report path).

    Files are written atomically and never through a link planted in ``out``.

    Parameters
    ----------
    results : pandas.DataFrame
        The run's result rows.
    config : StudyConfig
    out : Path
        The output folder.
    run_id : str

    Returns
    -------
    tuple
    """
    figures = draw_figures(results, out / "figures", parcellations(config))
    html = render_report(
        results, _shown_config(config), figures, run_id, _citations(results, config), __version__
    )
    target = write_atomic(out / "report.html", lambda tmp: tmp.write_text(html, encoding="utf-8"))
    return figures, target


def parcellations(config: Any) -> dict[str, str]:
    """Dataset -> the parcellation its regions are parcels of: the dataset entry's
    ``parcellation``, else a ``parcellation`` option of its loader (a name or a file).

    Parameters
    ----------
    config : StudyConfig

    Returns
    -------
    dict
    """
    out = {}
    for d in config.datasets:
        given = getattr(d, "parcellation", None) or d.options.get("parcellation")
        if isinstance(given, str):
            out[d.key] = given
    return out


def _shown_config(config: Any) -> dict[str, Any]:
    """The config as it applies: each model with the fields its source uses."""
    shown = config.model_dump(mode="json", exclude_none=True)
    shown["models"] = [m.relevant() for m in config.models]
    shown["effective choices"] = config.effective_choices()
    if config.overrides():
        shown["overrides of the protocol"] = config.overrides()
    return shown
