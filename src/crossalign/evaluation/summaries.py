"""Summaries over evaluations: the leaderboard and the paradigm summary."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import xarray as xr

from crossalign.data.labels import coord
from crossalign.errors import InputError
from crossalign.stats.equivalence import equivalence
from crossalign.stats.resampling import percentile_ci

__all__ = [
    "leaderboard",
    "paradigm_summary",
]


def leaderboard(evaluations: Mapping[Any, xr.Dataset], level: float = 0.95) -> xr.Dataset:
    """Models ranked on their means over regions: Dataset (model).

    Per model, the mean over regions of the pointwise score and of APS, with percentile CIs
    from the same bootstrap resamples (each resample's mean over regions), and the
    equivalence analysis on these means: ``score_equivalent`` (mean at or above the best
    model's lower bound), ``aps_equivalent`` and ``double`` (both).

    Parameters
    ----------
    evaluations : mapping
        ``{model: evaluate_model(...) Dataset}``, all with the same bootstrap.
    level : float
        The confidence level.

    Returns
    -------
    xarray.Dataset
    """
    names = list(evaluations)
    if not names or any("samples" not in evaluations[n] for n in names):
        raise InputError(
            "A leaderboard needs evaluations with bootstrap samples (n_bootstrap > 0)."
        )
    out: dict[str, list[float]] = {}
    with warnings.catch_warnings():  # an undefined APS (too few regions) stays NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        for stat in ("score", "aps"):
            means = [float(np.nanmean(evaluations[n][f"{stat}_mean"].values)) for n in names]
            per_sample = [
                np.nanmean(evaluations[n]["samples"].sel(statistic=stat).values, axis=1)
                for n in names
            ]
            bounds = [percentile_ci(x, level) for x in per_sample]
            out[f"{stat}_mean"] = means
            out[f"{stat}_low"] = [float(b[0]) for b in bounds]
            out[f"{stat}_high"] = [float(b[1]) for b in bounds]
            defined = [i for i, m in enumerate(means) if np.isfinite(m)]
            eq = equivalence(
                {names[i]: means[i] for i in defined},
                {names[i]: out[f"{stat}_low"][i] for i in defined},
            )
            # 1 / 0, or NaN where the statistic is undefined (APS with too few regions)
            out[f"{stat}_equivalent"] = [float(eq[n]) if n in eq else np.nan for n in names]
    out["double"] = [
        a * b for a, b in zip(out["score_equivalent"], out["aps_equivalent"], strict=True)
    ]
    return xr.Dataset({k: ("model", v) for k, v in out.items()}, coords={"model": coord(names)})


def paradigm_summary(
    evaluations_by_paradigm: Mapping[str, Mapping[Any, xr.Dataset]],
    *,
    level: float = 0.95,
) -> xr.Dataset:
    """Per-paradigm means of pointwise score and APS, with bootstrap CIs.

    ``evaluations_by_paradigm`` maps a paradigm ("supervised", "self-supervised", "untrained",
    "hand-built", ...) to its models' :func:`~crossalign.evaluate_model` results. The paradigm
    value is the mean over its models and over regions; its CI comes from the models' paired
    bootstrap samples (same subjects, seed and resample count are required), averaged the same
    way, so a paradigm's CI reflects subject sampling, not only the spread across models.

    Parameters
    ----------
    evaluations_by_paradigm : mapping
        ``{paradigm: {model: Dataset}}``.
    level : float
        Coverage of the intervals.

    Returns
    -------
    xarray.Dataset
        ``mean``, ``low`` and ``high`` over (paradigm, statistic) with statistics ``score``
        and ``aps``, and ``n_models`` per paradigm.
    """
    rows = {}
    for paradigm, evaluations in evaluations_by_paradigm.items():
        if not evaluations:
            raise InputError(f"Paradigm {paradigm!r} has no evaluated models.")
        evs = list(evaluations.values())
        if any("samples" not in ev for ev in evs):
            raise InputError(
                f"Every evaluation of paradigm {paradigm!r} needs bootstrap samples; run "
                "evaluate_model with n_bootstrap > 0."
            )
        n_boot = {ev.sizes["bootstrap"] for ev in evs}
        if len(n_boot) != 1:
            raise InputError(
                f"The evaluations of paradigm {paradigm!r} use different bootstrap counts "
                f"{sorted(n_boot)}; expected one (paired resamples)."
            )
        samples = np.mean([ev["samples"].values for ev in evs], axis=0)  # (B, 3, R)
        with warnings.catch_warnings():  # resamples with < 3 distinct subjects are all-NaN
            warnings.simplefilter("ignore", RuntimeWarning)
            per_sample = np.nanmean(samples, axis=2)  # (B, 3)
        low, high = percentile_ci(per_sample, level)
        with warnings.catch_warnings():  # APS is all-NaN where it is undefined (< 3 regions)
            warnings.simplefilter("ignore", RuntimeWarning)
            means = np.nanmean(
                [[np.nanmean(ev[f"{s}_mean"].values) for s in ("score", "aps")] for ev in evs],
                axis=0,
            )
        rows[paradigm] = (means, low[:2], high[:2], len(evs))
    names = list(rows)
    ds = xr.Dataset(coords={"paradigm": coord(names), "statistic": ["score", "aps"]})
    dims = ("paradigm", "statistic")
    ds["mean"] = (dims, np.array([rows[p][0] for p in names]))
    ds["low"] = (dims, np.array([rows[p][1] for p in names]))
    ds["high"] = (dims, np.array([rows[p][2] for p in names]))
    ds["n_models"] = ("paradigm", np.array([rows[p][3] for p in names]))
    ds.attrs["level"] = level
    return ds
