"""The self-contained HTML report, rendered from the results table with a Jinja2 template
(``templates/report.html.j2``, autoescaping on: every label is escaped). No network resource
is used; the only script sorts the leaderboard."""

from __future__ import annotations

import base64
import csv
import io
import json
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from crossalign.io.outputs import slug
from crossalign.study.report.drawing import ReportFigure
from crossalign.study.report.summary import summary_text
from crossalign.study.report.tables import section_tables

__all__ = ["render_report"]

CSS = """
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:1.5em auto;
max-width:1150px;padding:0 1em;color:#222;line-height:1.45}
h1{font-size:1.6em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:1.8em}
nav ol{columns:2;font-size:.9em}
.scroll{overflow-x:auto;max-width:100%}
table{border-collapse:collapse;margin:.4em 0;font-size:.85em}
th,td{border:1px solid #ddd;padding:.2em .5em;text-align:right}
th{background:#f4f4f4}td.label,th.label{text-align:left}
.figs{display:flex;flex-wrap:wrap;gap:.5em 1.5em;align-items:flex-start}
figure{margin:.6em 0;max-width:100%}figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{font-size:.82em;color:#555;max-width:60em}
details{margin:.5em 0;border:1px solid #e4e4e4;border-radius:4px;padding:.3em .8em}
summary{cursor:pointer;font-weight:600}
pre{background:#f7f7f7;padding:1em;overflow:auto;font-size:.8em}
.note{color:#555;font-size:.9em}.answer{font-size:1.02em;max-width:60em}
a.csv{font-weight:normal;font-size:.85em;margin-left:.6em}
@media print{nav,a.csv{display:none}details{border:none}body{max-width:none}}
"""


def _fmt(v: Any) -> str:
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return "–"
    if isinstance(v, bool):
        return "yes" if v else "no"
    return f"{v:.3f}" if isinstance(v, float) else str(v)


def _environment() -> Any:
    from jinja2 import Environment, PackageLoader, select_autoescape

    env = Environment(
        loader=PackageLoader("crossalign.study.report", "templates"),
        autoescape=select_autoescape(["html", "j2"], default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["fmt"] = _fmt
    return env


def _value(rows: pd.DataFrame, **where: Any) -> float | None:
    for col, value in where.items():
        rows = rows[rows[col] == value]
    if rows.empty or not np.isfinite(float(rows["value"].iloc[0])):
        return None
    return float(rows["value"].iloc[0])


def _warnings(res: pd.DataFrame) -> tuple[list[str], bool]:
    """The reliability flags stored with the results, each with its reason."""
    items = [
        f"noise ceiling ({r}): its lower bound is not above 0; the subjects do not agree there "
        "beyond chance, so no score in this region can be interpreted."
        for r in res[(res["statistic"] == "unreliable") & (res["value"] > 0)]["region"]
    ]
    flagged = res[(res["statistic"] == "degenerate") & (res["value"] > 0)]
    kept = res[res["statistic"] == "kept_fraction"]
    for _, row in flagged.iterrows():
        frac = _value(
            kept,
            analysis=row["analysis"],
            region=row["region"],
            **({"model": row["model"]} if isinstance(row["model"], str) else {}),
        )
        why = (
            f"only {frac:.0%} of the bootstrap resamples define it"
            if frac is not None and frac < 0.5
            else "every resample gave the same value (zero width)"
        )
        who = f"{row['model']}, " if isinstance(row["model"], str) else ""
        items.append(f"{row['analysis'].replace('_', ' ')} ({who}{row['region']}): {why}.")
    return items, not flagged.empty


#: The collapsed figure groups of a section: (group, title).
GROUPS = (
    ("cortex", "Cortex maps per model"),
    ("models", "Per model: cross-region matrices and alignment patterns"),
    ("paired", "Paired comparisons per region"),
    ("layers", "Layer profiles"),
    ("geometry", "Geometry: RDMs and MDS per region"),
)


def _figure(f: ReportFigure) -> dict[str, Any]:
    if f.path is None:
        return {"note": f.caption}
    data = Path(f.path).read_bytes()
    width, height = struct.unpack(">II", data[16:24])  # the PNG header's IHDR
    return {
        "alt": f.alt or f.caption,
        "caption": f.caption,
        "data": base64.b64encode(data).decode(),
        "width": width,
        "height": height,
    }


def _section(dataset: str, metric: str, res: pd.DataFrame, figures: list) -> dict[str, Any]:
    brain = res[res["analysis"] == "cross_region_matrix"]
    regions = list(dict.fromkeys(brain["region"]))
    warnings_, degenerate = _warnings(res)
    cells = res[(res["analysis"] == "cells") & (res["value"] == 0)]
    tag = f"{slug(dataset)}_{slug(metric)}"
    by_group: dict[str, list] = {}
    for f in figures:
        by_group.setdefault(f.group, []).append(_figure(f))
    return {
        "dataset": dataset,
        "metric": metric,
        "anchor": f"section-{tag}",
        "answer": summary_text(res),
        "summary": by_group.get("summary", []),
        "main": by_group.get("main", []),
        "groups": [
            {"title": title, "figures": by_group[g]} for g, title in GROUPS if by_group.get(g)
        ],
        "tables": section_tables(res, regions, tag),
        "warnings": warnings_,
        "missing_cells": [f"{r['subject']} / {r['region']}" for _, r in cells.iterrows()],
        "degenerate": degenerate,
        "n_subjects": res.loc[res["analysis"].isin(["brain_aps", "score"]), "subject"]
        .dropna()
        .nunique(),
    }


#: Leaderboard columns: (key, label, numeric)
_BOARD = (
    ("dataset", "dataset", False),
    ("metric", "metric", False),
    ("model", "model", False),
    ("paradigm", "paradigm", False),
    ("weights", "weights", False),
    ("family", "family", False),
    ("training_data", "training data", False),
    ("score_mean", "score", True),
    ("score_low", "score low", True),
    ("score_high", "score high", True),
    ("aps_mean", "APS", True),
    ("aps_low", "APS low", True),
    ("aps_high", "APS high", True),
    ("score_equivalent", "score equivalent", True),
    ("aps_equivalent", "APS equivalent", True),
    ("double", "double", True),
)


def _leaderboard(results: pd.DataFrame, config: dict[str, Any]) -> dict[str, Any] | None:
    rows = results[results["analysis"] == "leaderboard"]
    if rows.empty:
        return None
    info = {m.get("name"): m for m in config.get("models", [])}
    out = []
    for (dataset, metric, model), sub in rows.groupby(["dataset", "metric", "model"], sort=False):
        row: dict[str, Any] = {"dataset": dataset, "metric": metric, "model": model}
        row["paradigm"] = sub["paradigm"].iloc[0]
        tags = [str(t) for t in sub.get("weights", pd.Series(dtype=object)).dropna()]
        row["weights"] = tags[0] if tags else ""  # the weights' tag, if any
        for key in ("family", "training_data"):  # metadata from the study's models
            row[key] = info.get(model, {}).get(key) or ""
        for key, _, _numeric in _BOARD[7:]:
            row[key] = _value(sub, statistic=key)
        out.append(row)
    out.sort(key=lambda r: -(r["score_mean"] if r["score_mean"] is not None else -np.inf))
    flags = {"score_equivalent", "aps_equivalent", "double"}
    columns = [{"key": k, "label": la, "numeric": n, "flag": k in flags} for k, la, n in _BOARD]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([k for k, _, _ in _BOARD])
    for row in out:
        writer.writerow(["" if row[k] is None else row[k] for k, _, _ in _BOARD])
    data = base64.b64encode(buffer.getvalue().encode("utf-8")).decode()
    return {"columns": columns, "rows": out, "csv": data}


def render_report(
    results: pd.DataFrame,
    config: dict[str, Any],
    figures: dict[str, list[ReportFigure]],
    run_id: str,
    citations: dict[str, str],
    version: str,
) -> str:
    """The report as one HTML string (figures embedded, no network resource): the summary
    first, then the sortable leaderboard, then per dataset and metric its figures, with the
    per-model figures and the tables (each with its CSV) in collapsed sections.

    Parameters
    ----------
    results : pandas.DataFrame
    config : dict
        The study config as plain data.
    figures : dict
        From :func:`crossalign.study.report.figures.draw_figures`.
    run_id : str
    citations : dict
        BibTeX by key.
    version : str
        The crossalign version.

    Returns
    -------
    str
    """
    sections = [
        _section(str(dataset), str(metric), res, figures.get(f"{dataset} ({metric})", []))
        for (dataset, metric), res in results.groupby(["dataset", "metric"], sort=False)
    ]
    return (
        _environment()
        .get_template("report.html.j2")
        .render(
            study=config.get("name", "study"),
            css=CSS,
            run_id=run_id,
            version=version,
            leaderboard=_leaderboard(results, config),
            sections=sections,
            methods=METHODS,
            citations=citations,
            config=json.dumps(config, indent=2, default=str),
        )
    )


METHODS = """
<p>For every pair of representations crossalign computes an alignment score M (here an RSA
comparator between representational dissimilarity matrices, RDMs: 1 - Pearson correlation of
response patterns, compared by rank correlation of their upper triangles; Kriegeskorte et al.
2008; Nili et al. 2014). Each representation is prepared once and all pairs are scored with
one matrix product.</p>
<p><b>Cross-region matrix.</b> C[r, q] is the mean over ordered pairs of different subjects
s != t of M(X[s, r], X[t, q]). A model with a layer assigned to each region has its own matrix
M(F[l(r)], F[l(q)]) and a model-to-brain matrix mean_s M(F[l(r)], X[s, q]). Comparing brain
and model matrices (correlation of their entries, region-label permutation test) is the
paper's less strict test.</p>
<p><b>Alignment patterns and APS</b> (Hoefling et al. 2026). The pattern of region r from
subject a to subject b is AP[a-&gt;b](r) = [M(X[a, r], X[b, q])] over target regions q. For a
held-out subject s the reference is the mean pattern over pairs a != b not involving s, and
APS_brain(r, s) is the mean over a != s of corr(reference, AP[a-&gt;s](r)). A model layer
standing in for r has the pattern [M(F[l], X[s, q])]_q and APS_model(r, s) = mean over a != s
of corr(AP[m,l](s), AP[a-&gt;s](r)).</p>
<p><b>Layer selection</b> happens on a seeded training half of the stimuli; every score and
APS is reported on the held-out test half. <b>Noise ceilings</b> are leave-one-subject-out
(lower) and all-subjects (upper) RDM averages (Nili et al. 2014). <b>Confidence
intervals</b> are percentile intervals of subject bootstraps (1000 resamples by default)
that re-index the precomputed score tensor; a subject drawn twice never pairs with itself.
<b>Equivalence</b>: a model is practically equivalent to the best one when its mean lies at
or above the best model's lower CI bound; the double criterion asks this of both the
pointwise score and APS.</p>
"""
