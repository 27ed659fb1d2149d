"""The report's answer first: per dataset and metric, each model's pointwise score against
its alignment pattern score (Hoefling et al. 2026, their central figure), beside the brain's
own APS and the noise ceiling, with the equivalence verdicts in words."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from crossalign.study.report.drawing import Panel, ReportFigure, draw_intervals, save_figure

__all__ = ["board", "brain_band", "ceiling_band", "draw_summary", "summary_text"]

#: Marker per paradigm, in order of first appearance.
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "h", "<", ">")

#: Colour per equivalence verdict: (key, legend label, colour).
VERDICTS = (
    ("double", "equivalent to the best on both", "#1b7837"),
    ("score", "equivalent on score only", "#2166ac"),
    ("aps", "equivalent on APS only", "#e08214"),
    ("neither", "equivalent on neither", "#8c8c8c"),
)


def board(res: pd.DataFrame) -> pd.DataFrame:
    """The leaderboard rows of one dataset and metric as one row per model.

    Parameters
    ----------
    res : pandas.DataFrame

    Returns
    -------
    pandas.DataFrame
        Index: model; columns: ``paradigm`` and the leaderboard statistics.
    """
    rows = res[res["analysis"] == "leaderboard"]
    if rows.empty:
        return pd.DataFrame()
    wide = rows.pivot_table(
        index="model", columns="statistic", values="value", aggfunc="first", dropna=False
    )
    stats = [f"{a}_{b}" for a in ("score", "aps") for b in ("mean", "low", "high")]
    wide = wide.reindex(columns=[*stats, "score_equivalent", "aps_equivalent", "double"])
    wide["paradigm"] = rows.groupby("model")["paradigm"].first()
    order = list(dict.fromkeys(rows["model"]))
    return wide.reindex(order)


def _region_mean(rows: pd.DataFrame, low: str, high: str) -> tuple[float, float] | None:
    piv = rows.pivot_table(index="region", columns="statistic", values="value", aggfunc="mean")
    if piv.empty or not {low, high} <= set(piv.columns) or piv[[low, high]].isna().all().all():
        return None
    return float(piv[low].mean()), float(piv[high].mean())


def brain_band(res: pd.DataFrame) -> tuple[float, float, float] | None:
    """The brain's APS, mean over regions: (mean, mean of the regions' lower bounds, mean of
    their upper bounds), or None when it is not stored.

    Parameters
    ----------
    res : pandas.DataFrame

    Returns
    -------
    tuple of float or None
    """
    rows = res[(res["analysis"] == "brain_aps") & res["model"].isna() & res["subject"].isna()]
    bounds = _region_mean(rows, "low", "high")
    means = rows[rows["statistic"] == "mean"]["value"]
    if bounds is None or means.isna().all():
        return None
    return float(means.mean()), *bounds


def ceiling_band(res: pd.DataFrame) -> tuple[float, float] | None:
    """The noise ceiling of the region-mean score on the test stimuli: the mean over regions
    of the lower and upper bounds (a region-mean score is bounded by their mean), or None.

    Parameters
    ----------
    res : pandas.DataFrame

    Returns
    -------
    tuple of float or None
    """
    rows = res[res["analysis"] == "noise_ceiling_test"]
    return _region_mean(rows, "lower", "upper")


def _verdict(row: pd.Series) -> str:
    score = row.get("score_equivalent") == 1
    aps = row.get("aps_equivalent") == 1
    return {(True, True): "double", (True, False): "score", (False, True): "aps"}.get(
        (bool(score), bool(aps)), "neither"
    )


def _names(models: list[str]) -> str:
    return ", ".join(models) if models else "none"


def summary_text(res: pd.DataFrame) -> list[str]:
    """What the summary figure says, in sentences: the best model on each criterion and
    which models are practically equivalent to it on score, on APS and on both.

    Parameters
    ----------
    res : pandas.DataFrame
        The rows of one dataset and metric.

    Returns
    -------
    list of str
        Empty when the dataset has no models.
    """
    b = board(res)
    if b.empty:
        return []
    out = []
    best = b["score_mean"].idxmax()
    eq = [m for m in b.index if b.loc[m, "score_equivalent"] == 1]
    out.append(
        f"Pointwise score: {best} is best ({b.loc[best, 'score_mean']:.3f}); equivalent to it: "
        f"{_names(eq)}."
    )
    if b["aps_mean"].notna().any():
        best_aps = b["aps_mean"].idxmax()
        eq_aps = [m for m in b.index if b.loc[m, "aps_equivalent"] == 1]
        both = [m for m in b.index if b.loc[m, "double"] == 1]
        out.append(
            f"Alignment pattern score: {best_aps} is best ({b.loc[best_aps, 'aps_mean']:.3f}); "
            f"equivalent to it: {_names(eq_aps)}. Equivalent on both: {_names(both)}."
        )
        band = brain_band(res)
        if band is not None:
            above = [m for m in b.index if b.loc[m, "aps_mean"] >= band[1]]
            out.append(
                f"The brain's own APS is {band[0]:.3f} (mean over regions, all stimuli); "
                f"models at or above its lower bound: {_names(above)}."
            )
    else:
        out.append("APS needs at least 3 regions; this dataset compares pointwise scores only.")
    out.extend(paradigm_text(res))
    return out


#: Paradigms whose models are trained on a task (not on brain data, not untrained).
TASK_TRAINED = ("supervised", "self-supervised", "language-aligned")


def paradigm_text(res: pd.DataFrame) -> list[str]:
    """The paradigm comparison in words: each paradigm's mean score and APS with CIs, and
    whether brain-predictive models close the APS gap that task-trained ones leave (their
    APS interval reaching the brain's own APS, and lying above the task-trained paradigms').

    Parameters
    ----------
    res : pandas.DataFrame
        The rows of one dataset and metric.

    Returns
    -------
    list of str
    """
    par = res[res["analysis"] == "paradigm"]
    if par.empty:
        return []
    v = par.pivot_table(index="paradigm", columns="statistic", values="value", aggfunc="first")
    parts = []
    for p in dict.fromkeys(par["paradigm"]):
        row = v.loc[p]
        text = f"{p} (n = {int(row.get('n_models', 0))}): score {row['score_mean']:.3f}"
        text += f" [{row['score_low']:.3f}, {row['score_high']:.3f}]"
        if np.isfinite(row.get("aps_mean", np.nan)):
            text += f", APS {row['aps_mean']:.3f} [{row['aps_low']:.3f}, {row['aps_high']:.3f}]"
        parts.append(text)
    out = ["Paradigms (means over models and regions, 95% CIs): " + "; ".join(parts) + "."]
    if "brain-predictive" in v.index and np.isfinite(
        v.loc["brain-predictive"].get("aps_mean", np.nan)
    ):
        out.append(_gap_sentence(v, brain_band(res)))
    return out


def _has_aps(v: pd.DataFrame, paradigm: str) -> bool:
    return bool(np.isfinite(v.loc[paradigm].get("aps_mean", np.nan)))


def _gap_sentence(v: pd.DataFrame, band: tuple[float, float, float] | None) -> str:
    bp = v.loc["brain-predictive"]
    task = [
        p for p in v.index if p in TASK_TRAINED and np.isfinite(v.loc[p].get("aps_mean", np.nan))
    ]
    above_task = all(bp["aps_low"] > v.loc[p, "aps_high"] for p in task) if task else None
    reaches = band is not None and bp["aps_high"] >= band[1]
    verdict = "close" if reaches else "do not close"
    text = (
        f"Brain-predictive models {verdict} the APS gap: their APS interval "
        f"{'reaches' if reaches else 'stays below'} the brain's own APS"
    )
    if above_task is not None:
        text += (
            f" and lies {'above' if above_task else 'not clearly above'} that of the "
            f"task-trained paradigms ({', '.join(task)})"
        )
    return text + "."


def _legend(ax: Any, paradigms: dict[str, str]) -> None:
    from matplotlib.lines import Line2D

    handles = [
        Line2D([], [], marker=m, ls="", color="0.3", label=f"{p}") for p, m in paradigms.items()
    ]
    handles += [Line2D([], [], marker="o", ls="", color=c, label=label) for _, label, c in VERDICTS]
    ax.legend(handles=handles, fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))


def _bands(ax: Any, res: pd.DataFrame, two_d: bool) -> None:
    """The noise ceiling (vertical band) and, with APS, the brain's APS (horizontal band)."""
    ceiling = ceiling_band(res)
    if ceiling is not None:
        ax.axvspan(*ceiling, color="0.88", zorder=0)
        ax.text(
            (ceiling[0] + ceiling[1]) / 2,
            0.01,
            "noise\nceiling",
            transform=ax.get_xaxis_transform(),
            fontsize=7,
            va="bottom",
            ha="center",
            color="0.35",
        )
    band = brain_band(res) if two_d else None
    if band is not None:
        ax.axhspan(band[1], band[2], color="#c6dbef", alpha=0.6, zorder=0)
        ax.axhline(band[0], color="#4292c6", lw=1)
        ax.text(
            0.0,
            band[0],
            " brain APS",
            transform=ax.get_yaxis_transform(),
            fontsize=7,
            va="bottom",
            color="#2171b5",
        )


def _point(
    ax: Any, k: int, model: str, row: pd.Series, paradigms: dict[str, str], two_d: bool
) -> None:
    """One model: its score (and APS) with intervals drawn as given (a degenerate bootstrap
    may leave the mean outside), coloured by verdict, marked by paradigm."""
    colour = {key: c for key, _, c in VERDICTS}[_verdict(row)]
    marker = paradigms[str(row["paradigm"])]
    if not two_d:
        piv = pd.DataFrame({s: [row[f"score_{s}"]] for s in ("mean", "low", "high")})
        draw_intervals(
            ax, np.array([k]), piv, model, horizontal=True, color=colour, marker=marker, ms=6
        )
        return
    x, y = row["score_mean"], row["aps_mean"]
    ax.hlines(y, row["score_low"], row["score_high"], colors=colour, lw=0.8)
    ax.vlines(x, row["aps_low"], row["aps_high"], colors=colour, lw=0.8)
    ax.plot(x, y, marker, color=colour, ms=6)
    ax.annotate(model, (x, y), fontsize=6.5, xytext=(4, 3), textcoords="offset points")


def draw_summary(p: Panel) -> list[ReportFigure]:
    """Score (x) against APS (y) per model with both CIs, the brain's APS band and the
    noise ceiling; when APS is undefined, the scores alone.

    Parameters
    ----------
    p : Panel

    Returns
    -------
    list of ReportFigure
    """
    import matplotlib.pyplot as plt

    b = board(p.res)
    if b.empty:
        return []
    paradigms = {
        str(x): MARKERS[i % len(MARKERS)] for i, x in enumerate(dict.fromkeys(b["paradigm"]))
    }
    two_d = bool(b["aps_mean"].notna().any())
    fig, ax = plt.subplots(figsize=(8.2, 5.2 if two_d else 0.28 * len(b) + 1.6))
    _bands(ax, p.res, two_d)
    order = b.sort_values("score_mean").index if not two_d else b.index
    for k, model in enumerate(order):
        _point(ax, k, str(model), b.loc[model], paradigms, two_d)
    if two_d:
        ax.set_ylabel("alignment pattern score (APS, mean over regions)", fontsize=8)
    else:
        ax.set_yticks(range(len(order)), [str(m) for m in order], fontsize=7)
    ax.set_xlabel(f"pointwise score ({p.metric}, mean over regions, test stimuli)", fontsize=8)
    ax.tick_params(labelsize=7)
    _legend(ax, paradigms)
    ax.set_title(
        f"{p.dataset}: score against alignment pattern score (95% CIs)"
        if two_d
        else f"{p.dataset}: pointwise scores (95% CIs)",
        fontsize=10,
    )
    fig.tight_layout()
    caption = (
        "Each model's pointwise score against its APS (means over regions, test stimuli, 95% "
        "subject-bootstrap CIs); blue band: the brain's own APS (mean over regions of the "
        "regions' 95% CIs, all stimuli); grey band: the noise ceiling of the score; colour: "
        "equivalence to the best model; marker: paradigm"
        if two_d
        else "Each model's pointwise score (mean over regions, test stimuli, 95% CIs); grey "
        "band: noise ceiling; colour: equivalence to the best model; marker: paradigm"
    )
    alt = f"Summary of {p.dataset} ({p.metric}): " + " ".join(summary_text(p.res))
    path = save_figure(fig, p.folder, f"summary_{p.tag}")
    return [ReportFigure(caption, path, "summary", alt)]
