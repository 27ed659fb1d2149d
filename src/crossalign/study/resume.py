"""The resume key of a study: a content hash of every input and choice that can change a number,
and the check that an interrupted run may go on."""

from __future__ import annotations

import hashlib
import importlib.util
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from crossalign._version import __version__
from crossalign.config import get_option
from crossalign.data.containers import BrainData
from crossalign.data.representations import Representations
from crossalign.errors import ResumeError
from crossalign.study.config import (
    FILE_SOURCES,
    DatasetConfig,
    StudyConfig,
)
from crossalign.study.store import ResultsStore

__all__: list[str] = []

#: Config fields that do not change any number (left out of the resume key).
_NOT_IN_KEY = ("memory_budget", "cache_dir", "batch_size")


# ---------------------------------------------------------------------- the resume key
def _digest_files(paths: Iterable[Path]) -> str:
    h = hashlib.sha256()
    for path in paths:
        path = Path(path)
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for f in files:
            h.update(str(f.relative_to(path) if path.is_dir() else f.name).encode())
            with f.open("rb") as fh:
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    h.update(chunk)
    return h.hexdigest()


def _digest_data(data: Representations) -> str:
    h = hashlib.sha256(repr(list(data.stimuli)).encode())
    for key in data:
        h.update(f"{key!r}:{data.kind(key)}".encode())
        h.update(np.ascontiguousarray(data[key].values).tobytes())
    return h.hexdigest()


def _stimulus_files(brain: BrainData) -> list[Path]:
    paths = brain.attrs.get("stimulus_paths") or []
    groups = [paths[k] for k in brain.stimuli] if isinstance(paths, dict) else paths
    return [Path(p) for g in groups for p in (g if isinstance(g, list | tuple) else [g])]


def key_parts(cfg: StudyConfig, datasets: list[tuple[DatasetConfig, BrainData]]) -> dict[str, Any]:
    """Everything a resumed run must share with the stored one."""
    inputs = {}
    for dcfg, brain in datasets:
        inputs[f"data {dcfg.key}"] = _digest_data(brain)
        if _stimulus_files(brain):
            inputs[f"stimulus files {dcfg.key}"] = _digest_files(_stimulus_files(brain))
    for mcfg in cfg.models:
        if (mcfg.source in FILE_SOURCES or mcfg.source in ("brain", "encoding")) and mcfg.path:
            inputs[f"model file {mcfg.name}"] = _digest_files([Path(mcfg.path)])
        if mcfg.weights:
            inputs[f"weights file {mcfg.name}"] = _digest_files([Path(mcfg.weights)])
        if mcfg.source == "module" and mcfg.module:
            source = _module_file(str(mcfg.module))
            if source is not None:
                inputs[f"module file {mcfg.name}"] = _digest_files([source])
    if cfg.models_file:
        inputs["models file"] = _digest_files([Path(cfg.models_file)])
    for conn in cfg.connectivity:
        if Path(conn.path).is_file():
            inputs[f"connectivity file {conn.name}"] = _digest_files([Path(conn.path)])
    for dcfg, _ in datasets:
        named = {**dcfg.options, "parcellation (dataset)": dcfg.parcellation}
        for name, path in _files_named_in(named):
            inputs[f"file {dcfg.key} {name}"] = _digest_files([path])
    config = {k: v for k, v in cfg.model_dump(mode="json").items() if k not in _NOT_IN_KEY}
    return {
        "config": config,
        "choices": {**cfg.effective_choices(), "overrides": cfg.overrides()},
        "inputs": inputs,
        "version": __version__,
        "backend": get_option("backend"),
        "dtype": get_option("dtype"),
    }


def _files_named_in(options: Mapping[str, Any], prefix: str = "") -> list[tuple[str, Path]]:
    """Every option value that names an existing file (a parcellation, an atlas, a mask...):
    its content decides numbers, so it is part of the key. Folders are left out: a dataset's
    root holds the whole download (tens of GB for BOLD Moments), and what was loaded from it is
    already in the key as the data's own hash."""
    out = []
    for key, value in options.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out += _files_named_in(value, f"{name}.")
        elif isinstance(value, list | tuple):
            out += _files_named_in({str(i): v for i, v in enumerate(value)}, f"{name}.")
        elif isinstance(value, str | Path) and str(value) and Path(value).expanduser().is_file():
            out.append((name, Path(value).expanduser()))
    return out


def _module_file(spec: str) -> Path | None:
    """The source file of a user module ``package.module:factory`` (not imported here)."""
    try:
        found = importlib.util.find_spec(spec.partition(":")[0])
    except (ImportError, ValueError):
        return None
    origin = getattr(found, "origin", None)
    return Path(origin) if origin and Path(origin).is_file() else None


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            out.update(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        out = {}
        for i, v in enumerate(value):
            out.update(_flatten(v, f"{prefix}[{i}]"))
        return out
    return {prefix: value}


def _changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    a, b = _flatten(old), _flatten(new)
    out = []
    for key in sorted(set(a) | set(b)):
        if a.get(key, "<absent>") != b.get(key, "<absent>"):
            if key.startswith("inputs."):
                out.append(f"{key[7:]} changed (content hash)")
            else:
                out.append(f"{key}: {a.get(key, '<absent>')!r} -> {b.get(key, '<absent>')!r}")
    return out


def open_run(
    store: ResultsStore, cfg: StudyConfig, parts: dict[str, Any], resume: bool, console: Any
) -> str:
    if resume:
        found = store.unfinished_run(cfg.name)
        if found is not None:
            run_id, stored = found
            changed = _changes(stored, parts)
            if changed:
                raise ResumeError(
                    f"Cannot resume run {run_id}: what decides its numbers has changed: "
                    f"{'; '.join(changed[:8])}"
                    + (f" (and {len(changed) - 8} more)" if len(changed) > 8 else "")
                    + ". Run without --resume to start a new run (the interrupted run stays "
                    "in the database)."
                )
            store.reopen(run_id)
            console.print(f"Resuming run {run_id}")
            return run_id
        console.print(f"No unfinished run of study {cfg.name!r} to resume; starting a new run.")
    return store.start_run(cfg.name, cfg.model_dump(mode="json"), __version__, parts)
