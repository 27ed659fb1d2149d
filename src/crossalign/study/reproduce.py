"""Reproducing published experiments as studies: ``crossalign reproduce hoefling2026``.

A reproduction writes the study file it runs (and its models file) into the output folder, so
it can be read, edited and rerun with ``crossalign run``. ``hoefling2026`` is the experiment of
Hoefling et al. (2026, "Only Brains Align with Brains", arXiv:2604.21780) on BOLD Moments
(Lahner et al. 2024): fsLR32k betas cut into HCP-MMP1 parcels (19 visual ROIs, left and right
merged), 998 train + 96 test videos, NCSNR >= 0.2, repeats averaged as the paper; clips blended
to 4 frames per second and resized to 256 x 256, first 3 s; RSA (Pearson of 1 - Pearson RDMs)
and linear predictivity under the ``hoefling2026`` protocol (layers selected on train, scores
and APS on test, subject bootstraps, equivalence), and the report. Both outcomes the paper
aggregated run: ``norm_lower`` (the score over the per-subject lower noise ceiling, which its
published figures show) first, then the raw ``score``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from crossalign._validation import check_option
from crossalign.errors import InputError
from crossalign.io.bold_moments import PAPER_EXCLUDED, TEST, TRAIN
from crossalign.io.outputs import write_atomic
from crossalign.io.parcellations import PARCELLATIONS
from crossalign.models.paper_zoo import paper_models
from crossalign.papers import PAPERS
from crossalign.study.paths import resolve_path

__all__ = ["EXPERIMENTS", "PAPER_MODELS", "reproduction_study", "write_reproduction"]

#: The paper's models crossalign runs (``crossalign models --paper hoefling2026`` lists all 47
#: and why the others are not yet here), as ``[[models]]`` entries with the paper's weights
#: tags and layers; their weights download on first use.
PAPER_MODELS: list[dict[str, Any]] = [
    {"name": m.name, "source": "registry", "model": m.model, "layers": list(m.layers)}
    | ({"input": dict(m.input)} if m.input else {})
    for m in paper_models("hoefling2026", status="runnable").values()
]
_MODELS_NOTE = (
    "# The models of Hoefling et al. (2026) that crossalign runs, with the paper's weights tags\n"
    "# and layers; weights download on first use. `crossalign models --paper hoefling2026`\n"
    "# lists all 47 and why the others are not here yet. Add or remove entries freely.\n"
)
#: Clip decoding of the paper: FFmpeg framerate=fps=4 (blended), scale=256:256, first 3 s.
EXPERIMENTS = tuple(PAPERS)


def reproduction_study(
    experiment: str,
    root: str | Path,
    *,
    parcellation: str | None = None,
    max_stimuli: int | None = None,
    n_bootstrap: int = 1000,
    models_file: str = "models.toml",
) -> dict[str, Any]:
    """The study (as the dict of its TOML file) that reproduces ``experiment``.

    Parameters
    ----------
    experiment : {"hoefling2026"}
        The published experiment.
    root : str or Path
        The BOLD Moments download (the folder holding ``derivatives/`` and ``stimuli/``).
    parcellation : str, optional
        Another parcellation (a name or a file): every parcel becomes a region.
    max_stimuli : int, optional
        A quick look: the first ``max_stimuli`` train and ``max_stimuli // 5`` (at least 3)
        test videos.
    n_bootstrap : int
        Bootstrap resamples.
    models_file : str
        The models file the study names (relative to the study file).

    Returns
    -------
    dict
    """
    check_option(experiment, "experiment", list(EXPERIMENTS), "crossalign reproduce")
    paper = PAPERS[experiment]
    options: dict[str, Any] = {"root": str(Path(root).resolve()), "preset": experiment}
    if parcellation is not None:
        options.update(parcellation=_parcellation_option(parcellation), rois="all")
    if max_stimuli is not None:
        if max_stimuli < 10:
            raise InputError(
                "The '--max-stimuli' option must be at least 10 (10 train and 3 test videos: "
                f"predictivity's folds and a test RDM need them). Got {max_stimuli}."
            )
        train = [v for v in TRAIN if v not in PAPER_EXCLUDED][:max_stimuli]
        test = [v for v in TEST if v not in PAPER_EXCLUDED][: max(3, max_stimuli // 5)]
        options["stimuli"] = [*train, *test]
    return {
        "name": experiment,
        "protocol": experiment,
        "metrics": list(paper.study["metrics"]),
        "outcome": list(paper.study["outcome"]),
        "n_bootstrap": n_bootstrap,
        "models_file": models_file,
        "datasets": [
            {"name": paper.dataset, "options": options, "clips": dict(paper.study["clips"])}
        ],
    }


def _parcellation_option(parcellation: str | Path) -> str:
    """A parcellation name as it is, a file as an absolute path (resolved from the working
    directory, where the command was given): the study file is written elsewhere, and its
    relative paths resolve from its own folder."""
    return str(resolve_path(str(parcellation), Path.cwd(), names=PARCELLATIONS))


def write_reproduction(
    study: dict[str, Any], out: Path, models: Path | None = None, overwrite: bool = False
) -> Path:
    """Write ``study.toml`` (and ``models.toml``: the given models file, else
    :data:`PAPER_MODELS`) into ``out``; return the study file.

    Parameters
    ----------
    study : dict
        From :func:`reproduction_study`.
    out : Path
        The output folder (created).
    models : Path, optional
        A models file to copy in.
    overwrite : bool
        Replace study and models files that crossalign did not write.

    Returns
    -------
    Path
    """
    out.mkdir(parents=True, exist_ok=True)
    if models is not None:
        if not models.is_file():
            raise InputError(f"The models file '{models}' does not exist.")
        text = models.read_text()
    else:
        text = _MODELS_NOTE + "".join(_table("models", m) for m in PAPER_MODELS)
    write_atomic(out / "models.toml", lambda tmp: tmp.write_text(text), overwrite=overwrite)
    body = _toml(study)
    return write_atomic(out / "study.toml", lambda tmp: tmp.write_text(body), overwrite=overwrite)


def _value(value: Any) -> str:
    """A TOML value (strings, numbers, booleans, lists, inline tables)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_value(v)}" for k, v in value.items()) + "}"
    raise InputError(f"Cannot write {value!r} to a study file.")


def _table(name: str, entries: dict[str, Any]) -> str:
    lines = [f"\n[[{name}]]"] + [f"{k} = {_value(v)}" for k, v in entries.items()]
    return "\n".join(lines) + "\n"


def _toml(study: dict[str, Any]) -> str:
    head = (
        "# Written by `crossalign reproduce`: the study it runs. Edit it and rerun with\n"
        "# `crossalign run study.toml`.\n"
    )
    scalars = [f"{k} = {_value(v)}" for k, v in study.items() if not isinstance(v, list | dict)]
    lists = [f"{k} = {_value(v)}" for k, v in study.items() if k == "metrics"]
    tables = "".join(_table(k, e) for k, v in study.items() if k == "datasets" for e in v)
    return head + "\n".join(scalars + lists) + "\n" + tables
