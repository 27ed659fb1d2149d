"""Plugins: models, metrics and datasets from other packages, through Python entry points.

A package registers its additions in its own metadata, with no edit to crossalign::

    [project.entry-points."crossalign.models"]
    my_net = "my_package.models:build"        # build(pretrained: bool, seed: int)

    [project.entry-points."crossalign.metrics"]
    my_metric = "my_package.metrics:MyMetric"  # a Metric subclass whose name is "my_metric"

    [project.entry-points."crossalign.datasets"]
    my_data = "my_package.data:MY_DATA"        # a DatasetSpec or LocalDataset named "my_data"

:func:`load_plugins` registers every installed one; the command line and study files call it,
so plugin names appear in ``crossalign models|metrics|datasets`` and can be named in a study.
A plugin that fails to load is reported by name (a :class:`~crossalign.errors.PluginWarning`)
and everything else goes on without it.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from crossalign.errors import InputError, PluginWarning
from crossalign.io.datasets import DATASETS, DatasetSpec, LocalDataset
from crossalign.metrics import METRICS, Metric
from crossalign.models.adapters import ModelAdapter
from crossalign.models.sources import MODELS, as_adapter

__all__ = ["GROUPS", "PluginModel", "PluginReport", "load_plugins"]


@dataclass(frozen=True)
class PluginModel:
    """A plugin's model factory as the model registry holds it: ``factory(pretrained, seed)``
    returns a :class:`~crossalign.models.ModelAdapter`, a ``torch.nn.Module`` or a callable
    (wrapped with :func:`~crossalign.models.as_adapter` under the plugin's name).

    Parameters
    ----------
    name : str
    factory : callable
    origin : str
        How ``crossalign models`` lists it.
    """

    name: str
    factory: Callable[[bool, int], Any]
    origin: str = "plugin"

    def __call__(self, pretrained: bool, seed: int) -> ModelAdapter:
        built = self.factory(pretrained, seed)
        return built if isinstance(built, ModelAdapter) else as_adapter(built, name=self.name)


def _add_model(name: str, obj: Any) -> None:
    if not callable(obj):
        raise InputError(f"expected a model factory (pretrained, seed); got {type(obj).__name__}")
    _register(MODELS, name, PluginModel(name, obj))


def _add_metric(name: str, obj: Any) -> None:
    if not (isinstance(obj, type) and issubclass(obj, Metric)):
        raise InputError(f"expected a crossalign Metric subclass; got {obj!r}")
    if obj.name != name:
        raise InputError(f"the metric class is named {obj.name!r}, the entry point {name!r}")
    _register(METRICS, name, obj)


def _add_dataset(name: str, obj: Any) -> None:
    if not isinstance(obj, DatasetSpec | LocalDataset):
        raise InputError(f"expected a DatasetSpec or LocalDataset; got {type(obj).__name__}")
    if obj.name != name:
        raise InputError(f"the dataset is named {obj.name!r}, the entry point {name!r}")
    _register(DATASETS, name, obj)


def _register(registry: Any, name: str, item: Any) -> None:
    """Register ``item``; loading again is a no-op, a name taken by something else an error."""
    if name in registry and registry.get(name) == item:
        return
    registry.register(name, item)  # raises when the name is taken


#: The entry-point groups and how each kind of plugin is registered.
GROUPS: dict[str, Callable[[str, Any], None]] = {
    "crossalign.models": _add_model,
    "crossalign.metrics": _add_metric,
    "crossalign.datasets": _add_dataset,
}


@dataclass(frozen=True)
class PluginReport:
    """What :func:`load_plugins` found.

    Parameters
    ----------
    loaded : tuple of str
        ``group:name`` of each registered plugin.
    failed : tuple of (str, str)
        ``group:name`` and the reason, for each plugin that could not be loaded.
    """

    loaded: tuple[str, ...] = ()
    failed: tuple[tuple[str, str], ...] = ()


def _load_one(group: str, ep: EntryPoint) -> str | None:
    """Register one entry point; the reason it failed, or None."""
    try:
        GROUPS[group](ep.name, ep.load())
    except Exception as exc:  # a broken plugin must not break crossalign
        return f"{type(exc).__name__}: {exc}"
    return None


def load_plugins() -> PluginReport:
    """Register every installed plugin (entry points in :data:`GROUPS`); safe to call again.

    Returns
    -------
    PluginReport
        What was loaded and what failed (each failure is also a
        :class:`~crossalign.errors.PluginWarning` naming the plugin).
    """
    loaded: list[str] = []
    failed: list[tuple[str, str]] = []
    installed = entry_points()  # every distribution's entry points, read once for all groups
    for group in GROUPS:
        for ep in installed.select(group=group):
            label = f"{group}:{ep.name}"
            reason = _load_one(group, ep)
            if reason is None:
                loaded.append(label)
                continue
            failed.append((label, reason))
            warnings.warn(
                f"The plugin {ep.name!r} ({ep.value}, entry point group {group}) could not be "
                f"loaded and is left out: {reason}",
                PluginWarning,
                stacklevel=2,
            )
    return PluginReport(tuple(loaded), tuple(failed))
