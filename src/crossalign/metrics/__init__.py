"""Alignment metrics, looked up by name in one registry.

>>> from crossalign.metrics import get_metric
>>> get_metric("spearman").symmetric
True
"""

from __future__ import annotations

from typing import Any

from .._registry import Registry
from .base import Metric
from .rsa import Cosine, KendallTauA, Pearson, Spearman

__all__ = ["METRICS", "Metric", "get_metric", "list_metrics"]

METRICS: Registry[type[Metric]] = Registry("metric")
for _cls in (Spearman, Pearson, KendallTauA, Cosine):
    METRICS.register(_cls.name, _cls)


def get_metric(metric: str | Metric, **options: Any) -> Metric:
    """The metric registered as ``metric`` (an instance is returned as it is)."""
    if isinstance(metric, Metric):
        return metric
    cls = METRICS.get(metric)
    return cls(options=options)


def list_metrics() -> list[dict[str, Any]]:
    """One record per registered metric: name, input kind, symmetry, direction, description."""
    return [
        {
            "name": name,
            "input": cls.input_kind,
            "symmetric": cls.symmetric,
            "higher_is_better": cls.higher_is_better,
            "description": cls.description,
            "citation": cls.citation,
        }
        for name, cls in ((n, METRICS.get(n)) for n in METRICS)
    ]
