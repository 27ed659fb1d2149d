"""Where the engine's hot kernels run: NumPy (default) or PyTorch (CPU, or CUDA where present).

One :class:`Backend` per registered name holds every backend-specific kernel. Three take and
return NumPy float64 arrays (the RDM and inner-product metrics):

``gram(z, dtype)``        the Gram matrix ``z @ z.T`` of one pre-processed response matrix;
``rank(v, out)``          average-tie ranks of each row of a stack of RDM vectors (Spearman);
``inner(a, b, dtype)``    all inner products of two stacks of unit vectors.

The others work on the backend's own arrays, kept there between kernels (the ridge kernels of
linear predictivity; :mod:`crossalign.compute.products`): ``asarray``/``to_numpy``, ``mm``,
``syrk``, ``half``/``pair``, ``eigh``, ``svd``, ...

Nothing here reads a setting: the caller passes the precision, and the engine hands every
kernel an execution context (:class:`crossalign.compute.context.Context`) that names the
backend, chosen per call or per block of code:

>>> import crossalign as ca
>>> with ca.options(backend="numpy"):
...     pass

``options(dtype="float32")`` runs ``gram`` and ``inner`` in single precision (ranks are exact in
either). Backends agree to 1e-10 in float64 (tests/compute/test_backends.py); the float32 error
on Spearman RSA scores is stated in docs/scale.md.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from crossalign._registry import Registry
from crossalign.compute.products import NumpyProducts, ProductKernels, TorchProducts
from crossalign.config import get_option, register_check
from crossalign.errors import InputError

__all__ = [
    "BACKENDS",
    "Backend",
    "NumpyBackend",
    "TorchBackend",
    "get_backend",
    "installed",
    "usable_backend",
]

_CHUNK_ELEMENTS = 2**16  # entries ranked at once per thread by NumPy (whole rows, at least one)
_ELEMENTS_IN_FLIGHT = 2**25  # at most this many entries ranked at once over all threads
RANK_TEMP_BYTES = 64  # temporaries per entry being ranked (bounds both backends' ranking)


def _rank_chunks(m: int) -> tuple[int, int]:
    """Rows per chunk and how many chunks may be ranked at once, for rows of ``m`` entries."""
    rows = max(1, _CHUNK_ELEMENTS // max(m, 1))
    threads = max(1, min(os.cpu_count() or 1, _ELEMENTS_IN_FLIGHT // (rows * max(m, 1))))
    return rows, threads


def _average_ranks(row: np.ndarray, out: np.ndarray) -> None:
    """Average-tie ranks of one finite row into ``out`` (scipy's ``rankdata(method="average")``).

    One argsort (NumPy's vectorised quicksort: several times faster than ``rankdata``; its
    instability does not matter because tied entries all get the mean of their positions),
    then each run of equal sorted values gets the mean of the 1-based positions it covers.
    """
    m = row.shape[0]
    order = np.argsort(row)
    ordered = row[order]
    tied = ordered[1:] == ordered[:-1]
    if not tied.any():
        out[order] = np.arange(1.0, m + 1.0)
        return
    starts = np.flatnonzero(np.concatenate(([True], ~tied)))
    counts = np.diff(starts, append=m)
    out[order] = np.repeat(starts + (counts + 1) / 2.0, counts)


@dataclass(frozen=True)
class Backend(ProductKernels):
    """The kernels of one backend (subclasses implement them, with the product kernels of
    their library).

    Parameters
    ----------
    name : str
        The registered name (``"numpy"``, ``"torch:cpu"``, ...).
    """

    name: str

    @property
    def family(self) -> str:
        """The library part of the name (``"torch"`` for ``"torch:cuda"``)."""
        return self.name.split(":")[0]

    def available(self) -> bool:
        """Whether this backend can run here (its library installed, its device present).

        Returns
        -------
        bool
        """
        return True

    def gram(self, z: np.ndarray, dtype: str = "float64") -> np.ndarray:
        """``z @ z.T`` for one (n, p) matrix, computed in ``dtype``; float64 (n, n) out.

        Parameters
        ----------
        z : numpy.ndarray
            (n, p).
        dtype : str
            ``"float64"`` or ``"float32"``.

        Returns
        -------
        numpy.ndarray
        """
        raise NotImplementedError

    def rank(self, v: np.ndarray, out: np.ndarray) -> np.ndarray:
        """Average-tie ranks (1..m, as scipy's ``rankdata``) of each row of ``v`` into ``out``.

        Parameters
        ----------
        v : numpy.ndarray
            (K, m) rows to rank.
        out : numpy.ndarray
            (K, m) float64, written in place.

        Returns
        -------
        numpy.ndarray
            ``out``.
        """
        raise NotImplementedError

    def rank_bytes(self, m: int) -> int:
        """Peak temporary memory of :meth:`rank` on rows of ``m`` entries.

        Parameters
        ----------
        m : int

        Returns
        -------
        int
        """
        return RANK_TEMP_BYTES * m

    def inner(self, a: np.ndarray, b: np.ndarray | None, dtype: str = "float64") -> np.ndarray:
        """``a @ b.T`` (``a @ a.T`` when ``b is None``: symmetric, half the work), computed in
        ``dtype`` and clipped to [-1, 1]; float64 (Ka, Kb) out.

        Parameters
        ----------
        a : numpy.ndarray
            (Ka, m).
        b : numpy.ndarray or None
            (Kb, m).
        dtype : str
            ``"float64"`` or ``"float32"``.

        Returns
        -------
        numpy.ndarray
        """
        raise NotImplementedError


@dataclass(frozen=True)
class NumpyBackend(NumpyProducts, Backend):
    """NumPy and the BLAS it links; rows ranked on every core (the sorts drop the GIL).

    Parameters
    ----------
    name : str
        The registered name, ``"numpy"``.
    """

    def gram(self, z: np.ndarray, dtype: str = "float64") -> np.ndarray:
        """``z @ z.T`` in ``dtype`` (a symmetric rank-k update); float64 out.

        Parameters
        ----------
        z : numpy.ndarray
            (n, p).
        dtype : str

        Returns
        -------
        numpy.ndarray
        """
        z = np.ascontiguousarray(z, dtype=dtype)
        g = z @ z.T  # NumPy runs x @ x.T as a symmetric rank-k update
        return g.astype(np.float64, copy=False)

    def rank_bytes(self, m: int) -> int:
        """Peak temporary memory of :meth:`rank` on rows of ``m`` entries.

        Parameters
        ----------
        m : int

        Returns
        -------
        int
        """
        rows, threads = _rank_chunks(m)
        return RANK_TEMP_BYTES * rows * m * threads

    def rank(self, v: np.ndarray, out: np.ndarray) -> np.ndarray:
        """Average-tie ranks of each row of ``v`` into ``out``, rows in chunks on every core.

        Parameters
        ----------
        v : numpy.ndarray
            (K, m) rows to rank.
        out : numpy.ndarray
            (K, m) float64, written in place.

        Returns
        -------
        numpy.ndarray
            ``out``.
        """
        step, threads = _rank_chunks(v.shape[1])

        def rank_rows(start: int) -> None:
            for i in range(start, min(start + step, len(v))):
                _average_ranks(v[i], out[i])

        starts = range(0, len(v), step)
        if len(starts) > 1 and threads > 1:
            with ThreadPoolExecutor(max_workers=min(len(starts), threads)) as pool:
                list(pool.map(rank_rows, starts))
        else:
            for start in starts:
                rank_rows(start)
        return out

    def inner(self, a: np.ndarray, b: np.ndarray | None, dtype: str = "float64") -> np.ndarray:
        """``a @ b.T`` (``a @ a.T`` when ``b`` is None) in ``dtype``, clipped to [-1, 1];
        float64 out.

        Parameters
        ----------
        a : numpy.ndarray
            (Ka, m).
        b : numpy.ndarray or None
            (Kb, m).
        dtype : str

        Returns
        -------
        numpy.ndarray
        """
        a = np.asarray(a, dtype=dtype)
        out = a @ a.T if b is None else a @ np.asarray(b, dtype=dtype).T
        out = out.astype(np.float64, copy=False)
        return np.clip(out, -1.0, 1.0, out=out)


@dataclass(frozen=True)
class TorchBackend(TorchProducts, Backend):
    """PyTorch on ``device`` (``None``: CUDA when available, else CPU). Arrays cross to the
    device for each kernel and come back as float64 NumPy arrays.

    Parameters
    ----------
    name : str
        The registered name (``"torch"``, ``"torch:cpu"``, ``"torch:cuda"``).
    device : str, optional
        A torch device; None picks CUDA when available, else the CPU.
    """

    device: str | None = None

    def available(self) -> bool:
        """Whether PyTorch is installed (and, for ``torch:cuda``, a CUDA device is visible).

        Returns
        -------
        bool
        """
        try:
            import torch
        except ImportError:
            return False
        return self.device != "cuda" or torch.cuda.is_available()

    def _torch(self) -> tuple[Any, Any]:
        try:
            import torch
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError(
                f"The {self.name!r} backend needs PyTorch. Install it (pip install "
                "'crossalign[torch]') or use backend='numpy'."
            ) from exc
        device = self.device or ("cuda" if torch.cuda.is_available() else "cpu")
        if device == "cuda" and not torch.cuda.is_available():
            raise RuntimeError(
                f"The {self.name!r} backend needs a CUDA device, and PyTorch sees none. Use "
                "backend='torch:cpu' or backend='numpy'."
            )
        return torch, torch.device(device)

    def _to(self, x: np.ndarray, dtype: str) -> Any:
        torch, device = self._torch()
        x = np.ascontiguousarray(x)
        if not x.flags.writeable:  # torch tensors are always writable: never alias read-only data
            x = x.copy()
        return torch.from_numpy(x).to(device=device, dtype=getattr(torch, dtype))

    @staticmethod
    def _back(t: Any) -> np.ndarray:
        import torch

        return t.to(dtype=torch.float64).cpu().numpy()

    def gram(self, z: np.ndarray, dtype: str = "float64") -> np.ndarray:
        """``z @ z.T`` in ``dtype`` on the device; float64 out.

        Parameters
        ----------
        z : numpy.ndarray
            (n, p).
        dtype : str

        Returns
        -------
        numpy.ndarray
        """
        t = self._to(z, dtype)
        return self._back(t @ t.T)

    def rank(self, v: np.ndarray, out: np.ndarray) -> np.ndarray:
        """Batched: the rows of a chunk are sorted together on the device, and each run of
        equal values gets the mean of the positions it occupies (its first and last position
        from running max/min scans), all without a loop over rows.

        Parameters
        ----------
        v : numpy.ndarray
            (K, m) rows to rank.
        out : numpy.ndarray
            (K, m) float64, written in place.

        Returns
        -------
        numpy.ndarray
            ``out``.
        """
        torch, _ = self._torch()
        k, m = v.shape
        rows = max(1, _CHUNK_ELEMENTS * 16 // max(m, 1))  # bounds the device's temporaries
        for start in range(0, k, rows):
            t = self._to(v[start : start + rows], "float64")
            out[start : start + rows] = self._ranks(torch, t).cpu().numpy()
        return out

    @staticmethod
    def _ranks(torch: Any, t: Any) -> Any:
        values, order = torch.sort(t, dim=1)
        m = values.shape[1]
        pos = torch.arange(m, device=t.device).expand_as(order)
        first = torch.ones_like(order, dtype=torch.bool)  # a run of equal values starts here
        first[:, 1:] = values[:, 1:] != values[:, :-1]
        last = torch.ones_like(first)  # ... and ends here
        last[:, :-1] = first[:, 1:]
        start = torch.where(first, pos, 0).cummax(dim=1).values
        end = torch.where(last, pos, m).flip(1).cummin(dim=1).values.flip(1)
        mean_rank = (start + end).to(torch.float64) / 2.0 + 1.0
        return torch.empty_like(mean_rank).scatter_(1, order, mean_rank)

    def inner(self, a: np.ndarray, b: np.ndarray | None, dtype: str = "float64") -> np.ndarray:
        """``a @ b.T`` (``a @ a.T`` when ``b`` is None) in ``dtype``, clipped to [-1, 1], on
        the device; float64 out.

        Parameters
        ----------
        a : numpy.ndarray
            (Ka, m).
        b : numpy.ndarray or None
            (Kb, m).
        dtype : str

        Returns
        -------
        numpy.ndarray
        """
        ta = self._to(a, dtype)
        out = ta @ ta.T if b is None else ta @ self._to(b, dtype).T
        return np.clip(self._back(out), -1.0, 1.0)


BACKENDS: Registry[Backend] = Registry("backend")
BACKENDS.register("numpy", NumpyBackend("numpy"))
BACKENDS.register("torch", TorchBackend("torch"))
BACKENDS.register("torch:cpu", TorchBackend("torch:cpu", "cpu"))
BACKENDS.register("torch:cuda", TorchBackend("torch:cuda", "cuda"))


def get_backend(name: str | Backend | None = None) -> Backend:
    """The backend ``name`` (default: the ``backend`` option, ``"numpy"`` unless set).

    Parameters
    ----------
    name : str or Backend, optional
        A registered name or a backend instance (returned as is).

    Returns
    -------
    Backend

    Raises
    ------
    InputError
        For a name that is not registered or not installed here.
    """
    if isinstance(name, Backend):
        return name
    return BACKENDS.get(str(get_option("backend")) if name is None else name)


def installed() -> list[str]:
    """Names of the backends usable on this machine (e.g. ``['numpy', 'torch', 'torch:cpu']``)."""
    return [name for name in BACKENDS if BACKENDS.get(name).available()]


def usable_backend(name: str | Backend) -> Backend:
    """The backend ``name``, refused unless it can run here.

    Parameters
    ----------
    name : str or Backend

    Returns
    -------
    Backend

    Raises
    ------
    InputError
        For a name that is not registered, or a backend that cannot run on this machine.
    """
    backend = get_backend(name)  # unknown names fail with the valid ones
    if not backend.available():
        raise InputError(
            f"The backend {backend.name!r} is not available on this machine (it needs PyTorch"
            f"{' and a CUDA device' if 'cuda' in backend.name else ''}). Available: "
            f"{installed()}."
        )
    return backend


def _check_backend(value: str) -> str:
    usable_backend(value)
    return value


register_check("backend", _check_backend)
