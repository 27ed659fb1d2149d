"""Representational dissimilarity matrices (RDMs), computed in batches.

Every distance is written as a function of the Gram matrix of (pre-processed) response
patterns, so a stack of B response matrices (B, n, p) becomes B RDMs with one batched matrix
product ``X @ X^T`` (Kriegeskorte, Mur & Bandettini 2008, Front. Syst. Neurosci. 2:4).

Distances (names follow :func:`scipy.spatial.distance.pdist`):

``correlation``  1 - Pearson correlation between the two stimulus patterns.
``cosine``       1 - cosine similarity.
``euclidean``    Euclidean distance ``||x_i - x_j||``.
``sqeuclidean``  squared Euclidean distance.

Note that rsatoolbox's ``'euclidean'`` is the *mean* squared difference per unit; ours is the
plain Euclidean distance, as in scipy.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from crossalign._registry import Registry
from crossalign._validation import as_float_array, check_finite, check_option
from crossalign.compute.context import Context, current_context
from crossalign.compute.crossval import crossnobis_vector, cv_rdm_vector
from crossalign.errors import InputError

__all__ = [
    "DISTANCES",
    "SIMILARITY_CONVERSIONS",
    "SYMMETRISE_TOLERANCE",
    "check_rdm",
    "classical_mds",
    "compute_rdms",
    "rdm_vectors",
    "similarity_to_rdm",
    "square_from_vector",
    "unit_rows",
    "upper_triangle",
]


@dataclass(frozen=True)
class Distance:
    """A stimulus-pair distance computed from the Gram matrix of pre-processed patterns.

    Its fields say everything the RDM code does differently per distance (no code branches
    on a distance's name): a *unit* distance (``centre`` not None) is ``1 - G`` of rows
    scaled to unit norm (centred first when ``centre``); any other is a power of the squared
    Euclidean distance ``G_ii + G_jj - 2 G_ij`` (``power`` 1: its square root, 2: itself),
    computed on the data divided by its largest magnitude and scaled back (``scale ** power``).
    """

    name: str
    preprocess: Callable[[np.ndarray, str], np.ndarray]
    description: str
    #: Unit distances: whether rows are centred before scaling to unit norm (correlation) or
    #: not (cosine); None for the Euclidean family.
    centre: bool | None = None
    #: The Euclidean family: 1 (Euclidean) or 2 (squared); 0 for unit distances.
    power: int = 0
    #: Cross-validated over repetitions: ``"identity"`` (cross-validated Euclidean) or a
    #: noise-precision estimator of :data:`crossalign.compute.crossval.PRECISIONS`; None for
    #: distances of single patterns.
    cross_validated: str | None = None

    def upper_from_gram(self, g: np.ndarray, mask: np.ndarray, out: np.ndarray) -> None:
        """Write the strict upper triangle (row-major) of the distances of one Gram matrix
        ``g`` into ``out``; ``mask`` is the boolean strict upper triangle (n^2 bytes, where
        index arrays would take 16 bytes per entry).

        Parameters
        ----------
        g : numpy.ndarray
            (n, n).
        mask : numpy.ndarray
            (n, n) bool.
        out : numpy.ndarray
            (n (n - 1) / 2,), written in place.
        """
        if self.centre is not None:
            np.subtract(1.0, g[mask], out=out)
            return
        diag = np.diagonal(g)
        np.multiply(g[mask], -2.0, out=out)
        out += np.broadcast_to(diag[:, None], g.shape)[mask]
        out += np.broadcast_to(diag[None, :], g.shape)[mask]
        np.maximum(out, 0.0, out=out)
        if self.power == 1:
            np.sqrt(out, out=out)

    def from_repeats(self, x: np.ndarray, name: str, ctx: Context | None = None) -> np.ndarray:
        """The cross-validated RDM vector of responses (stimulus, unit, repetition).

        Parameters
        ----------
        x : numpy.ndarray
        name : str
            What ``x`` is, for error messages.
        ctx : Context, optional
            Where the products run; default :func:`~crossalign.compute.context.current_context`.

        Returns
        -------
        numpy.ndarray
        """
        if self.cross_validated is None:
            raise InputError(f"The distance {self.name!r} is not cross-validated.")
        ctx = current_context() if ctx is None else ctx
        if self.cross_validated == "identity":
            return cv_rdm_vector(x, None, name, ctx=ctx)
        return crossnobis_vector(x, self.cross_validated, name, ctx=ctx)


def unit_rows(
    x: np.ndarray, *, centre: bool = False, atol: float | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Rows (optionally centred) scaled to unit norm, in a new array, and which rows are too
    flat to scale: two passes over the data in the common case. Rows whose squares could
    overflow or underflow are first divided by their largest magnitude (the result is
    invariant to scaling a row).

    Parameters
    ----------
    x : numpy.ndarray
        Rows along the last axis.
    centre : bool
        Subtract each row's mean first (the correlation distance).
    atol : float, optional
        A row is flat when its norm is at most ``atol``; by default, at most
        ``1e-12 * sqrt(p)`` times its own largest magnitude.

    Returns
    -------
    rows : numpy.ndarray
        ``x`` with unit-norm rows (a flat row is divided by its tiny norm; callers refuse it).
    flat : numpy.ndarray
        Boolean, one per row.
    """
    peak = np.maximum(x.max(axis=-1), -x.min(axis=-1))
    extreme = (peak > 1e100) | ((peak < 1e-100) & (peak > 0))
    if extreme.any():
        x = x / np.where(extreme, peak, 1.0)[..., None]
    z = x - x.mean(axis=-1, keepdims=True) if centre else np.array(x, dtype=np.float64)
    norms = np.sqrt(np.einsum("...i,...i->...", z, z))
    scale = np.where(extreme, 1.0, peak)  # the rows' largest magnitude, as now scaled
    if atol is None:
        flat = norms <= 1e-12 * np.sqrt(x.shape[-1]) * scale
    else:
        flat = norms * np.where(extreme, peak, 1.0) <= atol
    with np.errstate(divide="ignore", invalid="ignore"):
        z /= norms[..., None]
    return z, flat


def _pattern_rows(x: np.ndarray, name: str, *, centre: bool) -> np.ndarray:
    """Unit-norm stimulus patterns for the correlation (centred) or cosine distance; a flat
    pattern is refused, naming ``name``."""
    z, flat = unit_rows(x, centre=centre)
    if flat.any():
        where = tuple(int(i) for i in np.argwhere(flat)[0])
        what = "constant" if centre else "all-zero"
        raise InputError(
            f"The '{name}' argument has {int(flat.sum())} {what} stimulus pattern(s) (first at "
            f"index {where}); the {'correlation' if centre else 'cosine'} distance is undefined "
            "for them. Expected every stimulus to evoke a non-"
            f"{'constant' if centre else 'zero'} pattern across units; drop those stimuli or "
            "use rdm='euclidean'."
        )
    return z


DISTANCES: Registry[Distance] = Registry("rdm")
DISTANCES.register(
    "correlation",
    Distance(
        "correlation",
        lambda x, name: _pattern_rows(x, name, centre=True),
        "1 - Pearson correlation of the two stimulus patterns",
        centre=True,
    ),
)
DISTANCES.register(
    "cosine",
    Distance(
        "cosine",
        lambda x, name: _pattern_rows(x, name, centre=False),
        "1 - cosine similarity of the two stimulus patterns",
        centre=False,
    ),
)
DISTANCES.register(
    "euclidean",
    Distance(
        "euclidean",
        lambda x, name: x,
        "Euclidean distance between the two stimulus patterns",
        power=1,
    ),
)
DISTANCES.register(
    "sqeuclidean",
    Distance(
        "sqeuclidean",
        lambda x, name: x,
        "squared Euclidean distance between the two stimulus patterns",
        power=2,
    ),
)


def _needs_repeats(x: np.ndarray, name: str) -> np.ndarray:
    raise InputError(
        f"A cross-validated distance needs the repetitions of the {name}: responses "
        "(stimulus, unit, repetition). Got them averaged (2-D)."
    )


for _name, _estimator, _text in (
    ("cv_euclidean", "identity", "cross-validated squared Euclidean distance per unit"),
    ("crossnobis", "shrinkage_diag", "crossnobis: cross-validated Mahalanobis per unit"),
    (
        "crossnobis_shrinkage_eye",
        "shrinkage_eye",
        "crossnobis with a noise covariance shrunk towards the identity",
    ),
):
    DISTANCES.register(
        _name, Distance(_name, _needs_repeats, _text, power=2, cross_validated=_estimator)
    )


def compute_rdms(
    responses: np.ndarray,
    distance: str = "correlation",
    *,
    name: str = "responses",
    ctx: Context | None = None,
) -> np.ndarray:
    """RDMs of a stack of response matrices: the square form of :func:`rdm_vectors`.

    Parameters
    ----------
    responses
        Array (..., n_stimuli, n_units). A trailing repetitions axis is not accepted here:
        average repetitions first (cross-validated distances are planned separately).
    distance
        One of ``DISTANCES`` (``correlation``, ``cosine``, ``euclidean``, ``sqeuclidean``).
    name
        The argument's name in error messages.
    ctx
        Where the products run; default :func:`~crossalign.compute.context.current_context`.

    Returns
    -------
    numpy.ndarray
        (..., n_stimuli, n_stimuli), symmetric with an exactly zero diagonal.
    """
    return square_from_vector(rdm_vectors(responses, distance, name=name, ctx=ctx))


def _responses_input(responses: np.ndarray, name: str) -> np.ndarray:
    """Responses as a finite float64 array (..., n_stimuli, n_units), or a clear error."""
    x = as_float_array(responses, name)
    if x.ndim < 2:
        raise InputError(
            f"The '{name}' argument must be an array (n_stimuli, n_units) or a stack of them. "
            f"Got an array of shape {x.shape} instead."
        )
    check_finite(x, name)
    return x


def _check_overflow(values: np.ndarray, scale: float, distance: str, name: str) -> None:
    if not np.isfinite(values).all():
        raise InputError(
            f"The '{name}' argument is so large in magnitude (up to {scale:.3g}) that its "
            f"{distance} distances overflow float64. Expected responses of a sensible scale; "
            "rescale them (e.g. z-score each unit)."
        )


@functools.lru_cache(maxsize=4)
def _upper_mask(n: int) -> np.ndarray:
    mask = np.triu(np.ones((n, n), dtype=bool), k=1)
    mask.setflags(write=False)
    return mask


def rdm_vectors(
    responses: np.ndarray,
    distance: str = "correlation",
    *,
    name: str = "responses",
    out: np.ndarray | None = None,
    ctx: Context | None = None,
) -> np.ndarray:
    """Upper-triangle RDM vectors (..., n(n-1)/2) of a stack of response matrices.

    Equal to ``upper_triangle(compute_rdms(responses, distance))`` but faster and lighter:
    each representation's Gram matrix is one symmetric product (``z @ z.T``, a BLAS rank-k
    update: half the work of a general product) on the current backend
    (:mod:`crossalign.compute.backends`), only its upper triangle is read, and no more than
    one n x n matrix is held at a time.

    Parameters
    ----------
    responses : numpy.ndarray
        (..., n_stimuli, n_units).
    distance : str
        A name of :data:`DISTANCES`.
    name : str
        What the responses are, for error messages.
    out : numpy.ndarray, optional
        A float64 array of the result's shape to write into (no temporary copy).
    ctx : Context, optional
        Where the products run; default :func:`~crossalign.compute.context.current_context`.

    Returns
    -------
    numpy.ndarray
        ``out`` when given.
    """
    direct = out if out is not None and out.flags.c_contiguous else None
    ctx = current_context() if ctx is None else ctx
    vectors = _rdm_vectors(responses, DISTANCES.get(distance), name, direct, ctx)
    if out is None:
        return vectors
    if not np.shares_memory(vectors, out):  # the explicit path, or an out it cannot view
        np.copyto(out, vectors.reshape(out.shape))
    return out


def _rdm_vectors(
    responses: np.ndarray, dist: Distance, name: str, out: np.ndarray | None, ctx: Context
) -> np.ndarray:
    """:func:`rdm_vectors`; unit-distance RDMs go into ``out`` (C-contiguous) when given, the
    explicit path allocates its own result."""
    if dist.centre is not None:
        fast = _unit_rdm_vectors(responses, dist, ctx, name, out)
        if fast is not None:
            return fast
    x = _responses_input(responses, name)
    lead = x.shape[:-2]
    n, p = x.shape[-2:]
    flat = x.reshape(-1, n, p)
    scale = 1.0
    if dist.power:  # the Euclidean family scales with the data: scaled, then scaled back
        scale = float(np.abs(flat).max(initial=0.0)) or 1.0
        flat = flat / scale
    mask = _upper_mask(n)
    vectors = np.empty((len(flat), n * (n - 1) // 2))
    for b in range(len(flat)):
        z = dist.preprocess(flat[b], name)
        dist.upper_from_gram(ctx.gram(z), mask, vectors[b])
    if scale != 1.0:
        with np.errstate(over="ignore"):
            vectors *= scale**dist.power
        _check_overflow(vectors, scale, dist.name, name)
    return vectors.reshape(*lead, vectors.shape[-1])


#: Largest ``eps * |x_i|^2 / |x_i - mean|^2`` (the relative error the centring algebra adds to a
#: row's Gram entries) for which correlation RDMs are computed from the raw rows' Gram matrix.
CENTRING_ERROR = 1e-11


def _unit_gram(x: np.ndarray, dist: Distance, ctx: Context) -> np.ndarray | None:
    """The Gram matrix of the rows of ``x`` centred (correlation) and scaled to unit norm,
    from one product of the raw rows: ``(G - s s^T / p) / (d d^T)`` with the row sums ``s``
    and the centred rows' norms ``d``, applied as two rank-one updates. This reads the data
    twice (the product and the sums) where centring and scaling copies read it five times.
    None when the algebra would cost precision (rows whose mean dwarfs their spread, values
    near the float range, a non-finite product): the caller then centres explicitly. A finite
    diagonal bounds every entry (``|G_ij| <= sqrt(G_ii G_jj)``), so only it is checked."""
    g = ctx.gram(x)
    full = np.diagonal(g).copy()
    if not np.isfinite(full).all():
        return None
    if dist.centre:
        sums = np.sum(x, axis=-1, dtype=np.float64)
        diag = full - sums * sums / x.shape[-1]
    else:
        sums, diag = None, full
    eps = ctx.eps
    with np.errstate(divide="ignore", invalid="ignore"):
        precise = (full / diag) * eps <= CENTRING_ERROR
    if not (precise.all() and (diag > np.finfo(np.float64).tiny * 1e20).all()):
        return None
    inv = 1.0 / np.sqrt(diag)
    g *= np.multiply.outer(inv, inv)
    if sums is not None:
        a = sums * inv / np.sqrt(x.shape[-1])
        g -= np.multiply.outer(a, a)
    return g


def _unit_rdm_vectors(
    responses: Any, dist: Distance, ctx: Context, name: str, out: np.ndarray | None = None
) -> np.ndarray | None:
    """Correlation or cosine RDM vectors through :func:`_unit_gram`, without converting or
    copying the responses first, written into ``out`` when given; None where any
    representation needs the explicit path."""
    x = np.asarray(responses)
    if x.dtype.kind not in "f" or x.ndim < 2:
        return None
    n, p = x.shape[-2:]
    flat = x.reshape(-1, n, p)
    mask = _upper_mask(n)
    vectors = np.empty((len(flat), n * (n - 1) // 2)) if out is None else out.reshape(len(flat), -1)
    for b in range(len(flat)):
        g = _unit_gram(flat[b], dist, ctx)
        if g is None:
            return None
        np.subtract(1.0, g[mask], out=vectors[b])
    return vectors.reshape(*x.shape[:-2], vectors.shape[-1])


def upper_triangle(rdms: np.ndarray) -> np.ndarray:
    """Vectors of the strict upper triangle (k=1, row-major, as ``squareform``) of RDMs.

    Parameters
    ----------
    rdms : numpy.ndarray
        (..., n, n) RDMs.

    Returns
    -------
    numpy.ndarray
        (..., n (n - 1) / 2).
    """
    n = rdms.shape[-1]
    iu, ju = np.triu_indices(n, k=1)
    return rdms[..., iu, ju]


def square_from_vector(vectors: np.ndarray) -> np.ndarray:
    """Inverse of :func:`upper_triangle`: symmetric RDMs with zero diagonal.

    Parameters
    ----------
    vectors : numpy.ndarray
        (..., n (n - 1) / 2).

    Returns
    -------
    numpy.ndarray
        (..., n, n).
    """
    m = vectors.shape[-1]
    n = round((1 + np.sqrt(1 + 8 * m)) / 2)
    if n * (n - 1) // 2 != m:
        raise InputError(
            f"The 'vectors' argument must have n(n-1)/2 entries on its last axis. Got {m}."
        )
    out = np.zeros((*vectors.shape[:-1], n, n), dtype=vectors.dtype)
    iu, ju = np.triu_indices(n, k=1)
    out[..., iu, ju] = vectors
    out[..., ju, iu] = vectors
    return out


#: Largest relative asymmetry ``max|D - D^T| / max|D|`` that ``symmetrise=True`` averages away
#: (rounding in files written with single precision or text); anything larger is refused.
SYMMETRISE_TOLERANCE = 1e-3

#: Conversions of similarity matrices to RDMs: ``similarity=`` of the RDM constructors.
SIMILARITY_CONVERSIONS = {
    "1-r": "D = 1 - S, for correlation or cosine similarity matrices (unit diagonal)",
    "kernel": "D = S_ii + S_jj - 2 S_ij, the squared Euclidean distance of a Gram/kernel matrix",
}


def similarity_to_rdm(sim: np.ndarray, conversion: str | bool, name: str = "rdm") -> np.ndarray:
    """Convert a similarity matrix (or stack) to dissimilarities, checking it is one.

    ``conversion`` is ``"1-r"`` (``True`` is the same): ``D = 1 - S`` for correlation or
    cosine similarities, whose diagonal must be 1; or ``"kernel"``: ``D_ij = S_ii + S_jj -
    2 S_ij``, the squared Euclidean distance between the patterns whose Gram matrix is ``S``.

    Parameters
    ----------
    sim : numpy.ndarray
    conversion : {"1-r", "kernel"} or bool
    name : str
        The argument's name, for error messages.

    Returns
    -------
    numpy.ndarray
    """
    conversion = "1-r" if conversion is True else conversion
    check_option(conversion, "similarity", SIMILARITY_CONVERSIONS, name)
    s = as_float_array(sim, name)
    check_finite(s, name)
    diag = np.diagonal(s, axis1=-2, axis2=-1)
    if conversion == "1-r":
        worst = float(np.abs(diag - 1.0).max(initial=0.0))
        if worst > 1e-6:
            raise InputError(
                f"The '{name}' argument was given with similarity='1-r', which needs a unit "
                f"diagonal (correlations or cosines). Got a diagonal entry {1.0 + worst:.4g} "
                "away from 1. Use similarity='kernel' for a Gram or kernel matrix."
            )
        out = 1.0 - s
    else:
        out = diag[..., :, None] + diag[..., None, :] - 2.0 * s
    n = out.shape[-1]
    out[..., np.arange(n), np.arange(n)] = 0.0
    return out


def _looks_like_similarity(d: np.ndarray, scale: float) -> bool:
    """A constant positive diagonal at least as large as every off-diagonal entry."""
    diag = np.diagonal(d, axis1=-2, axis2=-1)
    n = d.shape[-1]
    off = d[..., ~np.eye(n, dtype=bool)]
    return bool(
        (diag > 1e-6 * scale).all()
        and np.ptp(diag, axis=-1).max(initial=0.0) <= 1e-6 * scale
        and (off <= diag.max(axis=-1, keepdims=True) + 1e-9 * scale).all()
    )


def check_rdm(
    rdm: np.ndarray,
    name: str = "rdm",
    *,
    atol: float = 1e-8,
    symmetrise: bool = False,
    similarity: str | bool | None = None,
    allow_negative: bool = False,
) -> np.ndarray:
    """Validate an RDM or a stack of RDMs (..., n, n) and return it as float64.

    Checks: finite, square, at least 3 stimuli, symmetric and zero-diagonal within ``atol``
    (relative to the largest absolute entry), and non-negative.

    Parameters
    ----------
    rdm : array_like, shape (..., n, n)
        Dissimilarities (or similarities, with ``similarity=``).
    name : str
        The argument's name, for error messages.
    atol : float
        Relative tolerance of the symmetry and zero-diagonal checks.
    symmetrise : bool
        Average a slightly asymmetric RDM with its transpose. Only asymmetries up to
        ``SYMMETRISE_TOLERANCE`` (relative, 1e-3) are averaged; larger ones are refused,
        and the diagonal is never changed.
    similarity : {None, True, "1-r", "kernel"}
        The input holds similarities: convert them first (see :func:`similarity_to_rdm`).
    allow_negative : bool
        Accept negative dissimilarities (cross-validated distances such as crossnobis are
        unbiased and can be negative).

    Returns
    -------
    numpy.ndarray
        The validated (or converted) RDMs, float64.

    Raises
    ------
    InputError
        Naming the failed check, the value found and what to do.
    """
    d = as_float_array(rdm, name)
    if d.ndim < 2 or d.shape[-1] != d.shape[-2]:
        raise InputError(
            f"The '{name}' argument must be a square RDM (n_stimuli, n_stimuli) or a stack of "
            f"them. Got an array of shape {d.shape} instead."
        )
    n = d.shape[-1]
    if n < 3:
        raise InputError(
            f"The '{name}' argument must cover at least 3 stimuli (an RDM with fewer has at "
            f"most one dissimilarity to compare). Got an RDM of shape {d.shape[-2:]}."
        )
    check_finite(d, name)
    if similarity not in (None, False):
        d = similarity_to_rdm(d, similarity, name)
    scale = max(float(np.abs(d).max()), 1.0)
    with np.errstate(over="ignore"):  # huge entries: an overflowing difference is asymmetric
        asym = float(np.abs(d - np.swapaxes(d, -1, -2)).max())
    if asym > atol * scale:
        if not symmetrise:
            hint = (
                f"If this is rounding (at most {SYMMETRISE_TOLERANCE:g} of the largest entry), "
                "pass symmetrise=True to average it with its transpose."
                if asym <= SYMMETRISE_TOLERANCE * scale
                else "Expected an RDM; if the variable holds responses with as many units as "
                "stimuli, say so with kind='responses'."
            )
            raise InputError(
                f"The '{name}' argument must be symmetric. Got an RDM whose largest asymmetry "
                f"|D - D^T| is {asym:.3g} (tolerance {atol * scale:.3g}). {hint}"
            )
        if asym > SYMMETRISE_TOLERANCE * scale:
            raise InputError(
                f"The '{name}' argument is too asymmetric to be one RDM: largest |D - D^T| is "
                f"{asym:.3g}, above what symmetrise=True averages ({SYMMETRISE_TOLERANCE:g} x "
                f"the largest entry = {SYMMETRISE_TOLERANCE * scale:.3g}). Expected a symmetric "
                "dissimilarity matrix; check that the variable holds RDMs."
            )
        d = 0.5 * (d + np.swapaxes(d, -1, -2))
    diag = np.abs(np.diagonal(d, axis1=-2, axis2=-1))
    if float(diag.max()) > atol * scale:
        hint = (
            " It looks like a similarity matrix (constant diagonal, the largest entry of each "
            "row): pass similarity='1-r' (D = 1 - S; --similarity 1-r on the command line) or "
            "similarity='kernel' to convert it."
            if _looks_like_similarity(d, scale)
            else " Expected an RDM; if the variable holds responses with as many units as "
            "stimuli, say so with kind='responses'."
        )
        raise InputError(
            f"The '{name}' argument must have a zero diagonal (a stimulus is not dissimilar "
            f"to itself). Got a largest diagonal entry of {float(diag.max()):.3g}.{hint}"
        )
    low = float(d.min())
    if low < -atol * scale and not allow_negative:
        raise InputError(
            f"The '{name}' argument must hold non-negative dissimilarities. Got a smallest "
            f"entry of {low:.3g}. Pass allow_negative=True for cross-validated distances "
            "(crossnobis), which can be negative; a similarity matrix needs similarity=."
        )
    return d


def classical_mds(rdm: np.ndarray, dims: int = 2) -> np.ndarray:
    """Classical (Torgerson) multidimensional scaling of one RDM: (n, dims) coordinates whose
    Euclidean distances best approximate the dissimilarities (exactly, for Euclidean
    distances of points in ``dims`` dimensions). ``B = -1/2 J D^2 J`` with the centring
    matrix ``J``; the coordinates are the top eigenvectors of ``B`` scaled by the square
    roots of their (non-negative) eigenvalues (Torgerson 1952).

    Parameters
    ----------
    rdm : numpy.ndarray
        (n, n).
    dims : int

    Returns
    -------
    numpy.ndarray
        (n, dims).
    """
    d = check_rdm(rdm, "rdm")
    if d.ndim != 2:
        raise InputError(f"classical_mds takes one RDM (n, n). Got shape {d.shape}.")
    n = d.shape[0]
    j = np.eye(n) - 1.0 / n
    b = -0.5 * j @ (d**2) @ j
    values, vectors = np.linalg.eigh((b + b.T) / 2)
    order = np.argsort(values)[::-1][:dims]
    return vectors[:, order] * np.sqrt(np.clip(values[order], 0.0, None))[None, :]
