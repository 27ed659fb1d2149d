"""The dense products of the all-pairs ridge kernels (:mod:`crossalign.compute.ridge`), as the
part of each backend (:mod:`crossalign.compute.backends`) that works on the backend's own
arrays: general products, symmetric products ``a^T a`` written in a form that pairs with a
partner form for Frobenius inner products, and symmetric eigendecompositions.

Symmetric products and their inner products
--------------------------------------------
The ridge kernels need ``<A^T A, B^T B>_F`` for many pairs, as one matrix product of stacked,
raveled matrices. On NumPy a symmetric product is written as its upper triangle only, packed
in LAPACK's rectangular full packed format (``dsfrk``: half the arithmetic of a general
product, and n(n+1)/2 entries instead of n^2, so the stacked products that read them move and
multiply half as much). ``half`` writes the triangle as it is; ``pair`` writes the partner with
its off-diagonal entries doubled, so that ``<half(A), pair(B)> = <A^T A, B^T B>``. On PyTorch
both forms are the full matrix.

NumPy and SciPy wheels each carry their own OpenBLAS thread pool, and alternating between them
makes each wait for the other's spinning threads; every product here therefore goes through
SciPy's BLAS and LAPACK.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy.linalg import blas, lapack

__all__ = ["NumpyProducts", "ProductKernels", "TorchProducts"]


class ProductKernels:
    """The products of one backend (see the module docstring); arrays are the backend's.
    Each :class:`~crossalign.compute.backends.Backend` inherits the form for its library."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # an implementation documents itself by the contract it implements
        super().__init_subclass__(**kwargs)
        for name, value in vars(cls).items():
            contract = getattr(ProductKernels, name, None)
            if callable(value) and not value.__doc__ and contract is not None:
                value.__doc__ = contract.__doc__

    def asarray(self, x: np.ndarray) -> Any:
        """``x`` as a float64 array of this backend.

        Parameters
        ----------
        x : numpy.ndarray

        Returns
        -------
        array
        """
        raise NotImplementedError

    def to_numpy(self, x: Any) -> np.ndarray:
        """A backend array as a float64 NumPy array.

        Parameters
        ----------
        x : array

        Returns
        -------
        numpy.ndarray
        """
        raise NotImplementedError

    def empty(self, shape: tuple[int, ...]) -> Any:
        """An uninitialised float64 array (column-major where that feeds BLAS directly).

        Parameters
        ----------
        shape : tuple of int

        Returns
        -------
        array
        """
        raise NotImplementedError

    def zeros(self, size: int) -> Any:
        """A flat float64 array of zeros.

        Parameters
        ----------
        size : int

        Returns
        -------
        array
        """
        raise NotImplementedError

    def mm(self, a: Any, b: Any, out: Any = None) -> Any:
        """``a @ b`` (into ``out`` when given).

        Parameters
        ----------
        a, b : array
        out : array, optional

        Returns
        -------
        array
        """
        raise NotImplementedError

    def sym_size(self, n: int) -> int:
        """Entries of an n x n symmetric matrix as :meth:`half` and :meth:`pair` write it.

        Parameters
        ----------
        n : int

        Returns
        -------
        int
        """
        raise NotImplementedError

    def half(self, a: Any, out: Any, scale: float = 1.0) -> None:
        """``scale * a^T a`` into the flat ``out`` of :meth:`sym_size` entries, in the half
        form.

        Parameters
        ----------
        a : array
        out : array
            Contiguous and flat, written in place.
        scale : float
        """
        raise NotImplementedError

    def pair(self, a: Any, out: Any, scale: float = 1.0) -> None:
        """``scale * a^T a`` into the flat ``out`` of :meth:`sym_size` entries, in the
        partner form.

        Parameters
        ----------
        a : array
        out : array
            Contiguous and flat, written in place.
        scale : float
        """
        raise NotImplementedError

    def syrk(self, a: Any) -> Any:
        """``a^T a``, as the full symmetric matrix or its upper triangle (what ``eigh``
        reads).

        Parameters
        ----------
        a : array

        Returns
        -------
        array
        """
        raise NotImplementedError

    def eigh(self, a: Any) -> tuple[Any, Any]:
        """Eigenvalues (ascending) and eigenvectors of the symmetric ``a`` from :meth:`syrk`.

        Parameters
        ----------
        a : array

        Returns
        -------
        tuple
        """
        raise NotImplementedError

    def svd(self, a: Any) -> tuple[Any, Any, Any]:
        """Thin SVD ``u, s, vt``.

        Parameters
        ----------
        a : array

        Returns
        -------
        tuple
        """
        raise NotImplementedError

    def fravel(self, a: Any) -> Any:
        """The entries of ``a`` column by column (a view when ``a`` is column-major).

        Parameters
        ----------
        a : array

        Returns
        -------
        array
        """
        raise NotImplementedError

    def index(self, positions: np.ndarray) -> Any:
        """Integer positions or a boolean mask, for indexing this backend's arrays.

        Parameters
        ----------
        positions : numpy.ndarray

        Returns
        -------
        array
        """
        raise NotImplementedError

    def mul(self, a: Any, b: Any, out: Any) -> Any:
        """``a * b`` (broadcast) into ``out``.

        Parameters
        ----------
        a, b : array
        out : array

        Returns
        -------
        array
        """
        raise NotImplementedError

    def flat(self, a: Any) -> Any:
        """A flat view of the contiguous ``a`` in its memory order (stride ``n + 1`` walks a
        square's diagonal in either order).

        Parameters
        ----------
        a : array

        Returns
        -------
        array
        """
        raise NotImplementedError

    def stack(self, arrays: Sequence[Any]) -> Any:
        """Equal-length vectors as the rows of one array.

        Parameters
        ----------
        arrays : sequence of arrays

        Returns
        -------
        array
        """
        raise NotImplementedError


def _fortran(x: np.ndarray) -> tuple[np.ndarray, bool]:
    """``(f, transposed)`` with ``f`` column-major and ``op(f) = x``: no copy for either
    contiguous layout."""
    if x.flags.f_contiguous:
        return x, False
    if x.flags.c_contiguous:
        return x.T, True
    return np.asfortranarray(x), False


def _into(result: np.ndarray, out: np.ndarray) -> None:
    if not np.may_share_memory(result, out):  # BLAS wrote a copy: bring it home
        out[...] = result


@functools.lru_cache(maxsize=8)
def _packed_diagonal(n: int) -> np.ndarray:
    """Positions of the diagonal in the packed form :meth:`NumpyProducts.half` writes."""
    packed, info = lapack.dtrttf(np.diag(np.arange(1.0, n + 1.0)), transr="T")
    if info != 0:  # pragma: no cover - only for invalid arguments
        raise ValueError(f"dtrttf failed (info={info}).")
    positions = np.empty(n, dtype=np.intp)
    found = np.flatnonzero(packed)
    positions[packed[found].astype(np.intp) - 1] = found
    return positions


class NumpyProducts(ProductKernels):
    """SciPy BLAS/LAPACK on the host; symmetric products as one triangle."""

    def asarray(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(x, dtype=np.float64)

    def to_numpy(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(x, dtype=np.float64)

    def empty(self, shape: tuple[int, ...]) -> np.ndarray:
        return np.empty(shape, order="F")

    def zeros(self, size: int) -> np.ndarray:
        return np.zeros(size)

    def mm(self, a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        if out is not None and not out.flags.f_contiguous:  # C-ordered out: out^T = b^T a^T
            self.mm(b.T, a.T, out.T)
            return out
        fa, ta = _fortran(a)
        fb, tb = _fortran(b)
        if out is None:
            return blas.dgemm(1.0, fa, fb, trans_a=ta, trans_b=tb)
        _into(blas.dgemm(1.0, fa, fb, trans_a=ta, trans_b=tb, beta=0.0, c=out, overwrite_c=1), out)
        return out

    def sym_size(self, n: int) -> int:
        return n * (n + 1) // 2

    def half(self, a: np.ndarray, out: np.ndarray, scale: float = 1.0) -> None:
        fa, ta = _fortran(a)  # a^T a = op(fa)^T op(fa)
        k, n = fa.shape[::-1] if ta else fa.shape
        trans = "N" if ta else "T"  # fa fa^T for fa (n, k), or fa^T fa for fa (k, n)
        result = lapack.dsfrk(n, k, scale, fa, 0.0, out, transr="T", trans=trans, overwrite_c=1)
        _into(result, out)

    def pair(self, a: np.ndarray, out: np.ndarray, scale: float = 1.0) -> None:
        self.half(a, out, 2.0 * scale)
        fa, ta = _fortran(a)
        out[_packed_diagonal(fa.shape[0] if ta else fa.shape[1])] *= 0.5  # counted once

    def syrk(self, a: np.ndarray) -> np.ndarray:
        fa, ta = _fortran(a)
        return blas.dsyrk(1.0, fa, trans=0 if ta else 1)  # upper triangle

    def eigh(self, a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        lam, vecs, info = lapack.dsyevd(a, compute_v=1, lower=0)
        if info != 0:
            raise np.linalg.LinAlgError(f"The eigendecomposition did not converge (info={info}).")
        return lam, vecs

    def svd(self, a: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        u, s, vt, info = lapack.dgesdd(np.asfortranarray(a), full_matrices=0)
        if info != 0:
            raise np.linalg.LinAlgError(f"The SVD did not converge (info={info}).")
        return u, s, vt

    def fravel(self, a: np.ndarray) -> np.ndarray:
        return a.ravel(order="F")

    def index(self, positions: np.ndarray) -> np.ndarray:
        return np.asarray(positions)

    def mul(self, a: np.ndarray, b: np.ndarray, out: np.ndarray) -> np.ndarray:
        return np.multiply(a, b, out=out)

    def flat(self, a: np.ndarray) -> np.ndarray:
        return a.reshape(-1, order="A")

    def stack(self, arrays: Sequence[np.ndarray]) -> np.ndarray:
        return np.stack(arrays)


class TorchProducts(ProductKernels):
    """PyTorch on a backend's device; symmetric products as full matrices."""

    def _torch(self) -> tuple[Any, Any]:
        """(the torch module, the device); the backend provides it."""
        raise NotImplementedError

    def asarray(self, x: np.ndarray) -> Any:
        torch, device = self._torch()
        return torch.as_tensor(np.asarray(x, dtype=np.float64), device=device, dtype=torch.float64)

    def to_numpy(self, x: Any) -> np.ndarray:
        return np.asarray(x.detach().cpu().numpy(), dtype=np.float64)

    def empty(self, shape: tuple[int, ...]) -> Any:
        torch, device = self._torch()
        return torch.empty(shape, dtype=torch.float64, device=device)

    def zeros(self, size: int) -> Any:
        torch, device = self._torch()
        return torch.zeros(size, dtype=torch.float64, device=device)

    def mm(self, a: Any, b: Any, out: Any = None) -> Any:
        if out is None:
            return a @ b
        return self._torch()[0].matmul(a, b, out=out)

    def sym_size(self, n: int) -> int:
        return n * n

    def half(self, a: Any, out: Any, scale: float = 1.0) -> None:
        n = a.shape[1]
        self._torch()[0].matmul(a.T, a, out=out.view(n, n))
        if scale != 1.0:
            out.mul_(scale)

    pair = half

    def syrk(self, a: Any) -> Any:
        return a.T @ a

    def eigh(self, a: Any) -> tuple[Any, Any]:
        return self._torch()[0].linalg.eigh(a)

    def svd(self, a: Any) -> tuple[Any, Any, Any]:
        return self._torch()[0].linalg.svd(a, full_matrices=False)

    def fravel(self, a: Any) -> Any:
        return a.T.reshape(-1)

    def index(self, positions: np.ndarray) -> Any:
        torch, device = self._torch()
        return torch.as_tensor(np.asarray(positions), device=device)

    def mul(self, a: Any, b: Any, out: Any) -> Any:
        return self._torch()[0].mul(a, b, out=out)

    def flat(self, a: Any) -> Any:
        return a.view(-1)

    def stack(self, arrays: Sequence[Any]) -> Any:
        return self._torch()[0].stack(list(arrays))
