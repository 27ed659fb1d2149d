"""On-disk cache of layer activations, safe to interrupt.

One HDF5 file per (model, weights, layer, stimulus set, preprocessing, pooling) entry, chunked
by stimuli. An entry is written to a temporary file in the same folder and renamed into place
only once complete, so a killed run never leaves a half-written entry that could be read back;
an unreadable entry is treated as missing.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from crossalign.config import get_option

__all__ = ["ActivationCache", "default_cache_dir"]


def default_cache_dir() -> Path:
    """The activation cache folder: the ``cache_dir`` option (``$CROSSALIGN_CACHE_DIR``), else
    ``$XDG_CACHE_HOME/crossalign/activations`` (``~/.cache`` when unset).

    Returns
    -------
    Path
    """
    return Path(get_option("cache_dir"))


class ActivationCache:
    """Layer activations on disk, keyed by a hash of everything that determines them (model
    weights, layer, stimuli, pooling, projection). Each entry is written to a temporary file
    and renamed, so an interrupted extraction never leaves a partial entry.

    Parameters
    ----------
    root : str or Path, optional
        The cache folder (default :func:`default_cache_dir`).
    """

    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root) if root is not None else default_cache_dir()

    @staticmethod
    def key(**parts: Any) -> str:
        """The cache key of an extraction: a SHA-256 hash of ``parts`` as sorted JSON.

        Parameters
        ----------
        **parts
            Everything that determines the activations.

        Returns
        -------
        str
        """
        text = json.dumps(parts, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:32]

    def path(self, key: str) -> Path:
        """The file of ``key``.

        Parameters
        ----------
        key : str

        Returns
        -------
        Path
        """
        return self.root / key[:2] / f"{key}.h5"

    def get(self, key: str) -> np.ndarray | None:
        """The cached activations of ``key``, or None when absent, incomplete or damaged (a
        damaged entry is recomputed, never trusted).

        Parameters
        ----------
        key : str

        Returns
        -------
        numpy.ndarray or None
        """
        path = self.path(key)
        if not path.is_file():
            return None
        h5py = _h5py()
        try:
            with h5py.File(path, "r") as f:
                if not f.attrs.get("complete", False):
                    return None
                return np.asarray(f["activations"][()])
        # a cache miss is only a file that cannot be read as an entry (truncated, damaged, or
        # without its dataset): it is recomputed, never trusted; anything else propagates
        except (OSError, KeyError):
            return None

    def put(self, key: str, activations: np.ndarray, meta: dict[str, Any]) -> Path:
        """Store ``activations`` under ``key`` (atomically) with their ``meta`` record.

        Parameters
        ----------
        key : str
        activations : numpy.ndarray
        meta : dict

        Returns
        -------
        Path
        """
        h5py = _h5py()
        path = self.path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{key}.", suffix=".part", dir=path.parent)
        os.close(fd)
        try:
            with h5py.File(tmp, "w") as f:
                n, d = activations.shape
                f.create_dataset(
                    "activations",
                    data=activations,
                    chunks=(min(n, 64), min(d, 1 << 16)) if n and d else None,
                )
                for k, v in meta.items():
                    f.attrs[k] = json.dumps(v, default=str)
                f.attrs["complete"] = True
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return path


def _h5py() -> Any:
    try:
        import h5py
    except ImportError as exc:
        raise ImportError(
            "The activation cache needs h5py: pip install 'crossalign[torch]' (or pass "
            "cache=False)."
        ) from exc
    return h5py
