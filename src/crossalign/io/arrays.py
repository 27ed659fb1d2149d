"""Load numeric arrays from files, safely: no pickle, ever.

Formats: ``.npy``, ``.npz`` (``np.load(allow_pickle=False)``), MATLAB ``.mat`` v5 (scipy) and
v7.3 (HDF5, needs the ``io`` extra: h5py). A file that is missing, truncated, corrupt or holds
an object array fails with a message naming the file and the variable.
"""

from __future__ import annotations

import faulthandler
import io
import multiprocessing as mp
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from scipy.io import loadmat

from crossalign._validation import closest
from crossalign.errors import InputError, MissingFileError
from crossalign.io.mat_layout import check_mat_layout

__all__ = ["load_array", "read_mat_v5"]


def _pick(keys: list[str], key: str | None, path: Path) -> str:
    if key is None:
        if len(keys) == 1:
            return keys[0]
        raise InputError(
            f"The file '{path}' holds {len(keys)} variables {keys}; name one with "
            f"'{path}:KEY' (or key=...)."
        )
    if key not in keys:
        hint = closest(key, keys)
        raise InputError(
            f"The file '{path}' has no variable {key!r}. Expected one of {keys}."
            + (f" Did you mean {hint!r}?" if hint else "")
        )
    return key


def _numeric(contents: dict[str, Any]) -> dict[str, np.ndarray]:
    return {
        k: v
        for k, v in contents.items()
        if not k.startswith("__") and isinstance(v, np.ndarray) and v.dtype.kind in "biuf"
    }


def read_mat_v5(
    path: Path,
    *,
    trusted: bool = False,
    convert: Callable[[dict[str, Any]], dict[str, np.ndarray]] = _numeric,
    simplify_cells: bool = False,
) -> dict[str, np.ndarray]:
    """Numeric variables of a MATLAB v5 file (or what ``convert`` makes of its contents).

    scipy's reader can crash the interpreter (segmentation fault) on some corrupt files, so an
    untrusted file is first checked from its tags (:func:`crossalign.io.mat_layout.
    check_mat_layout`: a damaged layout is refused at once) and, unless it holds only plain
    numeric matrices whose parts match their dimensions, read in a forked child process,
    which sends back plain ``.npz`` bytes (parsed with ``allow_pickle=False``); if the child
    dies, the file is reported as corrupt. ``trusted=True`` (checksum-verified files) reads
    in-process. ``convert`` turns the ``loadmat`` dict (with ``simplify_cells``) into plain
    arrays, where the file is read.

    Parameters
    ----------
    path : Path
    trusted : bool
        Read in this process (checksum-verified files only).
    convert : callable
        Turns the file's contents into the arrays returned (default: its numeric variables).
    simplify_cells : bool
        scipy's ``simplify_cells`` (MATLAB structs as dicts).

    Returns
    -------
    dict of numpy.ndarray
    """

    def numeric(contents: dict[str, Any]) -> dict[str, np.ndarray]:
        return convert(contents)

    if trusted:
        return numeric(loadmat(path, simplify_cells=simplify_cells))
    if check_mat_layout(path):  # refuses a damaged layout, without a child process
        try:  # plain numeric matrices, consistent: nothing for the reader to trip on
            return numeric(loadmat(path, simplify_cells=simplify_cells))
        except Exception as exc:  # what the child would have said
            raise InputError(f"{type(exc).__name__}: {exc}"[:2000]) from None

    ctx = mp.get_context("fork")
    receiver, sender = ctx.Pipe(duplex=False)

    def child() -> None:
        faulthandler.disable()  # a crash here is expected and handled by the parent
        try:
            buf = io.BytesIO()
            arrays: dict[str, Any] = numeric(loadmat(path, simplify_cells=simplify_cells))
            np.savez(buf, **arrays)
            sender.send_bytes(b"OK" + buf.getvalue())
        except Exception as exc:  # a readable error: pass its text back
            sender.send_bytes(b"ER" + f"{type(exc).__name__}: {exc}".encode()[:2000])

    proc = ctx.Process(target=child, daemon=True)
    proc.start()
    sender.close()
    try:
        message = receiver.recv_bytes()
    except EOFError:
        message = b""
    proc.join(timeout=60)
    if message[:2] == b"OK":
        with np.load(io.BytesIO(message[2:]), allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    if message[:2] == b"ER":
        raise InputError(message[2:].decode(errors="replace"))
    raise InputError(
        f"the MATLAB reader crashed on this file (exit code {proc.exitcode}); it is corrupt"
    )


def load_array(path: str | Path, key: str | None = None, *, trusted: bool = False) -> np.ndarray:
    """The numeric array stored under ``key`` in ``path`` (the only one when ``key`` is None).

    Parameters
    ----------
    path : str or Path
        A ``.npy``, ``.npz`` or ``.mat`` (v5 or v7.3) file.
    key : str, optional
        The variable; needed when the file holds several.
    trusted : bool
        Read MATLAB v5 files in-process (checksum-verified files only); otherwise a child
        process reads them.

    Returns
    -------
    numpy.ndarray
        The numeric array.

    Raises
    ------
    FileNotFoundError
        The file does not exist.
    ValueError
        Unknown format, unknown key, truncated or corrupt file, object (pickled) arrays,
        non-numeric data.
    """
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(f"The file '{path}' does not exist (or is not a file).")
    suffix = path.suffix.lower()
    name = key or "array"
    try:
        if suffix == ".npy":
            arr = np.load(path, allow_pickle=False)
            name = "array"
        elif suffix == ".npz":
            with np.load(path, allow_pickle=False) as z:
                name = _pick(list(z.keys()), key, path)
                arr = z[name]
        elif suffix == ".mat":
            arr, name = _load_mat(path, key, trusted)
        else:
            raise InputError(
                f"The file '{path}' has an unsupported suffix {suffix!r}. Expected one of "
                "['.mat', '.npy', '.npz']."
            )
    except ValueError as exc:
        if "allow_pickle" in str(exc) or "Object arrays" in str(exc):
            raise InputError(
                f"The file '{path}' holds an object (pickled) array {name!r}; crossalign never "
                "unpickles input. Save plain numeric arrays instead."
            ) from None
        if str(exc).startswith("The file"):
            raise
        raise InputError(f"The file '{path}' could not be read: {exc}") from exc
    except Exception as exc:  # zipfile.BadZipFile, OSError, EOFError, struct errors, ...
        raise InputError(
            f"The file '{path}' could not be read (truncated or corrupt?): {exc}"
        ) from exc
    if arr.dtype.kind not in "biuf":
        raise InputError(
            f"The variable {name!r} in '{path}' must be numeric. Got dtype {arr.dtype}."
        )
    return arr


def _load_mat(path: Path, key: str | None, trusted: bool = False) -> tuple[np.ndarray, str]:
    with path.open("rb") as fh:
        head = fh.read(128)
    if b"MATLAB 7.3" in head or head.startswith(b"\x89HDF"):
        try:
            import h5py
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise InputError(
                f"The file '{path}' is MATLAB v7.3 (HDF5); install the 'io' extra "
                "(pip install 'crossalign[io]') to read it."
            ) from exc
        with h5py.File(path, "r") as f:
            keys = [k for k in f if not k.startswith("#")]
            name = _pick(keys, key, path)
            # MATLAB writes column-major: reverse the axes to get MATLAB's shape back.
            return np.asarray(f[name][()]).transpose(), name
    contents = read_mat_v5(path, trusted=trusted)
    if not contents:
        raise InputError(f"The file '{path}' holds no numeric array (cells/structs are not read).")
    name = _pick(list(contents), key, path)
    return contents[name], name
