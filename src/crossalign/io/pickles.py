"""Reading the pickles some public datasets ship (BOLD Moments, Algonauts 2021), safely.

A pickle can name any Python callable and run it while loading; crossalign never lets it. A
:class:`RestrictedUnpickler` resolves only the globals of an explicit allow-list (numpy arrays,
dtypes and scalars, plain containers; optionally nibabel's image and header classes) and
refuses every other one *by name*, before anything is called. The reading happens in an
isolated child process (a fresh interpreter, as for damaged MATLAB files), so even a crash of
the reader leaves the caller running; the result comes back to the parent through the same
restricted unpickler.
"""

from __future__ import annotations

import io
import multiprocessing
import pickle
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..errors import InputError, MissingFileError

__all__ = ["ALLOWED", "NIBABEL", "RestrictedUnpickler", "load_pickle", "loads_restricted"]

#: (module, name) pairs a pickle may use: numpy arrays, dtypes and scalars, and builtins that
#: only build containers and plain values.
ALLOWED: frozenset[tuple[str, str]] = frozenset(
    {
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "scalar"),
        ("numpy.core.numeric", "_frombuffer"),
        ("numpy._core.numeric", "_frombuffer"),
        ("builtins", "dict"),
        ("builtins", "list"),
        ("builtins", "tuple"),
        ("builtins", "set"),
        ("builtins", "frozenset"),
        ("builtins", "bytearray"),
        ("builtins", "complex"),
        ("builtins", "slice"),
        ("collections", "OrderedDict"),
        ("_codecs", "encode"),  # Python 2 pickles store bytes through codecs.encode
    }
)

#: nibabel's NIfTI image and header classes (the BOLD Moments MNI152 pickles hold a mask).
NIBABEL: frozenset[tuple[str, str]] = frozenset(
    {
        ("nibabel.nifti1", "Nifti1Image"),
        ("nibabel.nifti1", "Nifti1Header"),
        ("nibabel.nifti1", "Nifti1Extensions"),
        ("nibabel.nifti2", "Nifti2Image"),
        ("nibabel.nifti2", "Nifti2Header"),
        ("nibabel.arrayproxy", "ArrayProxy"),
        ("nibabel.fileholders", "FileHolder"),
    }
)


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that resolves only the globals in ``allowed`` and refuses any other by
    name (no code named by the pickle runs)."""

    def __init__(self, file: Any, allowed: Iterable[tuple[str, str]] = ALLOWED, **kwargs: Any):
        super().__init__(file, **kwargs)
        self.allowed = frozenset(allowed)

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in self.allowed:
            raise pickle.UnpicklingError(
                f"the pickle names {module}.{name}, which crossalign does not load (only numpy "
                "arrays, plain containers and, where asked, nibabel images)"
            )
        return super().find_class(module, name)


def loads_restricted(
    data: bytes, allowed: Iterable[tuple[str, str]] = ALLOWED, **kwargs: Any
) -> Any:
    """Unpickle bytes with :class:`RestrictedUnpickler`."""
    return RestrictedUnpickler(io.BytesIO(data), allowed, **kwargs).load()


def _child(path: str, allowed: list[tuple[str, str]], encoding: str, conn: Any) -> None:
    """Runs in the child: read the file restricted, send back a pickle of the result (or the
    error text)."""
    try:
        with open(path, "rb") as fh:
            obj = RestrictedUnpickler(fh, allowed, encoding=encoding).load()
        conn.send_bytes(b"ok" + pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL))
    except Exception as exc:  # every failure goes back as text
        conn.send_bytes(b"er" + f"{type(exc).__name__}: {exc}".encode())
    finally:
        conn.close()


def load_pickle(
    path: str | Path,
    *,
    nibabel: bool = False,
    encoding: str = "ASCII",
    timeout: float = 600.0,
) -> Any:
    """Read a dataset's pickle safely: allow-listed globals only, in an isolated child.

    Parameters
    ----------
    path : str or Path
        The pickle.
    nibabel : bool
        Also allow nibabel's NIfTI image and header classes.
    encoding : str
        How Python 2 ``str`` objects are decoded (``"latin1"`` for Algonauts 2021).
    timeout : float
        Seconds the child may take.

    Returns
    -------
    object
        Numpy arrays and plain containers (and nibabel images when allowed).

    Raises
    ------
    MissingFileError
        The file does not exist.
    InputError
        The pickle names a global outside the allow-list (named in the message), is
        damaged, or its reader crashed.
    """
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(f"The pickle '{path}' does not exist.")
    allowed = set(ALLOWED) | (set(NIBABEL) if nibabel else set())
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe(duplex=False)
    process = context.Process(target=_child, args=(str(path), sorted(allowed), encoding, child))
    process.start()
    child.close()
    try:
        if not parent.poll(timeout):
            process.kill()
            raise InputError(f"Reading the pickle '{path}' took longer than {timeout} s.")
        message = parent.recv_bytes()
    except EOFError:
        raise InputError(
            f"The reader of the pickle '{path}' crashed (exit code {process.exitcode}); the "
            "file is damaged or not a pickle."
        ) from None
    finally:
        process.join(5)
        parent.close()
    if message[:2] == b"er":
        raise InputError(f"The pickle '{path}' was not loaded: {message[2:].decode()}")
    return loads_restricted(message[2:], allowed)
