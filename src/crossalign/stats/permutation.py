"""Permutation nulls: the one permutation engine (relabelling, sign flips) and its p-values."""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np

from crossalign.errors import InputError

__all__ = [
    "TIE_TOLERANCE",
    "distinct_sign_flips",
    "permutation_null",
    "permutation_p_value",
    "random_order",
    "sign_flips",
]


# ---------------------------------------------------------------------- tests
def permutation_null(
    n_items: int, n_permutations: int, seed: Any = 0, *, exact: bool = True
) -> tuple[np.ndarray, bool]:
    """The permutations of ``range(n_items)`` a permutation test runs: every one of the
    ``n_items!`` relabellings when there are at most ``n_permutations`` (an exact test; the
    identity included), else ``n_permutations`` seeded random ones (Monte Carlo), drawn in
    order from ``numpy.random.default_rng(seed)``.

    Parameters
    ----------
    n_items : int
    n_permutations : int
    seed : int, sequence of int or None
        The generator's seed.
    exact : bool
        Enumerate every relabelling when they are few (False: always draw at random, for
        nulls whose draws are not a test's relabellings, e.g. random connectivity).

    Returns
    -------
    permutations : numpy.ndarray, shape (P, n_items)
    exact : bool
    """
    if not isinstance(n_permutations, int | np.integer) or n_permutations < 1:
        raise InputError(
            f"The 'n_permutations' argument must be a positive integer. Got {n_permutations!r}."
        )
    if exact and math.factorial(n_items) <= n_permutations:
        return np.array(list(itertools.permutations(range(n_items)))), True
    rng = np.random.default_rng(seed)
    out = np.empty((n_permutations, n_items), dtype=np.intp)
    for k in range(n_permutations):
        out[k] = random_order(n_items, rng)
    return out, False


def random_order(items: int | np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A random order of ``range(items)`` (or of the array ``items``) drawn from ``rng``: the
    library's one place where a random permutation is drawn (permutation nulls, seeded
    stimulus splits, validation splits).

    Parameters
    ----------
    items : int or numpy.ndarray
    rng : numpy.random.Generator

    Returns
    -------
    numpy.ndarray
    """
    return rng.permutation(items)


def sign_flips(n_items: int, n_permutations: int, seed: int | None = 0) -> tuple[np.ndarray, bool]:
    """Sign patterns for a paired permutation test (each subject's difference keeps or flips
    its sign): all ``2**n_items`` when there are at most ``n_permutations`` (exact), else
    ``n_permutations`` seeded random ones. Returns (array (P, n_items) of +-1, exact).

    Parameters
    ----------
    n_items : int
    n_permutations : int
    seed : int or None
    """
    if not isinstance(n_permutations, int | np.integer) or n_permutations < 1:
        raise InputError(
            f"The 'n_permutations' argument must be a positive integer. Got {n_permutations!r}."
        )
    if 2**n_items <= n_permutations:
        bits = (np.arange(2**n_items)[:, None] >> np.arange(n_items)[None, :]) & 1
        return 1.0 - 2.0 * bits, True
    rng = np.random.default_rng(seed)
    return rng.choice([-1.0, 1.0], size=(n_permutations, n_items)), False


def distinct_sign_flips(
    n_items: int, n_permutations: int, seed: int | None = 0, *, symmetric: bool = True
) -> np.ndarray:
    """Distinct sign patterns for a one-sample cluster test, drawn as MNE-Python's
    ``permutation_cluster_1samp_test`` draws them, so that one seed gives the same test in
    both (Maris & Oostenveld 2007): the identity left out (the observed data stands for it).

    With ``symmetric`` (a two-sided test) only patterns that keep the first item's sign flipped
    are drawn, one of each +-pair; when the patterns to draw from are fewer than
    ``n_permutations``, every one is returned (an exact test). Otherwise ``n_permutations - 1``
    distinct ones: with ``numpy.random.default_rng(seed)`` (MNE's ``rng=seed``), sampled without
    replacement among their binary codes (up to 20 items), or drawn uniformly and kept when new
    (more items).

    Parameters
    ----------
    n_items : int
        Subjects (samples).
    n_permutations : int
        Permutations including the identity.
    seed : int or None
    symmetric : bool

    Returns
    -------
    numpy.ndarray
        (P, n_items) of +-1.0; ``P`` is ``n_permutations - 1`` or, exact, every pattern.
    """
    if not isinstance(n_permutations, int | np.integer) or n_permutations < 1:
        raise InputError(
            f"The 'n_permutations' argument must be a positive integer. Got {n_permutations!r}."
        )
    n_free = n_items - int(symmetric)
    n_patterns = 2**n_free - 1
    if n_patterns < n_permutations:
        codes = np.arange(1, n_patterns + 1)
    elif n_items <= 20:
        rng = np.random.default_rng(seed)
        codes = rng.choice(n_patterns, n_permutations - 1, replace=False) + 1
    else:
        return _drawn_flips(n_items, n_permutations - 1, seed, symmetric)
    bits = (codes[:, None] >> np.arange(n_items - 1, -1, -1)[None, :]) & 1  # first item: MSB
    return 2.0 * bits - 1.0


def _drawn_flips(n_items: int, n_draws: int, seed: int | None, symmetric: bool) -> np.ndarray:
    """Distinct uniform sign patterns of many items (MNE-Python's draw for over 20): the
    last item is not drawn when ``symmetric``, and half the patterns are negated."""
    rng = np.random.default_rng(seed)
    n_free = n_items - int(symmetric)
    out = np.zeros((n_draws, n_items), dtype=int)
    seen: set[tuple[int, ...]] = set()
    row = 0
    while row < n_draws:
        bits = tuple(int(b) for b in rng.uniform(size=n_free) < 0.5)
        if bits in seen:
            continue
        out[row, :n_free] = bits
        if symmetric and rng.uniform() < 0.5:
            out[row] = 1 - out[row]
        seen.add(bits)
        row += 1
    return 2.0 * out - 1.0


#: Null values within this of the observed value count as ties (at least as extreme).
TIE_TOLERANCE = 1e-12


def permutation_p_value(
    observed: np.ndarray, null: np.ndarray, *, exact: bool = False
) -> np.ndarray:
    """One-sided p-value along axis 0: the share of the null at least as large as the
    observed value when the null enumerates every permutation (``exact``), else the Monte
    Carlo estimate ``(1 + #{null >= observed}) / (1 + n)`` (Phipson & Smyth 2010). Ties
    within ``TIE_TOLERANCE`` count as at least as large; NaN in, NaN out.

    Parameters
    ----------
    observed : numpy.ndarray
    null : numpy.ndarray
        (P, ...).
    exact : bool

    Returns
    -------
    numpy.ndarray
    """
    null = np.asarray(null, dtype=float)
    observed = np.asarray(observed, dtype=float)
    ge = np.sum(null >= observed[None] - TIE_TOLERANCE, axis=0)
    p = ge / null.shape[0] if exact else (1.0 + ge) / (1.0 + null.shape[0])
    return np.where(np.isnan(observed), np.nan, p)
