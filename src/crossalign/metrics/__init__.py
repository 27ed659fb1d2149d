"""Alignment metrics, looked up by name in one registry.

>>> from crossalign.metrics import get_metric
>>> get_metric("spearman").symmetric
True
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from crossalign._registry import Registry
from crossalign._validation import closest
from crossalign.errors import InputError
from crossalign.metrics.base import Metric, Parameter
from crossalign.metrics.cka import CKA, DebiasedCKA, RbfCKA
from crossalign.metrics.knn import MutualKNN
from crossalign.metrics.predictivity import Predictivity
from crossalign.metrics.rsa import Cosine, KendallTauA, Pearson, Spearman
from crossalign.metrics.shape import HeldOutProcrustes, Procrustes, ShapeMetric
from crossalign.metrics.versa import Versa

__all__ = ["METRICS", "Metric", "Parameter", "get_metric", "list_metrics"]

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
    HeldOutProcrustes,
    ShapeMetric,
    Predictivity,
    MutualKNN,
    Versa,
):
    METRICS.register(_cls.name, _cls)


def get_metric(metric: str | Metric, **parameters: Any) -> Metric:
    """The metric registered as ``metric``, with its typed ``parameters``.

    Parameters
    ----------
    metric : str or Metric
        A registered name (``crossalign metrics`` lists them) or a metric instance (returned
        as is, or a copy with ``parameters`` replaced).
    **parameters
        The metric's parameters (e.g. ``k`` for ``mutual_knn``, ``alpha`` for ``shape``),
        checked by the metric.

    Returns
    -------
    Metric
        A frozen metric instance.

    Raises
    ------
    InputError
        For an unknown metric or parameter, or a parameter value the metric refuses.

    Examples
    --------
    >>> get_metric("shape", alpha=0.5).alpha
    0.5
    """
    cls = type(metric) if isinstance(metric, Metric) else METRICS.get(metric)
    known = cls.parameters()
    unknown = sorted(set(parameters) - set(known))
    if unknown:
        hint = closest(unknown[0], known)
        valid = sorted(known) or "none"
        raise InputError(
            f"The metric {cls.name!r} has no parameter {unknown[0]!r}. Its parameters: {valid}."
            + (f" Did you mean {hint!r}?" if hint else "")
        )
    if isinstance(metric, Metric):
        return replace(metric, **parameters) if parameters else metric
    return cls(**parameters)


def list_metrics() -> list[dict[str, Any]]:
    """One record per registered metric.

    Returns
    -------
    list of dict
        ``name``, ``input`` kind, ``symmetric``, ``higher_is_better``, the ``backends`` with
        kernels for it, ``description``, ``parameters`` (name, type, default each),
        ``options`` (defaults by name) and ``citation``.
    """
    return [
        {
            "name": name,
            "input": cls.input_kind,
            "symmetric": cls.symmetric,
            "higher_is_better": cls.higher_is_better,
            "backends": list(cls.backends),
            "description": cls.description,
            "parameters": [
                {"name": p.name, "type": p.type, "default": _plain(p.default)}
                for p in cls.parameters().values()
            ],
            "options": {p.name: _plain(p.default) for p in cls.parameters().values()},
            "citation": cls.citation,
        }
        for name, cls in ((n, METRICS.get(n)) for n in METRICS)
    ]


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value
