"""The output folder of a run: one run at a time, and files written without following links.

:func:`locked_folder` holds a lock file (``.crossalign.lock`` with the owner's pid) for the
whole run, so a second run on the same folder is refused with a clear message instead of
crashing either run; a lock left by a killed process is taken over. :func:`write_atomic`
writes through a temporary file in the same folder and renames it over the target: a link
planted at the target is replaced, never written through, and a reader never sees half a file.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import secrets
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

from crossalign.errors import BusyError, InputError, OutputExistsError

__all__ = [
    "LOCK_NAME",
    "MANIFEST",
    "check_not_link",
    "check_replaceable",
    "locked_folder",
    "record_written",
    "slug",
    "write_atomic",
    "written_here",
]

LOCK_NAME = ".crossalign.lock"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def _owner(lock: Path) -> int | None:
    try:
        text = lock.read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def _take(lock: Path) -> bool:
    try:
        fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_NOFOLLOW, 0o644)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w") as fh:
        fh.write(str(os.getpid()))
    return True


@contextlib.contextmanager
def locked_folder(folder: str | Path) -> Iterator[Path]:
    """Create ``folder`` if needed and hold its lock for the block.

    Parameters
    ----------
    folder : str or Path
        The output folder.

    Yields
    ------
    Path
        The folder.

    Raises
    ------
    BusyError
        Another live process holds the folder.
    InputError
        ``folder`` exists and is not a folder.
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise InputError(f"The output folder '{folder}' exists and is not a folder.")
    folder.mkdir(parents=True, exist_ok=True)
    lock = folder / LOCK_NAME
    if not _take(lock):
        pid = _owner(lock)
        if pid is not None and pid != os.getpid() and _alive(pid):
            raise BusyError(
                f"The output folder '{folder}' is in use by another crossalign run (process "
                f"{pid}). Wait for it to finish, or choose another folder with --out."
            )
        lock.unlink(missing_ok=True)  # left by a process that no longer runs
        if not _take(lock):
            raise BusyError(f"The output folder '{folder}' was just taken by another run.")
    try:
        yield folder
    finally:
        if _owner(lock) == os.getpid():
            lock.unlink(missing_ok=True)


def check_not_link(path: Path, what: str) -> Path:
    """Refuse a symbolic link where crossalign writes (it would write outside the folder).

    Parameters
    ----------
    path : Path
    what : str
        What the path is, for the error message.

    Returns
    -------
    Path
    """
    if path.is_symlink():
        raise InputError(
            f"The {what} '{path}' is a symbolic link (to '{os.readlink(path)}'); crossalign "
            "does not write through links. Remove it or choose another output folder."
        )
    return path


#: Each folder crossalign writes into lists the files it wrote there, so that it replaces
#: only those (a file of the same name that a person put there is refused, not overwritten).
MANIFEST = ".crossalign.files"


def written_here(target: Path) -> bool:
    """Whether crossalign wrote ``target`` (it is in its folder's manifest).

    Parameters
    ----------
    target : Path

    Returns
    -------
    bool
    """
    manifest = Path(target).parent / MANIFEST
    try:
        return Path(target).name in manifest.read_text().splitlines()
    except OSError:
        return False


def check_replaceable(target: Path, overwrite: bool = False) -> None:
    """Refuse to replace ``target`` unless crossalign wrote it or ``overwrite`` says so.

    Parameters
    ----------
    target : Path
    overwrite : bool
        Replace a file (never a folder of foreign files) that crossalign did not write.
    """
    target = Path(target)
    # a link planted there is replaced, never followed: replacing it loses no data
    if target.exists() and not target.is_symlink() and not overwrite and not written_here(target):
        raise OutputExistsError(
            f"The output '{target}' exists and crossalign did not write it; it is left as it "
            "is. Choose another path, or replace it explicitly (overwrite=True)."
        )


def record_written(target: Path) -> None:
    """Add ``target`` to its folder's manifest (see :data:`MANIFEST`).

    Parameters
    ----------
    target : Path
    """
    target = Path(target)
    if written_here(target):
        return
    manifest = target.parent / MANIFEST
    check_not_link(manifest, "manifest")
    with manifest.open("a") as fh:
        fh.write(target.name + "\n")


def write_atomic(target: Path, write: Callable[[Path], object], *, overwrite: bool = False) -> Path:
    """Call ``write(tmp)`` on a fresh temporary path beside ``target``, then rename it over
    ``target`` (replacing a link there instead of following it). An existing ``target`` that
    crossalign did not write is refused unless ``overwrite``. This is crossalign's one
    atomic writer: files, and folders such as Zarr stores (the old folder is removed only
    once the new one is complete).

    Parameters
    ----------
    target : Path
    write : callable
        Writes the file at the path it is given.
    overwrite : bool
        Replace a file that crossalign did not write.

    Returns
    -------
    Path
    """
    target = Path(target)
    check_replaceable(target, overwrite)
    tmp = target.with_name(f".{target.name}.{secrets.token_hex(6)}.tmp")
    try:
        write(tmp)
        if tmp.is_dir() and target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)  # a folder cannot be renamed over a full one
        os.replace(tmp, target)
    finally:
        if tmp.is_dir() and not tmp.is_symlink():
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.unlink(missing_ok=True)
    record_written(target)
    return target


def slug(text: object) -> str:
    """A file-name-safe, unique version of a label: its readable part plus a short hash of
    the whole label (so "α" and "β" never share a file).

    Parameters
    ----------
    text : object
        The label.

    Returns
    -------
    str
    """
    readable = re.sub(r"[^A-Za-z0-9._-]+", "_", str(text)).strip("_.")[:60] or "x"
    return f"{readable}-{hashlib.sha256(str(text).encode()).hexdigest()[:8]}"
