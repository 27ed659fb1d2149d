"""Reading a file safely: one error type for what format libraries raise on corrupt input, named
by file and variable."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from crossalign.errors import InputError, MissingFileError

__all__: list[str] = []


@contextlib.contextmanager
def reading_errors(path: Path | str, variable: str | None = None) -> Iterator[None]:
    """Re-raise loading problems as ValueError naming the file (and variable)."""
    where = f"'{path}'" + (f", variable {variable!r}" if variable else "")
    try:
        yield
    except FileNotFoundError:
        raise
    except MemoryError as exc:  # e.g. a header declaring a huge shape
        raise InputError(
            f"In {where}: the file declares more data than can be held in memory "
            f"({exc}); it is corrupt or not what it claims to be"
        ) from None
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        message = exc.args[0] if exc.args else repr(exc)
        if isinstance(message, str) and message.startswith(f"In {where}"):
            raise
        raise InputError(f"In {where}: {message}") from exc
    except Exception as exc:  # format libraries raise their own types on corrupt input
        raise InputError(
            f"In {where}: the file could not be read (truncated or corrupt?): "
            f"{type(exc).__name__}: {exc}"
        ) from exc


def require_file(path: Path) -> Path:
    if not path.exists():
        raise MissingFileError(f"The file '{path}' does not exist.")
    return path
