"""RDM files written by RSA toolboxes: rsatoolbox's ``RDMs.save`` (HDF5 or pickle) and the
MATLAB RSA toolbox's struct arrays (``RDMs(i).RDM``, ``.name``), in v5 or v7.3 files.

rsatoolbox (Schütt et al. 2023, eLife 12:e83417) stores ``dissimilarities`` (n_rdm, L) in
vector form with ``rdm_descriptors`` (one value per RDM) and ``pattern_descriptors`` (one per
stimulus); which descriptor names the subject, the region and the stimuli is an argument,
never guessed. The MATLAB toolbox (Nili et al. 2014, PLoS Comput. Biol. 10:e1003553) names
each RDM; ``name_pattern`` (a regular expression with groups ``subject`` and ``region``) says
how to read the names.
"""

from __future__ import annotations

import re
from collections.abc import Hashable
from pathlib import Path
from typing import Any

import numpy as np

from crossalign.data.containers import BrainData
from crossalign.data.labels import plain
from crossalign.errors import InputError, MissingFileError
from crossalign.io.arrays import read_mat_v5
from crossalign.io.assemble import rdm_cells
from crossalign.io.loaders import condensed_rdms
from crossalign.io.pickles import load_pickle

__all__ = ["load_matlab_rdms", "load_rsatoolbox_rdms"]

#: rsatoolbox measures whose values may be negative (cross-validated estimators).
CROSS_VALIDATED = ("crossnobis", "poisson_cv")


def _decode(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, np.ndarray) and value.dtype.kind == "S":
        return value.astype(str)
    return value


def _h5_tree(node: Any) -> Any:
    """An rsatoolbox HDF5 node as plain Python: groups -> dicts (groups keyed '0', '1', ...
    -> lists), datasets -> arrays (bytes decoded), empty datasets -> None."""
    import h5py

    if isinstance(node, h5py.Dataset):
        if node.shape is None:
            return None
        return _decode(node[()])
    out = {k: _h5_tree(v) for k, v in node.items()}
    out.update({k: _decode(v) for k, v in node.attrs.items()})
    if out and all(k.isdigit() for k in out):
        return [out[str(i)] for i in range(len(out))]
    return out


def _read_rsatoolbox(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise MissingFileError(f"The RDM file '{path}' does not exist.")
    if path.suffix == ".pkl":
        obj = load_pickle(path)
    elif path.suffix in (".h5", ".hdf5"):
        import h5py

        with h5py.File(path, "r") as f:
            obj = _h5_tree(f)
    else:
        raise InputError(
            f"The RDM file '{path}' has suffix {path.suffix!r}. Expected .pkl, .h5 or .hdf5 "
            "(as rsatoolbox's RDMs.save writes)."
        )
    if not isinstance(obj, dict) or "dissimilarities" not in obj:
        got = sorted(obj) if isinstance(obj, dict) else type(obj).__name__
        raise InputError(
            f"The file '{path}' holds {got}. Expected rsatoolbox's RDM dict with "
            "'dissimilarities', 'rdm_descriptors' and 'pattern_descriptors'."
        )
    return obj


def _descriptor(table: dict[str, Any], name: str | None, n: int, what: str, path: Path) -> list:
    if name is None:
        return list(range(n))
    if name not in table:
        raise InputError(
            f"The file '{path}' has no {what} descriptor {name!r}. It has {sorted(table)}; "
            f"pass the one that names the {what.split()[0]}s."
        )
    values = [plain(v) for v in np.asarray(table[name]).ravel().tolist()]
    if len(values) != n:
        raise InputError(
            f"The {what} descriptor {name!r} of '{path}' has {len(values)} values for {n} entries."
        )
    return values


def load_rsatoolbox_rdms(
    path: str | Path,
    *,
    subject: str | None = "subject",
    region: str | None = "roi",
    stimulus: str = "index",
    allow_negative: bool | None = None,
) -> BrainData:
    """Load an rsatoolbox RDM file (``RDMs.save``: HDF5 or pickle) as BrainData.

    Parameters
    ----------
    path : str or Path
        The ``.h5``/``.hdf5`` or ``.pkl`` file.
    subject, region : str or None
        The ``rdm_descriptors`` naming each RDM's subject and region. ``None`` for a file
        holding one subject (named 0) or one region (named ``"rdm"``).
    stimulus : str
        The ``pattern_descriptors`` entry giving the stimulus ids (default ``index``).
    allow_negative : bool, optional
        Accept negative dissimilarities; default: only for cross-validated measures
        (crossnobis, poisson_cv), as the file's ``dissimilarity_measure`` says.

    Returns
    -------
    BrainData
        ``attrs["dissimilarity_measure"]`` as stored; a (subject, region) pair with no RDM
        is a missing cell. Two RDMs for the same pair are an error.
    """
    path = Path(path)
    obj = _read_rsatoolbox(path)
    vectors = np.atleast_2d(np.asarray(obj["dissimilarities"], dtype=np.float64))
    measure = str(obj.get("dissimilarity_measure") or "")

    square = condensed_rdms(vectors, "dissimilarities")
    n_rdm = len(square)
    rdm_desc = obj.get("rdm_descriptors") or {}
    subjects = _descriptor(rdm_desc, subject, n_rdm, "subject (rdm_descriptors)", path)
    regions = (
        _descriptor(rdm_desc, region, n_rdm, "region (rdm_descriptors)", path)
        if region is not None
        else ["rdm"] * n_rdm
    )
    if subject is None:
        subjects = [0] * n_rdm
    stim = _descriptor(
        obj.get("pattern_descriptors") or {},
        stimulus,
        square.shape[-1],
        "stimulus (pattern_descriptors)",
        path,
    )
    pairs = list(zip(subjects, regions, strict=True))
    if len(set(pairs)) != len(pairs):
        dup = next(p for p in pairs if pairs.count(p) > 1)
        raise InputError(
            f"The file '{path}' has several RDMs for (subject, region) {dup}. Expected one per "
            "pair: choose descriptors that tell them apart."
        )
    negative = measure in CROSS_VALIDATED if allow_negative is None else allow_negative
    data = rdm_cells(dict(zip(pairs, square, strict=True)), stim, negative)
    data.attrs["dissimilarity_measure"] = measure
    return data


# ---------------------------------------------------------------------- MATLAB RSA toolbox
def _structs_v5(contents: dict[str, Any], variable: str) -> dict[str, np.ndarray]:
    """(runs in the reader's child) RDMs and names of a struct array as plain arrays."""
    if variable not in contents:
        have = sorted(k for k in contents if not k.startswith("__"))
        raise KeyError(f"no variable {variable!r}; the file has {have}")
    items = contents[variable]
    items = [items] if isinstance(items, dict) else list(items)
    out: dict[str, np.ndarray] = {}
    names = []
    for i, item in enumerate(items):
        if not isinstance(item, dict) or "RDM" not in item:
            raise ValueError(f"element {i} of {variable!r} is not a struct with an RDM field")
        out[f"rdm_{i}"] = np.asarray(item["RDM"], dtype=np.float64)
        names.append(str(item.get("name", f"rdm_{i}")))
    out["names"] = np.array(names, dtype=str)
    return out


def _structs_v73(path: Path, variable: str) -> tuple[list[np.ndarray], list[str]]:
    import h5py

    with h5py.File(path, "r") as f:
        if variable not in f or "RDM" not in f[variable]:
            raise InputError(
                f"The file '{path}' has no struct array {variable!r} with an RDM field. It "
                f"holds {sorted(k for k in f if not k.startswith('#'))}."
            )
        group = f[variable]
        refs = np.asarray(group["RDM"]).ravel()
        rdms = [np.asarray(f[r][()]).T for r in refs]
        names = []
        if "name" in group:
            for r in np.asarray(group["name"]).ravel():
                chars = np.asarray(f[r][()]).ravel()
                names.append("".join(chr(c) for c in chars))
        else:
            names = [f"rdm_{i}" for i in range(len(rdms))]
    return rdms, names


def load_matlab_rdms(
    path: str | Path,
    *,
    variable: str = "RDMs",
    name_pattern: str | None = None,
    allow_negative: bool = False,
) -> BrainData:
    """Load a MATLAB RSA-toolbox struct array of RDMs (``RDMs(i).RDM``, ``RDMs(i).name``).

    Parameters
    ----------
    path : str or Path
        A ``.mat`` file, v5 or v7.3 (HDF5); v5 files are parsed in a child process.
    variable : str
        The struct array's name.
    name_pattern : str, optional
        A regular expression with named groups ``subject`` and ``region`` matched against
        each RDM's name (e.g. ``r"(?P<region>\\w+) \\| subject (?P<subject>\\d+)"``); every
        name must match. Default: each name is a region of one subject (named 0).
    allow_negative : bool
        Accept negative dissimilarities (cross-validated distances).

    Returns
    -------
    BrainData
        RDMs may be square (n, n) or vectors (1, n(n-1)/2); a (subject, region) with no RDM
        is a missing cell.
    """
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(f"The RDM file '{path}' does not exist.")
    with path.open("rb") as fh:
        head = fh.read(128)
    if b"MATLAB 7.3" in head or head.startswith(b"\x89HDF"):
        rdms, names = _structs_v73(path, variable)
    else:
        try:
            got = read_mat_v5(path, convert=lambda c: _structs_v5(c, variable), simplify_cells=True)
        except InputError as exc:
            raise InputError(f"The file '{path}' was not read: {exc}") from None
        names = got.pop("names").tolist()
        rdms = [got[f"rdm_{i}"] for i in range(len(names))]

    rdms = [
        condensed_rdms(r.ravel(), n) if min(r.shape) == 1 or r.ndim == 1 else r
        for r, n in zip(rdms, names, strict=True)
    ]
    pairs = [_parse_name(n, name_pattern, path) for n in names]
    if len(set(pairs)) != len(pairs):
        dup = next(p for p in pairs if pairs.count(p) > 1)
        raise InputError(f"The file '{path}' names two RDMs {dup}; expected unique names.")
    sizes = {r.shape for r in rdms}
    if len(sizes) != 1:
        raise InputError(f"The RDMs in '{path}' have different shapes {sorted(sizes)}.")
    n = rdms[0].shape[-1]
    data = rdm_cells(dict(zip(pairs, rdms, strict=True)), list(range(n)), allow_negative)
    data.attrs["rdm_names"] = names
    return data


def _parse_name(name: str, pattern: str | None, path: Path) -> tuple[Hashable, Hashable]:
    if pattern is None:
        return 0, name
    m = re.fullmatch(pattern, name)
    if m is None or not {"subject", "region"} <= set(m.groupdict()):
        raise InputError(
            f"The RDM name {name!r} in '{path}' does not match name_pattern {pattern!r} with "
            "groups 'subject' and 'region'."
        )
    return m.group("subject"), m.group("region")
