"""Ridge penalties already chosen, remembered by the content of the data they were chosen on.

A fold's leave-one-out choice of penalty for a (source, target) pair depends only on the two
representations' fitting rows, the fold's partition of them and the candidate penalties. The
paper's protocol (Hoefling et al. 2026) fits the same folds of the same training stimuli twice:
once to select layers (cross-validated within the training stimuli) and once to score the test
stimuli (train-fitted). The second analysis finds every choice here and skips the leave-one-out
matrices, the products that make them and the targets' Gram matrices; it computes the same
numbers (the choices are exactly those it would have made).

Keys are SHA-256 digests of the fitting rows' bytes (never object identities), so a choice is
reused only for bit-identical data; the memory belongs to an execution context
(:class:`crossalign.compute.context.Context`, its ``penalties``) and is bounded (least recently
used entries are dropped beyond 64 MB).
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import numpy as np

from crossalign.compute.products import ProductKernels

__all__ = ["Choices", "FoldKeys"]


def _digest(*parts: Any) -> bytes:
    """SHA-256 of the parts (bytes or contiguous arrays), each prefixed by its length."""
    h = hashlib.sha256()
    for part in parts:
        h.update(
            int(part.nbytes if isinstance(part, np.ndarray) else len(part)).to_bytes(8, "little")
        )
        h.update(part)
    return h.digest()


class FoldKeys:
    """The keys of every (source, fold) of one all-pairs call: each source's and the target
    set's fitting rows (the union over folds) digested once, and each fold's rows as
    positions within that union.

    Parameters
    ----------
    ops : ProductKernels
    xs, ys : sequence of arrays
        Sources and targets on the backend.
    folds : sequence of tuple
        (fitting rows, scored rows) per fold, as NumPy positions.
    alphas : numpy.ndarray
        The candidate penalties.
    """

    def __init__(
        self,
        ops: ProductKernels,
        xs: Sequence[Any],
        ys: Sequence[Any],
        folds: Sequence[tuple[np.ndarray, np.ndarray]],
        alphas: np.ndarray,
    ) -> None:
        rows = np.unique(np.concatenate([np.asarray(train) for train, _ in folds]))
        one: Any = ops.index(rows)
        if len(rows) and rows[-1] - rows[0] + 1 == len(rows):  # a range: a view, no copy
            one = slice(int(rows[0]), int(rows[-1]) + 1)

        def data(x: Any) -> bytes:
            block = np.ascontiguousarray(ops.to_numpy(x[one]))
            return _digest(str(block.shape).encode(), block)

        self.sources = [data(x) for x in xs]
        self.targets = _digest(*(data(y) for y in ys))
        common = np.asarray(alphas, dtype=np.float64).tobytes()
        self.folds = [
            _digest(np.searchsorted(rows, np.asarray(train)).astype(np.int64).tobytes(), common)
            for train, _ in folds
        ]

    def key(self, source: int, fold: int) -> bytes:
        """The key of source ``source`` against the call's targets in fold ``fold``.

        Parameters
        ----------
        source, fold : int

        Returns
        -------
        bytes
        """
        return _digest(self.sources[source], self.targets, self.folds[fold])


class Choices:
    """A bounded, thread-safe memory of chosen penalty indices (one per target), by key.

    Parameters
    ----------
    capacity : int
        Bytes of remembered indices kept; the least recently used entries are dropped
        beyond it.
    """

    def __init__(self, capacity: int = 64 * 2**20) -> None:
        self.capacity = capacity
        self._entries: OrderedDict[bytes, np.ndarray] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: bytes) -> np.ndarray | None:
        """The remembered choices for ``key`` (a copy), or None.

        Parameters
        ----------
        key : bytes

        Returns
        -------
        numpy.ndarray or None
        """
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                return None
            self._entries.move_to_end(key)
            return found.copy()

    def put(self, key: bytes, chosen: np.ndarray) -> None:
        """Remember ``chosen`` (penalty indices, one per target) under ``key``.

        Parameters
        ----------
        key : bytes
        chosen : numpy.ndarray
        """
        value = np.array(chosen, dtype=np.int32)
        with self._lock:
            old = self._entries.pop(key, None)
            self._bytes += value.nbytes - (0 if old is None else old.nbytes)
            self._entries[key] = value
            while self._bytes > self.capacity and len(self._entries) > 1:
                self._bytes -= self._entries.popitem(last=False)[1].nbytes

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    def __len__(self) -> int:
        return len(self._entries)
