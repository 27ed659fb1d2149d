"""The installed version of crossalign (``crossalign.__version__``)."""

from importlib.metadata import PackageNotFoundError, version

__all__ = ["__version__"]

try:
    __version__ = version("crossalign")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0+unknown"
