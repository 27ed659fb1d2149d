"""Old import paths of moved modules and names: the one deprecation path of the library.

Version 0.2 gave the package its layered layout (``data``, ``compute``, ``engine``,
``analysis``, ``stats``, ``evaluation``, ``study``...). Every module and name that moved still
imports from its old place, with a :class:`DeprecationWarning` naming the new one, until
version :data:`REMOVED_IN`. Two mechanisms, both driven by tables:

- :data:`MOVED_MODULES`: an import hook answers ``import crossalign.engine_old_name`` with a
  thin module that forwards every attribute to the new module.
- :func:`moved_names`: a package's ``__getattr__`` (PEP 562) for single names that moved out
  of a module which itself stayed.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import types
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

__all__ = ["MOVED_MODULES", "REMOVED_IN", "install", "moved_names"]

#: The release that removes the old paths.
REMOVED_IN = "0.4"

#: Old module path -> new module paths (attributes are looked up in this order).
MOVED_MODULES: dict[str, tuple[str, ...]] = {
    "crossalign._options": ("crossalign.config",),
    "crossalign.skill": ("crossalign.functional",),
    "crossalign.construct": ("crossalign.data.construct",),
    "crossalign.rdm_cache": ("crossalign.data.rdm_cache",),
    "crossalign.conversions": ("crossalign.data.conversions",),
    "crossalign.labels": ("crossalign.data.labels",),
    "crossalign.backends": ("crossalign.compute.backends",),
    "crossalign.rdm": ("crossalign.compute.rdm",),
    "crossalign.distributed": ("crossalign.engine.distributed",),
    "crossalign.reliability": ("crossalign.stats.reliability",),
    "crossalign.patterns": ("crossalign.analysis.patterns",),
    "crossalign.aps": ("crossalign.analysis.aps",),
    "crossalign.layers": ("crossalign.analysis.layers", "crossalign.analysis.splits"),
    "crossalign.sensitivity": ("crossalign.evaluation.sensitivity",),
    "crossalign.protocols": ("crossalign.evaluation.protocols",),
    "crossalign.outputs": ("crossalign.io.outputs",),
    "crossalign.studyconfig": ("crossalign.study.config",),
    "crossalign.store": ("crossalign.study.store",),
    "crossalign.report": ("crossalign.study.report",),
    "crossalign.report.figures": ("crossalign.study.report.figures",),
    "crossalign.report.html": ("crossalign.study.report.html",),
    "crossalign.bench_paper": ("crossalign.bench.paper",),
}


def _warn(old: str, new: str, stacklevel: int) -> None:
    warnings.warn(
        f"{old} moved to {new}; import it from there ({old} is removed in crossalign "
        f"{REMOVED_IN}).",
        DeprecationWarning,
        stacklevel=stacklevel,
    )


class _Forwarding(types.ModuleType):
    """A module standing at an old path: every attribute comes from the new modules."""

    _targets: Sequence[str] = ()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):  # never the new module's __path__, __file__, ...
            raise AttributeError(name)
        for target in self._targets:
            module = importlib.import_module(target)
            if hasattr(module, name):
                return getattr(module, name)
        raise AttributeError(f"module {self.__name__!r} has no attribute {name!r}")

    def __dir__(self) -> list[str]:
        return sorted({n for t in self._targets for n in dir(importlib.import_module(t))})


class _Loader(importlib.abc.Loader):
    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        module = _Forwarding(spec.name)
        module._targets = MOVED_MODULES[spec.name]
        return module

    def exec_module(self, module: types.ModuleType) -> None:
        _warn(module.__name__, MOVED_MODULES[module.__name__][0], stacklevel=4)


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(
        self, fullname: str, path: Any = None, target: Any = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in MOVED_MODULES:
            return None
        is_package = any(m.startswith(fullname + ".") for m in MOVED_MODULES)
        return importlib.machinery.ModuleSpec(fullname, _Loader(), is_package=is_package)


def install() -> None:
    """Answer imports of the old module paths (idempotent; called by ``import crossalign``)."""
    if not any(isinstance(f, _Finder) for f in sys.meta_path):
        # first: it answers only the old names, before the path finder could load a second
        # copy of a moved module under its old name
        sys.meta_path.insert(0, _Finder())


def moved_names(
    module: str, moved: Mapping[str, str], *, modules: bool = False
) -> Callable[[str], Any]:
    """A module ``__getattr__`` serving names that moved elsewhere, with a warning.

    Parameters
    ----------
    module : str
        The module the names used to live in (its ``__name__``).
    moved : Mapping[str, str]
        Name -> the module it lives in now.
    modules : bool
        Also serve the moved submodules of ``module`` as attributes (``crossalign.patterns``
        without importing it), through :data:`MOVED_MODULES`.

    Returns
    -------
    Callable[[str], Any]
        The ``__getattr__`` to assign in ``module``.
    """

    def __getattr__(name: str) -> Any:
        if modules and f"{module}.{name}" in MOVED_MODULES:
            return importlib.import_module(f"{module}.{name}")
        if name in moved:
            _warn(f"{module}.{name}", f"{moved[name]}.{name}", stacklevel=3)
            return getattr(importlib.import_module(moved[name]), name)
        raise AttributeError(f"module {module!r} has no attribute {name!r}")

    return __getattr__
