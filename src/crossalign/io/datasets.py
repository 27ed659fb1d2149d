"""Reference datasets, found locally and verified against SHA-256 sums.

Files are looked up in ``$CROSSALIGN_DATA_DIR`` first, then in the user cache
(``$XDG_CACHE_HOME/crossalign`` or ``~/.cache/crossalign``). Every file read is checked against
the checksums shipped with the package, so a corrupted or altered copy is refused.

Datasets
--------
``cichy2014``
    15 subjects x EVC, IT x 92 object images (RDMs, 1 - Pearson), with the images.
    Cichy, Pantazis & Oliva (2014) Nat. Neurosci. 17:455; Kriegeskorte et al. (2008) Neuron
    60:1126; Cichy et al. (2019) arXiv:1905.05675.
``castaldi2019``
    20 subjects x 10 regions x 18 dot-array conditions (RDMs), ``task`` in both/num/size, with
    the condition labels, the 5 predictor RDMs (Number, Size, TFA, TSA, Density) as models, and
    one subject's dot images grouped by condition. Castaldi et al. (2019) eLife 8:e45160.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import os
import re
import shutil
import urllib.request
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pooch

from crossalign._registry import Registry
from crossalign._validation import check_option
from crossalign.config import get_option
from crossalign.data.containers import BrainData, ModelData
from crossalign.errors import InputError, MissingFileError
from crossalign.io.algonauts import load_algonauts2021, load_algonauts2023
from crossalign.io.arrays import load_array
from crossalign.io.bold_moments import load_bold_moments
from crossalign.io.nsd import load_nsd
from crossalign.io.things import load_things_fmri

__all__ = [
    "DATASETS",
    "DatasetSpec",
    "LocalDataset",
    "data_dirs",
    "dataset_status",
    "load_dataset",
]

ENV_VAR = "CROSSALIGN_DATA_DIR"


@dataclass(frozen=True)
class DatasetSpec:
    """A reference dataset the library knows: where its files come from and how to load it.

    Parameters
    ----------
    name : str
        The name ``load_dataset`` takes.
    folder : str
        Its folder under the data directory.
    title : str
    citation : str
        BibTeX.
    source : str
        Where the data come from (a URL or a description).
    loader : callable
        Builds the BrainData from the folder.
    files : callable
        The relative paths the loader needs, for the given options.
    repository : str
        ``owner/name`` on GitHub, for downloads.
    commit : str
        The pinned commit of ``repository``.
    remote : callable
        A relative path here -> its path in the repository.
    """

    name: str
    folder: str
    title: str
    citation: str
    source: str
    loader: Callable[..., BrainData]
    files: Callable[..., list[str]]
    repository: str = ""  # owner/name on GitHub
    commit: str = ""
    remote: Callable[[str], str] = lambda rel: rel  # our relative path -> path in the repo

    def url(self, rel: str) -> str:
        """Where ``rel`` is downloaded from: ``$CROSSALIGN_MIRROR/<folder>/<rel>`` when that
        is set (a lab mirror, or a local ``file://`` copy), else the original repository.

        Parameters
        ----------
        rel : str
            A path relative to the dataset's folder.

        Returns
        -------
        str
        """
        mirror = get_option("mirror")
        if mirror:
            return f"{mirror.rstrip('/')}/{self.folder}/{rel}"
        return f"https://github.com/{self.repository}/raw/{self.commit}/{self.remote(rel)}"


def data_dirs() -> list[Path]:
    """Where dataset folders are looked for, in order."""
    dirs = []
    if get_option("data_dir") is not None:
        dirs.append(Path(get_option("data_dir")))
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    dirs.append(Path(cache) / "crossalign")
    return dirs


def _checksums(name: str) -> dict[str, str]:
    text = resources.files("crossalign.io").joinpath(f"checksums/{name}.sha256").read_text()
    out = {}
    for line in text.splitlines():
        if line.strip():
            digest, rel = line.split(maxsplit=1)
            out[rel.strip()] = digest
    return out


def _sha256(path: Path) -> str:
    st = path.stat()
    return _file_digest(str(path.resolve()), st.st_size, st.st_mtime_ns)


@functools.lru_cache(maxsize=256)
def _file_digest(path: str, size: int, mtime_ns: int) -> str:
    """SHA-256 of the file at ``path``, read once per (path, size, modification time): a pure
    function of the file's identity, so a changed file is read again."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _locate(spec: DatasetSpec, rel: str, *, download: bool = True) -> Path:
    """Path of the verified file ``rel`` of ``spec``; clear errors when missing or corrupt.

    Looked up in ``$CROSSALIGN_DATA_DIR``, then the user cache; when absent (and
    ``CROSSALIGN_OFFLINE`` is not set) downloaded into the cache and verified first.
    """
    expected = _checksums(spec.name).get(rel)
    looked = []
    for base in data_dirs():
        path = base / spec.folder / rel
        looked.append(str(path))
        if path.is_file():
            if not path.resolve().is_relative_to(base.resolve()):
                raise InputError(
                    f"The file '{path}' of dataset {spec.name!r} is a link to "
                    f"'{path.resolve()}', outside the data folder '{base}'. Refusing it: copy "
                    "the file into the folder instead."
                )
            if expected is not None and _sha256(path) != expected:
                raise InputError(
                    f"The file '{path}' of dataset {spec.name!r} fails its SHA-256 check "
                    f"(expected {expected[:12]}..., got {_sha256(path)[:12]}...): the copy is "
                    "corrupted or altered. Replace it with the original."
                )
            return path
    reason = "downloads are switched off (CROSSALIGN_OFFLINE is set)"
    if download and not get_option("offline"):
        target = data_dirs()[-1] / spec.folder / rel
        try:
            return _download(spec.url(rel), target, expected)
        except (OSError, ValueError) as exc:
            reason = f"downloading {spec.url(rel)} failed: {exc}"
    raise MissingFileError(
        f"Dataset {spec.name!r} is missing the file '{rel}'. Looked in: {looked}; {reason}. "
        f"Provide it by setting {ENV_VAR} to a folder that holds '{spec.folder}/' (as "
        f"distributed: {spec.source}), or copy that folder into {data_dirs()[-1]}."
    )


def _download(url: str, target: Path, expected: str | None, timeout: float = 60.0) -> Path:
    """Fetch ``url`` to ``target`` with pooch: written to a temporary file, checked against
    its SHA-256 sum, then moved into place; a file failing its check is never kept. Any URL
    scheme urllib reads works (``https://``, a lab mirror, a ``file://`` copy)."""

    def fetch(source: str, output_file: str, _pooch: object) -> None:
        with (
            urllib.request.urlopen(source, timeout=timeout) as resp,
            open(output_file, "wb") as out,
        ):
            shutil.copyfileobj(resp, out)

    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        path = pooch.retrieve(
            url,
            known_hash=f"sha256:{expected}" if expected else None,
            fname=target.name,
            path=target.parent,
            downloader=fetch,
            progressbar=False,
        )
    except ValueError as exc:
        if "hash" not in str(exc).lower():
            raise

        found = re.search(r"\(([0-9a-f]{64})\)", str(exc))  # pooch names the file's hash
        got = found.group(1) if found else "unknown"
        target.unlink(missing_ok=True)
        raise InputError(
            f"the download fails its SHA-256 check (expected {expected[:12] if expected else ''}"
            f"..., got {got[:12]}...); nothing was kept"
        ) from None
    return Path(path)


# ---------------------------------------------------------------------- Cichy 2014
_CICHY_CITATION = """@article{cichy2014resolving,
  title={Resolving human object recognition in space and time},
  author={Cichy, Radoslaw Martin and Pantazis, Dimitrios and Oliva, Aude},
  journal={Nature Neuroscience}, volume={17}, number={3}, pages={455--462}, year={2014}}
@article{kriegeskorte2008matching,
  title={Matching categorical object representations in inferior temporal cortex of man and
         monkey},
  author={Kriegeskorte, Nikolaus and Mur, Marieke and Ruff, Douglas A and Kiani, Roozbeh and
          Bodurka, Jerzy and Esteky, Hossein and Tanaka, Keiji and Bandettini, Peter A},
  journal={Neuron}, volume={60}, number={6}, pages={1126--1141}, year={2008}}
@article{cichy2019algonauts,
  title={The Algonauts Project: A Platform for Communication between the Sciences of Biological
         and Artificial Intelligence},
  author={Cichy, Radoslaw Martin and Roig, Gemma and Andonian, Alex and Dwivedi, Kshitij and
          Lahner, Benjamin and Lascelles, Alex and Mohsenzadeh, Yalda and Ramakrishnan, Kandan
          and Oliva, Aude},
  journal={arXiv:1905.05675}, year={2019}}"""

_CICHY_REGIONS = ("EVC", "IT")


def _cichy_files() -> list[str]:
    return [f"fmri_{r}_RDMs.npz" for r in _CICHY_REGIONS]


def _load_cichy(spec: DatasetSpec, images: bool = True) -> BrainData:
    rdms = {r: load_array(_locate(spec, f"fmri_{r}_RDMs.npz"), "Net_RDM") for r in _CICHY_REGIONS}
    n_sub, n_img = rdms["EVC"].shape[:2]
    stimuli = [f"image_{k:02d}" for k in range(1, n_img + 1)]
    data = BrainData.from_rdms(
        rdms, subjects=[f"sub{i:02d}" for i in range(1, n_sub + 1)], stimuli=stimuli
    )
    paths = _optional_files(spec, [f"images/{s}.jpg" for s in stimuli]) if images else []
    data.attrs.update(
        dataset="cichy2014",
        title=spec.title,
        citation=spec.citation,
        rdm="correlation",
        stimulus_paths=paths,
    )
    return data


def _optional_files(spec: DatasetSpec, rels: list[str]) -> list[Path]:
    """Verified paths of stimulus files; a warning (not an error) when they are unavailable."""
    try:
        return [_locate(spec, rel) for rel in rels]
    except FileNotFoundError as exc:
        warnings.warn(
            f"Stimulus files of {spec.name!r} are unavailable, loading without them: {exc}",
            stacklevel=3,
        )
        return []


# ---------------------------------------------------------------------- Castaldi 2019
_CASTALDI_CITATION = """@article{castaldi2019attentional,
  title={Attentional amplification of neural codes for number independent of other quantities
         along the dorsal visual stream},
  author={Castaldi, Elisa and Piazza, Manuela and Dehaene, Stanislas and Vignaud, Alexandre and
          Eger, Evelyn},
  journal={eLife}, volume={8}, pages={e45160}, year={2019}}"""

CASTALDI_REGIONS = ("V1", "V2", "V3", "V13", "V3AB", "V3ABV7", "IPS0", "IPS12", "IPS345", "IPS15")
CASTALDI_PREDICTORS = ("Number", "Size", "TFA", "TSA", "Density")
_CASTALDI_TASKS = {"both": "Both", "num": "Num", "size": "Size"}
_CONDITION_IN_NAME = re.compile(r"_(N\d_S\d_TFA\d)_")


def _castaldi_files(task: str = "both") -> list[str]:
    t = _CASTALDI_TASKS[check_option(task, "task", _CASTALDI_TASKS, "castaldi2019")]
    return [f"rdms/RDM_allsub_task{t}_{r}.mat" for r in CASTALDI_REGIONS] + [
        "all_RDM_predictors.mat"
    ]


def _castaldi_conditions() -> pd.DataFrame:
    rows = [
        {"condition": f"N{n}_S{s}_TFA{t}", "number": n, "size": s, "tfa": t}
        for n in (1, 2, 3)
        for s in (1, 2, 3)
        for t in (1, 2)
    ]
    return pd.DataFrame(rows).set_index("condition")


def _load_castaldi(spec: DatasetSpec, task: str = "both", images: bool = True) -> BrainData:
    t = _CASTALDI_TASKS[check_option(task, "task", _CASTALDI_TASKS, "castaldi2019")]
    rdms = {}
    for region in CASTALDI_REGIONS:
        arr = load_array(
            _locate(spec, f"rdms/RDM_allsub_task{t}_{region}.mat"), "data", trusted=True
        )
        rdms[region] = np.moveaxis(arr, -1, 0)  # (18, 18, 20) subjects last -> first
    conditions = _castaldi_conditions()
    n_sub = rdms["V1"].shape[0]
    data = BrainData.from_rdms(
        rdms,
        subjects=[f"sub{i:02d}" for i in range(4, 4 + n_sub)],
        stimuli=list(conditions.index),
    )
    pred = load_array(_locate(spec, "all_RDM_predictors.mat"), "all_RDM_predictors", trusted=True)
    models = ModelData.from_rdms(
        {"rdm": np.moveaxis(pred, -1, 0)},
        sources=list(CASTALDI_PREDICTORS),
        stimuli=list(conditions.index),
    )
    models.attrs["paradigm"] = "hand-built"
    grouped: dict[str, list[Path]] = {c: [] for c in conditions.index}
    rels = sorted(r for r in _checksums(spec.name) if r.startswith("stimuli/"))
    for path in _optional_files(spec, rels) if images else []:
        match = _CONDITION_IN_NAME.search(path.name)
        if match and match.group(1) in grouped:
            grouped[match.group(1)].append(path)
    data.attrs.update(
        dataset="castaldi2019",
        task=task,
        title=spec.title,
        citation=spec.citation,
        rdm="correlation",
        conditions=conditions,
        models=models,
        stimulus_paths=grouped,
    )
    return data


@dataclass(frozen=True)
class LocalDataset:
    """A dataset read from a local copy (``load_dataset(name, root=...)``): its host needs an
    account or a licence, so crossalign reads it where it was downloaded and never fetches it.

    Parameters
    ----------
    name : str
        The name :func:`load_dataset` takes.
    title : str
        One line for listings.
    citation : str
        The dataset's paper.
    loader : callable
        ``loader(root, **options)`` returns the :class:`~crossalign.BrainData`.
    """

    name: str
    title: str
    citation: str
    loader: Callable[..., BrainData]

    def load(self, root: str | Path | None, **options: Any) -> BrainData:
        """The dataset read from ``root`` (required) with the loader's ``options``.

        Parameters
        ----------
        root : str or Path
            Where the dataset was downloaded.
        **options
            The loader's options.

        Returns
        -------
        BrainData
        """
        if root is None:
            raise InputError(
                f"The dataset {self.name!r} is read from a local copy: pass root=<the folder "
                "you downloaded it to>."
            )
        for key in ("subjects", "rois", "roi_sets", "sessions"):  # one name means a list of one
            if isinstance(options.get(key), str | int):
                options[key] = [options[key]]
        return self.loader(root, **options)


#: Every dataset by name: reference datasets (:class:`DatasetSpec`: fetched and verified) and
#: local ones (:class:`LocalDataset`: read from where they were downloaded).
DATASETS: Registry[DatasetSpec | LocalDataset] = Registry("dataset")
DATASETS.register(
    "cichy2014",
    DatasetSpec(
        "cichy2014",
        "cichy2014_92images",
        "Cichy et al. 2014 fMRI, 92 images: 15 subjects x EVC, IT",
        _CICHY_CITATION,
        "GitHub cvai-roig-lab/Net2Brain, commit 05ac462, input_data/brain_data/92images/",
        _load_cichy,
        _cichy_files,
        repository="cvai-roig-lab/Net2Brain",
        commit="05ac462",
        remote=lambda rel: (
            "input_data/stimuli_data/92images/" + rel.removeprefix("images/")
            if rel.startswith("images/")
            else "input_data/brain_data/92images/" + rel
        ),
    ),
)
DATASETS.register(
    "castaldi2019",
    DatasetSpec(
        "castaldi2019",
        "castaldi2019_numerosity",
        "Castaldi et al. 2019 fMRI, dot numerosity: 20 subjects x 10 regions x 18 conditions",
        _CASTALDI_CITATION,
        "GitHub AliPTehrani/Numerosity-in-Neural-Networks, commit c614918, RSA_matrices/",
        _load_castaldi,
        _castaldi_files,
        repository="AliPTehrani/Numerosity-in-Neural-Networks",
        commit="c614918",
        remote=lambda rel: (
            "stimuli_jpg/" + rel.removeprefix("stimuli/")
            if rel.startswith("stimuli/")
            else "RSA_matrices/" + rel.removeprefix("rdms/")
        ),
    ),
)


for _local in (
    LocalDataset(
        "bold_moments",
        "BOLD Moments fMRI, 1,102 video clips: 10 subjects",
        "Lahner et al. 2024, Nat. Commun. 15:6241 (BOLD Moments Dataset)",
        load_bold_moments,
    ),
    LocalDataset(
        "algonauts2021",
        "Algonauts 2021 fMRI, 1,102 video clips: 10 subjects",
        "Cichy et al. 2021, arXiv:2104.13714 (The Algonauts Project 2021 Challenge)",
        load_algonauts2021,
    ),
    LocalDataset(
        "algonauts2023",
        "Algonauts 2023 fMRI (NSD images): 8 subjects",
        "Gifford et al. 2023, arXiv:2301.03198 (The Algonauts Project 2023 Challenge)",
        load_algonauts2023,
    ),
    LocalDataset(
        "nsd",
        "Natural Scenes Dataset fMRI: 8 subjects",
        "Allen et al. 2022, Nat. Neurosci. 25:116 (Natural Scenes Dataset)",
        load_nsd,
    ),
    LocalDataset(
        "things_fmri",
        "THINGS-fMRI: 3 subjects, 8,740 images",
        "Hebart et al. 2023, eLife 12:e82580 (THINGS-data)",
        load_things_fmri,
    ),
):
    DATASETS.register(_local.name, _local)


def path_options(name: str) -> list[str]:
    """The options of a dataset's loader that name a file or folder (those annotated with
    ``Path``, e.g. BOLD Moments' ``root`` and ``parcellation``): a study resolves them from
    its file's folder.

    Parameters
    ----------
    name : str
        A dataset name (:func:`load_dataset`).

    Returns
    -------
    list of str
    """
    entry = DATASETS.get(name) if name in DATASETS else None
    if not isinstance(entry, LocalDataset):
        return ["root"]
    return [
        key
        for key, par in inspect.signature(entry.loader).parameters.items()
        if "Path" in str(par.annotation)
    ]


def load_dataset(name: str, root: str | Path | None = None, **options: Any) -> BrainData:
    """Load a dataset as :class:`~crossalign.BrainData`.

    Parameters
    ----------
    name : str
        A reference dataset (``cichy2014``, ``castaldi2019``; fetched and verified) or a
        local dataset (``bold_moments``, ``algonauts2021``, ``algonauts2023``, ``nsd``,
        ``things_fmri``; read from ``root``).
    root : str or Path, optional
        Where a local dataset was downloaded (required for those; unused for reference
        datasets).
    **options
        The loader's options (ROI sets, hemispheres, subjects, stimuli, repeats, ...; see
        each loader, e.g. :func:`crossalign.io.bold_moments.load_bold_moments`).

    Returns
    -------
    BrainData
        Reference datasets carry ``citation`` (BibTeX), ``stimulus_paths`` and, for
        ``castaldi2019``, ``conditions`` and ``models`` in ``attrs``. Local datasets carry
        ``split`` (where the dataset has a fixed one), ``missing_cells`` and
        ``dropped_units``.

    Notes
    -----
    Reference files are looked up in ``$CROSSALIGN_DATA_DIR``, then the user cache; missing
    files are downloaded from the original repository (or ``$CROSSALIGN_MIRROR``) and
    verified against the SHA-256 sums shipped with crossalign. ``images=False`` skips the
    stimulus images.

    Examples
    --------
    >>> data = load_dataset("castaldi2019", task="num")   # doctest: +SKIP
    >>> bmd = load_dataset("bold_moments", root="ds005165", rois=["V1v", "FFA"])  # doctest: +SKIP
    """
    check_option(name, "name", list(DATASETS.names()), "load_dataset")
    entry = DATASETS.get(name)
    if isinstance(entry, LocalDataset):
        return entry.load(root, **options)
    if root is not None:
        local = [n for n in DATASETS if isinstance(DATASETS.get(n), LocalDataset)]
        raise InputError(
            f"The dataset {name!r} is fetched and verified by crossalign; 'root' applies to "
            f"the local datasets {local} only (set CROSSALIGN_DATA_DIR instead)."
        )
    return entry.loader(entry, **options)


def dataset_status() -> list[dict[str, Any]]:
    """One record per dataset: name, title, folder and whether all its files are present."""
    out = []
    for name in DATASETS:
        spec = DATASETS.get(name)
        if not isinstance(spec, DatasetSpec):
            continue  # local datasets are read where they were downloaded
        missing = []
        for rel in spec.files():
            try:
                _locate(spec, rel, download=False)
            except FileNotFoundError:
                missing.append(rel)
            except ValueError:
                missing.append(rel + " (checksum mismatch)")
        out.append(
            {
                "name": name,
                "title": spec.title,
                "folder": spec.folder,
                "status": "present" if not missing else "missing",
                "missing": missing,
            }
        )
    return out
