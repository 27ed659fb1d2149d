"""The report's tables, built from the results table: one row per label combination (long
form, so a table is as wide as its statistics, not as its regions), each cell carrying the
labels of the database row it shows, and each table with a CSV of the same numbers."""

from __future__ import annotations

import base64
import csv
import io
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["Table", "section_tables"]


class Table(dict):
    """One table of the report: ``id``, ``title``, ``columns`` (label, is-label-column),
    ``rows`` (lists of cells: ``value``, ``text``, ``attrs``, ``label``), ``csv`` (base64)
    and ``filename``. A plain dict, so the template reads it by key.

    Parameters
    ----------
    id : str
        The analysis the table shows (``data-table``).
    title : str
    columns : list of (str, bool)
        Column label and whether the column holds labels rather than values.
    rows : list of list of dict
    filename : str
        Name of the CSV download.
    shown : list of list of dict, optional
        The rows shown on the page when they are fewer than the CSV's (default: all).
    """

    def __init__(
        self,
        id: str,
        title: str,
        columns: list[tuple[str, bool]],
        rows: list,
        filename: str,
        shown: list | None = None,
    ) -> None:
        super().__init__(
            id=id,
            title=title,
            columns=[{"label": c, "label_col": lab} for c, lab in columns],
            rows=rows if shown is None else shown,
            n_csv=len(rows),
            filename=filename,
            csv=_csv(columns, rows),
        )


def _csv(columns: list[tuple[str, bool]], rows: list) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([c for c, _ in columns])
    for row in rows:
        writer.writerow(
            [
                c["text"] if c["label"] else ("" if c["value"] is None else repr(c["value"]))
                for c in row
            ]
        )
    return base64.b64encode(buffer.getvalue().encode("utf-8")).decode()


def _label(text: Any) -> dict:
    return {"value": None, "text": "" if text is None else str(text), "attrs": {}, "label": True}


def _cell(value: float | None, **attrs: Any) -> dict:
    return {"value": value, "text": "", "attrs": attrs, "label": False}


def _finite(value: Any) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if np.isfinite(v) else None


def _lookup(rows: pd.DataFrame, keys: list[str]) -> dict[tuple, float | None]:
    """(key columns...) -> value, NaN labels as None."""
    frame = rows[[*keys, "value"]].astype(object).where(rows[[*keys, "value"]].notna(), None)
    return {tuple(r[:-1]): _finite(r[-1]) for r in frame.itertuples(index=False, name=None)}


def _all_empty(rows: list) -> bool:
    return all(c["value"] is None for row in rows for c in row if not c["label"])


def _interval(res: pd.DataFrame, analysis: str, title: str, tag: str, brain: bool) -> Table | None:
    rows = res[(res["analysis"] == analysis) & res["statistic"].isin(["mean", "low", "high"])]
    if brain:
        rows = rows[rows["model"].isna() & rows["subject"].isna()]
    values = _lookup(rows, ["model", "region", "statistic"])
    owners = [None] if brain else list(dict.fromkeys(rows["model"].dropna()))
    regions = list(dict.fromkeys(rows["region"].dropna()))
    body = []
    for model in owners:
        name = "brain" if model is None else model
        for region in regions:
            cells = [
                _cell(
                    values.get((model, region, s)),
                    analysis=analysis,
                    model=name,
                    region=region,
                    statistic=s,
                )
                for s in ("mean", "low", "high")
            ]
            body.append([_label(name), _label(region), *cells])
    if not body or _all_empty(body):
        return None
    columns = [
        ("model", True),
        ("region", True),
        ("mean", False),
        ("95% low", False),
        ("95% high", False),
    ]
    return Table(analysis, title, columns, body, f"{analysis}_{tag}.csv")


def _matrix(res: pd.DataFrame, regions: list[str], tag: str) -> Table | None:
    values = _lookup(res[res["analysis"] == "cross_region_matrix"], ["region", "target_region"])
    body = [
        [
            _label(r),
            *(
                _cell(values.get((r, q)), analysis="cross_region_matrix", region=r, target_region=q)
                for q in regions
            ),
        ]
        for r in regions
    ]
    if not body or _all_empty(body):
        return None
    columns = [("region", True), *((q, False) for q in regions)]
    title = "Brain-to-brain cross-region matrix (all stimuli)"
    return Table("cross_region_matrix", title, columns, body, f"cross_region_matrix_{tag}.csv")


def _ceiling(res: pd.DataFrame, regions: list[str], tag: str) -> Table | None:
    values = _lookup(res[res["analysis"] == "noise_ceiling"], ["region", "statistic"])
    body = [
        [
            _label(r),
            *(
                _cell(values.get((r, b)), analysis="noise_ceiling", region=r, statistic=b)
                for b in ("lower", "upper")
            ),
        ]
        for r in regions
    ]
    if not body or _all_empty(body):
        return None
    columns = [("region", True), ("lower", False), ("upper", False)]
    return Table(
        "noise_ceiling", "Noise ceilings (all stimuli)", columns, body, f"noise_ceiling_{tag}.csv"
    )


def _layers(res: pd.DataFrame, tag: str) -> Table | None:
    sel = res[res["analysis"] == "selected_layer"]
    if sel.empty:
        return None
    body = [
        [_label(m), _label(r), _label(la)]
        for m, r, la in zip(sel["model"], sel["region"], sel["layer"], strict=True)
    ]
    columns = [("model", True), ("region", True), ("layer", True)]
    return Table(
        "selected_layer",
        "Layers selected on training stimuli",
        columns,
        body,
        f"selected_layer_{tag}.csv",
    )


_PAIRED_STATS = ("difference", "low", "high", "p_value")
#: The region label of a paired comparison of the means over regions.
MEAN_LABEL = "mean over regions"


def _paired(res: pd.DataFrame, tag: str) -> Table | None:
    rows = res[res["analysis"].isin(["paired_score", "paired_aps"])]
    if rows.empty:
        return None
    values = _lookup(rows, ["analysis", "model", "other_model", "region", "statistic"])
    body = []
    for (a, b, region), _ in rows.groupby(
        ["model", "other_model", "region"], sort=False, dropna=False
    ):
        region = None if pd.isna(region) else region
        where = {} if region is None else {"region": region}
        cells = [
            _cell(
                values.get((f"paired_{stat}", a, b, region, part)),
                analysis=f"paired_{stat}",
                model=a,
                other_model=b,
                statistic=part,
                **where,
            )
            for stat in ("score", "aps")
            for part in _PAIRED_STATS
        ]
        body.append([_label(a), _label(b), _label(region or MEAN_LABEL), *cells])
    columns = [("model", True), ("vs", True), ("region", True)] + [
        (f"{stat} {part.replace('_', '-')}", False)
        for stat in ("score", "APS")
        for part in _PAIRED_STATS
    ]
    title = "Paired comparisons (same subjects; first minus second; 95% CI; sign-flip p)"
    means = [row for row in body if row[2]["text"] == MEAN_LABEL]
    if means and len(means) < len(body):  # per region: in the CSV and the figures
        title = f"{title}, mean over regions; the CSV has every region"
    return Table("paired_comparison", title, columns, body, f"paired_{tag}.csv", means or None)


def _paradigms(res: pd.DataFrame, tag: str) -> Table | None:
    par = res[res["analysis"] == "paradigm"]
    if par.empty:
        return None
    values = _lookup(par, ["paradigm", "statistic"])
    stats = [f"{s}_{part}" for s in ("score", "aps") for part in ("mean", "low", "high")]
    body = [
        [
            _label(p),
            _label(int(values.get((p, "n_models")) or 0)),
            *(
                _cell(values.get((p, s)), analysis="paradigm", paradigm=p, statistic=s)
                for s in stats
            ),
        ]
        for p in dict.fromkeys(par["paradigm"])
    ]
    if _all_empty(body):
        return None
    columns = [("paradigm", True), ("models", True), *((s.replace("_", " "), False) for s in stats)]
    title = "Paradigms (mean over models and regions, test stimuli, 95% CI)"
    return Table("paradigm", title, columns, body, f"paradigm_{tag}.csv")


def section_tables(res: pd.DataFrame, regions: list[str], tag: str) -> list[Table]:
    """Every table of one dataset and metric; a table with no value at all is left out.

    Parameters
    ----------
    res : pandas.DataFrame
        The rows of one dataset and metric.
    regions : list of str
    tag : str
        File-name stem of the dataset and metric.

    Returns
    -------
    list of Table
    """
    tables = [
        _matrix(res, regions, tag),
        _ceiling(res, regions, tag),
        _interval(res, "brain_aps", "Brain APS, the yardstick (all stimuli, 95% CI)", tag, True),
        _interval(res, "score", "Models: pointwise score (test stimuli, 95% CI)", tag, False),
        _interval(res, "aps", "Models: alignment pattern score (test stimuli, 95% CI)", tag, False),
        _layers(res, tag),
        _paired(res, tag),
        _paradigms(res, tag),
    ]
    return [t for t in tables if t is not None]
