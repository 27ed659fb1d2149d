"""Global options, set for a block of code with a context manager (state restored in
``finally``, as scikit-learn's ``config_context``).

>>> import crossalign as ca
>>> with ca.options(memory_budget="2GB"):
...     pass
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from typing import Any

__all__ = ["MemoryBudgetError", "available_memory", "get_option", "options", "parse_bytes"]

_OPTIONS: dict[str, Any] = {"memory_budget": None}  # None: 80% of the memory available now


class MemoryBudgetError(MemoryError):
    """A computation was refused before starting because it would exceed the memory budget."""


def parse_bytes(value: int | float | str) -> int:
    """``"4GB"``, ``"512 MiB"``, ``2e9`` -> bytes."""
    if isinstance(value, int | float):
        if value <= 0:
            raise ValueError(f"The memory budget must be positive. Got {value!r}.")
        return int(value)
    match = re.fullmatch(r"\s*([0-9.]+)\s*([kKmMgGtT]?)(i?)[bB]?\s*", str(value))
    if not match:
        raise ValueError(
            f"The memory budget must look like '4GB', '512MB' or a number of bytes. Got {value!r}."
        )
    number, unit, binary = match.groups()
    base = 1024 if binary else 1000
    power = {"": 0, "k": 1, "m": 2, "g": 3, "t": 4}[unit.lower()]
    return parse_bytes(float(number) * base**power)


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
    if name == "memory_budget":
        value = _OPTIONS["memory_budget"]
        return int(0.8 * available_memory()) if value is None else value
    return _OPTIONS[name]


@contextlib.contextmanager
def options(**kwargs: Any) -> Iterator[None]:
    """Set options for the duration of a ``with`` block: ``memory_budget`` (bytes or '4GB')."""
    unknown = set(kwargs) - set(_OPTIONS)
    if unknown:
        raise ValueError(f"Unknown option(s) {sorted(unknown)}. Options: {sorted(_OPTIONS)}.")
    saved = dict(_OPTIONS)
    try:
        for key, value in kwargs.items():
            _OPTIONS[key] = None if value is None else parse_bytes(value)
        yield
    finally:
        _OPTIONS.clear()
        _OPTIONS.update(saved)
