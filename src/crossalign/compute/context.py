"""The execution context: everything a computation depends on besides its data.

A :class:`Context` is a frozen value holding the backend whose kernels run the products, the
working precision, the memory budget, the Dask cluster (if any) and the memories a run keeps
(ridge penalties already chosen; values derived from a container, such as an evaluation's
brain side; the benchmark's record of the kernels' work). The engine takes
one at the top of each call (:func:`current_context`, in the manner of himalaya's
``backend = get_backend()`` at the top of a solver) and hands it explicitly to the metric and
to every kernel below; no kernel reads a setting.

A context is made by the caller (``Context.from_options()``, then ``with using(ctx):``) or,
where none is in use, from the current :func:`crossalign.options` for that one call. An
analysis that wants its calls to share memories (an evaluation's layer selection and its test
fit the same folds of the same stimuli) runs them under one context:

>>> import crossalign as ca
>>> from crossalign.compute.context import Context, using
>>> with using(Context.from_options()):
...     pass

Memories are bounded and keyed on the content of the data (never an object's identity) plus
the context's backend and precision, so a context never changes a number: it only spares work.
"""

from __future__ import annotations

import contextlib
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from crossalign.compute.backends import Backend, get_backend, usable_backend
from crossalign.compute.choices import Choices
from crossalign.config import available_memory, get_option
from crossalign.errors import InputError

__all__ = ["Context", "Memos", "current_context", "using"]


class Memos:
    """Values derived from a container (an evaluation's brain side: its score tensor and
    noise ceiling; its NCSNR-filtered data), kept by a context while the container lives.

    Containers are values (never modified after construction), so one's identity stands for
    its content; a weak reference guards against a new object reusing a freed one's id. Each
    (container, name) keeps its last ``key`` only, and at most ``capacity`` entries are kept
    (least recently used dropped).

    Parameters
    ----------
    capacity : int
        Entries kept.
    """

    def __init__(self, capacity: int = 8) -> None:
        self.capacity = capacity
        self._entries: OrderedDict[tuple[int, str], tuple[Any, Hashable, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, owner: Any, name: str, key: Hashable, make: Callable[[], Any]) -> Any:
        """``make()`` for (``owner``, ``name``, ``key``), computed once while kept.

        Parameters
        ----------
        owner : object
            The container the value derives from.
        name : str
            What the value is.
        key : Hashable
            Everything else the value depends on.
        make : callable
            Computes the value.

        Returns
        -------
        object
        """
        slot = (id(owner), name)
        with self._lock:
            entry = self._entries.get(slot)
            if entry is not None and entry[0]() is owner and entry[1] == key:
                self._entries.move_to_end(slot)
                return entry[2]
        value = make()
        with self._lock:
            self._entries[slot] = (weakref.ref(owner), key, value)
            self._entries.move_to_end(slot)
            while len(self._entries) > self.capacity:
                self._entries.popitem(last=False)
        return value

    def __len__(self) -> int:
        return len(self._entries)


@dataclass(frozen=True)
class Context:
    """Where and how a computation runs, and the memories it keeps.

    Parameters
    ----------
    backend : Backend
        Whose kernels run the products (:mod:`crossalign.compute.backends`).
    dtype : str
        Working precision of ``gram`` and ``inner`` (``"float64"`` or ``"float32"``).
    memory_budget : int, optional
        Bytes the engine may use (:meth:`from_options` reads the option, whose default is 80%
        of the memory available then); None: 80% of the memory available when a plan is made.
    cluster : object, optional
        A ``dask.distributed.Client`` or scheduler address to run all-pairs blocks on.
    penalties : Choices
        Ridge penalties already chosen, by the content of their fitting rows.
    memos : Memos
        Values derived from containers, kept while they live (:class:`Memos`).
    recorder : list, optional
        When a list, every chunk the ridge kernels run is appended to it (the benchmark's
        floor prices them; :func:`crossalign.compute.ridge.recording`).
    """

    backend: Backend
    dtype: str = "float64"
    memory_budget: int | None = None
    cluster: Any = None
    penalties: Choices = field(default_factory=Choices, compare=False, repr=False)
    memos: Memos = field(default_factory=Memos, compare=False, repr=False)
    recorder: list[Any] | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.backend, Backend):
            raise InputError(
                "The 'backend' argument of Context must be a Backend (get_backend('numpy'); "
                f"or Context.from_options(backend=...) with a name). Got {self.backend!r}."
            )
        if self.dtype not in ("float32", "float64"):
            raise InputError(
                f"The 'dtype' argument of Context must be 'float32' or 'float64'. Got "
                f"{self.dtype!r}."
            )
        budget = self.memory_budget
        if budget is not None and (
            isinstance(budget, bool) or not isinstance(budget, int) or budget <= 0
        ):
            raise InputError(
                "The 'memory_budget' argument of Context must be a positive number of bytes "
                f"or None. Got {budget!r}."
            )

    @classmethod
    def from_options(cls, **changes: Any) -> Context:
        """A context from the current :func:`crossalign.options` (backend, dtype,
        memory_budget, cluster), with fresh memories; ``changes`` replace fields.

        Parameters
        ----------
        **changes
            Fields to set instead (e.g. ``backend="torch:cpu"``).

        Returns
        -------
        Context
        """
        values: dict[str, Any] = {
            "backend": get_backend(str(get_option("backend"))),
            "dtype": str(get_option("dtype")),
            "memory_budget": get_option("memory_budget"),
            "cluster": get_option("cluster"),
        }
        values.update(changes)
        values["backend"] = usable_backend(values["backend"])
        return cls(**values)

    def on(self, backend: str | Backend) -> Context:
        """This context on another backend, sharing its memories.

        Parameters
        ----------
        backend : str or Backend

        Returns
        -------
        Context
        """
        backend = usable_backend(backend)
        return self if backend == self.backend else replace(self, backend=backend)

    def without_cluster(self) -> Context:
        """This context running in this process (what a Dask worker runs a block with).

        Returns
        -------
        Context
        """
        return self if self.cluster is None else replace(self, cluster=None)

    def budget(self) -> int:
        """The memory budget in bytes (80% of the memory available now when unset).

        Returns
        -------
        int
        """
        if self.memory_budget is None:
            return int(0.8 * available_memory())
        return int(self.memory_budget)

    @property
    def eps(self) -> float:
        """Machine epsilon of the working precision."""
        return float(np.finfo(np.dtype(self.dtype)).eps)

    def gram(self, z: np.ndarray) -> np.ndarray:
        """``z @ z.T`` on the backend in the working precision (float64 out).

        Parameters
        ----------
        z : numpy.ndarray
            (n, p).

        Returns
        -------
        numpy.ndarray
        """
        return self.backend.gram(z, self.dtype)

    def inner(self, a: np.ndarray, b: np.ndarray | None) -> np.ndarray:
        """All inner products of two stacks of unit vectors, clipped to [-1, 1]
        (``a @ a.T`` when ``b`` is None).

        Parameters
        ----------
        a : numpy.ndarray
            (Ka, m).
        b : numpy.ndarray or None
            (Kb, m).

        Returns
        -------
        numpy.ndarray
        """
        return self.backend.inner(a, b, self.dtype)

    def __reduce__(self) -> tuple[Any, ...]:
        # Sent to another process (a Dask worker) without its memories: they are this
        # process's and would only be copied; the worker starts with empty ones.
        return (
            _rebuilt,
            (self.backend.name, self.dtype, self.memory_budget, self.recorder is not None),
        )


def _rebuilt(backend: str, dtype: str, budget: int | None, records: bool) -> Context:
    return Context(get_backend(backend), dtype, budget, None, recorder=[] if records else None)


_CURRENT: ContextVar[Context | None] = ContextVar("crossalign_context", default=None)


def current_context() -> Context:
    """The context in use (:func:`using`), else one from the current options.

    Returns
    -------
    Context
    """
    ctx = _CURRENT.get()
    return Context.from_options() if ctx is None else ctx


@contextlib.contextmanager
def using(ctx: Context) -> Iterator[Context]:
    """Run the block under ``ctx``: every engine call in it (in this thread or asyncio task)
    takes ``ctx`` unless given another.

    Parameters
    ----------
    ctx : Context

    Yields
    ------
    Context
        ``ctx``.
    """
    token = _CURRENT.set(ctx)
    try:
        yield ctx
    finally:
        _CURRENT.reset(token)
