"""Fault injection for reliability tests (inactive unless ``CROSSALIGN_FAULT`` is set).

``CROSSALIGN_FAULT="<point>:<n>"`` sends SIGKILL to the current process the n-th time the
named point is reached. Points: ``block-mid-write`` (inside a results transaction, rows
inserted, not committed), ``block-written`` (right after a commit), ``extraction-batch``
(after a forward pass, before the activations are cached). Tests use it to kill a real run
at chosen places and check that ``--resume`` gives the numbers of an uninterrupted run.
"""

from __future__ import annotations

import os
import signal

_counts: dict[str, int] = {}


def checkpoint(point: str) -> None:
    spec = os.environ.get("CROSSALIGN_FAULT")
    if not spec:
        return
    name, _, nth = spec.partition(":")
    if name != point:
        return
    _counts[point] = _counts.get(point, 0) + 1
    if _counts[point] == int(nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)
