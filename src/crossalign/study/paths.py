"""How a study's paths resolve: from the study file's folder, never the working directory
(:func:`resolve_path`, the one rule ``run``, ``reproduce`` and the preflight use)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from crossalign.io.datasets import path_options
from crossalign.io.parcellations import PARCELLATIONS

__all__ = ["resolve_path", "resolved_options"]


def resolve_path(value: Any, base: Path, names: Any = ()) -> Any:
    """``value`` made absolute against ``base`` where it is a relative path: the one rule by
    which a study's paths resolve from the study file's folder, never the working directory.

    A ``file:variable`` suffix stays (``evc.npz:Net_RDM``); a value in ``names`` (a named
    parcellation such as ``"hcp_mmp1"``) is a name, not a path; a list resolves item by item
    (a pair of FreeSurfer annotation files).

    Parameters
    ----------
    value : str, Path or list
    base : Path
        The study file's folder.
    names : collection of str
        Values that are names, not paths.

    Returns
    -------
    str or list
    """
    if isinstance(value, list | tuple):
        return [resolve_path(v, base, names) for v in value]
    if not isinstance(value, str | Path) or str(value) in names or not str(value):
        return value
    value = str(value)
    head, sep, tail = value.partition(":") if ":" in Path(value).name else (value, "", "")
    path = Path(head).expanduser()
    return str(path if path.is_absolute() else Path(base) / path) + sep + tail


def resolved_options(dataset: str, options: dict[str, Any], base: Path) -> dict[str, Any]:
    """A dataset's loader options with every option that names a file or folder (those of
    :func:`crossalign.io.datasets.path_options`, ``root`` and ``parcellation``) resolved.

    Parameters
    ----------
    dataset : str
        The dataset's name (its loader).
    options : dict
    base : Path
        The study file's folder.

    Returns
    -------
    dict
    """
    keys = set(path_options(dataset)) | {"root", "parcellation"}
    return {
        k: resolve_path(v, base, names=PARCELLATIONS if k == "parcellation" else ())
        if k in keys
        else v
        for k, v in options.items()
    }
