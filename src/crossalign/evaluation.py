"""The evaluation of one model against a brain dataset, built once and then queried.

:meth:`Evaluation.fit` makes every decision of the paper's test once (Hoefling et al. 2026,
arXiv:2604.21780): the protocol's options, the train/test split, the layer chosen for each
region on training stimuli, and the two score tensors on test stimuli, the brain's
``T[a, r, b, q]`` and the model's ``U[l, s, q]``. Everything else is computed from those:
per-subject scores and APS, bootstraps of either kind, permutation nulls, cross-region
matrices, and :meth:`Evaluation.to_dataset` (what :func:`evaluate_model` returns).
:meth:`Evaluation.save` and :meth:`Evaluation.load` keep it on disk, so a study resumes without
recomputing.
"""

from __future__ import annotations

import warnings
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from ._validation import check_option
from .aps import (
    _check_brain,
    _prepare_model,
    brain_aps_kernel,
    model_aps_kernel,
    subject_pair_mean,
)
from .data import BrainData, ModelData
from .engine import cross, on_grid, prepare, score_tensor
from .errors import InputError
from .labels import coord, dumps, from_json
from .layers import assign_layers, layer_scores, split_stimuli
from .metrics import Metric, get_metric
from .protocols import Protocol, get_protocol
from .stats import permutation_p_value

__all__ = [
    "BOOTSTRAPS",
    "Evaluation",
    "aps_permutation_test",
    "evaluate_model",
    "model_aps",
]

#: Bootstrap estimators: ``fixed`` resamples subjects over fixed per-subject values (the
#: paper's); ``recompute`` (alias ``subjects``) resamples subjects and recomputes the
#: reference patterns from the resampled subjects; ``stimuli`` and ``both`` resample stimuli
#: (and subjects) and rescore (RDM metrics only).
BOOTSTRAPS = ("fixed", "recompute", "subjects", "stimuli", "both")
STATISTICS = ("score", "aps", "brain_aps")


@dataclass
class Evaluation:
    """One model against one brain dataset: the split, the selected layers and the test
    score tensors, with the statistics computed from them. Build with :meth:`fit`.

    Parameters
    ----------
    model : str
        The model's name.
    regions, subjects, layer_names : list
        Labels of the tensors' axes.
    layers : dict
        ``{region: layer}``, the selected (or given) assignment.
    train, test : list
        Stimulus ids of the split (``train`` empty for a given assignment).
    t : numpy.ndarray
        (subject, region, subject, region) brain scores on the test stimuli (NaN for
        missing cells).
    u : numpy.ndarray
        (layer, subject, region) model-to-brain scores on the test stimuli.
    options : dict
        Every choice (the protocol's, and those given).
    metric : Metric, optional
        The metric of the test tensors, with its options.
    layer_profile : xarray.DataArray, optional
        (layer, region) training scores behind the selection.
    model_matrix : numpy.ndarray, optional
        The model's own (region, region) matrix.
    ceiling : xarray.DataArray, optional
        The noise ceiling on the test stimuli.
    data : tuple, optional
        The (model, brain) data on the test stimuli, for resampling stimuli.
    """

    model: str
    regions: list[Hashable]
    subjects: list[Hashable]
    layer_names: list[Hashable]
    layers: dict[Hashable, Hashable]
    train: list[Hashable]
    test: list[Hashable]
    t: np.ndarray  # (S, R, S, R) brain tensor on test stimuli
    u: np.ndarray  # (L, S, R) model-vs-brain tensor on test stimuli
    options: dict[str, Any]
    metric: Metric | None = None  # the metric of the test tensors (with its options)
    layer_profile: xr.DataArray | None = None
    model_matrix: np.ndarray | None = None
    ceiling: xr.DataArray | None = None
    data: tuple[ModelData, BrainData] | None = field(default=None, repr=False)

    # ------------------------------------------------------------------ building
    @classmethod
    def fit(
        cls,
        model_data: ModelData,
        brain_data: BrainData,
        layers_by_region: Mapping[Hashable, Hashable] | None = None,
        *,
        protocol: str | Protocol = "crossalign",
        model: Hashable | None = None,
        train_stimuli: Sequence[Hashable] | None = None,
        test_stimuli: Sequence[Hashable] | None = None,
        test_fraction: float = 0.5,
        labels: Sequence[Hashable] | None = None,
        seed: int | None = 0,
        region_order: Sequence[Hashable] | None = None,
        **choices: Any,
    ) -> Evaluation:
        """Split, select layers on training stimuli and score on test stimuli.

        The parameters are those of :func:`evaluate_model` without the statistics' options.

        Parameters
        ----------
        model_data : ModelData
        brain_data : BrainData
        layers_by_region : mapping, optional
            ``{region: layer}``; default: selected on the training stimuli.
        protocol : str or Protocol
            The evaluation protocol (``"crossalign"``, ``"hoefling2026"``).
        model : Hashable, optional
            Which model of ``model_data`` (when it holds several).
        train_stimuli, test_stimuli : sequence, optional
            A fixed split (both or neither; default: the dataset's own, else seeded).
        test_fraction : float
        labels : sequence, optional
            Stratify the seeded split by these stimulus labels.
        seed : int or None
        region_order : sequence, optional
            The regions' order in results.
        **choices
            Override the protocol's choices: ``metric``, ``rdm``, ``similarity``,
            ``include_same_region``, ``assignment``, ``bootstrap``, ``predictivity_test``,
            ``predictivity_seed``, ``fold_weights``, ``ceiling``, ``ncsnr_threshold`` (entries
            with repeats keep the units whose NCSNR reaches it).

        Returns
        -------
        Evaluation
        """
        options = _options(get_protocol(protocol), choices, seed)
        brain = _check_brain(brain_data, min_subjects=2, min_regions=1)
        if options["ncsnr_threshold"] is not None:  # units reliable across repeats only
            from .reliability import reliable_units

            brain = reliable_units(brain, options["ncsnr_threshold"])
        name, md = _prepare_model(model_data, brain, model)
        if layers_by_region is None:
            train, test = _split(
                md, brain, train_stimuli, test_stimuli, test_fraction, labels, seed
            )
            profile = layer_scores(
                md, brain, metric=_metric(options, "train"), rdm=options["rdm"], stimuli=train
            )
            higher = get_metric(options["metric"]).higher_is_better
            layers = assign_layers(
                profile, options["assignment"], higher_is_better=higher, region_order=region_order
            )
        else:
            layers, profile = _given_layers(layers_by_region, brain, md, name), None
            train = []
            test = list(test_stimuli) if test_stimuli is not None else list(md.stimuli)
            options["assignment"] = "given"
        return cls._scored(str(name), md, brain, layers, profile, train, test, options)

    @classmethod
    def _scored(
        cls,
        name: str,
        md: ModelData,
        brain: BrainData,
        layers: dict[Hashable, Hashable],
        profile: xr.DataArray | None,
        train: list[Hashable],
        test: list[Hashable],
        options: dict[str, Any],
    ) -> Evaluation:
        """The test tensors: on the test stimuli, or for train-fitted predictivity on train
        and test stimuli together, with the metric told which are which."""
        metric = _metric(options, "test", n_train=len(train), n_test=len(test))
        stimuli = [*train, *test] if _train_fitted(options) else test
        brain_x, t, ceiling = _brain_side(brain, stimuli, metric, options)
        md_x = md.subset_stimuli(stimuli)
        rdm = options["rdm"]
        u = score_tensor(md_x, brain_x, metric=metric, rdm=rdm).values[0]
        chosen = list(dict.fromkeys(layers[r] for r in brain.regions))
        own = score_tensor(md_x.select(areas=chosen), metric=metric, rdm=rdm).values[0, :, 0]
        pos = [chosen.index(layers[r]) for r in brain.regions]
        return cls(
            model=name,
            regions=list(brain.regions),
            subjects=list(brain.subjects),
            layer_names=list(md_x.layers()),
            layers=layers,
            train=train,
            test=test,
            t=t,
            u=u,
            options={**options, "metric": metric.name},
            metric=metric,
            layer_profile=profile,
            model_matrix=own[np.ix_(pos, pos)],
            ceiling=ceiling,
            data=(md_x, brain_x),
        )

    # ------------------------------------------------------------------ per-subject values
    @property
    def aps_defined(self) -> bool:
        """APS needs 3 subjects and 3 regions (4 without the same-region entry)."""
        need = 3 if self.options["include_same_region"] else 4
        return len(self.subjects) >= 3 and len(self.regions) >= need

    def _layer_index(self) -> np.ndarray:
        return np.array([self.layer_names.index(self.layers[r]) for r in self.regions])

    def values(
        self, t: np.ndarray | None = None, u: np.ndarray | None = None, valid: Any = None
    ) -> np.ndarray:
        """(3, R, S): pointwise score, model APS and brain APS per region and subject (of the
        given tensors; default the evaluation's own).

        Parameters
        ----------
        t, u : numpy.ndarray, optional
            Brain and model-vs-brain tensors (default: the evaluation's).
        valid : numpy.ndarray of bool, optional
            Which subject pairs count (see :func:`crossalign.aps.brain_aps_kernel`).

        Returns
        -------
        numpy.ndarray
        """
        t = self.t if t is None else t
        u = self.u if u is None else u
        li, ri = self._layer_index(), np.arange(len(self.regions))
        score = u[li, :, ri]
        if not self.aps_defined:
            nan = np.full_like(score, np.nan)
            return np.stack([score, nan, nan])
        kw = {
            "include_same_region": self.options["include_same_region"],
            "similarity": self.options["similarity"],
        }
        model = model_aps_kernel(u, t, valid, **kw)[li, ri]
        return np.stack([score, model, brain_aps_kernel(t, valid, **kw)])

    # ------------------------------------------------------------------ statistics
    def bootstrap(
        self, n_bootstrap: int, kind: str | None = None, level: float = 0.95
    ) -> xr.Dataset:
        """Bootstrap CIs of the subject means of score, APS and brain APS, per region.

        Parameters
        ----------
        n_bootstrap : int
            Resamples.
        kind : str, optional
            One of :data:`BOOTSTRAPS` (default: the protocol's).
        level : float
            Coverage of the percentile interval (a t interval for ``both``).

        Returns
        -------
        xarray.Dataset
            ``samples`` (bootstrap, statistic, region), ``low``/``high``, ``kept`` and
            ``degenerate`` (statistic, region); ``variance`` for ``both``.
        """
        from .stats import (
            check_n_bootstrap,
            fixed_subject_bootstrap,
            interval_diagnostics,
            percentile_ci,
        )

        kind = check_option(kind or self.options["bootstrap"], "bootstrap", BOOTSTRAPS, "bootstrap")
        if not isinstance(n_bootstrap, int | np.integer) or n_bootstrap < 1:
            raise InputError(
                f"The 'n_bootstrap' argument must be a positive integer. Got {n_bootstrap!r}."
            )
        check_n_bootstrap(n_bootstrap, self.model)
        variance = None
        if kind == "fixed":
            samples = fixed_subject_bootstrap(self.values(), n_bootstrap, self.options["seed"])
        else:
            resampler = _Resampler(self, self.options["seed"])
            if kind == "both":
                samples, variance = resampler.two_factor(n_bootstrap)
            else:
                samples = resampler.run("subjects" if kind == "recompute" else kind, n_bootstrap)
        low, high = percentile_ci(samples, level)
        if variance is not None:
            from scipy import stats

            crit = stats.t.ppf(0.5 + level / 2, df=min(len(self.subjects), len(self.test)) - 1)
            mean = np.nanmean(self.values(), axis=2)
            low, high = mean - crit * np.sqrt(variance), mean + crit * np.sqrt(variance)
        kept, degenerate = np.empty_like(low), np.zeros(low.shape, dtype=bool)
        for i, stat in enumerate(STATISTICS):
            kept[i], degenerate[i] = interval_diagnostics(
                samples[:, i],
                low[i],
                high[i],
                what=f"{self.model}: {stat.replace('_', ' ')}",
                labels=self.regions,
                warn=stat != "brain_aps" and (i == 0 or self.aps_defined),
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
            coords={"statistic": list(STATISTICS), "region": coord(self.regions)},
            attrs={"bootstrap": kind, "n_bootstrap": n_bootstrap, "level": level},
        )
        if variance is not None:
            out["variance"] = (dims, variance)
        return out

    def matrices(self, n_permutations: int = 1000) -> dict[str, Any]:
        """The brain's and the model's cross-region matrices on test stimuli and their
        matrix-level comparison (the less strict test), with ``n_permutations``.

        Parameters
        ----------
        n_permutations : int

        Returns
        -------
        dict
        """
        from .patterns import compare_matrices

        brain = subject_pair_mean(self.t)[0]
        comparison = compare_matrices(
            brain, self.model_matrix, n_permutations=n_permutations, seed=self.options["seed"]
        )
        return {"brain": brain, "model": self.model_matrix, "comparison": comparison}

    def permutation_test(
        self, null: str = "regions", n_permutations: int = 1000, seed: int | None = 0
    ) -> xr.Dataset:
        """Permutation nulls for the model's pattern similarity (see
        :func:`aps_permutation_test`).

        Parameters
        ----------
        null : {"regions", "stimuli", "subjects"}
        n_permutations : int
        seed : int or None

        Returns
        -------
        xarray.Dataset
        """
        from .stats import fdr_bh, fwer_maxstat, permutation_null

        check_option(null, "null", ["regions", "stimuli"], "permutation_test")
        li, ri = self._layer_index(), np.arange(len(self.regions))
        kw = {
            "include_same_region": self.options["include_same_region"],
            "similarity": self.options["similarity"],
        }

        def stats_of(ub: np.ndarray) -> np.ndarray:  # (2, R): mean score, mean APS
            aps_all = model_aps_kernel(ub, self.t, **kw)
            return np.stack(
                [np.nanmean(ub[li, :, ri], axis=1), np.nanmean(aps_all[li, ri], axis=1)]
            )

        if null == "regions":
            perms, exact = permutation_null(len(self.regions), n_permutations, seed)
            samples = np.stack([stats_of(self.u[:, :, p]) for p in perms])
        else:
            samples, exact = self._stimulus_null(stats_of, n_permutations, seed), False
        observed = stats_of(self.u)
        p_values = permutation_p_value(observed, samples, exact=exact)
        fwer = np.stack([fwer_maxstat(observed[i], samples[:, i], exact=exact) for i in range(2)])
        if null == "regions":  # relabelling targets leaves the pointwise score unchanged
            p_values[0] = fwer[0] = np.nan
        dims = ("statistic", "region")
        fdr = np.stack(
            [np.full_like(p, np.nan) if np.isnan(p).all() else fdr_bh(p) for p in p_values]
        )
        return xr.Dataset(
            {
                "observed": (dims, observed),
                "p_value": (dims, p_values),
                "p_fdr": (dims, fdr),
                "p_fwer": (dims, fwer),
                "null": (("permutation", *dims), samples),
            },
            coords={"region": coord(self.regions), "statistic": ["score", "aps"]},
            attrs={
                "model": self.model,
                "null": null,
                "n_permutations": len(samples),
                "exact": exact,
                "metric": self.options["metric"],
                "similarity": self.options["similarity"],
            },
        )

    def compare(
        self,
        other: Evaluation,
        *,
        n_bootstrap: int = 1000,
        n_permutations: int = 10000,
        level: float = 0.95,
    ) -> xr.Dataset:
        """A paired comparison of this model with ``other`` on the same subjects.

        Per region, the difference of the subject means of the pointwise score and of APS
        (this model minus ``other``), its bootstrap CI over subjects (the per-subject
        differences resampled, :func:`~crossalign.stats.fixed_subject_bootstrap`), and a
        two-sided paired permutation p-value (each subject's difference flips its sign; exact
        over all 2^S patterns when there are at most ``n_permutations``).

        Parameters
        ----------
        other : Evaluation
            Another model on the same data, split and subjects.
        n_bootstrap : int
        n_permutations : int
        level : float

        Returns
        -------
        xarray.Dataset
            ``difference``, ``low``, ``high``, ``p_value`` (statistic, region).
        """
        from .stats import fixed_subject_bootstrap, percentile_ci, sign_flips

        if (self.subjects, self.regions, self.test) != (other.subjects, other.regions, other.test):
            raise InputError(
                f"A paired comparison needs the same subjects, regions and test stimuli. "
                f"{self.model!r} and {other.model!r} differ in them."
            )
        d = self.values()[:2] - other.values()[:2]  # (2, R, S) per-subject differences
        with warnings.catch_warnings():  # an undefined APS (too few regions) stays NaN
            warnings.simplefilter("ignore", RuntimeWarning)
            observed = np.nanmean(d, axis=2)
        low, high = percentile_ci(
            fixed_subject_bootstrap(d, n_bootstrap, self.options["seed"]), level
        )
        flips, exact = sign_flips(len(self.subjects), n_permutations, self.options["seed"])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            null = np.abs(np.nanmean(d[None] * flips[:, None, None, :], axis=3))  # (P, 2, R)
        with np.errstate(invalid="ignore"):
            p = permutation_p_value(np.abs(observed), null, exact=exact)
        dims = ("statistic", "region")
        return xr.Dataset(
            {
                "difference": (dims, observed),
                "low": (dims, low),
                "high": (dims, high),
                "p_value": (dims, p),
            },
            coords={"statistic": ["score", "aps"], "region": coord(self.regions)},
            attrs={
                "model": self.model,
                "other_model": other.model,
                "n_bootstrap": n_bootstrap,
                "n_permutations": len(flips),
                "exact": exact,
            },
        )

    def _stimulus_null(self, stats_of: Any, n_permutations: int, seed: int | None) -> np.ndarray:
        """Shuffle the stimulus labels of the model's RDMs and rescore."""
        from .engine import representation_inputs
        from .rdm import square_from_vector

        m = self.metric or get_metric(self.options["metric"])
        if m.input_kind != "rdm" or self.data is None:
            raise InputError(
                "The stimulus-shuffle null rescores RDMs: it needs an RDM metric and the data "
                "(an evaluation built by Evaluation.fit, not loaded from disk)."
            )
        md_x, brain_x = self.data
        prep_b = prepare(m, representation_inputs(brain_x, m, self.options["rdm"]))
        square = square_from_vector(representation_inputs(md_x, m, self.options["rdm"]))
        n = square.shape[-1]
        iu, ju = np.triu_indices(n, k=1)
        rng = np.random.default_rng(seed)
        samples = np.empty((n_permutations, 2, len(self.regions)))
        for k in range(n_permutations):
            p = rng.permutation(n)
            ub = cross(prepare(m, square[:, p[iu], p[ju]]), prep_b).reshape(self.u.shape)
            samples[k] = stats_of(ub)
        return samples

    # ------------------------------------------------------------------ the Dataset
    def to_dataset(
        self,
        n_bootstrap: int = 1000,
        *,
        bootstrap: str | None = None,
        level: float = 0.95,
        n_permutations: int = 1000,
    ) -> xr.Dataset:
        """Everything :func:`evaluate_model` returns, as one labelled Dataset.

        Parameters
        ----------
        n_bootstrap : int
        bootstrap : {"subjects", "fixed_subjects", "stimuli", "both"}, optional
            Default: the protocol's.
        level : float
        n_permutations : int

        Returns
        -------
        xarray.Dataset
        """
        values = self.values()
        regions, subjects = coord(self.regions), coord(self.subjects)
        rs = ("region", "subject")
        ds = xr.Dataset(
            {name: (rs, values[i]) for i, name in enumerate(STATISTICS)},
            coords={"region": regions, "subject": subjects},
        )
        ds["layer"] = ("region", coord([self.layers[r] for r in self.regions]))
        ds = ds.merge(self._patterns())
        ds["ceiling"] = self.ceiling.drop_attrs()
        per_subject = self.ceiling.attrs.get("subject_upper") or []
        if len(per_subject):
            ds["ceiling_subject"] = (rs, np.asarray(per_subject, dtype=float))
        if self.layer_profile is not None:
            ds["layer_profile"] = self.layer_profile.rename(layer="candidate_layer").drop_attrs()
        with warnings.catch_warnings():  # an undefined APS (too few subjects) has no mean
            warnings.simplefilter("ignore", RuntimeWarning)
            for var in STATISTICS:
                ds[f"{var}_mean"] = ds[var].mean("subject")
        ds["score_normalised"] = ("region", self._normalised(values[0]))
        matrices = self.matrices(n_permutations)
        rr = ("region", "target_region")
        ds["brain_matrix"] = (rr, matrices["brain"])
        ds["model_matrix"] = (rr, matrices["model"])
        ds = ds.assign_coords(target_region=regions, test_stimulus=coord(self.test))
        comparison = matrices["comparison"].to_dataset()  # numbers as data, not attributes
        for name in ("pattern_correlation", "pattern_correlation_with_diagonal", "p_value"):
            ds[f"matrix_{name}"] = comparison[name]
        kind = check_option(bootstrap or self.options["bootstrap"], "bootstrap", BOOTSTRAPS)
        if n_bootstrap:
            ds = self._with_intervals(ds, self.bootstrap(n_bootstrap, kind, level))
        ds.attrs.update(self._attrs(n_bootstrap, kind, level, n_permutations, matrices))
        return ds

    def _normalised(self, score: np.ndarray) -> np.ndarray:
        """Mean score over the upper noise ceiling, or, for per-subject ceilings (the
        ``hoefling2026`` definition), the mean over subjects of score / ceiling."""
        per_subject = np.asarray(self.ceiling.attrs.get("subject_upper", []), dtype=float)
        with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)  # undefined scores stay NaN
            if per_subject.size:
                return np.nanmean(score / per_subject, axis=1)
            return np.nanmean(score, axis=1) / self.ceiling.sel(bound="upper").values

    def _patterns(self) -> xr.Dataset:
        """Alignment patterns on test stimuli, for figures: the brain's AP[a->s](r) over
        ordered pairs of different subjects (mean, 2.5/97.5 percentiles) and the model's."""
        pairs = ~np.eye(self.t.shape[0], dtype=bool)
        brain_ap = self.t.transpose(1, 3, 0, 2)[:, :, pairs]  # (r, q, pairs)
        rr = ("region", "target_region")
        return xr.Dataset(
            {
                "brain_pattern": (rr, np.nanmean(brain_ap, axis=2)),
                "brain_pattern_low": (rr, np.nanpercentile(brain_ap, 2.5, axis=2)),
                "brain_pattern_high": (rr, np.nanpercentile(brain_ap, 97.5, axis=2)),
                "model_pattern": (rr, np.nanmean(self.u[self._layer_index()], axis=1)),
            },
            coords={"region": coord(self.regions), "target_region": coord(self.regions)},
        )

    @staticmethod
    def _with_intervals(ds: xr.Dataset, boot: xr.Dataset) -> xr.Dataset:
        for var in STATISTICS:
            sel = {"statistic": var}
            ds[f"{var}_low"] = ("region", boot["low"].sel(sel).values)
            ds[f"{var}_high"] = ("region", boot["high"].sel(sel).values)
            ds[f"{var}_kept"] = ("region", boot["kept"].sel(sel).values)
            ds[f"{var}_degenerate"] = ("region", boot["degenerate"].sel(sel).values)
            if "variance" in boot:
                ds[f"{var}_var"] = ("region", boot["variance"].sel(sel).values)
        ds["samples"] = (("bootstrap", "statistic", "region"), boot["samples"].values)
        return ds.assign_coords(statistic=list(STATISTICS))

    def _attrs(
        self, n_bootstrap: int, kind: str, level: float, n_permutations: int, matrices: dict
    ) -> dict[str, Any]:
        comparison = matrices["comparison"]
        o = self.options
        return {
            "model": self.model,
            "protocol": o["protocol"],
            "metric": o["metric"].label if isinstance(o["metric"], Metric) else o["metric"],
            "similarity": o["similarity"],
            "include_same_region": o["include_same_region"],
            "rdm": o["rdm"],
            "assignment": o["assignment"],
            "n_train": len(self.train),
            "n_test": len(self.test),
            "test_stimuli": [str(x) for x in self.test],
            "split_seed": o["seed"] if o["seed"] is not None else "none",
            "n_bootstrap": n_bootstrap,
            "level": level,
            "score_normalised_by": f"upper noise ceiling ({o['ceiling']})",
            "ceiling_definition": o["ceiling"],
            "matrix_test": "less strict: brain vs model cross-region matrices (compare_matrices)",
            "matrix_pattern_correlation": comparison.pattern_correlation,
            "matrix_pattern_correlation_with_diagonal": (
                comparison.pattern_correlation_with_diagonal
            ),
            "matrix_p_value": comparison.p_value,
            "n_permutations": n_permutations,
            "aps_defined": self.aps_defined,
            "bootstrap": kind if n_bootstrap else "none",
            "interval": "none"
            if not n_bootstrap
            else "t interval, two-factor variance corrected as in Schuett et al. 2023"
            if kind == "both"
            else "percentile",
            "predictivity_test": o["predictivity_test"],
        }

    # ------------------------------------------------------------------ on disk
    def save(self, path: str | Path) -> Path:
        """Write the evaluation (tensors, split, layers, options) to a netCDF file,
        atomically; :meth:`load` reads it back for every statistic but the stimulus
        resamples, which need the data.

        Parameters
        ----------
        path : str or Path

        Returns
        -------
        Path
        """

        from .outputs import write_atomic

        ds = xr.Dataset(
            {
                "t": (("subject", "region", "subject2", "region2"), self.t),
                "u": (("layer", "subject", "region"), self.u),
                "model_matrix": (("region", "region2"), self.model_matrix),
                "ceiling": (("region", "bound"), self.ceiling.transpose("region", "bound").values),
                "subject_upper": (
                    ("region", "subject"),
                    np.asarray(
                        self.ceiling.attrs.get("subject_upper")
                        or np.full(self.u.shape[2:0:-1], np.nan)
                    ),
                ),
            },
            coords={"bound": list(self.ceiling.coords["bound"].values)},
            attrs={
                "crossalign_evaluation": dumps(
                    {
                        "model": self.model,
                        "regions": self.regions,
                        "subjects": self.subjects,
                        "layer_names": self.layer_names,
                        "layers": [[r, self.layers[r]] for r in self.regions],
                        "train": self.train,
                        "test": self.test,
                        "options": _stored_options(self.options),
                    }
                )
            },
        )
        if self.layer_profile is not None:
            ds["layer_profile"] = (
                ("layer", "region"),
                self.layer_profile.transpose("layer", "region").values,
            )
        return write_atomic(Path(path), lambda tmp: ds.to_netcdf(tmp))

    @classmethod
    def load(cls, path: str | Path) -> Evaluation:
        """Read an evaluation written by :meth:`save`.

        Parameters
        ----------
        path : str or Path

        Returns
        -------
        Evaluation
        """
        import json

        with xr.open_dataset(path) as ds:
            ds = ds.load()
        try:
            meta = json.loads(ds.attrs["crossalign_evaluation"])
        except KeyError:
            raise InputError(f"The file '{path}' is not a saved crossalign evaluation.") from None
        regions = [from_json(r) for r in meta["regions"]]
        upper = ds["subject_upper"].values
        ceiling = xr.DataArray(
            ds["ceiling"].values,
            dims=("region", "bound"),
            coords={"region": coord(regions), "bound": list(ds.coords["bound"].values)},
            attrs={"subject_upper": [] if np.isnan(upper).all() else upper.tolist()},
        )
        profile = None
        if "layer_profile" in ds:
            profile = xr.DataArray(
                ds["layer_profile"].values,
                dims=("layer", "region"),
                coords={
                    "layer": coord([from_json(x) for x in meta["layer_names"]]),
                    "region": coord(regions),
                },
            )
        return cls(
            model=meta["model"],
            regions=regions,
            subjects=[from_json(s) for s in meta["subjects"]],
            layer_names=[from_json(x) for x in meta["layer_names"]],
            layers={from_json(r): from_json(la) for r, la in meta["layers"]},
            train=[from_json(x) for x in meta["train"]],
            test=[from_json(x) for x in meta["test"]],
            t=ds["t"].values,
            u=ds["u"].values,
            options=_read_options(meta["options"]),
            layer_profile=profile,
            model_matrix=ds["model_matrix"].values,
            ceiling=ceiling,
        )


# ---------------------------------------------------------------------- helpers
def _stored_options(options: dict[str, Any]) -> dict[str, Any]:
    """Options with a metric instance written as its name and parameters."""
    metric = options.get("metric")
    if isinstance(metric, Metric):
        return {**options, "metric": {"name": metric.name, "parameters": metric.options}}
    return options


def _read_options(options: dict[str, Any]) -> dict[str, Any]:
    metric = options.get("metric")
    if isinstance(metric, dict):
        return {**options, "metric": get_metric(metric["name"], **metric["parameters"])}
    return options


def _brain_side(
    brain: BrainData, stimuli: list[Hashable], metric: Metric, options: dict[str, Any]
) -> tuple[BrainData, np.ndarray, xr.DataArray]:
    """The brain's part of an evaluation on ``stimuli``: the subset, its score tensor and its
    noise ceiling. It depends on the brain data, the stimuli and the metric only, so it is
    kept with ``brain`` (a private memo, never saved) and every further model evaluated
    against the same brain data reuses it instead of recomputing it."""
    from .stats import noise_ceiling

    key = (tuple(stimuli), _metric_key(metric), options["rdm"], options["ceiling"])
    memo = brain.__dict__.setdefault("_brain_side_memo", {})
    if key not in memo:
        brain_x = brain.subset_stimuli(stimuli)
        t = score_tensor(brain_x, metric=metric, rdm=options["rdm"]).values
        ceiling = noise_ceiling(brain_x, metric, rdm=options["rdm"], definition=options["ceiling"])
        memo.clear()  # one entry: the last split and metric
        memo[key] = (brain_x, t, ceiling)
    return memo[key]


def _metric_key(metric: Metric) -> tuple:
    """A metric's name and options as a hashable key (arrays by content)."""
    import hashlib

    def plain(v: Any) -> Any:
        if isinstance(v, np.ndarray):
            return (v.shape, str(v.dtype), hashlib.sha256(np.ascontiguousarray(v)).hexdigest())
        if isinstance(v, list | tuple):
            return tuple(plain(x) for x in v)
        return v

    return (metric.name, tuple((k, plain(v)) for k, v in sorted(metric.options.items())))


def _options(protocol: Protocol, choices: dict[str, Any], seed: int | None) -> dict[str, Any]:
    allowed = protocol.choices()
    unknown = sorted(set(choices) - set(allowed))
    if unknown:
        raise InputError(f"Unknown evaluation option(s) {unknown}. Options: {sorted(allowed)}.")
    options = {**allowed, **{k: v for k, v in choices.items() if v is not None}}
    metric = options["metric"]
    options["metric"] = metric if isinstance(metric, Metric) else get_metric(metric).name
    check_option(options["similarity"], "similarity", ["pearson", "spearman"], "evaluate_model")
    check_option(options["bootstrap"], "bootstrap", BOOTSTRAPS, "evaluate_model")
    check_option(
        options["predictivity_test"], "predictivity_test", ["train-fitted", "cross-validated"]
    )
    return {**options, "protocol": protocol.name, "seed": seed}


def _train_fitted(options: dict[str, Any]) -> bool:
    name = options["metric"].name if isinstance(options["metric"], Metric) else options["metric"]
    return name == "predictivity" and options["predictivity_test"] == "train-fitted"


def _metric(options: dict[str, Any], part: str, n_train: int = 0, n_test: int = 0) -> Metric:
    """The metric for layer selection (``part="train"``) or the test tensors. Predictivity
    takes the protocol's seed and fold weights unless its own options set them."""
    m = get_metric(options["metric"])
    if m.name != "predictivity":
        return m
    own: dict[str, Any] = {}
    if m.seed is None:
        own["seed"] = options["predictivity_seed"]
    if part == "test" and _train_fitted(options):
        own.update(
            test="train-fitted",
            split=(np.arange(n_train), np.arange(n_train, n_train + n_test)),
        )
    elif part != "test" and m.fold_weights is None:
        own["fold_weights"] = options["fold_weights"]
    return get_metric(m, **own)


def _split(
    md: ModelData,
    brain: BrainData,
    train_stimuli: Sequence[Hashable] | None,
    test_stimuli: Sequence[Hashable] | None,
    test_fraction: float,
    labels: Sequence[Hashable] | None,
    seed: int | None,
) -> tuple[list[Hashable], list[Hashable]]:
    """The given split, else the dataset's fixed split, else a seeded random split."""
    if (train_stimuli is None) != (test_stimuli is None):
        raise InputError("Pass both 'train_stimuli' and 'test_stimuli', or neither (seeded split).")
    if train_stimuli is None:
        fixed = brain.attrs.get("split")
        if fixed is not None:
            return list(fixed["train"]), list(fixed["test"])
        return split_stimuli(md.stimuli, test_fraction, seed=seed, labels=labels)
    train, test = list(train_stimuli), list(test_stimuli)
    overlap = set(train) & set(test)
    if overlap:
        raise InputError(
            f"The train and test stimuli overlap in {len(overlap)} id(s), e.g. "
            f"{sorted(map(str, overlap))[:5]}: selecting and scoring on the same "
            "stimuli inflates scores. Expected disjoint sets."
        )
    return train, test


def _given_layers(
    layers_by_region: Mapping[Hashable, Hashable], brain: BrainData, md: ModelData, name: Hashable
) -> dict[Hashable, Hashable]:
    missing = [r for r in brain.regions if r not in layers_by_region]
    if missing:
        raise InputError(f"The 'layers_by_region' argument has no layer for region(s) {missing}.")
    layers = {r: layers_by_region[r] for r in brain.regions}
    unknown = [la for la in layers.values() if la not in md.layers()]
    if unknown:
        raise InputError(
            f"The 'layers_by_region' argument names layer(s) {unknown} that model "
            f"{name!r} does not have. Available layers: {md.layers()}."
        )
    return layers


class _Resampler:
    """Bootstrap resamples that recompute: over subjects (re-indexing the tensors, the
    reference patterns recomputed from the resampled subjects), stimuli, or both."""

    def __init__(self, evaluation: Evaluation, seed: int | None) -> None:
        from .engine import representation_inputs

        self.ev = evaluation
        self.metric = evaluation.metric or get_metric(evaluation.options["metric"])
        self.n_sub, self.n_reg = len(evaluation.subjects), len(evaluation.regions)
        self.rng = np.random.default_rng(seed)
        self.n_stim = len(evaluation.test)
        self.vectors = None
        if evaluation.data is not None and self.metric.input_kind == "rdm":
            md_x, brain_x = evaluation.data
            rdm = evaluation.options["rdm"]
            self.vectors = (
                representation_inputs(brain_x, self.metric, rdm),
                representation_inputs(md_x, self.metric, rdm),
            )

    def tensors(self, stim_idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """T and U on a stimulus resample."""
        from .stats import resample_rdm_vectors

        if self.vectors is None:
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
        from .stats import two_factor_variance

        self.tensors(np.arange(self.n_stim))
        both, subj, stim = (np.empty((n, 3, self.n_reg)) for _ in range(3))
        for b in range(n):
            stim_idx, sub_idx = self.draw("both")
            both[b] = self.sample(stim_idx, sub_idx)
            subj[b] = self.sample(None, sub_idx)
            stim[b] = self.sample(stim_idx, None)
        var = [np.nanvar(x, axis=0, ddof=1) for x in (both, subj, stim)]
        return both, two_factor_variance(*var, n_subjects=self.n_sub, n_stimuli=self.n_stim)


# ---------------------------------------------------------------------- the function API
def evaluate_model(
    model_data: ModelData,
    brain_data: BrainData,
    layers_by_region: Mapping[Hashable, Hashable] | None = None,
    *,
    metric: str | Metric | None = None,
    protocol: str | Protocol = "crossalign",
    similarity: str | None = None,
    include_same_region: bool | None = None,
    rdm: str | None = None,
    model: Hashable | None = None,
    train_stimuli: Sequence[Hashable] | None = None,
    test_stimuli: Sequence[Hashable] | None = None,
    test_fraction: float = 0.5,
    labels: Sequence[Hashable] | None = None,
    seed: int | None = 0,
    assignment: str | None = None,
    region_order: Sequence[Hashable] | None = None,
    n_bootstrap: int = 1000,
    bootstrap: str | None = None,
    level: float = 0.95,
    n_permutations: int = 1000,
    predictivity_test: str | None = None,
    predictivity_seed: int | None = None,
    fold_weights: str | None = None,
) -> xr.Dataset:
    """The paper's test for one model: pointwise score and APS per region, with CIs.

    1. The split: ``train_stimuli``/``test_stimuli`` when given, else the dataset's fixed
       split (``brain_data.attrs["split"]``), else a seeded random split with
       ``test_fraction`` (stratified by ``labels`` when given). Without ``layers_by_region``
       the layer ``l*(r)`` of each region is chosen on the training stimuli by
       ``assignment`` (``argmax`` of the subject-mean score, ``one-to-one``, or ``monotone``
       along ``region_order``).
    2. On test stimuli: the pointwise score ``M(F[l*(r)], X[s, r])``, model APS and brain APS
       per subject, the noise ceiling, and the cross-region matrices.
    3. Bootstrap CIs of the subject means (``n_bootstrap`` resamples).

    Parameters
    ----------
    model_data, brain_data : ModelData, BrainData
        The model's layers and the brain data, over the same stimulus ids.
    layers_by_region : mapping, optional
        A fixed layer per region (no selection; everything is scored on ``test_stimuli``
        or all stimuli).
    metric : str or Metric, optional
        The alignment metric (default: the protocol's: Spearman, or Pearson for
        ``hoefling2026``).
    protocol : {"crossalign", "hoefling2026"}
        A named set of every choice below (:mod:`crossalign.protocols`); an option given
        here overrides it. ``"hoefling2026"`` reproduces Hoefling et al. 2026.
    similarity : {"pearson", "spearman"}, optional
        How alignment patterns are compared.
    include_same_region : bool, optional
        Keep the entry q = r in each pattern.
    rdm : str, optional
        The RDM distance for RSA metrics (default ``"correlation"``: 1 - Pearson).
    model : hashable, optional
        Which model of ``model_data`` (needed when it holds several).
    train_stimuli, test_stimuli : sequence, optional
        An explicit split (both or neither).
    test_fraction : float
        Test share of a random split.
    labels : sequence, optional
        Categories for a stratified random split.
    seed : int, optional
        Seeds the random split and the resamples (fixed bootstrap resample b uses
        ``numpy.random.default_rng(seed + b)``).
    assignment : {"argmax", "one-to-one", "monotone"}, optional
        Layer assignment.
    region_order : sequence, optional
        The hierarchy for ``assignment="monotone"``.
    n_bootstrap : int
        Bootstrap resamples (0: no CIs).
    bootstrap : {"fixed", "recompute", "subjects", "stimuli", "both"}, optional
        The estimator: ``fixed`` resamples subjects over fixed per-subject values (the
        paper's); ``recompute`` (= ``subjects``) recomputes the reference patterns from each
        subject resample; ``stimuli`` resamples test stimuli; ``both`` runs the two-factor
        bootstrap and reports a t interval from the variance corrected as in Schütt et al.
        2023 (``{stat}_var``). Percentile intervals otherwise.
    level : float
        Interval coverage.
    n_permutations : int
        Permutations of the matrix-level comparison.
    predictivity_test : {"train-fitted", "cross-validated"}, optional
        Predictivity on test stimuli: fold models fitted on the training stimuli and scored
        on the test stimuli (the paper's), or cross-validated within the test stimuli.
    predictivity_seed : int, optional
        The KFold seed of predictivity (paper: 1).
    fold_weights : {"size", "equal"}, optional
        How cross-validated fold scores are averaged on the training stimuli.

    Returns
    -------
    xarray.Dataset
        Per (region, subject) ``score``, ``aps``, ``brain_aps``; per region ``layer`` and
        ``{score,aps,brain_aps}_{mean,low,high,kept,degenerate}``; ``ceiling`` (region,
        bound), ``score_normalised``, ``layer_profile`` (candidate_layer, region: every
        layer's training score), ``brain_pattern`` (+ ``_low``/``_high``), ``model_pattern``,
        ``brain_matrix`` and ``model_matrix`` with the matrix-level comparison in
        ``attrs["matrix_*"]``, and bootstrap ``samples``.

    See Also
    --------
    Evaluation : the object behind this function, for further statistics.
    """
    evaluation = Evaluation.fit(
        model_data,
        brain_data,
        layers_by_region,
        protocol=protocol,
        model=model,
        train_stimuli=train_stimuli,
        test_stimuli=test_stimuli,
        test_fraction=test_fraction,
        labels=labels,
        seed=seed,
        region_order=region_order,
        metric=metric,
        similarity=similarity,
        include_same_region=include_same_region,
        rdm=rdm,
        assignment=assignment,
        bootstrap=bootstrap,
        predictivity_test=predictivity_test,
        predictivity_seed=predictivity_seed,
        fold_weights=fold_weights,
    )
    return evaluation.to_dataset(
        n_bootstrap, bootstrap=bootstrap, level=level, n_permutations=n_permutations
    )


def aps_permutation_test(
    evaluation: Evaluation,
    *,
    null: str = "regions",
    n_permutations: int = 1000,
    seed: int | None = 0,
) -> xr.Dataset:
    """Permutation nulls for a model's alignment-pattern similarity, per region.

    Parameters
    ----------
    evaluation : Evaluation
        From :meth:`Evaluation.fit` (its layers, test tensors and options are reused).
    null : {"regions", "stimuli"}
        ``"regions"`` permutes the target-region labels of the model's patterns (the same
        relabelling for every subject): the model keeps its scores, loses their
        correspondence to regions; exact over all R! relabellings when R! <=
        ``n_permutations``. ``"stimuli"`` shuffles the stimulus labels of the model's RDMs:
        the model keeps its geometry, loses its alignment with the brain (tests the score
        and the APS).
    n_permutations : int
        Monte Carlo permutations (or the bound for exact enumeration).
    seed : int, optional
        Seeds the permutations.

    Returns
    -------
    xarray.Dataset
        Per statistic (score, aps) and region: ``observed`` subject means, one-sided
        ``p_value`` (``(1 + #{null >= observed}) / (1 + n)``, or the exact share), ``p_fdr``
        (Benjamini-Hochberg across regions), ``p_fwer`` (max statistic), and the ``null``.
    """
    if not isinstance(evaluation, Evaluation):
        raise InputError(
            "The 'evaluation' argument must be an Evaluation (crossalign.Evaluation.fit). Got "
            f"{type(evaluation).__name__}."
        )
    return evaluation.permutation_test(null, n_permutations, seed)


def model_aps(
    model_data: ModelData,
    brain_data: BrainData,
    layers_by_region: Mapping[Hashable, Hashable] | None = None,
    *,
    metric: str | Metric | None = None,
    model: Hashable | None = None,
    **options: Any,
) -> xr.DataArray:
    """Model APS at the layer chosen for each region: DataArray (region, subject).

    Without ``layers_by_region`` the layer of each region is selected on training stimuli and
    the APS is computed on held-out test stimuli; ``options`` are those of
    :func:`evaluate_model` (split, protocol, similarity, ...). The selected layers are in the
    ``layer`` coordinate.

    Parameters
    ----------
    model_data : ModelData
        The model's layers (one model, or name it with ``model``).
    brain_data : BrainData
        The brain data.
    layers_by_region : mapping, optional
        A fixed ``{region: layer}`` assignment; default: selected on training stimuli.
    metric : str or Metric, optional
        The alignment metric (default the protocol's).
    model : hashable, optional
        Which model of ``model_data``.
    **options
        The options of :func:`evaluate_model`.

    Returns
    -------
    xarray.DataArray
        (region, subject) with the selected ``layer`` per region as a coordinate.
    """
    result = evaluate_model(
        model_data,
        brain_data,
        layers_by_region,
        metric=metric,
        model=model,
        n_bootstrap=0,
        **options,
    )
    out = result["aps"].assign_coords(layer=result["layer"])
    out.attrs.update(result.attrs)
    return out
