"""Metric sensitivity: run the same analysis under several metrics and compare.

Conclusions of pointwise benchmarks are known to depend on the alignment metric (RSA vs CKA vs
predictivity...). :func:`metric_sensitivity` evaluates every model under every metric with
:func:`~crossalign.evaluate_model` (same split, same seed) and reports how the cross-region
matrix, brain APS, and the models' ranking change: Spearman correlations between the model
rankings each metric produces.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import numpy as np
import xarray as xr
from scipy import stats

from crossalign.analysis.patterns import cross_region_matrix
from crossalign.data.containers import BrainData, ModelData
from crossalign.data.labels import coord
from crossalign.errors import InputError
from crossalign.evaluation.evaluate import evaluate_model
from crossalign.metrics import Metric, get_metric

__all__ = ["metric_sensitivity"]


def metric_sensitivity(
    brain_data: BrainData,
    models: Mapping[Hashable, ModelData],
    metrics: Sequence[str | Metric],
    **evaluate_options: Any,
) -> xr.Dataset:
    """Every model under every metric; how much do the conclusions move?

    Returns a Dataset with ``cross_region`` (metric, region, target_region), ``brain_aps``
    (metric, region), ``score`` and ``aps`` (metric, model, region: subject means on test
    stimuli), ``score_rank`` / ``aps_rank`` (metric, model: 1 = best, by the mean over
    regions, respecting each metric's direction) and ``score_rank_correlation`` /
    ``aps_rank_correlation`` (metric, metric_b: Spearman correlation of the model rankings).
    ``evaluate_options`` go to :func:`~crossalign.evaluate_model` (``n_bootstrap`` defaults
    to 0 here).

    Parameters
    ----------
    brain_data : BrainData
        The brain data.
    models : mapping
        ``{name: ModelData}``.
    metrics : sequence of str or Metric
        The metrics compared.
    **evaluate_options
        Options of :func:`~crossalign.evaluate_model`.

    Returns
    -------
    xarray.Dataset
        The variables described above.
    """
    if not models:
        raise InputError("The 'models' argument must hold at least one model.")
    if not metrics:
        raise InputError("The 'metrics' argument must name at least one metric.")
    ms = [get_metric(m) for m in metrics]
    names = [m.label for m in ms]
    if len(set(names)) != len(names):
        raise InputError(f"The 'metrics' argument repeats a metric: {names}.")
    evaluate_options.setdefault("n_bootstrap", 0)
    model_names = list(models)
    regions = list(brain_data.regions)
    n_m, n_mod, n_reg = len(ms), len(model_names), len(regions)
    matrices = np.empty((n_m, n_reg, n_reg))
    brain_aps = np.empty((n_m, n_reg))
    score = np.empty((n_m, n_mod, n_reg))
    aps = np.empty((n_m, n_mod, n_reg))
    for i, m in enumerate(ms):
        matrices[i] = cross_region_matrix(brain_data, m).values
        for j, name in enumerate(model_names):
            ev = evaluate_model(models[name], brain_data, metric=m, **evaluate_options)
            score[i, j] = ev["score_mean"].values
            aps[i, j] = ev["aps_mean"].values
            brain_aps[i] = ev["brain_aps_mean"].values
    sign = np.array([1.0 if m.higher_is_better else -1.0 for m in ms])
    score_rank = _ranks(sign[:, None] * score.mean(axis=2))
    aps_rank = _ranks(aps.mean(axis=2))  # APS is a correlation: higher is better throughout
    ds = xr.Dataset(
        {
            "cross_region": (("metric", "region", "target_region"), matrices),
            "brain_aps": (("metric", "region"), brain_aps),
            "score": (("metric", "model", "region"), score),
            "aps": (("metric", "model", "region"), aps),
            "score_rank": (("metric", "model"), score_rank),
            "aps_rank": (("metric", "model"), aps_rank),
            "score_rank_correlation": (("metric", "metric_b"), _rank_corr(score_rank)),
            "aps_rank_correlation": (("metric", "metric_b"), _rank_corr(aps_rank)),
        },
        coords={
            "metric": names,
            "metric_b": names,
            "model": coord(model_names),
            "region": coord(regions),
            "target_region": coord(regions),
        },
    )
    ds.attrs["note"] = "ranks: 1 = best model under that metric (mean over regions)"
    return ds


def _ranks(values: np.ndarray) -> np.ndarray:
    """Rank models per metric row, 1 = highest value (ties share the average rank)."""
    return np.vstack([stats.rankdata(-row) for row in values])


def _rank_corr(ranks: np.ndarray) -> np.ndarray:
    n = len(ranks)
    out = np.ones((n, n))
    if ranks.shape[1] < 3:
        out[:] = np.nan
        np.fill_diagonal(out, 1.0)
        return out
    for i in range(n):
        for j in range(i + 1, n):
            out[i, j] = out[j, i] = stats.spearmanr(ranks[i], ranks[j]).statistic
    return out
