"""Alignment patterns over time: the cross-region matrix, the brain's APS and a model's APS at
every time point of time-resolved recordings (MEG/EEG sources or sensor sets, binned spikes).

At time ``t`` the subjects' region RDMs ``X_t[a, r]`` fill the score tensor ``T_t[a, r, b, q] =
M(X_t[a, r], X_t[b, q])``; the alignment pattern, the reference and the APS are then exactly
those of the static analysis (Hoefling et al. 2026, arXiv:2604.21780;
:mod:`crossalign.analysis.aps`), computed from ``T_t``. A model layer stands in for region r
with its pattern ``[M(F_l, X_t[s, q])]_q`` against the same subject's regions at that time: a
static RDM (an image network's layer) or a movie of its own on the same time points (a video
network). The question is asked of every moment: *when* does a region relate to the others as
it does in another subject's brain, and when does a model's layer relate to them in the same
way.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import Any

import numpy as np
import xarray as xr

from crossalign._validation import check_option
from crossalign.analysis.aps import (
    SIMILARITIES,
    brain_aps_kernel,
    model_aps_kernel,
    subject_pair_mean,
)
from crossalign.compute.context import Context, current_context
from crossalign.engine.core import cross, prepare
from crossalign.errors import InputError
from crossalign.metrics import Metric, get_metric

__all__ = ["aps_time_courses"]

#: The row of the brain's own APS among the references of :func:`aps_time_courses`.
BRAIN = "brain"


def aps_time_courses(
    movies: Mapping[tuple[Hashable, Hashable], Any],
    references: Mapping[Hashable, Any] | None = None,
    times: Any = None,
    *,
    metric: str | Metric = "spearman",
    similarity: str = "pearson",
    include_same_region: bool = True,
    ctx: Context | None = None,
) -> xr.Dataset:
    """The brain's and models' alignment pattern scores at every time point, with the
    cross-region matrix over time.

    Parameters
    ----------
    movies : mapping of (subject, region) to array
        RDM movies (time, n (n - 1) / 2) on the same stimuli and time points, as
        :func:`crossalign.rdm_movie` returns; at least 3 subjects and 3 regions (4 without the
        same-region entry). A missing (subject, region) is skipped, as in the static analysis.
    references : mapping of label to array, optional
        Model layers standing in for each region: a static RDM vector (n (n - 1) / 2,), or a
        movie (time, n (n - 1) / 2) on the brain's time points.
    times : array, optional
        The time of each point (seconds); default the indices.
    metric : str or Metric
        The alignment metric M that fills the patterns.
    similarity : {"pearson", "spearman", "cosine", "mse", "mae", "r2"}
        How two patterns are compared.
    include_same_region : bool
        Keep the entry q = r in each pattern.
    ctx : Context, optional
        The execution context (default the current one).

    Returns
    -------
    xarray.Dataset
        ``aps`` (reference, subject, region, time): the brain's APS under the reference
        ``"brain"`` (subject = the held-out subject), then each reference's APS (subject = the
        subject its pattern is taken in); it is what :func:`crossalign.plot_time_courses` and
        :func:`crossalign.cluster_test` take. ``cross_region`` (time, region, target_region):
        the mean over ordered pairs of different subjects of ``T_t``, and ``pairs`` the number
        of pairs behind each entry. ``attrs`` record the choices.

    Raises
    ------
    InputError
        Too few subjects or regions, movies of different lengths or widths, a reference of
        another width or length.
    """
    check_option(similarity, "similarity", SIMILARITIES, "aps_time_courses")
    m = get_metric(metric)
    brain = _BrainMovies.of(movies, min_regions=3 if include_same_region else 4)
    t = np.arange(brain.n_time) if times is None else np.asarray(times)
    if t.shape != (brain.n_time,):
        raise InputError(f"The 'times' argument must have {brain.n_time} values. Got {t.shape}.")
    labels = list(references or {})
    refs = [_reference(references[k], str(k), brain) for k in labels] if references else []
    ctx = current_context() if ctx is None else ctx
    n_sub, n_reg = len(brain.subjects), len(brain.regions)
    aps = np.full((1 + len(labels), n_sub, n_reg, brain.n_time), np.nan)
    crm = np.empty((brain.n_time, n_reg, n_reg))
    pairs = np.empty((n_reg, n_reg), dtype=int)
    same, sim = include_same_region, similarity
    static = all(len(r) == 1 for r in refs)  # static references are prepared once
    fixed = prepare(m, np.concatenate(refs), labels, context=ctx) if refs and static else None
    for i in range(brain.n_time):
        frame = prepare(m, brain.stack[i], context=ctx)  # once per time point, used twice
        tensor = brain.tensor(cross(frame))
        aps[0, :, :, i] = brain_aps_kernel(tensor, include_same_region=same, similarity=sim).T
        if refs:
            now = np.stack([r[min(i, len(r) - 1)] for r in refs])  # a static one at every i
            at_i = fixed if fixed is not None else prepare(m, now, labels, context=ctx)
            u = brain.against(cross(at_i, frame))
            model = model_aps_kernel(u, tensor, include_same_region=same, similarity=sim)
            aps[1:, :, :, i] = model.transpose(0, 2, 1)
        crm[i], pairs = subject_pair_mean(tensor)
    attrs = {
        "metric": m.label,
        "similarity": similarity,
        "include_same_region": include_same_region,
    }
    return xr.Dataset(
        {
            "aps": (("reference", "subject", "region", "time"), aps),
            "cross_region": (("time", "region", "target_region"), crm),
            "pairs": (("region", "target_region"), pairs),
        },
        coords={
            "reference": [BRAIN, *labels],
            "subject": brain.subjects,
            "region": brain.regions,
            "target_region": brain.regions,
            "time": t,
        },
        attrs=attrs,
    )


class _BrainMovies:
    """The subjects' region movies as one (time, entry, pair) stack, with where each
    (subject, region) entry sits."""

    def __init__(self, stack: np.ndarray, keys: list[tuple[Any, Any]]) -> None:
        self.stack = stack
        self.subjects = list(dict.fromkeys(k[0] for k in keys))
        self.regions = list(dict.fromkeys(k[1] for k in keys))
        self.rows = np.array([self.subjects.index(s) for s, _ in keys])
        self.cols = np.array([self.regions.index(r) for _, r in keys])
        self.n_time, self.width = stack.shape[0], stack.shape[2]

    @classmethod
    def of(cls, movies: Mapping[tuple[Any, Any], Any], min_regions: int) -> _BrainMovies:
        keys = list(movies)
        if not keys or any(not (isinstance(k, tuple) and len(k) == 2) for k in keys):
            raise InputError(
                "The 'movies' argument must map (subject, region) to RDM movies (time, pairs)."
            )
        arrays = [_movie(movies[k], f"{k[0]}/{k[1]}") for k in keys]
        shapes = {a.shape for a in arrays}
        if len(shapes) != 1:
            raise InputError(
                "Every movie must have the same time points and stimuli. Got shapes "
                f"{sorted(shapes)}."
            )
        out = cls(np.stack(arrays, axis=1), keys)
        if len(out.subjects) < 3 or len(out.regions) < min_regions:
            raise InputError(
                f"Alignment patterns over time need at least 3 subjects and {min_regions} "
                f"regions. Got {len(out.subjects)} subjects and {len(out.regions)} regions."
            )
        once = [r for j, r in enumerate(out.regions) if (out.cols == j).sum() < 2]
        if once:
            raise InputError(
                f"Every region needs a movie in at least 2 subjects; {once} have one. Drop "
                "them or add their movies."
            )
        return out

    def tensor(self, scores: np.ndarray) -> np.ndarray:
        """The entries' scores against each other (K, K) as ``T_t`` (S, R, S, R), NaN where
        a (subject, region) has no movie."""
        n_sub, n_reg = len(self.subjects), len(self.regions)
        out = np.full((n_sub, n_reg, n_sub, n_reg), np.nan)
        out[self.rows[:, None], self.cols[:, None], self.rows[None, :], self.cols[None, :]] = scores
        return out

    def against(self, scores: np.ndarray) -> np.ndarray:
        """References' scores against the entries (L, K) as (L, S, R), NaN where a
        (subject, region) has no movie."""
        out = np.full((len(scores), len(self.subjects), len(self.regions)), np.nan)
        out[:, self.rows, self.cols] = scores
        return out


def _reference(value: Any, name: str, brain: _BrainMovies) -> np.ndarray:
    """A reference as a (1, pairs) static RDM or a (time, pairs) movie on the brain's times."""
    arr = _movie(value, name)
    if arr.shape[1] != brain.width or len(arr) not in (1, brain.n_time):
        raise InputError(
            f"The reference {name!r} must be an RDM vector ({brain.width},) or a movie "
            f"({brain.n_time}, {brain.width}) on the brain's time points. Got shape {arr.shape}."
        )
    return arr


def _movie(value: Any, name: str) -> np.ndarray:
    arr = np.asarray(value, dtype=np.float64)
    arr = arr[None] if arr.ndim == 1 else arr
    if arr.ndim != 2 or arr.shape[1] < 3:
        raise InputError(
            f"The {name!r} entry must be an RDM movie (time, pairs) with at least 3 pairs. "
            f"Got shape {arr.shape}."
        )
    return arr
