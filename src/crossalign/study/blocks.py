"""The blocks of a study run, each written to the store in one transaction: the brain's, each
model's, the equivalence analysis and paired comparisons, and the rows they hold."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from crossalign.analysis.aps import brain_aps_ci_of, brain_aps_kernel, subject_pair_mean
from crossalign.compute.rdm import classical_mds, square_from_vector
from crossalign.data.containers import BrainData, ModelData
from crossalign.data.labels import coord
from crossalign.engine.core import score_tensor
from crossalign.evaluation.connectivity import connectivity_aps
from crossalign.evaluation.core import Evaluation, outcome_tensors, partner_tensor
from crossalign.evaluation.summaries import leaderboard, paradigm_summary
from crossalign.io.connectivity import load_connectivity
from crossalign.io.outputs import slug
from crossalign.stats.ceilings import noise_ceiling, partner_pairs, unreliable_regions
from crossalign.stats.equivalence import double_criterion
from crossalign.study.config import (
    ConnectivityConfig,
    ModelConfig,
    Scoring,
    StudyConfig,
)
from crossalign.study.models import rename_model
from crossalign.study.store import ResultsStore, rows_from, scalar_rows

__all__ = ["summary_table"]


@dataclass(frozen=True)
class RunContext:
    """What every block of a run needs."""

    store: ResultsStore
    run_id: str
    cfg: StudyConfig
    out: Path
    console: Any
    allow_user_modules: bool

    def evaluation_path(self, dataset: str, model: str, metric: str) -> Path:
        """Where this run keeps a model's evaluation (tensors, split, layers), so a resumed
        run reuses it instead of recomputing."""
        folder = self.out / "evaluations" / slug(self.run_id)
        folder.mkdir(parents=True, exist_ok=True)
        return folder / f"{slug(dataset)}--{slug(model)}--{slug(metric)}.nc"


def _weights_label(md: ModelData) -> str | None:
    """The ``weights`` label of a model's rows: the tag of the published weights its library
    name resolved to (e.g. ``fb_in1k``), ``"untrained"`` for random weights, None where no
    tag applies (activation files, user modules, untagged weights).

    Parameters
    ----------
    md : ModelData

    Returns
    -------
    str or None
    """
    if md.attrs.get("paradigm") == "untrained":
        return "untrained"
    tag = md.attrs.get("weights_tag")
    return str(tag) if tag else None


def _write(ctx: RunContext, block: str, frames: list[pd.DataFrame], scoring: Scoring) -> None:
    """Write a block's rows, each labelled with the outcome it is computed on."""
    for frame in frames:
        frame["outcome"] = scoring.outcome
    ctx.store.write_block(ctx.run_id, block, frames)


def brain_block(ctx: RunContext, dataset: str, brain: BrainData, scoring: Scoring) -> None:
    """The brain's rows of one scoring: its cross-region matrix, noise ceilings, cells,
    geometry and brain APS (on the scoring's outcome)."""
    block = f"{dataset}/brain/{scoring.label}"
    if ctx.store.has_block(ctx.run_id, block):
        return
    labels = {"dataset": dataset, "metric": scoring.label, "split": "all"}
    choices = ctx.cfg.effective_choices()
    metric, rdm = scoring.metric, choices["rdm"]
    ceiling = noise_ceiling(brain, metric, rdm=rdm, definition=choices["ceiling"]).drop_attrs()
    unreliable = unreliable_regions(ceiling).astype(float)
    t, aps, per_subject = _brain_tensor(ctx, brain, scoring)
    mean = subject_pair_mean(t)[0]
    if metric.symmetric and scoring.outcome == "score" and choices["partners"] == "all":
        mean = 0.5 * (mean + mean.T)  # exact symmetry, as cross_region_matrix gives it
    matrix = xr.DataArray(
        mean,
        dims=("region", "target_region"),
        coords={"region": coord(brain.regions), "target_region": coord(brain.regions)},
    )
    frames = [
        rows_from(matrix, analysis="cross_region_matrix", **labels),
        rows_from(ceiling, analysis="noise_ceiling", **labels),
        rows_from(unreliable, analysis="noise_ceiling", statistic="unreliable", **labels),
        rows_from(brain.present().astype(float), analysis="cells", statistic="present", **labels),
        *_brain_geometry(brain, labels, rdm),
    ]
    if per_subject is not None:
        frames.append(rows_from(per_subject.drop_attrs(), analysis="subject_ceiling", **labels))
    if aps is not None:
        if ctx.cfg.n_bootstrap == 0:
            frames.append(rows_from(aps, analysis="brain_aps", **labels))
            aps_mean = aps.mean("subject")
            frames.append(rows_from(aps_mean, analysis="brain_aps", statistic="mean", **labels))
        else:
            ci = brain_aps_ci_of(
                t,
                aps,
                ctx.cfg.n_bootstrap,
                seed=ctx.cfg.seed,
                bootstrap="fixed" if choices["bootstrap"] == "fixed" else "recompute",
                include_same_region=choices["include_same_region"],
                similarity=choices["similarity"],
            )
            frames.append(rows_from(ci["aps"], analysis="brain_aps", **labels))
            for stat, var in _CI_STATISTICS:
                values = ci[var].astype(float)
                frames.append(rows_from(values, analysis="brain_aps", statistic=stat, **labels))
    _write(ctx, block, frames, scoring)


def _brain_tensor(
    ctx: RunContext, brain: BrainData, scoring: Scoring
) -> tuple[np.ndarray, xr.DataArray | None, xr.DataArray | None]:
    """The brain's score tensor on all stimuli in the scoring's outcome (partner pairs only),
    its brain APS (None with fewer than 3 subjects or regions) and, for a normalised outcome,
    the per-subject ceilings."""
    choices = ctx.cfg.effective_choices()
    tensor = score_tensor(brain, metric=scoring.metric, rdm=choices["rdm"])
    pairs = partner_pairs(len(brain.subjects), choices["partners"], ctx.cfg.seed)
    per_subject = None
    t = partner_tensor(tensor.values, pairs)
    if scoring.outcome != "score":
        per_subject = noise_ceiling(
            brain,
            scoring.metric,
            rdm=choices["rdm"],
            definition="hoefling2026",
            scores=tensor,
            per_subject=True,
            pairs=pairs,
        )
        normalised, _ = outcome_tensors(t, None, per_subject.values, scoring.outcome, brain.regions)
        t = t if normalised is None else normalised
    need = 3 if choices["include_same_region"] else 4
    if len(brain.regions) < need or len(brain.subjects) < 3:
        return t, None, per_subject
    values = brain_aps_kernel(
        t,
        include_same_region=choices["include_same_region"],
        similarity=choices["similarity"],
    )
    aps = xr.DataArray(
        values,
        dims=("region", "subject"),
        coords={"region": coord(brain.regions), "subject": coord(brain.subjects)},
        name="aps_brain",
    )
    return t, aps, per_subject


#: RDMs of up to this many stimuli are stored whole (for the report's heatmaps); their
#: MDS coordinates are stored for any number.
RDM_ROWS_MAX = 150


def _geometry_rows(vector: np.ndarray, stimuli: list[Any], **labels: Any) -> list[pd.DataFrame]:
    """An RDM's classical MDS coordinates (and the RDM itself when small) as rows."""

    square = square_from_vector(np.asarray(vector, dtype=float))
    ids = [str(x) for x in stimuli]
    coords = xr.DataArray(
        classical_mds(square, 2),
        dims=("stimulus", "statistic"),
        coords={"stimulus": ids, "statistic": ["x", "y"]},
    )
    frames = [rows_from(coords, analysis="mds", **labels)]
    if len(ids) <= RDM_ROWS_MAX:
        rdm = xr.DataArray(
            square,
            dims=("stimulus", "target_stimulus"),
            coords={"stimulus": ids, "target_stimulus": ids},
        )
        frames.append(rows_from(rdm, analysis="rdm", **labels))
    return frames


def _brain_geometry(
    brain: BrainData, labels: dict[str, Any], rdm: str = "correlation"
) -> list[pd.DataFrame]:
    """Per region, the subject-mean RDM's geometry (all stimuli)."""
    frames = []
    for region in brain.regions:
        vector = brain.select(areas=[region]).rdm_vectors(rdm).mean(axis=0)
        frames.extend(_geometry_rows(vector, list(brain.stimuli), region=region, **labels))
    return frames


def _model_geometry(
    md: ModelData, layers: dict[Any, Any], labels: dict[str, Any]
) -> list[pd.DataFrame]:
    """Per region, the geometry of the model's layer chosen for it (all stimuli)."""
    vectors: dict[Any, np.ndarray] = {}
    frames = []
    for region, layer in layers.items():
        if layer not in vectors:
            vectors[layer] = md.select(areas=[layer]).rdm_vectors()[0]
        frames.extend(
            _geometry_rows(vectors[layer], list(md.stimuli), region=region, layer=layer, **labels)
        )
    return frames


#: (statistic in the database, variable of a CI dataset)
_CI_STATISTICS = (
    ("mean", "mean"),
    ("low", "low"),
    ("high", "high"),
    ("kept_fraction", "kept"),
    ("degenerate", "degenerate"),
)


def model_block(
    ctx: RunContext,
    dataset: str,
    brain: BrainData,
    mcfg: ModelConfig,
    md: ModelData,
    scoring: Scoring,
) -> Any:
    """Evaluate one model and store its rows; for a block already stored, return its
    evaluation (loaded from disk when this run saved it) only if the equivalence block still
    needs it."""
    cfg = ctx.cfg
    metric = scoring.metric
    block = f"{dataset}/model/{mcfg.name}/{scoring.label}"
    done = ctx.store.has_block(ctx.run_id, block)
    later = [f"{dataset}/equivalence/{scoring.label}"]
    if connectivity_for(ctx.cfg, dataset):
        later.append(f"{dataset}/connectivity/{scoring.label}")
    if done and all(ctx.store.has_block(ctx.run_id, b) for b in later):
        return None
    path = ctx.evaluation_path(dataset, mcfg.name, scoring.label)
    if done and path.is_file():
        evaluation = Evaluation.load(path)
    else:
        if not done:
            ctx.console.print(
                f"  {dataset} / {mcfg.name} / {scoring.label}: layer selection, score, APS, "
                f"{cfg.n_bootstrap} bootstraps",
                highlight=False,
            )
        fitted_on = md.attrs.get("fitted_on")  # a brain-predictive model: test stimuli only
        held_out = [s for s in brain.stimuli if str(s) not in set(fitted_on or [])]
        evaluation = Evaluation.fit(
            rename_model(md, mcfg.name),
            brain,
            train_stimuli=[s for s in brain.stimuli if str(s) in set(fitted_on)]
            if fitted_on
            else None,
            test_stimuli=held_out if fitted_on else None,
            protocol=cfg.protocol,
            metric=metric,
            rdm=cfg.effective_choices()["rdm"],
            test_fraction=cfg.test_fraction,
            seed=cfg.seed,
            outcome=scoring.outcome,
            **cfg.evaluation_choices(),
        )
        evaluation.save(path)
    ev = evaluation.to_dataset(cfg.n_bootstrap, n_permutations=cfg.n_permutations)
    if not done:
        paradigm = mcfg.paradigm or md.attrs.get("paradigm", "user")
        rows = _evaluation_rows(
            ev, dataset=dataset, model=mcfg.name, paradigm=paradigm, metric=scoring.label
        )
        geometry = {"dataset": dataset, "model": mcfg.name, "metric": scoring.label, "split": "all"}
        rows += _model_geometry(md.select([md.models[0]]), evaluation.layers, geometry)
        for frame in rows:  # which weights these numbers are of
            frame["weights"] = _weights_label(md)
        _write(ctx, block, rows, scoring)
    return evaluation, ev


def equivalence_block(
    ctx: RunContext,
    dataset: str,
    models: list[tuple[ModelConfig, ModelData]],
    evaluations: dict[str, Any],
    scoring: Scoring,
) -> None:
    block = f"{dataset}/equivalence/{scoring.label}"
    if not ctx.cfg.n_bootstrap or ctx.store.has_block(ctx.run_id, block) or not evaluations:
        return
    datasets = {name: ds for name, (_, ds) in evaluations.items()}
    crit = double_criterion(datasets)
    labels = {"dataset": dataset, "metric": scoring.label, "split": "test"}
    frames = [
        rows_from(crit[v].astype(float), analysis="equivalence", statistic=v, **labels)
        for v in ("score_equivalent", "aps_equivalent", "double")
    ]
    frames.extend(_paradigm_rows(models, datasets, dataset, scoring.label))
    frames.extend(_paired_rows(ctx, evaluations, labels))
    board = leaderboard(datasets)
    paradigms = {m.name: m.paradigm or md.attrs.get("paradigm", "user") for m, md in models}
    tags = {m.name: _weights_label(md) for m, md in models}
    for name in board.coords["model"].values:
        values = {k: float(board[k].sel(model=name)) for k in board.data_vars}
        row = scalar_rows(
            values, analysis="leaderboard", model=name, paradigm=paradigms[name], **labels
        )
        row["weights"] = tags[name]
        frames.append(row)
    _write(ctx, block, frames, scoring)


def connectivity_for(cfg: StudyConfig, dataset: str) -> list[ConnectivityConfig]:
    """The study's connectivity entries that apply to ``dataset``."""
    return [c for c in cfg.connectivity if c.datasets is None or dataset in c.datasets]


def load_study_connectivity(conn: ConnectivityConfig) -> xr.DataArray:
    """A connectivity entry's matrices (:func:`crossalign.io.load_connectivity`)."""
    return load_connectivity(conn.path, regions=conn.regions, variable=conn.variable)


def connectivity_block(
    ctx: RunContext, dataset: str, evaluations: dict[str, Any], scoring: Scoring
) -> None:
    """APS against each connectivity entry: the brain's patterns (on the first model's test
    stimuli, in the outcome) and every model's, with the null band per region."""
    block = f"{dataset}/connectivity/{scoring.label}"
    entries = connectivity_for(ctx.cfg, dataset)
    fitted = {name: e[0] for name, e in evaluations.items() if e is not None}
    if not entries or not fitted or ctx.store.has_block(ctx.run_id, block):
        return
    labels = {"dataset": dataset, "metric": scoring.label, "split": "test"}
    choices = ctx.cfg.effective_choices()
    frames = []
    for conn in entries:
        matrix = load_study_connectivity(conn)
        similarity = str(conn.similarity or choices["similarity"])
        first = next(iter(fitted.values()))
        targets = [(None, first, "brain")] + [(name, ev, "model") for name, ev in fitted.items()]
        for model, target, of in targets:
            result = connectivity_aps(
                target,
                matrix,
                similarity=similarity,
                n_random=conn.n_random,
                seed=ctx.cfg.seed,
                of=of,
            )
            frames.extend(_connectivity_rows(result, model=model, other_model=conn.name, **labels))
    _write(ctx, block, frames, scoring)


def _connectivity_rows(result: xr.Dataset, **labels: Any) -> list[pd.DataFrame]:
    """Rows of one connectivity APS: per (region, subject), the mean per region and, with a
    null, its band and the flag (1 above, 0 within, -1 below)."""
    analysis = "connectivity_aps"
    out = [
        rows_from(result["aps"], analysis=analysis, **labels),
        rows_from(result["mean"], analysis=analysis, statistic="mean", **labels),
    ]
    if "low" in result:
        sign = {"above": 1.0, "within": 0.0, "below": -1.0}
        flag = result["mean"].copy(data=[sign[str(f)] for f in result["flag"].values])
        out += [
            rows_from(result["low"], analysis=analysis, statistic="null_low", **labels),
            rows_from(result["high"], analysis=analysis, statistic="null_high", **labels),
            rows_from(flag.astype(float), analysis=analysis, statistic="flag", **labels),
        ]
    return out


#: The statistics of a paired comparison.
_PAIRED = ("difference", "low", "high", "p_value")


def _paired_rows(
    ctx: RunContext, evaluations: dict[str, Any], labels: dict[str, str]
) -> list[pd.DataFrame]:
    """Every pair of models compared on the same subjects: the difference of score and APS
    (first minus second), its bootstrap CI and the paired permutation p-value, per region
    and for the mean over regions (rows without a region)."""
    names = list(evaluations)
    frames = []
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            cmp = evaluations[a][0].compare(
                evaluations[b][0],
                n_bootstrap=ctx.cfg.n_bootstrap,
                n_permutations=ctx.cfg.n_permutations,
            )
            for stat in ("score", "aps"):
                for var in _PAIRED:
                    frames.append(
                        rows_from(
                            cmp[var].sel(statistic=stat, drop=True),
                            analysis=f"paired_{stat}",
                            statistic=var,
                            model=a,
                            other_model=b,
                            **labels,
                        )
                    )
                mean = {v: float(cmp[f"mean_{v}"].sel(statistic=stat)) for v in _PAIRED}
                frames.append(  # the mean over regions, stored without a region
                    scalar_rows(mean, analysis=f"paired_{stat}", model=a, other_model=b, **labels)
                )
    return frames


def _paradigm_rows(
    models: list[tuple[ModelConfig, ModelData]],
    evaluations: dict[str, Any],
    dataset: str,
    metric: str,
) -> list[pd.DataFrame]:
    """The paradigm comparison on the evaluation machinery: per paradigm, the mean score and
    APS over its models and regions, with paired-bootstrap CIs."""
    groups: dict[str, dict[str, Any]] = {}
    for mcfg, md in models:
        paradigm = mcfg.paradigm or md.attrs.get("paradigm", "user")
        groups.setdefault(str(paradigm), {})[mcfg.name] = evaluations[mcfg.name]
    summary = paradigm_summary(groups)
    frames = []
    for paradigm in summary.coords["paradigm"].values:
        sel = summary.sel(paradigm=paradigm)
        values = {
            f"{stat}_{part}": float(sel[part].sel(statistic=stat))
            for stat in ("score", "aps")
            for part in ("mean", "low", "high")
        }
        values["n_models"] = float(sel["n_models"])
        frames.append(
            scalar_rows(
                values,
                analysis="paradigm",
                paradigm=str(paradigm),
                dataset=dataset,
                metric=metric,
                split="test",
            )
        )
    return frames


_MATRICES = (
    ("brain_matrix", "brain_matrix_test"),
    ("model_matrix", "model_matrix"),
    ("model_pattern", "model_to_brain"),
    ("brain_pattern", "brain_pattern"),
    ("brain_pattern_low", "brain_pattern_low"),
    ("brain_pattern_high", "brain_pattern_high"),
)


def _evaluation_rows(ev: Any, **labels: Any) -> list[pd.DataFrame]:
    test = {**labels, "split": "test"}
    train = {**labels, "split": "train"}
    frames = []
    for var in ("score", "aps", "brain_aps"):
        frames.append(rows_from(ev[var], analysis=var, **test))
        for stat, suffix in _CI_STATISTICS:
            if f"{var}_{suffix}" in ev:
                values = ev[f"{var}_{suffix}"].astype(float)
                frames.append(rows_from(values, analysis=var, statistic=stat, **test))
    frames.append(rows_from(ev["score_normalised"], analysis="score_normalised", **test))
    if ev.attrs.get("outcome", "score") != "score":  # the raw score and the ceilings beside it
        frames.append(rows_from(ev["raw_score"], analysis="raw_score", **test))
        frames.append(rows_from(ev["subject_ceiling"], analysis="subject_ceiling_test", **test))
    frames.append(rows_from(ev["ceiling"], analysis="noise_ceiling_test", **test))
    frames.append(
        pd.concat(
            [
                scalar_rows(
                    {"selected": 1.0}, analysis="selected_layer", region=r, layer=la, **train
                )
                for r, la in ev["layer"].to_series().items()
            ]
        )
    )
    if "layer_profile" in ev:
        prof = ev["layer_profile"].rename(candidate_layer="layer")
        frames.append(rows_from(prof, analysis="layer_profile", **train))
    for var in ("layer_score", "layer_aps"):  # every layer on the test stimuli
        if var in ev:
            frames.append(rows_from(ev[var].rename(candidate_layer="layer"), analysis=var, **test))
    for var, analysis in _MATRICES:
        frames.append(rows_from(ev[var], analysis=analysis, **test))
    frames.append(
        scalar_rows(
            {
                "pattern_correlation": float(ev["matrix_pattern_correlation"]),
                "pattern_correlation_with_diagonal": float(
                    ev["matrix_pattern_correlation_with_diagonal"]
                ),
                "p_value": float(ev["matrix_p_value"]),
                "n_permutations": ev.attrs["n_permutations"],
            },
            analysis="matrix_comparison",
            **test,
        )
    )
    return frames


def summary_table(results: pd.DataFrame) -> pd.DataFrame:
    """Headline numbers: mean score and APS (with CIs) per dataset, model, region, metric.

    Parameters
    ----------
    results : pandas.DataFrame
        Result rows of a run.

    Returns
    -------
    pandas.DataFrame
    """
    rows = results[
        results["analysis"].isin(["score", "aps"])
        & results["statistic"].isin(["mean", "low", "high"])
    ]
    if rows.empty:
        return pd.DataFrame()
    wide = rows.pivot_table(
        index=["dataset", "metric", "model", "region"],
        columns=["analysis", "statistic"],
        values="value",
        aggfunc="first",
        sort=False,
    )
    wide.columns = [f"{a}_{s}" for a, s in wide.columns]
    layers = results[results["analysis"] == "selected_layer"].set_index(
        ["dataset", "metric", "model", "region"]
    )["layer"]
    wide["layer"] = layers.reindex(wide.index)
    return wide.reset_index()
