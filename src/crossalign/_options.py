"""Options, set for a block of code with a context manager (state restored in ``finally``,
as scikit-learn's ``config_context``). They live in a context variable: each thread (and each
asyncio task) sees its own, so overlapping ``with options(...)`` blocks in two threads never
see each other's settings, and leaving a block always restores what was there before.

>>> import crossalign as ca
>>> with ca.options(memory_budget="2GB", backend="numpy", dtype="float64"):
...     pass

Options:

``memory_budget``  bytes (or ``"4GB"``) the engine may use; default 80% of the memory available
                   when a computation starts. Analyses larger than the budget are streamed in
                   blocks (:mod:`crossalign.engine`).
``backend``        where the engine's kernels run (:mod:`crossalign.backends`): ``"numpy"``
                   (default), ``"torch"`` (CUDA when present, else CPU), ``"torch:cpu"``,
                   ``"torch:cuda"``.
``dtype``          working precision of the engine's matrix products: ``"float64"`` (default) or
                   ``"float32"`` (twice as fast; see the docs for its accuracy).
``cluster``        a ``dask.distributed.Client`` (or a scheduler address) to run the all-pairs
                   blocks on (:mod:`crossalign.distributed`); ``None`` (default) runs them in
                   this process.
"""

from __future__ import annotations

import contextlib
import contextvars
import re
from collections.abc import Callable, Iterator
from typing import Any

from .errors import InputError, PlanError

__all__ = ["MemoryBudgetError", "available_memory", "get_option", "options", "parse_bytes"]


class MemoryBudgetError(PlanError, MemoryError):
    """A computation was refused before starting because it would exceed the memory budget."""


def parse_bytes(value: int | float | str) -> int:
    """``"4GB"``, ``"512 MiB"``, ``2e9`` -> bytes."""
    if isinstance(value, int | float):
        if value <= 0:
            raise InputError(f"The memory budget must be positive. Got {value!r}.")
        return int(value)
    match = re.fullmatch(r"\s*([0-9.]+)\s*([kKmMgGtT]?)(i?)[bB]?\s*", str(value))
    if not match:
        raise InputError(
            f"The memory budget must look like '4GB', '512MB' or a number of bytes. Got {value!r}."
        )
    number, unit, binary = match.groups()
    base = 1024 if binary else 1000
    power = {"": 0, "k": 1, "m": 2, "g": 3, "t": 4}[unit.lower()]
    return parse_bytes(float(number) * base**power)


def _parse_backend(value: str) -> str:
    from .backends import get_backend, installed

    if not get_backend(value).available():  # unknown names fail with the valid ones
        raise InputError(
            f"The backend {value!r} is not available on this machine (it needs PyTorch"
            f"{' and a CUDA device' if 'cuda' in value else ''}). Available: {installed()}."
        )
    return value


def _parse_dtype(value: Any) -> str:
    import numpy as np

    try:
        name = np.dtype(value).name
    except TypeError:
        name = repr(value)
    if name not in ("float32", "float64"):
        raise InputError(f"The 'dtype' option must be 'float32' or 'float64'. Got {value!r}.")
    return name


def _parse_cluster(value: Any) -> Any:
    if isinstance(value, str) or callable(getattr(value, "submit", None)):
        return value
    raise InputError(
        "The 'cluster' option must be a dask.distributed.Client or a scheduler address like "
        f"'tcp://host:8786'. Got {value!r}."
    )


_PARSERS: dict[str, Callable[[Any], Any]] = {
    "memory_budget": parse_bytes,
    "backend": _parse_backend,
    "dtype": _parse_dtype,
    "cluster": _parse_cluster,
}
_DEFAULTS: dict[str, Any] = {
    "memory_budget": None,  # None: 80% of the memory available now
    "backend": "numpy",
    "dtype": "float64",
    "cluster": None,
}
_OPTIONS: contextvars.ContextVar[dict[str, Any]] = contextvars.ContextVar(
    "crossalign_options", default=_DEFAULTS
)


def available_memory() -> int:
    """Bytes available now (``MemAvailable`` of /proc/meminfo; 8 GB where that is unknown)."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 8 * 10**9


def get_option(name: str) -> Any:
    """The current value of option ``name`` in this thread."""
    current = _OPTIONS.get()
    if name == "memory_budget":
        value = current["memory_budget"]
        return int(0.8 * available_memory()) if value is None else value
    return current[name]


@contextlib.contextmanager
def options(**kwargs: Any) -> Iterator[None]:
    """Set options for the duration of a ``with`` block (see the module docstring).

    ``None`` restores an option's default; unknown names fail with the valid ones.

    Parameters
    ----------
    **kwargs
        Option names and values (``backend``, ``dtype``, ``memory_budget``, ``cluster``, ...).

    Yields
    ------
    None
        The options hold inside the block, in this thread (and context) only.
    """
    unknown = set(kwargs) - set(_DEFAULTS)
    if unknown:
        raise InputError(f"Unknown option(s) {sorted(unknown)}. Options: {sorted(_DEFAULTS)}.")
    parsed = {
        key: _DEFAULTS[key] if value is None else _PARSERS[key](value)
        for key, value in kwargs.items()
    }
    token = _OPTIONS.set({**_OPTIONS.get(), **parsed})
    try:
        yield
    finally:
        _OPTIONS.reset(token)
