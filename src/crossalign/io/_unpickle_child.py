"""The restricted unpickler, and the child process that uses it.

Run as a script (``python _unpickle_child.py``, by path, so the child imports neither
crossalign nor anything the pickle names outside the allow-list): it reads a JSON request on
stdin (``paths``, ``allowed`` (module, name) pairs, ``encoding``, ``offset``), unpickles each
file with :class:`RestrictedUnpickler` and writes ``b"ok"`` and a pickle of the list of
results, or ``b"er"``, the failing path, a NUL byte and the error text, to stdout.
"""

from __future__ import annotations

import json
import pickle
import sys
from collections.abc import Iterable
from typing import Any


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that resolves only the globals in ``allowed`` and refuses any other by
    name (no code named by the pickle runs)."""

    def __init__(self, file: Any, allowed: Iterable[tuple[str, str]], **kwargs: Any):
        super().__init__(file, **kwargs)
        self.allowed = frozenset(tuple(x) for x in allowed)

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in self.allowed:
            raise pickle.UnpicklingError(
                f"the pickle names {module}.{name}, which crossalign does not load (only numpy "
                "arrays, plain containers and, where asked, nibabel images)"
            )
        return super().find_class(module, name)


def main() -> None:
    request = json.loads(sys.stdin.read())
    path = ""
    try:
        out = []
        for path in request["paths"]:
            with open(path, "rb") as fh:
                fh.seek(request["offset"])
                unpickler = RestrictedUnpickler(
                    fh, request["allowed"], encoding=request["encoding"]
                )
                out.append(unpickler.load())
        data = b"ok" + pickle.dumps(out, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as exc:  # every failure goes back as text
        data = b"er" + f"{path}\0{type(exc).__name__}: {exc}".encode()
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()


if __name__ == "__main__":
    main()
