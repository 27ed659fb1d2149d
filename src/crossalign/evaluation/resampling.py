"""Resampling an evaluation: bootstraps over subjects and stimuli, permutation nulls and
paired comparisons between two evaluations."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import xarray as xr
from scipy import stats

from crossalign._validation import check_option
from crossalign.analysis.aps import (
    model_aps_kernel,
)
from crossalign.compute.rdm import square_from_vector
from crossalign.data.labels import coord
from crossalign.engine.core import cross, on_grid, prepare, representation_inputs
from crossalign.errors import InputError
from crossalign.evaluation.protocols import BOOTSTRAPS
from crossalign.evaluation.state import STATISTICS, EvaluationState
from crossalign.metrics import get_metric
from crossalign.stats.multiple import fdr_bh, fwer_maxstat
from crossalign.stats.permutation import permutation_null, permutation_p_value, sign_flips
from crossalign.stats.resampling import (
    check_n_bootstrap,
    fixed_subject_bootstrap,
    interval_diagnostics,
    percentile_ci,
    resample_rdm_vectors,
    two_factor_variance,
)

__all__: list[str] = []


class _Resampler:
    """Bootstrap resamples that recompute: over subjects (re-indexing the tensors, the
    reference patterns recomputed from the resampled subjects), stimuli, or both."""

    def __init__(self, evaluation: EvaluationState, seed: int | None) -> None:
        self.ev = evaluation
        self.metric = evaluation.metric or get_metric(evaluation.spec.metric)
        self.n_sub, self.n_reg = len(evaluation.subjects), len(evaluation.regions)
        self.rng = np.random.default_rng(seed)
        self.n_stim = len(evaluation.test)
        self.vectors = None
        if evaluation.data is not None and self.metric.input_kind == "rdm":
            md_x, brain_x = evaluation.data
            rdm = evaluation.spec.rdm
            self.vectors = (
                representation_inputs(brain_x, self.metric, rdm),
                representation_inputs(md_x, self.metric, rdm),
            )

    def tensors(self, stim_idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """T and U on a stimulus resample."""
        if self.vectors is None or self.ev.data is None:
            raise InputError(
                f"bootstrap='stimuli' or 'both' resamples RDM entries; the metric "
                f"{self.metric.name!r} compares raw responses (stimuli drawn twice would leak "
                "across cross-validation folds), or the evaluation was loaded without its "
                "data. Use bootstrap='fixed' or 'recompute'."
            )
        md_x, brain_x = self.ev.data
        bv, mv = (resample_rdm_vectors(v, stim_idx) for v in self.vectors)
        prep_b = prepare(self.metric, bv)
        t = on_grid(cross(prep_b), brain_x, brain_x)
        u = on_grid(cross(prepare(self.metric, mv), prep_b), md_x, brain_x)
        return (
            t.reshape(self.n_sub, self.n_reg, self.n_sub, self.n_reg),
            u.reshape(len(self.ev.layer_names), self.n_sub, self.n_reg),
        )

    def _subject_means(
        self, t: np.ndarray, u: np.ndarray, sub_idx: np.ndarray | None
    ) -> np.ndarray:
        valid = None
        if sub_idx is not None:
            r = np.arange(self.n_reg)
            t = t[np.ix_(sub_idx, r, sub_idx, r)]
            u = u[:, sub_idx]
            valid = sub_idx[:, None] != sub_idx[None, :]
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN: < 3 distinct subjects
            return np.nanmean(self.ev.values(t, u, valid), axis=2)

    def sample(self, stim_idx: np.ndarray | None, sub_idx: np.ndarray | None) -> np.ndarray:
        if stim_idx is None:
            t, u = self.ev.t, self.ev.u
        else:
            try:
                t, u = self.tensors(stim_idx)
            except InputError:
                raise
            except ValueError:  # a resample that leaves an RDM constant: undefined score
                return np.full((3, self.n_reg), np.nan)
        return self._subject_means(t, u, sub_idx)

    def draw(self, kind: str) -> tuple[np.ndarray | None, np.ndarray | None]:
        stim = self.rng.integers(0, self.n_stim, self.n_stim) if kind != "subjects" else None
        sub = self.rng.integers(0, self.n_sub, self.n_sub) if kind != "stimuli" else None
        return stim, sub

    def run(self, kind: str, n: int) -> np.ndarray:
        """(n, 3, R) bootstrap samples of the subject means of score, APS and brain APS."""
        if kind == "stimuli":
            self.tensors(np.arange(self.n_stim))  # refuses early what cannot be resampled
        return np.stack([self.sample(*self.draw(kind)) for _ in range(n)])

    def two_factor(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Joint-bootstrap samples and the corrected variance (3, R) (Schütt et al. 2023)."""
        self.tensors(np.arange(self.n_stim))
        both, subj, stim = (np.empty((n, 3, self.n_reg)) for _ in range(3))
        for b in range(n):
            stim_idx, sub_idx = self.draw("both")
            both[b] = self.sample(stim_idx, sub_idx)
            subj[b] = self.sample(None, sub_idx)
            stim[b] = self.sample(stim_idx, None)
        var = [np.nanvar(x, axis=0, ddof=1) for x in (both, subj, stim)]
        corrected = two_factor_variance(
            var[0], var[1], var[2], n_subjects=self.n_sub, n_stimuli=self.n_stim
        )
        return both, corrected


def bootstrap(
    ev: EvaluationState, n_bootstrap: int, kind: str | None = None, level: float = 0.95
) -> xr.Dataset:
    """What :meth:`~crossalign.evaluation.core.Evaluation.bootstrap` does (documented there)."""
    kind = check_option(kind or ev.spec.bootstrap, "bootstrap", BOOTSTRAPS, "bootstrap")
    if not isinstance(n_bootstrap, int | np.integer) or n_bootstrap < 1:
        raise InputError(
            f"The 'n_bootstrap' argument must be a positive integer. Got {n_bootstrap!r}."
        )
    check_n_bootstrap(n_bootstrap, ev.model)
    if ev.outcome != "score" and kind in ("stimuli", "both"):
        raise InputError(
            f"bootstrap={kind!r} rescores resampled stimuli, whose ceilings differ from the "
            f"test split's; the outcome {ev.outcome!r} is normalised by the test split's "
            "per-subject ceilings. Use bootstrap='fixed' or 'recompute'."
        )
    variance = None
    if kind == "fixed":
        samples = fixed_subject_bootstrap(ev.values(), n_bootstrap, ev.spec.seed)
    else:
        resampler = _Resampler(ev, ev.spec.seed)
        if kind == "both":
            samples, variance = resampler.two_factor(n_bootstrap)
        else:
            samples = resampler.run("subjects" if kind == "recompute" else kind, n_bootstrap)
    low, high = percentile_ci(samples, level)
    if variance is not None:
        crit = stats.t.ppf(0.5 + level / 2, df=min(len(ev.subjects), len(ev.test)) - 1)
        mean = np.nanmean(ev.values(), axis=2)
        low, high = mean - crit * np.sqrt(variance), mean + crit * np.sqrt(variance)
    kept, degenerate = np.empty_like(low), np.zeros(low.shape, dtype=bool)
    for i, stat in enumerate(STATISTICS):
        kept[i], degenerate[i] = interval_diagnostics(
            samples[:, i],
            low[i],
            high[i],
            what=f"{ev.model}: {stat.replace('_', ' ')}",
            labels=ev.regions,
            warn=stat != "brain_aps" and (i == 0 or ev.aps_defined),
        )
    dims = ("statistic", "region")
    out = xr.Dataset(
        {
            "samples": (("bootstrap", *dims), samples),
            "low": (dims, low),
            "high": (dims, high),
            "kept": (dims, kept),
            "degenerate": (dims, degenerate),
        },
        coords={"statistic": list(STATISTICS), "region": coord(ev.regions)},
        attrs={"bootstrap": kind, "n_bootstrap": n_bootstrap, "level": level},
    )
    if variance is not None:
        out["variance"] = (dims, variance)
    return out


def permutation_test(
    ev: EvaluationState, null: str = "regions", n_permutations: int = 1000, seed: int | None = 0
) -> xr.Dataset:
    """What :meth:`~crossalign.evaluation.core.Evaluation.permutation_test` does (documented
    there)."""
    check_option(null, "null", ["regions", "stimuli"], "permutation_test")
    li, ri = ev._layer_index(), np.arange(len(ev.regions))
    kw: dict[str, Any] = {
        "include_same_region": ev.spec.include_same_region,
        "similarity": ev.spec.similarity,
    }

    def stats_of(ub: np.ndarray) -> np.ndarray:  # (2, R): mean score, mean APS
        aps_all = model_aps_kernel(ub, ev.t, **kw)
        return np.stack([np.nanmean(ub[li, :, ri], axis=1), np.nanmean(aps_all[li, ri], axis=1)])

    if null == "regions":
        perms, exact = permutation_null(len(ev.regions), n_permutations, seed)
        samples = np.stack([stats_of(ev.u[:, :, p]) for p in perms])
    else:
        samples, exact = _stimulus_null(ev, stats_of, n_permutations, seed), False
    observed = stats_of(ev.u)
    p_values = permutation_p_value(observed, samples, exact=exact)
    fwer = np.stack([fwer_maxstat(observed[i], samples[:, i], exact=exact) for i in range(2)])
    if null == "regions":  # relabelling targets leaves the pointwise score unchanged
        p_values[0] = fwer[0] = np.nan
    dims = ("statistic", "region")
    fdr = np.stack([np.full_like(p, np.nan) if np.isnan(p).all() else fdr_bh(p) for p in p_values])
    return xr.Dataset(
        {
            "observed": (dims, observed),
            "p_value": (dims, p_values),
            "p_fdr": (dims, fdr),
            "p_fwer": (dims, fwer),
            "null": (("permutation", *dims), samples),
        },
        coords={"region": coord(ev.regions), "statistic": ["score", "aps"]},
        attrs={
            "model": ev.model,
            "null": null,
            "n_permutations": len(samples),
            "exact": exact,
            "metric": ev.spec.metric,
            "similarity": ev.spec.similarity,
        },
    )


def compare(
    ev: EvaluationState,
    other: EvaluationState,
    *,
    n_bootstrap: int = 1000,
    n_permutations: int = 10000,
    level: float = 0.95,
) -> xr.Dataset:
    """What :meth:`~crossalign.evaluation.core.Evaluation.compare` does (documented there)."""
    if (ev.subjects, ev.regions, ev.test) != (other.subjects, other.regions, other.test):
        raise InputError(
            f"A paired comparison needs the same subjects, regions and test stimuli. "
            f"{ev.model!r} and {other.model!r} differ in them."
        )
    d = ev.values()[:2] - other.values()[:2]  # (2, R, S) per-subject differences
    with warnings.catch_warnings():  # an undefined APS (too few regions) stays NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        # the last column: each subject's mean difference over regions
        d = np.concatenate([d, np.nanmean(d, axis=1, keepdims=True)], axis=1)
        observed = np.nanmean(d, axis=2)
    low, high = percentile_ci(fixed_subject_bootstrap(d, n_bootstrap, ev.spec.seed), level)
    flips, exact = sign_flips(len(ev.subjects), n_permutations, ev.spec.seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        null = np.abs(np.nanmean(d[None] * flips[:, None, None, :], axis=3))  # (P, 2, R + 1)
    with np.errstate(invalid="ignore"):
        p = permutation_p_value(np.abs(observed), null, exact=exact)
    dims = ("statistic", "region")
    parts = {"difference": observed, "low": low, "high": high, "p_value": p}
    return xr.Dataset(
        {
            **{name: (dims, value[:, :-1]) for name, value in parts.items()},
            **{f"mean_{name}": ("statistic", value[:, -1]) for name, value in parts.items()},
        },
        coords={"statistic": ["score", "aps"], "region": coord(ev.regions)},
        attrs={
            "model": ev.model,
            "other_model": other.model,
            "n_bootstrap": n_bootstrap,
            "n_permutations": len(flips),
            "exact": exact,
        },
    )


def _stimulus_null(
    ev: EvaluationState, stats_of: Any, n_permutations: int, seed: int | None
) -> np.ndarray:
    """Shuffle the stimulus labels of the model's RDMs and rescore."""
    m = ev.metric or get_metric(ev.spec.metric)
    if m.input_kind != "rdm" or ev.data is None:
        raise InputError(
            "The stimulus-shuffle null rescores RDMs: it needs an RDM metric and the data "
            "(an evaluation built by Evaluation.fit, not loaded from disk)."
        )
    md_x, brain_x = ev.data
    prep_b = prepare(m, representation_inputs(brain_x, m, ev.spec.rdm))
    square = square_from_vector(representation_inputs(md_x, m, ev.spec.rdm))
    n = square.shape[-1]
    iu, ju = np.triu_indices(n, k=1)
    perms, _ = permutation_null(n, n_permutations, seed, exact=False)
    samples = np.empty((n_permutations, 2, len(ev.regions)))
    for k, p in enumerate(perms):
        ub = cross(prepare(m, square[:, p[iu], p[ju]]), prep_b).reshape(ev.u.shape)
        samples[k] = stats_of(ev.to_outcome(ub))
    return samples
