"""Cross-region alignment matrices and their comparison.

Brain-to-brain matrix (different subjects only, so the diagonal is the cross-subject
same-region reliability, not 1)::

    C[r, q] = mean over ordered subject pairs s != t of M(X[s, r], X[t, q])

A model with a layer assigned to each region has its own cross-region structure
``C_model[r, q] = M(F[layer(r)], F[layer(q)])`` and a model-to-brain matrix
``C_mb[r, q] = mean_s M(F[layer(r)], X[s, q])``.

Matrices are compared by the correlation of their entries (upper triangle, with or without the
diagonal; all off-diagonal entries for non-symmetric metrics), the mean and spread of the
off-diagonal, and a region-label permutation null (Mantel 1967, Cancer Res. 27:209): rows and
columns of the model matrix are permuted together, which keeps its geometry and breaks only its
correspondence to brain regions.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
import xarray as xr
from scipy import stats

from crossalign._validation import as_float_array, check_finite, check_option, closest
from crossalign.analysis.aps import subject_pair_mean
from crossalign.data.containers import BrainData, ModelData
from crossalign.data.labels import coord
from crossalign.data.representations import Representations
from crossalign.engine.core import score_tensor
from crossalign.errors import InputError, InputTypeError
from crossalign.metrics import Metric, get_metric
from crossalign.stats.permutation import permutation_null, permutation_p_value

__all__ = [
    "PatternComparison",
    "compare_matrices",
    "cross_region_matrix",
    "model_cross_region_matrix",
    "model_to_brain_matrix",
    "region_matrix",
]


def region_matrix(
    values: np.ndarray, regions: Sequence[Hashable], attrs: dict[str, Any] | None = None
) -> xr.DataArray:
    """A region x region matrix as a labelled DataArray (region, target_region).

    Parameters
    ----------
    values : numpy.ndarray
        (R, R).
    regions : sequence
        The region labels, in the matrix's order.
    attrs : dict, optional
        The DataArray's attributes.

    Returns
    -------
    xarray.DataArray
    """
    lab = coord(list(regions))
    return xr.DataArray(
        values,
        dims=("region", "target_region"),
        coords={"region": lab, "target_region": lab},
        attrs=attrs or {},
        name="alignment",
    )


def cross_region_matrix(
    data: Representations,
    metric: str | Metric = "spearman",
    *,
    rdm: str = "correlation",
    layers_by_region: Mapping[Hashable, Hashable] | None = None,
    model: Hashable | None = None,
) -> xr.DataArray:
    """The cross-region alignment matrix of brain data, or of a model's assigned layers.

    For :class:`~crossalign.BrainData`: ``C[r, q]`` is the mean over ordered pairs of
    *different* subjects s != t of ``M(X[s, r], X[t, q])``; at least 2 subjects are needed.
    Pairs involving a missing (subject, region) cell are skipped; ``attrs["n_pairs"]`` then
    gives each entry's count.
    For :class:`~crossalign.ModelData`: the model's own matrix
    ``C[r, q] = M(F[layer(r)], F[layer(q)])`` (see :func:`model_cross_region_matrix`).

    Parameters
    ----------
    data
        Labelled brain or model data.
    metric
        Any registered metric (``crossalign metrics`` lists them).
    rdm
        Distance used to turn raw responses into RDMs (ignored for RDM entries).
    layers_by_region
        For ModelData: ``{region: layer}`` (default ``data.layers_by_region``).
    model
        For ModelData: which model.

    Returns
    -------
    xarray.DataArray
        (region, target_region), symmetric for symmetric metrics.

    Examples
    --------
    >>> import crossalign as ca
    >>> data = ca.load_dataset("cichy2014")                       # doctest: +SKIP
    >>> ca.cross_region_matrix(data, "spearman").round(4).values  # doctest: +SKIP
    array([[0.0988, 0.0798],
           [0.0798, 0.2514]])
    """
    if isinstance(data, ModelData):
        return model_cross_region_matrix(
            data, layers_by_region, metric=metric, rdm=rdm, model=model
        )
    if not isinstance(data, BrainData):
        raise InputTypeError(
            "The 'data' argument must be a BrainData or ModelData. Got "
            f"{type(data).__name__} instead."
        )
    n_sub = len(data.subjects)
    if n_sub < 2:
        raise InputError(
            "The 'data' argument must hold at least 2 subjects: the brain cross-region matrix "
            f"averages over pairs of different subjects. Got {n_sub} subject."
        )
    data.require_subjects(2, "the brain cross-region matrix")
    m = get_metric(metric)
    t = score_tensor(data, metric=m, rdm=rdm).values  # (S, R, S, R), NaN for missing cells
    c, pairs = subject_pair_mean(t)
    if m.symmetric:
        c = 0.5 * (c + c.T)  # exact symmetry (the sums differ in the last bit only)
    attrs = {
        "kind": "brain-to-brain",
        "metric": m.name,
        "rdm": rdm,
        "n_subjects": n_sub,
        "n_stimuli": data.n_stimuli,
    }
    if not data.is_grid:  # which subject pairs each entry averages
        attrs["n_pairs"] = pairs.tolist()
    return region_matrix(c, data.regions, attrs)


def _assignment(
    model_data: ModelData,
    layers_by_region: Mapping[Hashable, Hashable] | None,
    model: Hashable | None,
) -> tuple[Hashable, dict[Hashable, Hashable]]:
    if not isinstance(model_data, ModelData):
        raise InputTypeError(
            "The 'model_data' argument must be a ModelData. Got "
            f"{type(model_data).__name__} instead."
        )
    name = model_data.one_model(model)
    mapping = (
        layers_by_region if layers_by_region is not None else model_data.layers_by_region.get(name)
    )
    if not mapping:
        raise InputError(
            "The 'layers_by_region' argument must map each region to a layer of model "
            f"{name!r} (e.g. {{'V1': 'conv1'}}). Got {mapping!r}; it is also absent from "
            "model_data.attrs."
        )
    layers = model_data.layers(name)
    unknown = {r: la for r, la in mapping.items() if la not in layers}
    if unknown:
        r, la = next(iter(unknown.items()))
        hint = closest(str(la), [str(x) for x in layers])
        raise InputError(
            f"The 'layers_by_region' argument assigns region {r!r} to layer {la!r}, which "
            f"model {name!r} does not have. Available layers: {layers}."
            + (f" Did you mean {hint!r}?" if hint else "")
        )
    return name, dict(mapping)


def model_cross_region_matrix(
    model_data: ModelData,
    layers_by_region: Mapping[Hashable, Hashable] | None = None,
    *,
    metric: str | Metric = "spearman",
    rdm: str = "correlation",
    model: Hashable | None = None,
) -> xr.DataArray:
    """A model's own cross-region matrix ``C[r, q] = M(F[layer(r)], F[layer(q)])``.

    Two regions assigned the same layer score ``M(F, F)`` (1 for correlation metrics).

    Parameters
    ----------
    model_data : ModelData
        The model's layers.
    layers_by_region : mapping, optional
        ``{region: layer}``; default ``model_data.layers_by_region``.
    metric : str or Metric
        Any registered metric.
    rdm : str
        The RDM distance for response entries under RSA metrics.
    model : hashable, optional
        Which model of ``model_data``.

    Returns
    -------
    xarray.DataArray
        (region, target_region), with the model and its layers in ``attrs``.
    """
    name, mapping = _assignment(model_data, layers_by_region, model)
    m = get_metric(metric)
    used = list(dict.fromkeys(mapping.values()))
    t = score_tensor(model_data.select([name], used), metric=m, rdm=rdm)
    pos = [used.index(mapping[r]) for r in mapping]
    c = t.values[0, :, 0, :][np.ix_(pos, pos)]  # (L, L) -> (R, R)
    return region_matrix(
        c,
        list(mapping),
        {
            "kind": "model",
            "model": str(name),
            "layers": [str(mapping[r]) for r in mapping],
            "metric": m.name,
            "rdm": rdm,
        },
    )


def model_to_brain_matrix(
    model_data: ModelData,
    brain_data: BrainData,
    layers_by_region: Mapping[Hashable, Hashable] | None = None,
    *,
    metric: str | Metric = "spearman",
    rdm: str = "correlation",
    model: Hashable | None = None,
) -> xr.DataArray:
    """``C_mb[r, q] = mean_s M(F[layer(r)], X[s, q])``: the model's stand-in for region r
    against every subject's region q. Rows and columns follow ``layers_by_region``'s regions,
    which must all exist in ``brain_data``. Stimuli are matched by id.

    Parameters
    ----------
    model_data : ModelData
        The model's layers.
    brain_data : BrainData
        The brain data; missing (subject, region) cells are skipped in the subject mean.
    layers_by_region : mapping, optional
        ``{region: layer}``; default ``model_data.layers_by_region``.
    metric : str or Metric
        Any registered metric.
    rdm : str
        The RDM distance for response entries under RSA metrics.
    model : hashable, optional
        Which model of ``model_data``.

    Returns
    -------
    xarray.DataArray
        (region, target_region), with the model and its layers in ``attrs``.
    """
    name, mapping = _assignment(model_data, layers_by_region, model)
    if not isinstance(brain_data, BrainData):
        raise InputTypeError(
            "The 'brain_data' argument must be a BrainData. Got "
            f"{type(brain_data).__name__} instead."
        )
    regions = list(mapping)
    missing = [r for r in regions if r not in brain_data.regions]
    if missing:
        raise InputError(
            f"The 'layers_by_region' argument names region(s) {missing} that brain_data does "
            f"not have. Expected regions among {brain_data.regions}."
        )
    m = get_metric(metric)
    used = list(dict.fromkeys(mapping.values()))
    t = score_tensor(
        model_data.select([name], used), brain_data.select(areas=regions), metric=m, rdm=rdm
    ).values  # (1, L, S, R)
    per_layer = np.nanmean(t[0], axis=1)  # (L, R): mean over the subjects with region q
    c = per_layer[[used.index(mapping[r]) for r in regions]]
    return region_matrix(
        c,
        regions,
        {
            "kind": "model-to-brain",
            "model": str(name),
            "layers": [str(mapping[r]) for r in regions],
            "metric": m.name,
            "rdm": rdm,
            "n_subjects": len(brain_data.subjects),
        },
    )


# ---------------------------------------------------------------------- comparison
@dataclass(frozen=True)
class PatternComparison:
    """How well a model's cross-region matrix reproduces the brain's.

    ``pattern_correlation`` is computed on the entries selected by ``include_diagonal``;
    ``p_value`` is the one-sided region-label permutation p-value of that correlation
    (``exact`` when all R! relabellings were enumerated). Off-diagonal summaries follow the
    seed: mean and std of the off-diagonal entries, and ``mean_difference`` = brain - model.

    Parameters
    ----------
    pattern_correlation : float
        Correlation of the compared entries.
    pattern_correlation_with_diagonal : float
        The same with the diagonal included.
    p_value : float
        One-sided permutation p-value of ``pattern_correlation``.
    n_permutations : int
        Relabellings drawn (or all of them when ``exact``).
    exact : bool
        Whether every relabelling was enumerated.
    brain_mean, brain_std, model_mean, model_std : float
        Mean and SD of each matrix's off-diagonal entries.
    mean_difference : float
        ``brain_mean - model_mean``.
    method : str
        The correlation used.
    include_diagonal : bool
        Whether the diagonal was compared.
    """

    pattern_correlation: float
    pattern_correlation_with_diagonal: float
    p_value: float
    n_permutations: int
    exact: bool
    brain_mean: float
    brain_std: float
    model_mean: float
    model_std: float
    mean_difference: float
    method: str
    include_diagonal: bool

    def to_dict(self) -> dict[str, Any]:
        """The fields as a plain dict.

        Returns
        -------
        dict
        """
        return asdict(self)

    def to_dataset(self) -> xr.Dataset:
        """The comparison as an xarray Dataset: every number a 0-d data variable, the
        correlation ``method`` and ``include_diagonal`` as attributes.

        Returns
        -------
        xarray.Dataset
        """
        values = self.to_dict()
        attrs = {k: values.pop(k) for k in ("method", "include_diagonal")}
        attrs["include_diagonal"] = int(attrs["include_diagonal"])  # netCDF has no bool
        return xr.Dataset({k: ((), v) for k, v in values.items()}, attrs=attrs)


def _as_square(matrix: Any, name: str, n: int | None = None) -> np.ndarray:
    arr = as_float_array(matrix, name)
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1]:
        raise InputError(
            f"The '{name}' argument must be a square region x region matrix. Got an array of "
            f"shape {arr.shape} instead."
        )
    if n is not None and arr.shape[0] != n:
        raise InputError(
            f"The '{name}' argument covers {arr.shape[0]} regions; expected {n}, as for the "
            "brain matrix."
        )
    check_finite(arr, name)
    return arr


def _entry_mask(n: int, symmetric: bool, include_diagonal: bool) -> np.ndarray:
    if symmetric:
        return np.triu(np.ones((n, n), dtype=bool), k=0 if include_diagonal else 1)
    mask = ~np.eye(n, dtype=bool)
    if include_diagonal:
        mask |= np.eye(n, dtype=bool)
    return mask


def _corr(x: np.ndarray, ys: np.ndarray, method: str) -> np.ndarray:
    """Correlation of vector x with each row of ys (NaN where undefined)."""
    if method == "spearman":
        x = stats.rankdata(x)
        ys = stats.rankdata(ys, axis=-1)
    xc = x - x.mean()
    yc = ys - ys.mean(axis=-1, keepdims=True)
    den = np.linalg.norm(xc) * np.linalg.norm(yc, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = (yc @ xc) / den
    out[den <= 1e-300] = np.nan
    return out


def compare_matrices(
    brain_matrix: Any,
    model_matrix: Any,
    *,
    include_diagonal: bool = False,
    method: Literal["pearson", "spearman"] = "pearson",
    n_permutations: int = 1000,
    seed: int | None = 0,
) -> PatternComparison:
    """Compare a model's cross-region matrix with the brain's (matrix-level test).

    This is the paper's *less strict* test: it compares region x region summaries. The
    alignment-pattern score (APS) compares per-subject patterns instead.

    Returns a :class:`PatternComparison`. With fewer than 3 compared entries (or a constant
    pattern) the correlation is undefined and reported as NaN, as is its p-value. When
    ``R! <= n_permutations`` every relabelling is enumerated (exact test).

    Parameters
    ----------
    brain_matrix, model_matrix : array_like
        (R, R) cross-region matrices over the same regions.
    include_diagonal : bool
        Compare the diagonal too.
    method : {"pearson", "spearman"}
        The correlation of the compared entries.
    n_permutations : int
        Relabellings of the regions for the null.
    seed : int or None
        Seed of the relabellings.

    Returns
    -------
    PatternComparison
        The correlation, its permutation p-value and the settings.
    """
    check_option(method, "method", ["pearson", "spearman"], "compare_matrices")
    if not isinstance(n_permutations, int | np.integer) or n_permutations < 1:
        raise InputError(
            "The 'n_permutations' argument must be a positive integer. Got "
            f"{n_permutations!r} instead."
        )
    b = _as_square(brain_matrix, "brain_matrix")
    n = b.shape[0]
    mdl = _as_square(model_matrix, "model_matrix", n)
    symmetric = bool(np.allclose(b, b.T) and np.allclose(mdl, mdl.T))
    off = _entry_mask(n, symmetric, False)
    sel = _entry_mask(n, symmetric, include_diagonal)
    with_diag = _entry_mask(n, symmetric, True)

    def corr_of(mask: np.ndarray, perms: np.ndarray | None = None) -> np.ndarray:
        x = b[mask]
        if perms is None:
            ys = mdl[mask][None]
        else:
            permuted = mdl[perms[:, :, None], perms[:, None, :]]
            ys = permuted[:, mask]
        if x.size < 3:
            return np.full(len(ys), np.nan)
        return _corr(x, ys, method)

    observed = float(corr_of(sel)[0])
    observed_diag = float(corr_of(with_diag)[0])
    perms, exact = permutation_null(n, n_permutations, seed)
    if np.isnan(observed):
        p = float("nan")
    else:
        p = float(
            permutation_p_value(np.array([observed]), corr_of(sel, perms)[:, None], exact=exact)[0]
        )
    bo, mo = b[off], mdl[off]
    return PatternComparison(
        pattern_correlation=observed,
        pattern_correlation_with_diagonal=observed_diag,
        p_value=float(p),
        n_permutations=len(perms),
        exact=exact,
        brain_mean=float(bo.mean()) if bo.size else float("nan"),
        brain_std=float(bo.std()) if bo.size else float("nan"),
        model_mean=float(mo.mean()) if mo.size else float("nan"),
        model_std=float(mo.std()) if mo.size else float("nan"),
        mean_difference=float(bo.mean() - mo.mean()) if bo.size else float("nan"),
        method=method,
        include_diagonal=include_diagonal,
    )
