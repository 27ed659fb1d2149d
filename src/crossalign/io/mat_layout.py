"""The structure of a MATLAB file, checked before any reader parses it.

scipy's MATLAB reader can crash the interpreter on some corrupt files, so an untrusted file is
read in a child process (:func:`crossalign.io.arrays.read_mat_v5`). Reading only the file's
tags, :func:`check_mat_layout` refuses at once what no reader would take (an empty file, a
header of no MATLAB version, a damaged element layout) and tells which files need no child at
all: a v5 file whose every variable is an uncompressed numeric matrix whose parts are exactly
as large as its dimensions say leaves the reader nothing to trip on.

The layout is that of the MAT-file format (MathWorks, "MAT-File Format", 2024): a 128-byte
header, then data elements of an 8-byte tag (type, number of bytes) and their data padded to 8
bytes, or small elements of up to 4 bytes packed into one 8-byte word. A matrix holds array
flags, dimensions, a name and its real (and imaginary) part. The version is told as scipy's
``loadmat`` tells it.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import BinaryIO

import numpy as np

from crossalign.errors import InputError

__all__ = ["check_mat_layout"]

#: Top-level element types: a matrix, or a zlib-compressed one.
_MI_MATRIX, _MI_COMPRESSED = 14, 15
#: Data types a numeric part may be stored as -> bytes per value (int8 ... double, int64,
#: uint64; MATLAB may store a double matrix in a narrower type).
_MI_SIZES = {1: 1, 2: 1, 3: 2, 4: 2, 5: 4, 6: 4, 7: 4, 9: 8, 12: 8, 13: 8}
_MI_INT8, _MI_INT32, _MI_UINT32 = 1, 5, 6
#: Numeric array classes (double, single, int8 ... uint64) and the flag bits a matrix may
#: carry (complex, global, logical).
_NUMERIC_CLASSES = range(6, 16)
_COMPLEX, _FLAG_BITS = 0x0800, 0x0E00


def check_mat_layout(path: Path) -> bool:
    """Refuse a MATLAB file that no reader would take, or whose v5 element layout is damaged;
    say whether it holds plain numeric matrices only.

    A zero among the first 4 bytes makes a v4 file, whose first matrix header must be one
    (order code ``MOPT`` with O = 0, data type P <= 5, matrix type T <= 2; non-negative
    sizes; its name inside the file); else the header's version byte must say v5 (1) or v7.3
    (2). A v5 file (byte order ``IM`` little-endian, anything else big-endian) holds top-level
    elements that are matrices or compressed matrices, the last one ending where the file
    ends.

    Parameters
    ----------
    path : Path

    Returns
    -------
    bool
        Whether the file is v5 and every variable an uncompressed numeric matrix with its
        flags, dimensions, name and parts consistent (a reader needs no isolation for it).

    Raises
    ------
    InputError
        An empty file, a header of no MATLAB version, an element of another type, an element
        running past the end of the file, or bytes after the last element; the message names
        the byte where it goes wrong.
    """
    with path.open("rb") as fh:  # only headers and tags are read: the file may be large
        size = fh.seek(0, 2)
        fh.seek(0)
        head = fh.read(128)
        if 0 in head[:4]:
            _check_v4_header(path, head, size)
            return False
        version = head[124 + int(head[126] == ord("I"))] if len(head) == 128 else None
        if version not in (1, 2):
            raise InputError(
                f"The file '{path}' is not a MATLAB file: "
                + ("it is empty." if size == 0 else _version_problem(head, size))
            )
        if version == 2:
            return False  # v7.3 (HDF5): h5py reads it
        return _walk_v5_elements(path, fh, "<" if head[126:128] == b"IM" else ">", size)


def _version_problem(head: bytes, size: int) -> str:
    if len(head) < 128:
        return f"{size} bytes, fewer than the 128-byte header of a v5 file."
    return (
        f"its header (bytes 124-127: {head[124:128]!r}) gives no MATLAB version (v5 or v7.3), "
        "and its first 4 bytes no v4 matrix."
    )


def _check_v4_header(path: Path, head: bytes, size: int) -> None:
    """The first matrix header of a v4 file, in scipy's byte order (little-endian unless
    that makes ``MOPT`` negative or over 5000)."""
    if size < 20:
        raise InputError(
            f"The file '{path}' is not a MATLAB file: {size} bytes, fewer than a v4 matrix "
            "header (20 bytes)."
        )
    mopt = int(np.frombuffer(head[:4], dtype="<i4")[0])
    order = "<" if 0 <= mopt <= 5000 else ">"
    mopt, rows, cols, imag, namelen = (int(v) for v in np.frombuffer(head[:20], f"{order}i4"))
    o, rest = divmod(mopt % 1000, 100)  # MOPT = 1000 M + 100 O + 10 P + T
    p, t = divmod(rest, 10)
    ok = 0 <= mopt <= 5000 and o == 0 and p <= 5 and t <= 2 and min(rows, cols) >= 0
    if not (ok and imag in (0, 1) and 0 <= namelen <= size - 20):
        raise InputError(
            f"The file '{path}' is not a MATLAB file: its first bytes are neither a v4 matrix "
            f"header (type code {mopt}, sizes {rows} x {cols}, name of {namelen} bytes) nor "
            "a v5 or v7.3 header."
        )


def _walk_v5_elements(path: Path, fh: BinaryIO, order: str, size: int) -> bool:
    """Check the top-level elements; whether all are plain numeric matrices."""
    pos, plain = 128, True
    while pos < size:
        if size - pos < 8:
            raise InputError(
                f"The MATLAB file '{path}' is damaged: {size - pos} stray byte(s) after its "
                f"last variable (from byte {pos} of {size})."
            )
        fh.seek(pos)
        kind, count = (int(v) for v in np.frombuffer(fh.read(8), dtype=f"{order}u4"))
        if kind not in (_MI_MATRIX, _MI_COMPRESSED):
            raise InputError(
                f"The MATLAB file '{path}' is damaged: the element at byte {pos} has type "
                f"{kind}, expected a variable (type {_MI_MATRIX} or {_MI_COMPRESSED})."
            )
        if pos + 8 + count > size:
            raise InputError(
                f"The MATLAB file '{path}' is damaged or truncated: the variable at byte "
                f"{pos} needs {count} bytes, but the file ends {size - pos - 8} bytes later."
            )
        plain = plain and kind == _MI_MATRIX and _plain_matrix(fh, order, pos + 8 + count)
        pos += 8 + count
    return plain


def _sub_element(fh: BinaryIO, order: str, end: int, *, read: bool) -> tuple[int, int, bytes]:
    """The next part of a matrix: (type, bytes, data if ``read``); type -1 where it is not
    a well-formed part inside the matrix (ending at ``end``)."""
    start = fh.tell()
    word = fh.read(8)
    if end - start < 8 or len(word) < 8:
        return -1, 0, b""
    first = int(np.frombuffer(word[:4], f"{order}u4")[0])
    if first >> 16:  # a small element: 2-byte count, 2-byte type, data in the next 4 bytes
        count = first >> 16
        return (first & 0xFFFF, count, word[4 : 4 + count]) if count <= 4 else (-1, 0, b"")
    count = int(np.frombuffer(word[4:], f"{order}u4")[0])
    stop = start + 8 + count + (-count) % 8
    if stop > end:
        return -1, 0, b""
    data = fh.read(count) if read else b""
    fh.seek(stop)
    return first, count, data


def _plain_matrix(fh: BinaryIO, order: str, end: int) -> bool:
    """Whether the matrix from the file's position to ``end`` is numeric and consistent:
    array flags of a numeric class and known bits, dimensions of non-negative sizes, a name,
    and real (and, if complex, imaginary) parts of exactly the values the dimensions give."""
    kind, count, flags = _sub_element(fh, order, end, read=True)
    if kind != _MI_UINT32 or count != 8:
        return False
    word = int(np.frombuffer(flags[:4], f"{order}u4")[0])
    if (word & 0xFF) not in _NUMERIC_CLASSES or word & ~0xFF & ~_FLAG_BITS:
        return False
    kind, count, dims = _sub_element(fh, order, end, read=True)
    if kind != _MI_INT32 or count < 8 or count % 4:
        return False
    shape = [int(d) for d in np.frombuffer(dims, f"{order}i4")]
    if min(shape) < 0 or _sub_element(fh, order, end, read=True)[0] != _MI_INT8:
        return False
    values = math.prod(shape)
    for _part in range(2 if word & _COMPLEX else 1):
        kind, count, _ = _sub_element(fh, order, end, read=False)
        if kind not in _MI_SIZES or count != values * _MI_SIZES[kind]:
            return False
    return bool(fh.tell() == end)
