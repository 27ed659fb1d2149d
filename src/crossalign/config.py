"""The library's settings: one place that shows and sets every option.

Each option's value comes from, in order: a ``with ca.options(...)`` block that sets it, its
environment variable ``CROSSALIGN_<NAME>`` (read when the value is needed, as
scikit-learn's config reads ``SKLEARN_*``), or its default. ``ca.options()`` shows them all and
where each value comes from.

Blocks are context managers (state restored on exit, as scikit-learn's ``config_context``). They
live in a context variable: each thread (and each
asyncio task) sees its own, so overlapping ``with options(...)`` blocks in two threads never
see each other's settings, and leaving a block always restores what was there before.

>>> import crossalign as ca
>>> with ca.options(memory_budget="2GB", backend="numpy", dtype="float64"):
...     pass

Options:

``memory_budget``  bytes (or ``"4GB"``) the engine may use; default 80% of the memory available
                   when a computation starts. Analyses larger than the budget are streamed in
                   blocks (:mod:`crossalign.engine.core`).
``backend``        where the engine's kernels run (:mod:`crossalign.compute.backends`): ``"numpy"``
                   (default), ``"torch"`` (CUDA when present, else CPU), ``"torch:cpu"``,
                   ``"torch:cuda"``.
``dtype``          working precision of the engine's matrix products: ``"float64"`` (default) or
                   ``"float32"`` (twice as fast; see the docs for its accuracy).
``cluster``        a ``dask.distributed.Client`` (or a scheduler address) to run the all-pairs
                   blocks on (:mod:`crossalign.engine.distributed`); ``None`` (default) runs them in
                   this process.
``offline``        never download data or weights (``CROSSALIGN_OFFLINE=1``).
``cache_dir``      the activation cache folder (default ``$XDG_CACHE_HOME/crossalign/activations``).
``data_dir``       a folder holding dataset folders, looked in before the download cache.
``mirror``         a base URL to download datasets from instead of their home repository.
"""

from __future__ import annotations

import contextvars
import difflib
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from crossalign.errors import InputError, PlanError

__all__ = [
    "SETTINGS",
    "MemoryBudgetError",
    "Setting",
    "available_memory",
    "get_option",
    "options",
    "parse_bytes",
    "register_check",
]


class MemoryBudgetError(PlanError, MemoryError):
    """A computation was refused before starting because it would exceed the memory budget."""


def parse_bytes(value: int | float | str) -> int:
    """A memory size in bytes: ``"4GB"``, ``"512 MiB"`` or ``2e9``.

    Parameters
    ----------
    value : int, float or str
        A positive number of bytes, or a number with a unit (kB, MB, GB, TB; ``i`` for
        powers of 1024).

    Returns
    -------
    int
    """
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


def _parse_backend(value: Any) -> str:
    # The backends register their own check (crossalign.compute.backends sits above this
    # module and calls :func:`register_check`); until then any string is kept as given.
    if not isinstance(value, str):
        raise InputError(f"The 'backend' option must be a string like 'numpy'. Got {value!r}.")
    check = _CHECKS.get("backend")
    return check(value) if check else value


def _parse_dtype(value: Any) -> str:
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


def _parse_flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("", "0", "false", "no", "off"):
        return False
    raise InputError(f"A yes/no option must be true/false (or 1/0). Got {value!r}.")


def _parse_path(value: Any) -> Path:
    if not isinstance(value, str | os.PathLike):
        raise InputError(f"A folder option must be a path. Got {value!r}.")
    return Path(value).expanduser()


def _parse_url(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InputError(f"The 'mirror' option must be a base URL. Got {value!r}.")
    return value.rstrip("/")


def _cache_home() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")


@dataclass(frozen=True)
class Setting:
    """One option: its parser, its default and the environment variable that overrides it.

    Parameters
    ----------
    parse : callable
        Validates and normalises a value (raising the library's error).
    default : callable
        The value when neither the environment nor :func:`options` sets one.
    doc : str
        What the option does.
    """

    parse: Callable[[Any], Any]
    default: Callable[[], Any]
    doc: str

    def env_var(self, name: str) -> str:
        """The environment variable of option ``name`` (``CROSSALIGN_<NAME>``).

        Parameters
        ----------
        name : str
            The option's name.

        Returns
        -------
        str
        """
        return f"CROSSALIGN_{name.upper()}"


#: Every option, by name (the registry that :func:`options` and :func:`get_option` read).
SETTINGS: dict[str, Setting] = {
    "memory_budget": Setting(
        parse_bytes,
        lambda: None,
        "bytes the engine may use (e.g. '4GB'); default 80% of the memory available",
    ),
    "backend": Setting(_parse_backend, lambda: "numpy", "where the engine's kernels run"),
    "dtype": Setting(_parse_dtype, lambda: "float64", "precision of the matrix products"),
    "cluster": Setting(_parse_cluster, lambda: None, "a Dask client or scheduler address"),
    "offline": Setting(_parse_flag, lambda: False, "never download data or weights"),
    "cache_dir": Setting(
        _parse_path,
        lambda: _cache_home() / "crossalign" / "activations",
        "the activation cache folder",
    ),
    "data_dir": Setting(
        _parse_path, lambda: None, "a folder holding dataset folders (looked in first)"
    ),
    "mirror": Setting(_parse_url, lambda: None, "a base URL to download datasets from"),
}
_CHECKS: dict[str, Callable[[Any], Any]] = {}
_OPTIONS: contextvars.ContextVar[dict[str, Any]] = contextvars.ContextVar(
    "crossalign_options",
    default={},  # noqa: B039 (never mutated: each block sets a new dict)
)


def register_check(name: str, check: Callable[[Any], Any]) -> None:
    """Let a higher layer validate option ``name`` (the backends check backend names).

    Parameters
    ----------
    name : str
        The option.
    check : callable
        Takes the value; returns it normalised or raises the library's error.
    """
    _CHECKS[name] = check


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


def _from_environment(name: str) -> tuple[Any, str] | None:
    var = SETTINGS[name].env_var(name)
    raw = os.environ.get(var)
    if raw is None or raw == "":
        return None
    try:
        return SETTINGS[name].parse(raw), f"${var}"
    except InputError as exc:
        raise InputError(f"The environment variable {var}={raw!r} is not valid: {exc}") from None


def _effective(name: str) -> tuple[Any, str]:
    current = _OPTIONS.get()
    if name in current:
        return current[name], "set"
    from_env = _from_environment(name)
    if from_env is not None:
        return from_env
    return SETTINGS[name].default(), "default"


def get_option(name: str) -> Any:
    """The current value of option ``name`` in this thread.

    Set by :func:`options` where a block sets it, else by its environment variable
    (``CROSSALIGN_<NAME>``), else its default.

    Parameters
    ----------
    name : str
        One of :data:`SETTINGS`.

    Returns
    -------
    Any
    """
    if name not in SETTINGS:
        raise InputError(f"Unknown option {name!r}. Options: {sorted(SETTINGS)}.")
    value, _ = _effective(name)
    if name == "memory_budget" and value is None:
        return int(0.8 * available_memory())
    return value


class options:
    """Show the settings, or set some for a ``with`` block (see the module docstring).

    ``ca.options()`` shows every setting, its value and where the value comes from (set in a
    block, an environment variable, or the default). ``with ca.options(name=value): ...``
    sets options inside the block, in this thread (and context) only. ``None`` restores an
    option's default; unknown names fail with the valid ones.

    Parameters
    ----------
    **kwargs
        Option names and values (``backend``, ``dtype``, ``memory_budget``, ``cluster``,
        ``offline``, ``cache_dir``, ``data_dir``, ``mirror``).
    """

    def __init__(self, **kwargs: Any) -> None:
        unknown = set(kwargs) - set(SETTINGS)
        if unknown:
            hint = "" if len(unknown) > 1 else _closest(next(iter(unknown)))
            raise InputError(
                f"Unknown option(s) {sorted(unknown)}. Options: {sorted(SETTINGS)}.{hint}"
            )
        self._parsed = {
            key: SETTINGS[key].default() if value is None else SETTINGS[key].parse(value)
            for key, value in kwargs.items()
        }
        self._tokens: list[contextvars.Token[dict[str, Any]]] = []

    def __enter__(self) -> options:
        self._tokens.append(_OPTIONS.set({**_OPTIONS.get(), **self._parsed}))
        return self

    def __exit__(self, *exc: object) -> None:
        _OPTIONS.reset(self._tokens.pop())

    def as_dict(self) -> dict[str, Any]:
        """Every option's current value (as :func:`get_option` returns it).

        Returns
        -------
        dict
        """
        return {name: get_option(name) for name in SETTINGS}

    def __repr__(self) -> str:
        rows = []
        for name in SETTINGS:
            value, source = _effective(name)
            if source == "default" and name == "memory_budget":
                source = "default: 80% of the memory available"
            rows.append(f"  {name:<14} {value!s:<40} ({source})")
        return "crossalign options:\n" + "\n".join(rows)


def _closest(name: str) -> str:
    match = difflib.get_close_matches(name, list(SETTINGS), n=1)
    return f" Did you mean {match[0]!r}?" if match else ""
