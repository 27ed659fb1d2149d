"""Multiple comparisons across regions and models: Benjamini-Hochberg FDR and max-statistic FWER."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.stats import false_discovery_control

from crossalign.stats.permutation import permutation_p_value

__all__ = [
    "fdr_bh",
    "fwer_maxstat",
]


def fdr_bh(p_values: Any) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (q-values), same shape as the input
    (:func:`scipy.stats.false_discovery_control`).

    Parameters
    ----------
    p_values : array_like
        p-values in [0, 1].

    Returns
    -------
    numpy.ndarray
        The adjusted p-values.
    """
    p = np.asarray(p_values, dtype=float)
    return false_discovery_control(p.ravel(), method="bh").reshape(p.shape)


def fwer_maxstat(observed: np.ndarray, null: np.ndarray, *, exact: bool = False) -> np.ndarray:
    """Max-statistic FWER-adjusted p-values (Nichols & Holmes 2002): for each test k, the
    p-value of ``observed[k]`` against the null of the maximum over tests
    (:func:`permutation_p_value`'s rule). ``null`` (n_permutations, K) must come from the
    same permutations for every test.

    Parameters
    ----------
    observed : numpy.ndarray
        (K,) observed statistics.
    null : numpy.ndarray
        (n_permutations, K) statistics under the same permutations.
    exact : bool
        Whether ``null`` enumerates every permutation (no +1 correction).

    Returns
    -------
    numpy.ndarray
        (K,) adjusted p-values.
    """
    null = np.asarray(null, dtype=float)
    max_null = np.nanmax(null.reshape(null.shape[0], -1), axis=1)
    obs = np.asarray(observed, dtype=float)
    return permutation_p_value(obs.ravel(), max_null[:, None], exact=exact).reshape(obs.shape)
