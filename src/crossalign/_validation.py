"""Input validation shared by every public entry point.

One message template for every failure: the argument's name, what was received, what was
expected. Validation raises ``ValueError`` (bad value or shape) or ``TypeError`` (wrong type);
never ``assert``, which vanishes under ``python -O``.
"""

from __future__ import annotations

import difflib
import functools
import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

from crossalign.errors import InputError, InputTypeError

__all__ = [
    "Constraint",
    "as_float_array",
    "check_finite",
    "check_option",
    "closest",
    "describe",
    "keywords_checked",
]

F = TypeVar("F", bound=Callable[..., Any])


def describe(value: Any) -> str:
    """Short description of a received value for an error message."""
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    if hasattr(value, "shape") and hasattr(value, "dtype"):
        return f"a {type(value).__name__} of shape {tuple(value.shape)}"
    text = repr(value)
    if len(text) > 80:
        text = text[:77] + "..."
    return f"{text} (type {type(value).__name__})"


def closest(name: str, options: Iterable[str]) -> str | None:
    """The option closest to ``name``, or None when nothing is close."""
    matches = difflib.get_close_matches(str(name), [str(o) for o in options], n=1, cutoff=0.5)
    return matches[0] if matches else None


@dataclass(frozen=True)
class Constraint:
    """What one parameter may be: one of ``values``, or a value ``check`` accepts. The one
    declarative check of the library (the parameters of an evaluation, its protocols, study
    files and the ``check_option`` calls of public functions), in the manner of
    scikit-learn's parameter constraints.

    Parameters
    ----------
    values : tuple, optional
        The allowed values, in the order the error lists them.
    check : callable, optional
        Returns whether a value is allowed.
    expected : str
        What is allowed, in words (for the error).
    """

    values: tuple[Any, ...] | None = None
    check: Callable[[Any], bool] | None = None
    expected: str = ""

    def validate(self, name: str, value: Any, *, where: str = "", noun: str = "parameter") -> None:
        """Raise :class:`~crossalign.errors.InputError` naming ``name``, the value received and
        what is allowed (with the closest allowed value to a misspelt name), unless ``value``
        is allowed.

        Parameters
        ----------
        name : str
            The parameter.
        value : object
        where : str
            The function or object it belongs to, if any.
        noun : str
            What ``name`` is called in the message ("parameter", "option").
        """
        place = f" of {where}" if where else ""
        if self.values is not None:
            if isinstance(value, str) and value in self.values:
                return
            hint = closest(value, [str(v) for v in self.values]) if isinstance(value, str) else None
            raise InputError(
                f"The '{name}' {noun}{place} must be one of {list(self.values)}. Got {value!r} "
                "instead." + (f" Did you mean {hint!r}?" if hint else "")
            )
        if self.check is not None and not self.check(value):
            raise InputError(
                f"The '{name}' {noun}{place} must be {self.expected}. Got {value!r} instead."
            )


def keywords_checked(func: F) -> F:
    """Decorate a function (or a class, for its constructor) so that a keyword it does not
    take is an :class:`~crossalign.errors.InputTypeError` naming the keyword, the closest one
    it takes and all of them, instead of Python's bare "unexpected keyword argument".

    Parameters
    ----------
    func : callable or type

    Returns
    -------
    callable or type
        ``func``, whose calls check their keywords first (a class is returned itself, with
        its ``__init__`` checked).
    """
    if isinstance(func, type):
        func.__init__ = keywords_checked(func.__init__)  # type: ignore[misc]
        return func
    params = inspect.signature(func).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return func  # it takes any keyword: its own check names them
    names = [
        n
        for n, p in params.items()
        if p.kind in (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
        and n != "self"
    ]
    known = frozenset(names)
    where = func.__qualname__.replace(".__init__", "")

    @functools.wraps(func)
    def checked(*args: Any, **kwargs: Any) -> Any:
        unknown = [k for k in kwargs if k not in known]
        if unknown:
            hints = {k: h for k in unknown if (h := closest(k, names))}
            if len(unknown) == 1:
                given, hint = f" {unknown[0]!r}", "".join(repr(h) for h in hints.values())
            else:
                given, hint = (
                    f"s {unknown}",
                    ", ".join(f"{h!r} for {k!r}" for k, h in hints.items()),
                )
            raise InputTypeError(
                f"{where}() takes no keyword{given}"
                + (f"; did you mean {hint}?" if hints else ".")
                + f" Its keywords: {sorted(names)}."
            )
        return func(*args, **kwargs)

    return checked  # type: ignore[return-value]


def check_option(value: Any, name: str, options: Iterable[str], where: str = "") -> str:
    """Return ``value`` if it is one of ``options``; otherwise raise a helpful ValueError."""
    Constraint(values=tuple(sorted(options))).validate(name, value, where=where)
    return str(value)


def as_float_array(value: Any, name: str, *, dtype: Any = np.float64) -> np.ndarray:
    """Convert ``value`` to a float array, refusing object, string and complex dtypes."""
    if isinstance(value, np.ndarray) and value.dtype == object:
        raise InputTypeError(
            f"The '{name}' argument must be a numeric array. Got an object array of shape "
            f"{value.shape} instead."
        )
    try:
        arr = np.asarray(value)
    except Exception as exc:  # ragged lists and the like
        raise InputTypeError(
            f"The '{name}' argument must be a numeric array. Got {describe(value)} instead."
        ) from exc
    if arr.dtype.kind not in "biuf":
        raise InputTypeError(
            f"The '{name}' argument must be a real numeric array. Got {describe(arr)} instead."
        )
    return arr.astype(dtype, copy=False)


def check_finite(arr: np.ndarray, name: str) -> None:
    """Raise if ``arr`` holds NaN or infinite values, saying how many and where the first is."""
    with np.errstate(over="ignore", invalid="ignore"):
        total = np.sum(arr, dtype=np.float64) if arr.dtype.kind in "fc" else 0.0
    if arr.dtype.kind in "fc" and np.isfinite(total):
        return  # one reduction, no temporary: a finite float64 sum has no NaN/inf summand
    if arr.dtype.kind not in "fc":
        return
    bad = ~np.isfinite(arr)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise InputError(
            f"The '{name}' argument must hold finite values only. Got {int(bad.sum())} "
            f"NaN/inf value(s) in an array of shape {arr.shape} (first at index {first})."
        )
