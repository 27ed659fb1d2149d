"""Alignment metrics, looked up by name in one registry.

>>> from crossalign.metrics import get_metric
>>> get_metric("spearman").symmetric
True
"""

from __future__ import annotations

from typing import Any

from .._registry import Registry
from ..errors import InputError
from .base import Cost, Metric
from .cka import CKA, DebiasedCKA, RbfCKA
from .knn import MutualKNN
from .predictivity import Predictivity
from .rsa import Cosine, KendallTauA, Pearson, Spearman
from .shape import Procrustes, ShapeMetric

__all__ = ["METRICS", "Cost", "Metric", "get_metric", "list_metrics"]

METRICS: Registry[type[Metric]] = Registry("metric")
for _cls in (
    Spearman,
    Pearson,
    KendallTauA,
    Cosine,
    CKA,
    DebiasedCKA,
    RbfCKA,
    Procrustes,
    ShapeMetric,
    Predictivity,
    MutualKNN,
):
    METRICS.register(_cls.name, _cls)


def get_metric(metric: str | Metric, **options: Any) -> Metric:
    """The metric registered as ``metric``, with ``options`` (an instance is returned as is).

    Parameters
    ----------
    metric : str or Metric
        A registered name (``crossalign metrics`` lists them) or a metric instance.
    **options
        The metric's parameters, validated against its defaults.

    Returns
    -------
    Metric
        A frozen metric instance.

    >>> get_metric("shape", alpha=0.5).option("alpha")
    0.5
    """
    if isinstance(metric, Metric):
        if options:
            return type(metric)(options={**metric.options, **options})
        return metric
    cls = METRICS.get(metric)
    unknown = sorted(set(options) - set(cls.defaults))
    if unknown:
        from .._validation import closest

        hint = closest(unknown[0], cls.defaults)
        valid = sorted(cls.defaults) or "none"
        raise InputError(
            f"The metric {metric!r} has no option {unknown[0]!r}. Its options: {valid}."
            + (f" Did you mean {hint!r}?" if hint else "")
        )
    return cls(options=options)


def list_metrics() -> list[dict[str, Any]]:
    """One record per registered metric: name, input kind, symmetry, direction, the backends
    with kernels for it, description, options and citation."""
    return [
        {
            "name": name,
            "input": cls.input_kind,
            "symmetric": cls.symmetric,
            "higher_is_better": cls.higher_is_better,
            "backends": list(cls.backends),
            "description": cls.description,
            "options": {
                k: (list(v) if isinstance(v, tuple) else v) for k, v in cls.defaults.items()
            },
            "citation": cls.citation,
        }
        for name, cls in ((n, METRICS.get(n)) for n in METRICS)
    ]
