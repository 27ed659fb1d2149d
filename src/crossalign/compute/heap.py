"""The C allocator's policy for large arrays: kept by the process between batches.

glibc's ``malloc`` serves every block above its mmap threshold (at most 32 MiB) with a fresh
``mmap`` and unmaps it again on ``free``. A network's activations on a batch of images are
such blocks (EfficientNet-Lite0's first layers hold ~150 MB per 32 images), so each batch
faults all of its pages in again and the kernel zeroes them: on a 2-core machine most
of a CPU extraction's time is spent there. With mmap off and the heap's top
not trimmed, a freed block is reused by the next batch. The arithmetic is the same, so
every number is unchanged; what changes is that the memory of the largest batch stays with
the process until it exits. PyTorch's CPU performance guide makes the same point and
suggests another allocator (jemalloc, tcmalloc) for it.
"""

from __future__ import annotations

import ctypes
import os
import sys

__all__ = ["ALLOCATOR_VARIABLES", "keep_large_blocks"]

#: Environment variables through which a user already chose the allocator's policy (or
#: another allocator): when one is set, :func:`keep_large_blocks` leaves the policy alone.
ALLOCATOR_VARIABLES = (
    "MALLOC_MMAP_MAX_",
    "MALLOC_MMAP_THRESHOLD_",
    "MALLOC_TRIM_THRESHOLD_",
    "MALLOC_TOP_PAD_",
    "GLIBC_TUNABLES",
    "LD_PRELOAD",
)

# glibc's <malloc.h> parameter numbers
_M_TRIM_THRESHOLD = -1
_M_MMAP_MAX = -4
#: Free memory at the heap's top beyond this many bytes goes back to the system (the
#: largest value ``mallopt`` takes: an int).
TRIM_THRESHOLD = 2**31 - 1


def keep_large_blocks() -> bool:
    """Keep freed large blocks in the process's heap (glibc on Linux): no ``mmap`` per
    block, no trimming of the heap's top below :data:`TRIM_THRESHOLD`.

    The command line does this at start; call it at the top of a script that extracts
    features on the CPU to get the same speed (4-5x the images per second for
    EfficientNet-Lite0 on 2 threads). Nothing happens on another platform or C library,
    or when one of :data:`ALLOCATOR_VARIABLES` is set (the user's choice stands). Numbers
    do not change; the memory of the largest batch stays with the process.

    Returns
    -------
    bool
        True when the policy was set.

    Examples
    --------
    >>> from crossalign.compute.heap import keep_large_blocks
    >>> keep_large_blocks()  # doctest: +SKIP
    True
    """
    if not sys.platform.startswith("linux") or any(v in os.environ for v in ALLOCATOR_VARIABLES):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the process's own C library
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(_M_MMAP_MAX, 0)) and bool(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))
