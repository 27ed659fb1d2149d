"""Alignment patterns against anatomical connectivity (Hoefling et al. 2026, the connectivity
analysis): does a region's alignment pattern follow how strongly it is wired to the others?

From a region x region connectivity matrix per subject (e.g. tractography streamline
densities), the connectivity pattern of region r is row r without its own entry, averaged
over subjects: ``C(r)[q] = mean_c W[c, r, q]`` for q != r. Against it:

* brain: ``APS_conn(r, s) = mean over a != s of sim(C(r), AP[a->s](r))``, the pairwise brain
  patterns ``AP[a->s](r)[q] = T[a, r, s, q]`` without the same-region entry;
* model: ``APS_conn(r, s) = sim(C(r), AP[m,l_r](s))`` with the model's pattern at the layer
  chosen for r.

The null draws random connectivity matrices: every subject's matrix with its off-diagonal
weights permuted (a symmetric matrix keeps its symmetry: the upper triangle is permuted and
mirrored), so each random matrix has exactly the observed weights, placed at random; the
draws come from :func:`crossalign.stats.permutation.permutation_null`, one seeded stream per
subject's matrix.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from crossalign.analysis.aps import pattern_similarity
from crossalign.stats.permutation import permutation_null

__all__ = [
    "brain_connectivity_aps",
    "connectivity_patterns",
    "model_connectivity_aps",
    "random_connectivity",
]


def _others(n: int) -> np.ndarray:
    """Indices (R, R - 1) of the regions other than each region."""
    return np.array([[q for q in range(n) if q != r] for r in range(n)])


def connectivity_patterns(w: np.ndarray) -> np.ndarray:
    """``C(r)`` for every region: (R, R - 1), row r of the subjects' mean matrix without r.

    Parameters
    ----------
    w : numpy.ndarray
        (subject, region, region) connectivity.

    Returns
    -------
    numpy.ndarray
    """
    mean = np.asarray(w, dtype=float).mean(axis=0)
    return np.take_along_axis(mean, _others(mean.shape[0]), axis=1)


def brain_connectivity_aps(
    t: np.ndarray, patterns: np.ndarray, similarity: str = "pearson"
) -> np.ndarray:
    """``APS_conn(r, s)`` of the brain: (R, S) from its score tensor ``t`` (S, R, S, R).

    Parameters
    ----------
    t : numpy.ndarray
        The brain score tensor, NaN for missing cells.
    patterns : numpy.ndarray
        (R, R - 1) connectivity patterns (:func:`connectivity_patterns`).
    similarity : str

    Returns
    -------
    numpy.ndarray
    """
    n_sub, n_reg = t.shape[:2]
    sel = _others(n_reg)
    tsel = np.take_along_axis(t, sel[None, :, None, :], axis=3)  # (a, r, s, k)
    c = pattern_similarity(patterns[None, :, None, :], tsel, similarity)  # (a, r, s)
    weight = (~np.eye(n_sub, dtype=bool))[:, None, :] & np.isfinite(t).any(axis=(2, 3))[..., None]
    with np.errstate(invalid="ignore", divide="ignore"):
        total = np.where(weight & np.isfinite(c), c, 0.0).sum(axis=0)
        return total / (weight & np.isfinite(c)).sum(axis=0)


def model_connectivity_aps(
    u: np.ndarray, layers: np.ndarray, patterns: np.ndarray, similarity: str = "pearson"
) -> np.ndarray:
    """``APS_conn(r, s)`` of a model: (R, S) from its model-to-brain tensor ``u`` (L, S, R) at
    the layer ``layers[r]`` chosen for each region.

    Parameters
    ----------
    u : numpy.ndarray
    layers : numpy.ndarray of int
        (R,) layer index per region.
    patterns : numpy.ndarray
        (R, R - 1).
    similarity : str

    Returns
    -------
    numpy.ndarray
    """
    sel = _others(u.shape[2])
    chosen = u[layers]  # (r, s, q): row r at the layer chosen for r
    usel = np.take_along_axis(chosen, sel[:, None, :], axis=2)  # (r, s, k)
    return pattern_similarity(patterns[:, None, :], usel, similarity)


def random_connectivity(w: np.ndarray, n_random: int, seed: int | None) -> Iterator[np.ndarray]:
    """``n_random`` random versions of the (subject, region, region) matrices: each subject's
    off-diagonal weights permuted (symmetric matrices stay symmetric).

    Parameters
    ----------
    w : numpy.ndarray
    n_random : int
    seed : int or None

    Yields
    ------
    numpy.ndarray
        (subject, region, region).
    """
    n = w.shape[1]
    upper = np.triu_indices(n, 1)
    off = ~np.eye(n, dtype=bool)
    symmetric = [bool(np.allclose(m, m.T)) for m in w]
    cells = [upper if sym else np.nonzero(off) for sym in symmetric]
    draws = [  # one seeded stream per subject's matrix: (n_random, its weights)
        permutation_null(len(cell[0]), n_random, None if seed is None else [seed, c], exact=False)[
            0
        ]
        for c, cell in enumerate(cells)
    ]
    for k in range(n_random):
        out = np.array(w, dtype=float, copy=True)
        for c, m in enumerate(w):
            values = m[cells[c]][draws[c][k]]
            out[c][cells[c]] = values
            if symmetric[c]:
                out[c].T[upper] = values
        yield out
