"""Random projections that reduce wide layers as they are extracted.

Three settings, each a seeded sparse matrix applied batch by batch (a wide layer is never held
whole):

* a dimension ``k``: every layer wider than ``k`` goes to ``k`` dimensions with a very sparse
  random projection (Li, Hastie & Church 2006, KDD);
* ``"auto"``: the same, with ``k`` the Johnson-Lindenstrauss dimension of all the stimuli at
  eps = 0.1 (:func:`jl_dimension`);
* ``"hoefling2026"``: the recipe of Hoefling et al. 2026 ("Only Brains Align with Brains",
  arXiv:2604.21780): scikit-learn's ``SparseRandomProjection(k, random_state=1234)`` fitted on
  the training stimuli, ``k = min(johnson_lindenstrauss_min_dim(n_train, eps=0.1), width)``, for
  every layer (also those narrower than the bound, which it projects to their own width), of
  feature maps flattened channels last, (H, W, C) per frame, as the paper stores them: a
  random projection is reproduced exactly only with the unit order it was drawn for (an image
  model's frames are averaged before, which the order does not change; tokens keep their
  (token, channel) order).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import sparse

from crossalign._registry import Registry
from crossalign.errors import InputError

__all__ = [
    "PROJECTIONS",
    "ProjectionRule",
    "ProjectionSetting",
    "jl_dimension",
    "paper_dimension",
    "paper_projection",
    "sparse_projection",
]


def jl_dimension(n_samples: int, eps: float = 0.1) -> int:
    """The Johnson-Lindenstrauss dimension: the smallest ``k`` with
    ``k >= 4 ln(n) / (eps^2 / 2 - eps^3 / 3)``, enough for a random projection to keep all
    pairwise distances of ``n`` points within a factor ``1 +- eps`` with high probability
    (Dasgupta & Gupta 2003).

    Parameters
    ----------
    n_samples : int
    eps : float
        The allowed relative distortion.

    Returns
    -------
    int
    """
    if not 0 < eps < 1 or n_samples < 1:
        raise InputError(
            f"jl_dimension needs 0 < eps < 1 and n_samples >= 1. Got eps={eps!r}, "
            f"n_samples={n_samples!r}."
        )
    return int(np.ceil(4 * np.log(n_samples) / (eps**2 / 2 - eps**3 / 3)))


def sparse_projection(n_features: int, dim: int, seed: int = 0) -> Any:
    """A very sparse random projection matrix (n_features, dim) as scipy CSR: entries
    ``+-sqrt(s / dim)`` with probability ``1 / (2 s)`` each, else 0, ``s = sqrt(n_features)``
    (Li, Hastie & Church 2006); distances are preserved in expectation.

    Parameters
    ----------
    n_features : int
    dim : int
    seed : int

    Returns
    -------
    scipy.sparse.csr_matrix
    """
    rng = np.random.default_rng(seed)
    s = np.sqrt(n_features)
    density = 1.0 / s
    nnz_per_col = rng.binomial(n_features, density, size=dim)
    rows = np.concatenate([rng.choice(n_features, k, replace=False) for k in nnz_per_col])
    cols = np.repeat(np.arange(dim), nnz_per_col)
    signs = rng.choice([-1.0, 1.0], size=rows.size) * np.sqrt(s / dim)
    return sparse.csr_matrix((signs, (rows, cols)), shape=(n_features, dim))


def _sklearn() -> Any:
    try:
        from sklearn import random_projection
    except ImportError as exc:  # pragma: no cover - scikit-learn ships with the torch extra
        raise ImportError(
            "projection='hoefling2026' uses scikit-learn's SparseRandomProjection, as the paper "
            "does: pip install 'crossalign[torch]' (or scikit-learn)."
        ) from exc
    return random_projection


def paper_dimension(width: int, n_rows: int, eps: float = 0.1) -> int:
    """Components of the Hoefling et al. 2026 projection of a layer of ``width`` units fitted
    on ``n_rows`` stimuli: ``min(johnson_lindenstrauss_min_dim(n_rows, eps), width)``
    (scikit-learn's bound, which rounds down).

    Parameters
    ----------
    width, n_rows : int
    eps : float

    Returns
    -------
    int
    """
    return min(int(_sklearn().johnson_lindenstrauss_min_dim(n_rows, eps=eps)), width)


def paper_projection(width: int, n_rows: int, seed: int = 1234, eps: float = 0.1) -> Any:
    """The projection of Hoefling et al. 2026 for a layer of ``width`` units, fitted on
    ``n_rows`` training stimuli: scikit-learn's ``SparseRandomProjection`` with
    ``random_state=seed`` and :func:`paper_dimension` components, as a (width, components)
    CSR matrix (``X @ matrix`` equals the fitted projection's ``transform(X)``). Fitting reads
    only the shape of the training rows, so none are needed here.

    Parameters
    ----------
    width : int
        Units of the layer.
    n_rows : int
        Training stimuli.
    seed : int
    eps : float

    Returns
    -------
    scipy.sparse.csr_matrix
    """
    srp = _sklearn().SparseRandomProjection(paper_dimension(width, n_rows, eps), random_state=seed)
    srp.fit(sparse.csr_matrix((n_rows, width)))  # only the shape is read
    return sparse.csr_matrix(srp.components_.T)


@dataclass(frozen=True)
class ProjectionRule:
    """A named projection: the dimension it gives a layer and its matrix.

    Parameters
    ----------
    name, description : str
    seed : int
        The seed when none is given.
    dimension : callable
        ``(width, n_rows) -> k``, or None where the layer is kept as it is.
    matrix : callable
        ``(width, n_rows, seed) -> CSR matrix (width, k)``.
    fitted : bool
        Whether ``n_rows`` counts the stimuli the projection is fitted on (the training
        stimuli), rather than all the stimuli.
    units_last : bool
        Whether the matrix's rows are a feature map's units with the channels varying
        fastest, (T, H, W, C), rather than in the layer's own (C, T, H, W) order. A random
        projection is only reproduced exactly with the unit order it was drawn for.
    """

    name: str
    description: str
    seed: int
    dimension: Callable[[int, int], int | None]
    matrix: Callable[[int, int, int], Any]
    fitted: bool = False
    units_last: bool = False


def _auto_dimension(width: int, n_rows: int) -> int | None:
    k = jl_dimension(n_rows)
    return k if width > k else None


PROJECTIONS: Registry[ProjectionRule] = Registry("projection")
PROJECTIONS.register(
    "auto",
    ProjectionRule(
        "auto",
        "very sparse random projection (Li et al. 2006) of layers wider than the "
        "Johnson-Lindenstrauss dimension of the stimuli (eps 0.1)",
        0,
        _auto_dimension,
        lambda width, n_rows, seed: sparse_projection(width, jl_dimension(n_rows), seed),
    ),
)
PROJECTIONS.register(
    "hoefling2026",
    ProjectionRule(
        "hoefling2026",
        "scikit-learn SparseRandomProjection(random_state=1234) fitted on the training "
        "stimuli, min(Johnson-Lindenstrauss dimension at eps 0.1, width) components, every "
        "layer, feature maps flattened channels last (Hoefling et al. 2026)",
        1234,
        paper_dimension,
        paper_projection,
        fitted=True,
        units_last=True,
    ),
)


@dataclass(frozen=True)
class ProjectionSetting:
    """The projection of one extraction: a fixed dimension or a named rule, its seed and the
    number of stimuli a fitted rule takes its dimension from.

    Parameters
    ----------
    value : int, str or None
        A dimension, a rule in :data:`PROJECTIONS`, or None (no projection).
    seed : int
    n_rows : int
        The stimuli the projection is fitted on.
    """

    value: int | str | None
    seed: int
    n_rows: int

    @classmethod
    def make(
        cls, value: Any, seed: int | None, n_stimuli: int, n_fit: int | None = None
    ) -> ProjectionSetting:
        """A checked setting; ``seed`` None takes the rule's own (0 for a dimension).

        Parameters
        ----------
        value : int, str or None
        seed : int or None
        n_stimuli : int
            All the stimuli extracted.
        n_fit : int, optional
            The stimuli a fitted rule is fitted on (default: all).

        Returns
        -------
        ProjectionSetting
        """
        if isinstance(value, str):
            rule = PROJECTIONS.get(value)  # raises naming the closest rule
            n_rows = n_stimuli if n_fit is None or not rule.fitted else n_fit
            return cls(value, rule.seed if seed is None else int(seed), n_rows)
        ok = value is None or (
            isinstance(value, int | np.integer) and not isinstance(value, bool) and value >= 1
        )
        if not ok:
            raise InputError(
                "The 'projection' argument must be a positive dimension, one of "
                f"{PROJECTIONS.names()} or None. Got {value!r} instead."
            )
        return cls(
            None if value is None else int(value), 0 if seed is None else int(seed), n_stimuli
        )

    @property
    def units_last(self) -> bool:
        """Whether feature maps are flattened channels last for this projection
        (:attr:`ProjectionRule.units_last`)."""
        return isinstance(self.value, str) and PROJECTIONS.get(self.value).units_last

    def matrix(self, width: int) -> Any:
        """The (width, k) matrix for a layer of ``width`` units, or None to keep it.

        Parameters
        ----------
        width : int

        Returns
        -------
        scipy.sparse.csr_matrix or None
        """
        if self.value is None:
            return None
        if isinstance(self.value, str):
            rule = PROJECTIONS.get(self.value)
            if rule.dimension(width, self.n_rows) is None:
                return None
            return rule.matrix(width, self.n_rows, self.seed)
        return sparse_projection(width, self.value, self.seed) if width > self.value else None

    def key(self) -> list[Any] | None:
        """The setting as plain data (part of the activation cache's key).

        Returns
        -------
        list or None
        """
        if self.value is None:
            return None
        if isinstance(self.value, str):
            order = ["units-last"] if self.units_last else []
            return [self.value, self.seed, self.n_rows, *order]
        return [self.value, self.seed]

    def width(self, width: int) -> int:
        """Units a layer of ``width`` units keeps.

        Parameters
        ----------
        width : int

        Returns
        -------
        int
        """
        if self.value is None:
            return width
        if isinstance(self.value, str):
            k = PROJECTIONS.get(self.value).dimension(width, self.n_rows)
            return width if k is None else k
        return min(width, self.value)
