"""RDM vectors already computed for a container, reused rather than recomputed.

A container's RDM upper triangles are kept per distance and per the backend and precision
that computed them (the execution context's, :class:`crossalign.compute.context.Context`).
Selecting entries keeps the matching rows, and restricting stimuli keeps the matching
columns: the distance between two stimuli depends on those two stimuli only, so a subset's
RDMs are submatrices of the RDMs already computed (indexing, not recomputing). Every cached
array is read-only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from crossalign.compute.context import Context

__all__ = ["RDMCache", "subset_vectors"]


def _key(distance: str, ctx: Context) -> tuple[str, str, str]:
    return distance, ctx.backend.name, ctx.dtype


def _read_only(arr: np.ndarray) -> np.ndarray:
    arr.setflags(write=False)
    return arr


def subset_vectors(vectors: np.ndarray, pos: np.ndarray, n: int) -> np.ndarray:
    """Upper-triangle RDM vectors (K, n(n-1)/2) restricted and reordered to the stimuli at
    ``pos``, without forming the square matrices.

    Parameters
    ----------
    vectors : numpy.ndarray
        (K, n (n - 1) / 2) upper triangles in scipy's ``squareform`` order.
    pos : numpy.ndarray
        Positions of the kept stimuli, in their new order.
    n : int
        The number of stimuli ``vectors`` cover.

    Returns
    -------
    numpy.ndarray
        (K, m (m - 1) / 2) for ``m = len(pos)``.
    """
    i, j = np.triu_indices(len(pos), k=1)
    a, b = pos[i], pos[j]
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    flat = n * lo - lo * (lo + 1) // 2 + hi - lo - 1  # squareform index of (lo, hi)
    return vectors[:, flat]


class RDMCache:
    """RDM vectors of a container's entries (in its key order), per distance, backend and
    precision.

    Parameters
    ----------
    arrays : dict, optional
        ``{(distance, backend, dtype): vectors}`` to start from.
    """

    def __init__(self, arrays: dict[tuple[str, str, str], np.ndarray] | None = None) -> None:
        self._arrays = {k: _read_only(v) for k, v in (arrays or {}).items()}

    def __bool__(self) -> bool:
        return bool(self._arrays)

    def get(self, distance: str, ctx: Context, compute: Callable[[], np.ndarray]) -> np.ndarray:
        """The vectors for ``distance`` under ``ctx``'s backend and precision, computed once
        by ``compute``.

        Parameters
        ----------
        distance : str
        ctx : Context
        compute : callable
            Returns the vectors of every entry when they are not cached.

        Returns
        -------
        numpy.ndarray
            Read-only.
        """
        key = _key(distance, ctx)
        if key not in self._arrays:
            self._arrays[key] = _read_only(compute())
        return self._arrays[key]

    def current(self, rows: Sequence[int], ctx: Context) -> dict[str, np.ndarray]:
        """``{distance: vectors[rows]}`` for what was computed under ``ctx``'s backend and
        precision.

        Parameters
        ----------
        rows : sequence of int
            Entry positions.
        ctx : Context

        Returns
        -------
        dict
        """
        return {k[0]: v[list(rows)] for k, v in self._arrays.items() if k == _key(k[0], ctx)}

    def rows(self, rows: Sequence[int]) -> RDMCache:
        """The cache of the entries at ``rows`` (in that order).

        Parameters
        ----------
        rows : sequence of int

        Returns
        -------
        RDMCache
        """
        return RDMCache({k: v[list(rows)] for k, v in self._arrays.items()})

    def stimuli(self, pos: np.ndarray, n: int) -> RDMCache:
        """The cache restricted to the stimuli at ``pos`` (see :func:`subset_vectors`).

        Parameters
        ----------
        pos : numpy.ndarray
        n : int

        Returns
        -------
        RDMCache
        """
        return RDMCache({k: subset_vectors(v, pos, n) for k, v in self._arrays.items()})
