"""An evaluation as a labelled Dataset and on disk (``save``/``load``), so a study resumes
without recomputing."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

import crossalign.evaluation.resampling as resampling
from crossalign._validation import check_option
from crossalign.analysis.aps import model_aps_kernel
from crossalign.data.labels import coord, dumps, from_json
from crossalign.errors import InputError
from crossalign.evaluation.protocols import BOOTSTRAPS, Protocol
from crossalign.evaluation.state import STATISTICS, EvaluationState
from crossalign.io.outputs import write_atomic
from crossalign.metrics import Metric

__all__: list[str] = []


# ---------------------------------------------------------------------- helpers
def _read_spec(stored: dict[str, Any]) -> Protocol:
    """The spec of a saved evaluation (files before the typed spec stored the protocol's name
    under ``protocol``)."""
    values = dict(stored)
    if "protocol" in values:
        values.setdefault("name", values.pop("protocol"))
    values.setdefault("description", "")
    return Protocol.from_stored(values)


def to_dataset(
    ev: EvaluationState,
    n_bootstrap: int = 1000,
    *,
    bootstrap: str | None = None,
    level: float = 0.95,
    n_permutations: int = 1000,
) -> xr.Dataset:
    """What :meth:`~crossalign.evaluation.core.Evaluation.to_dataset` does (documented there)."""
    values = ev.values()
    regions, subjects = coord(ev.regions), coord(ev.subjects)
    rs = ("region", "subject")
    ds = xr.Dataset(
        {name: (rs, values[i]) for i, name in enumerate(STATISTICS)},
        coords={"region": regions, "subject": subjects},
    )
    ds["layer"] = ("region", coord([ev.layers[r] for r in ev.regions]))
    ds = ds.merge(_patterns(ev))
    ds["ceiling"] = ev.noise_ceiling().drop_attrs()
    per_subject = ev.noise_ceiling().attrs.get("subject_upper") or []
    if len(per_subject):
        ds["ceiling_subject"] = (rs, np.asarray(per_subject, dtype=float))
    if ev.layer_profile is not None:
        ds["layer_profile"] = ev.layer_profile.rename(layer="candidate_layer").drop_attrs()
    ds = ds.merge(_every_layer(ev))
    with warnings.catch_warnings():  # an undefined APS (too few subjects) has no mean
        warnings.simplefilter("ignore", RuntimeWarning)
        for var in STATISTICS:
            ds[f"{var}_mean"] = ds[var].mean("subject")
    ds["score_normalised"] = ("region", _normalised(ev, ev.raw_scores()))
    ds["raw_score"] = (rs, ev.raw_scores())
    if ev.subject_ceiling is not None:
        ds["subject_ceiling"] = (("bound", *rs), ev.subject_ceiling)
        ds = ds.assign_coords(bound=["lower", "upper"])
    matrices = ev.matrices(n_permutations)
    rr = ("region", "target_region")
    ds["brain_matrix"] = (rr, matrices["brain"])
    ds["model_matrix"] = (rr, matrices["model"])
    ds = ds.assign_coords(target_region=regions, test_stimulus=coord(ev.test))
    comparison = matrices["comparison"].to_dataset()  # numbers as data, not attributes
    for name in ("pattern_correlation", "pattern_correlation_with_diagonal", "p_value"):
        ds[f"matrix_{name}"] = comparison[name]
    kind = check_option(bootstrap or ev.spec.bootstrap, "bootstrap", BOOTSTRAPS)
    if n_bootstrap:
        ds = _with_intervals(ds, resampling.bootstrap(ev, n_bootstrap, kind, level))
    ds.attrs.update(_attrs(ev, n_bootstrap, kind, level, n_permutations, matrices))
    return ds


def _normalised(ev: EvaluationState, score: np.ndarray) -> np.ndarray:
    """Mean score over the upper noise ceiling, or, for per-subject ceilings (the
    ``hoefling2026`` definition), the mean over subjects of score / ceiling."""
    per_subject = np.asarray(ev.noise_ceiling().attrs.get("subject_upper", []), dtype=float)
    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)  # undefined scores stay NaN
        if per_subject.size:
            return np.nanmean(score / per_subject, axis=1)
        return np.nanmean(score, axis=1) / ev.noise_ceiling().sel(bound="upper").values


def _every_layer(ev: EvaluationState) -> xr.Dataset:
    """Score and model APS of every layer for every region and subject on the test stimuli
    (in the outcome's units), as Hoefling et al. (2026) draw score against APS per layer."""
    dims = ("candidate_layer", "region", "subject")
    out = xr.Dataset(
        {"layer_score": (dims, ev.u.transpose(0, 2, 1))},
        coords={
            "candidate_layer": coord(ev.layer_names),
            "region": coord(ev.regions),
            "subject": coord(ev.subjects),
        },
    )
    if ev.aps_defined:
        kw: dict[str, Any] = {
            "include_same_region": ev.spec.include_same_region,
            "similarity": ev.spec.similarity,
        }
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a flat pattern: NaN
            out["layer_aps"] = (dims, model_aps_kernel(ev.u, ev.t, **kw))
    return out


def _patterns(ev: EvaluationState) -> xr.Dataset:
    """Alignment patterns on test stimuli, for figures: the brain's AP[a->s](r) over
    ordered pairs of different subjects (mean, 2.5/97.5 percentiles) and the model's."""
    pairs = ~np.eye(ev.t.shape[0], dtype=bool)
    brain_ap = ev.t.transpose(1, 3, 0, 2)[:, :, pairs]  # (r, q, pairs)
    rr = ("region", "target_region")
    return xr.Dataset(
        {
            "brain_pattern": (rr, np.nanmean(brain_ap, axis=2)),
            "brain_pattern_low": (rr, np.nanpercentile(brain_ap, 2.5, axis=2)),
            "brain_pattern_high": (rr, np.nanpercentile(brain_ap, 97.5, axis=2)),
            "model_pattern": (rr, np.nanmean(ev.u[ev._layer_index()], axis=1)),
        },
        coords={"region": coord(ev.regions), "target_region": coord(ev.regions)},
    )


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
    ev: EvaluationState,
    n_bootstrap: int,
    kind: str,
    level: float,
    n_permutations: int,
    matrices: dict,
) -> dict[str, Any]:
    comparison = matrices["comparison"]
    o = ev.spec
    return {
        "model": ev.model,
        "protocol": o.name,
        "metric": o.metric.label if isinstance(o.metric, Metric) else o.metric,
        "similarity": o.similarity,
        "include_same_region": o.include_same_region,
        "rdm": o.rdm,
        "assignment": o.assignment,
        "n_train": len(ev.train),
        "n_test": len(ev.test),
        "test_stimuli": [str(x) for x in ev.test],
        "split_seed": o.seed if o.seed is not None else "none",
        "n_bootstrap": n_bootstrap,
        "level": level,
        "score_normalised_by": f"upper noise ceiling ({o.ceiling})",
        "ceiling_definition": o.ceiling,
        "matrix_test": "less strict: brain vs model cross-region matrices (compare_matrices)",
        "matrix_pattern_correlation": comparison.pattern_correlation,
        "matrix_pattern_correlation_with_diagonal": (comparison.pattern_correlation_with_diagonal),
        "matrix_p_value": comparison.p_value,
        "n_permutations": n_permutations,
        "aps_defined": ev.aps_defined,
        "bootstrap": kind if n_bootstrap else "none",
        "interval": "none"
        if not n_bootstrap
        else "t interval, two-factor variance corrected as in Schuett et al. 2023"
        if kind == "both"
        else "percentile",
        "predictivity_test": o.predictivity_test,
        "outcome": ev.outcome,
        "outcome_definition": _OUTCOME_TEXT[ev.outcome],
        "partners": str(o.partners),
    }


_OUTCOME_TEXT = {
    "score": "the raw score",
    "norm_upper": "score / upper(region, subject): the leave-one-out pool predicting the subject",
    "norm_lower": "score / lower(region, subject): the mean over partner subjects predicting it",
}


def save(ev: EvaluationState, path: str | Path) -> Path:
    """What :meth:`~crossalign.evaluation.core.Evaluation.save` does (documented there)."""

    ds = xr.Dataset(
        {
            "t": (("subject", "region", "subject2", "region2"), ev.t),
            "u": (("layer", "subject", "region"), ev.u),
            "model_matrix": (("region", "region2"), ev.model_matrix),
            "ceiling": (
                ("region", "bound"),
                ev.noise_ceiling().transpose("region", "bound").values,
            ),
            "subject_upper": (
                ("region", "subject"),
                np.asarray(
                    ev.noise_ceiling().attrs.get("subject_upper")
                    or np.full(ev.u.shape[2:0:-1], np.nan)
                ),
            ),
        },
        coords={"bound": list(ev.noise_ceiling().coords["bound"].values)},
        attrs={
            "crossalign_evaluation": dumps(
                {
                    "model": ev.model,
                    "regions": ev.regions,
                    "subjects": ev.subjects,
                    "layer_names": ev.layer_names,
                    "layers": [[r, ev.layers[r]] for r in ev.regions],
                    "train": ev.train,
                    "test": ev.test,
                    "options": ev.spec.stored(),
                }
            )
        },
    )
    if ev.layer_profile is not None:
        ds["layer_profile"] = (
            ("layer", "region"),
            ev.layer_profile.transpose("layer", "region").values,
        )
    if ev.subject_ceiling is not None:
        ds["subject_ceiling"] = (("bound2", "region", "subject"), ev.subject_ceiling)
    if ev.raw_u is not None:
        ds["raw_u"] = (("layer", "subject", "region"), ev.raw_u)
    return write_atomic(Path(path), lambda tmp: ds.to_netcdf(tmp))


def load(cls: Any, path: str | Path) -> Any:
    """What :meth:`~crossalign.evaluation.core.Evaluation.load` does (documented there)."""
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
        spec=_read_spec(meta["options"]),
        layer_profile=profile,
        model_matrix=ds["model_matrix"].values,
        ceiling=ceiling,
        subject_ceiling=ds["subject_ceiling"].values if "subject_ceiling" in ds else None,
        raw_u=ds["raw_u"].values if "raw_u" in ds else None,
    )
