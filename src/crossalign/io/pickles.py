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
import json
import subprocess
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from crossalign.errors import InputError, MissingFileError
from crossalign.io._unpickle_child import RestrictedUnpickler

__all__ = [
    "ALLOWED",
    "NIBABEL",
    "RestrictedUnpickler",
    "load_npy_object",
    "load_pickle",
    "load_pickles",
    "loads_restricted",
]

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


def loads_restricted(
    data: bytes, allowed: Iterable[tuple[str, str]] = ALLOWED, **kwargs: Any
) -> Any:
    """Unpickle bytes with :class:`RestrictedUnpickler`.

    Parameters
    ----------
    data : bytes
        A pickle.
    allowed : iterable of (module, name)
        The globals it may name.
    **kwargs
        Passed to :class:`pickle.Unpickler` (``encoding``).

    Returns
    -------
    object
    """
    return RestrictedUnpickler(io.BytesIO(data), allowed, **kwargs).load()


def load_pickle(
    path: str | Path,
    *,
    nibabel: bool = False,
    encoding: str = "ASCII",
    timeout: float = 600.0,
    offset: int = 0,
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
    offset : int
        Where the pickle starts in the file (after an ``.npy`` header, say).

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
    return load_pickles([path], nibabel=nibabel, encoding=encoding, timeout=timeout, offset=offset)[
        0
    ]


def load_pickles(
    paths: Sequence[str | Path],
    *,
    nibabel: bool = False,
    encoding: str = "ASCII",
    timeout: float = 600.0,
    offset: int = 0,
) -> list[Any]:
    """Several pickles read like :func:`load_pickle`, in one child process (one start-up
    for all of them). Parameters and errors are those of :func:`load_pickle`; the results
    come back in the order of ``paths``.

    Parameters
    ----------
    paths : list of str or Path
    nibabel : bool
        Allow nibabel's image classes.
    encoding : str
        Pickle string encoding (``"latin1"`` for Python 2 pickles).
    timeout : float
        Seconds before the child process is stopped.
    offset : int
        Bytes to skip at the start of each file.

    Returns
    -------
    list
    """
    files = [Path(p) for p in paths]
    for path in files:
        if not path.is_file():
            raise MissingFileError(f"The pickle '{path}' does not exist.")
    allowed = set(ALLOWED) | (set(NIBABEL) if nibabel else set())
    names = [str(p) for p in files]
    request = {"paths": names, "allowed": sorted(allowed), "encoding": encoding, "offset": offset}
    where = names[0] if len(names) == 1 else f"{names[0]} (and {len(names) - 1} more)"
    try:
        run = subprocess.run(
            [sys.executable, "-I", str(Path(__file__).with_name("_unpickle_child.py"))],
            input=json.dumps(request).encode(),
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise InputError(f"Reading the pickle '{where}' took longer than {timeout} s.") from None
    message = run.stdout
    if run.returncode != 0 or message[:2] not in (b"ok", b"er"):
        raise InputError(
            f"The reader of the pickle '{where}' crashed (exit code {run.returncode}); the "
            "file is damaged or not a pickle."
        )
    if message[:2] == b"er":
        failed, text = message[2:].decode(errors="replace").split("\0", 1)
        raise InputError(f"The pickle '{failed}' was not loaded: {text}")
    return loads_restricted(message[2:], allowed)


def load_npy_object(path: str | Path) -> Any:
    """The object stored in an object-dtype ``.npy`` file (what ``np.save`` writes for a
    dict), read like :func:`load_pickle`: allow-listed globals only, in a child process,
    never numpy's own unpickling.

    Parameters
    ----------
    path : str or Path
        An ``.npy`` file holding a pickled object array.

    Returns
    -------
    object
        The array's single element for a 0-d array (e.g. a dict), else the array.

    Raises
    ------
    InputError
        The file is not an ``.npy`` file of object dtype, or its pickle is refused.
    """
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(f"The file '{path}' does not exist.")
    with open(path, "rb") as fh:
        try:
            version = np.lib.format.read_magic(fh)
            readers = {
                (1, 0): np.lib.format.read_array_header_1_0,
                (2, 0): np.lib.format.read_array_header_2_0,
            }
            if version not in readers:
                raise ValueError(f"format version {version} (expected 1.0 or 2.0)")
            _, _, dtype = readers[version](fh)
        except ValueError as exc:
            raise InputError(f"The file '{path}' is not an .npy file: {exc}") from None
        offset = fh.tell()
    if dtype.kind != "O":
        raise InputError(f"The file '{path}' holds dtype {dtype}. Expected an object array.")
    arr = load_pickle(path, offset=offset)
    return arr.item() if isinstance(arr, np.ndarray) and arr.ndim == 0 else arr
