"""The self-contained HTML report (no network, no CDN; every label escaped)."""

from __future__ import annotations

import base64
import json
from html import escape
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["render_report"]

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2em auto;
max-width:1150px;color:#222;line-height:1.45}
h1{font-size:1.6em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;margin:.6em 0;font-size:.85em}
th,td{border:1px solid #ddd;padding:.25em .5em;text-align:right}
th{background:#f4f4f4}td.label,th.label{text-align:left}
figure{margin:1em 0}figure img{max-width:100%;border:1px solid #eee}
figcaption{font-size:.85em;color:#555}
.heat rect:hover{stroke:#000;stroke-width:1.5}
pre{background:#f7f7f7;padding:1em;overflow:auto;font-size:.8em}
.note{color:#555;font-size:.9em}
"""


def _e(x: Any) -> str:
    return escape(str(x), quote=True)


def _fmt(v: float) -> str:
    return "–" if v is None or not np.isfinite(v) else f"{v:.3f}"


def _cell(v: float, **attrs: Any) -> str:
    data = " ".join(f'data-{k}="{_e(val)}"' for k, val in attrs.items() if val is not None)
    value = "" if v is None or not np.isfinite(v) else f' data-value="{float(v)!r}"'
    return f"<td {data}{value}>{_fmt(v)}</td>"


def _heatmap(matrix: pd.DataFrame, title: str) -> str:
    """An SVG heatmap; hovering a cell shows its regions and value (SVG <title>)."""
    regions = list(matrix.index)
    n = len(regions)
    cell, pad = 34, 70
    values = matrix.to_numpy(dtype=float)
    finite = values[np.isfinite(values)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    span = hi - lo or 1.0
    parts = [
        f'<svg class="heat" role="img" aria-label="{_e(title)}" width="{pad + n * cell + 10}"'
        f' height="{pad + n * cell + 10}" xmlns="http://www.w3.org/2000/svg">'
    ]
    for i, r in enumerate(regions):
        parts.append(
            f'<text x="{pad - 4}" y="{pad + i * cell + cell / 2 + 4}" font-size="10" '
            f'text-anchor="end">{_e(r)}</text>'
        )
        parts.append(
            f'<text transform="translate({pad + i * cell + cell / 2 + 3},{pad - 4}) '
            f'rotate(-60)" font-size="10">{_e(r)}</text>'
        )
        for j, q in enumerate(regions):
            v = values[i, j]
            t = 0.5 if not np.isfinite(v) else (v - lo) / span
            color = f"rgb({int(68 + 185 * t)},{int(1 + 200 * t)},{int(84 + 60 * (1 - t))})"
            parts.append(
                f'<rect x="{pad + j * cell}" y="{pad + i * cell}" width="{cell - 1}" '
                f'height="{cell - 1}" fill="{color}"><title>{_e(r)} → {_e(q)}: {_fmt(v)}'
                f"</title></rect>"
            )
    parts.append("</svg>")
    return "".join(parts)


def _table(res: pd.DataFrame, analysis: str, models: list[str], regions: list[str]) -> str:
    rows = res[(res["analysis"] == analysis) & res["statistic"].isin(["mean", "low", "high"])]
    head = "".join(f'<th colspan="3">{_e(r)}</th>' for r in regions)
    sub = "".join("<th>mean</th><th>low</th><th>high</th>" for _ in regions)
    body = []
    for model in models:
        cells = []
        for region in regions:
            for stat in ("mean", "low", "high"):
                hit = rows[
                    (rows["model"] == model)
                    & (rows["region"] == region)
                    & (rows["statistic"] == stat)
                ]
                v = float(hit["value"].iloc[0]) if len(hit) else float("nan")
                cells.append(
                    _cell(v, analysis=analysis, model=model, region=region, statistic=stat)
                )
        body.append(f'<tr><td class="label">{_e(model)}</td>{"".join(cells)}</tr>')
    return (
        f'<table data-table="{_e(analysis)}"><tr><th class="label" rowspan="2">model</th>'
        f"{head}</tr><tr>{sub}</tr>{''.join(body)}</table>"
    )


def _img(path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode()
    return f'<img alt="{_e(path.stem)}" src="data:image/png;base64,{data}">'


def render_report(
    results: pd.DataFrame,
    config: dict[str, Any],
    figures: dict[str, list[tuple[str, Path]]],
    run_id: str,
    citations: dict[str, str],
    version: str,
) -> str:
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>crossalign report: {_e(config.get('name', 'study'))}</title>",
        f"<style>{CSS}</style></head><body>",
        f"<h1>crossalign report: {_e(config.get('name', 'study'))}</h1>",
        f"<p class='note'>Run <code>{_e(run_id)}</code>, crossalign {_e(version)}. Every "
        "number below is read from <code>results.duckdb</code> in this folder (query it with "
        "<code>crossalign results</code>).</p>",
    ]
    for (dataset, metric), res in results.groupby(["dataset", "metric"], sort=False):
        brain = res[res["analysis"] == "cross_region_matrix"]
        regions = list(dict.fromkeys(brain["region"]))
        models = list(dict.fromkeys(res.loc[res["analysis"] == "score", "model"].dropna()))
        parts.append(f"<h2>{_e(dataset)} — {_e(metric)}</h2>")
        matrix = brain.pivot_table(
            index="region", columns="target_region", values="value", aggfunc="first"
        ).reindex(index=regions, columns=regions)
        parts.append(
            "<h3>Brain-to-brain cross-region alignment</h3><p class='note'>Mean over "
            "ordered pairs of different subjects; the diagonal is the cross-subject "
            "reliability of each region. Hover a cell for its value.</p>"
        )
        parts.append(_heatmap(matrix, f"{dataset} brain cross-region matrix"))
        cells = "".join(
            f'<tr><td class="label">{_e(r)}</td>'
            + "".join(
                _cell(
                    float(matrix.loc[r, q]),
                    analysis="cross_region_matrix",
                    region=r,
                    target_region=q,
                )
                for q in regions
            )
            + "</tr>"
            for r in regions
        )
        parts.append(
            f'<table data-table="cross_region_matrix"><tr><th class="label">region'
            f"</th>{''.join(f'<th>{_e(q)}</th>' for q in regions)}</tr>{cells}</table>"
        )
        nc = res[res["analysis"] == "noise_ceiling"]
        if not nc.empty:
            rows = "".join(
                f'<tr><td class="label">{_e(r)}</td>'
                + "".join(
                    _cell(
                        float(nc[(nc["region"] == r) & (nc["statistic"] == b)]["value"].iloc[0]),
                        analysis="noise_ceiling",
                        region=r,
                        statistic=b,
                    )
                    for b in ("lower", "upper")
                )
                + "</tr>"
                for r in regions
            )
            parts.append(
                "<h3>Noise ceilings (all stimuli)</h3><table data-table='noise_ceiling'>"
                f"<tr><th class='label'>region</th><th>lower</th><th>upper</th></tr>"
                f"{rows}</table>"
            )
        parts.append(_warnings(res))
        parts.append(_paired(res))
        if models:
            parts.append("<h3>Models: pointwise score (test stimuli, 95% CI)</h3>")
            parts.append(_table(res, "score", models, regions))
            if res.loc[res["analysis"] == "aps", "value"].notna().any():
                parts.append("<h3>Models: alignment pattern score, APS (test stimuli, 95% CI)</h3>")
                parts.append(_table(res, "aps", models, regions))
                parts.append("<h3>Brain APS, the yardstick (all stimuli, 95% CI)</h3>")
                parts.append(
                    _table(
                        res.assign(model=res["model"].fillna("brain")),
                        "brain_aps",
                        ["brain"],
                        regions,
                    )
                )
            else:
                parts.append(
                    "<p class='note'>APS needs at least 3 regions (a pattern over 2 "
                    "target regions has no correlation to speak of); this dataset "
                    "reports pointwise scores and matrices.</p>"
                )
            sel = res[res["analysis"] == "selected_layer"]
            rows = "".join(
                f'<tr><td class="label">{_e(m)}</td>'
                + "".join(f'<td class="label">{_e(_first(sel, m, r))}</td>' for r in regions)
                + "</tr>"
                for m in models
            )
            parts.append(
                "<h3>Layers selected on training stimuli</h3><table "
                "data-table='selected_layer'><tr><th class='label'>model</th>"
                f"{''.join(f'<th>{_e(r)}</th>' for r in regions)}</tr>{rows}</table>"
            )
        par = res[res["analysis"] == "paradigm"]
        if not par.empty:
            rows = []
            for paradigm in dict.fromkeys(par["paradigm"]):
                sub = par[par["paradigm"] == paradigm].set_index("statistic")["value"]
                cells = "".join(
                    _cell(
                        float(sub.get(f"{stat}_{part}", np.nan)),
                        analysis="paradigm",
                        paradigm=paradigm,
                        statistic=f"{stat}_{part}",
                    )
                    for stat in ("score", "aps")
                    for part in ("mean", "low", "high")
                )
                rows.append(
                    f'<tr><td class="label">{_e(paradigm)}</td>'
                    f"<td>{int(sub.get('n_models', 0))}</td>{cells}</tr>"
                )
            parts.append(
                "<h3>Paradigms (the seed's comparison: mean over models and regions, "
                "test stimuli, 95% CI)</h3><table data-table='paradigm'><tr><th "
                "class='label' rowspan='2'>paradigm</th><th rowspan='2'>models</th>"
                "<th colspan='3'>score</th><th colspan='3'>APS</th></tr><tr>"
                + "<th>mean</th><th>low</th><th>high</th>" * 2
                + "</tr>"
                + "".join(rows)
                + "</table>"
            )
        for caption, path in figures.get(f"{dataset} ({metric})", []):
            parts.append(f"<figure>{_img(path)}<figcaption>{_e(caption)}</figcaption></figure>")
    parts.append("<h2>Methods</h2>" + METHODS)
    parts.append("<h2>References</h2>")
    for key, bib in citations.items():
        parts.append(f"<h4>{_e(key)}</h4><pre>{_e(bib)}</pre>")
    parts.append(
        "<h2>Configuration</h2><pre>"
        + _e(json.dumps(config, indent=2, default=str))
        + "</pre></body></html>"
    )
    return "\n".join(parts)


def _paired(res: pd.DataFrame) -> str:
    """Paired model comparisons: difference (first minus second), CI and permutation p."""
    rows = res[res["analysis"].isin(["paired_score", "paired_aps"])]
    if rows.empty:
        return ""
    wide = rows.pivot_table(
        index=["model", "other_model", "region"],
        columns=["analysis", "statistic"],
        values="value",
        aggfunc="first",
        sort=False,
    )
    body = []
    for (a, b, region), row in wide.iterrows():
        cells = "".join(
            _cell(
                float(row.get((f"paired_{stat}", part), np.nan)),
                analysis=f"paired_{stat}",
                model=a,
                other_model=b,
                region=region,
                statistic=part,
            )
            for stat in ("score", "aps")
            for part in ("difference", "low", "high", "p_value")
        )
        body.append(
            f'<tr><td class="label">{_e(a)}</td><td class="label">{_e(b)}</td>'
            f'<td class="label">{_e(region)}</td>{cells}</tr>'
        )
    head = "<th>difference</th><th>low</th><th>high</th><th>p</th>" * 2
    return (
        "<h3>Paired comparisons (same subjects; first minus second; 95% CI; two-sided "
        "sign-flip permutation p)</h3><table data-table='paired_comparison'><tr>"
        "<th class='label' rowspan='2'>model</th><th class='label' rowspan='2'>vs</th>"
        "<th class='label' rowspan='2'>region</th><th colspan='4'>score</th>"
        f"<th colspan='4'>APS</th></tr><tr>{head}</tr>{''.join(body)}</table>"
    )


def _warnings(res: pd.DataFrame) -> str:
    """The reliability flags stored with the results, with the reason for each."""
    unreliable = res[(res["statistic"] == "unreliable") & (res["value"] > 0)]
    flagged = res[(res["statistic"] == "degenerate") & (res["value"] > 0)]
    if flagged.empty and unreliable.empty:
        return ""
    items = [
        f"<li>noise ceiling ({_e(r)}): its lower bound is not above 0; the subjects do not agree "
        "there beyond chance, so no score in this region can be interpreted.</li>"
        for r in unreliable["region"]
    ]
    if flagged.empty:
        return (
            "<h3>Warnings</h3><div class='note' data-table='warnings'><ul>"
            + "".join(items)
            + "</ul></div>"
        )
    kept = res[res["statistic"] == "kept_fraction"].set_index(["analysis", "model", "region"])
    subjects = res.loc[res["analysis"].isin(["brain_aps", "score"]), "subject"].dropna().nunique()
    for _, row in flagged.iterrows():
        key = (row["analysis"], row["model"], row["region"])
        frac = float(kept["value"].get(key, np.nan)) if key in kept.index else np.nan
        why = (
            f"only {frac:.0%} of the bootstrap resamples define it"
            if np.isfinite(frac) and frac < 0.5
            else "every resample gave the same value (zero width)"
        )
        who = f"{row['model']}, " if isinstance(row["model"], str) else ""
        items.append(
            f"<li>{_e(row['analysis'].replace('_', ' '))} ({_e(who)}{_e(row['region'])}): "
            f"{_e(why)}.</li>"
        )
    return (
        "<h3>Warnings</h3><div class='note' data-table='warnings'><p>These intervals are "
        f"degenerate and should not be read as uncertainty estimates. With {subjects} "
        "subjects, a subject resample defines APS only when it draws at least 3 distinct "
        "subjects, and few distinct resamples exist: more subjects are needed.</p><ul>"
        + "".join(items)
        + "</ul></div>"
    )


def _first(rows: pd.DataFrame, model: str, region: str) -> str:
    hit = rows[(rows["model"] == model) & (rows["region"] == region)]
    return str(hit["layer"].iloc[0]) if len(hit) else "–"


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
seed's less strict test.</p>
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
