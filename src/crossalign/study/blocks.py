"""The blocks of a study run, each written to the store in one transaction: the brain's, each
model's, the equivalence analysis and paired comparisons, and the rows they hold."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from crossalign.analysis.aps import brain_aps, brain_aps_ci
from crossalign.analysis.patterns import cross_region_matrix
from crossalign.compute.rdm import classical_mds, square_from_vector
from crossalign.data.containers import BrainData, ModelData
from crossalign.evaluation.core import Evaluation
from crossalign.evaluation.protocols import get_protocol
from crossalign.evaluation.summaries import leaderboard, paradigm_summary
from crossalign.io.outputs import slug
from crossalign.stats.ceilings import noise_ceiling, unreliable_regions
from crossalign.stats.equivalence import double_criterion
from crossalign.study.config import (
    ModelConfig,
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


def brain_block(ctx: RunContext, dataset: str, brain: BrainData, metric: Any) -> None:
    block = f"{dataset}/brain/{metric.label}"
    if ctx.store.has_block(ctx.run_id, block):
        return
    labels = {"dataset": dataset, "metric": metric.label, "split": "all"}
    protocol = get_protocol(ctx.cfg.protocol)
    rdm = ctx.cfg.effective_choices()["rdm"]
    ceiling = noise_ceiling(brain, metric, rdm=rdm, definition=protocol.ceiling).drop_attrs()
    unreliable = unreliable_regions(ceiling).astype(float)
    frames = [
        rows_from(
            cross_region_matrix(brain, metric, rdm=rdm), analysis="cross_region_matrix", **labels
        ),
        rows_from(ceiling, analysis="noise_ceiling", **labels),
        rows_from(unreliable, analysis="noise_ceiling", statistic="unreliable", **labels),
        rows_from(brain.present().astype(float), analysis="cells", statistic="present", **labels),
        *_brain_geometry(brain, labels, rdm),
    ]
    if len(brain.regions) >= 3 and len(brain.subjects) >= 3:
        if ctx.cfg.n_bootstrap == 0:
            aps = brain_aps(brain, metric, rdm=rdm)
            frames.append(rows_from(aps, analysis="brain_aps", **labels))
            mean = aps.mean("subject")
            frames.append(rows_from(mean, analysis="brain_aps", statistic="mean", **labels))
        else:
            ci = brain_aps_ci(
                brain,
                metric,
                rdm=rdm,
                n_bootstrap=ctx.cfg.n_bootstrap,
                seed=ctx.cfg.seed,
                bootstrap=protocol.bootstrap,
            )
            frames.append(rows_from(ci["aps"], analysis="brain_aps", **labels))
            for stat, var in _CI_STATISTICS:
                values = ci[var].astype(float)
                frames.append(rows_from(values, analysis="brain_aps", statistic=stat, **labels))
    ctx.store.write_block(ctx.run_id, block, frames)


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
    metric: Any,
) -> Any:
    """Evaluate one model and store its rows; for a block already stored, return its
    evaluation (loaded from disk when this run saved it) only if the equivalence block still
    needs it."""
    cfg = ctx.cfg
    block = f"{dataset}/model/{mcfg.name}/{metric.label}"
    done = ctx.store.has_block(ctx.run_id, block)
    if done and ctx.store.has_block(ctx.run_id, f"{dataset}/equivalence/{metric.label}"):
        return None
    path = ctx.evaluation_path(dataset, mcfg.name, metric.label)
    if done and path.is_file():
        evaluation = Evaluation.load(path)
    else:
        if not done:
            ctx.console.print(
                f"  {dataset} / {mcfg.name} / {metric.label}: layer selection, score, APS, "
                f"{cfg.n_bootstrap} bootstraps",
                highlight=False,
            )
        evaluation = Evaluation.fit(
            rename_model(md, mcfg.name),
            brain,
            protocol=cfg.protocol,
            metric=metric,
            rdm=cfg.effective_choices()["rdm"],
            test_fraction=cfg.test_fraction,
            seed=cfg.seed,
        )
        evaluation.save(path)
    ev = evaluation.to_dataset(cfg.n_bootstrap, n_permutations=cfg.n_permutations)
    if not done:
        paradigm = mcfg.paradigm or md.attrs.get("paradigm", "user")
        rows = _evaluation_rows(
            ev, dataset=dataset, model=mcfg.name, paradigm=paradigm, metric=metric.label
        )
        geometry = {"dataset": dataset, "model": mcfg.name, "metric": metric.label, "split": "all"}
        rows += _model_geometry(md.select([md.models[0]]), evaluation.layers, geometry)
        ctx.store.write_block(ctx.run_id, block, rows)
    return evaluation, ev


def equivalence_block(
    ctx: RunContext,
    dataset: str,
    models: list[tuple[ModelConfig, ModelData]],
    evaluations: dict[str, Any],
    metric: Any,
) -> None:
    block = f"{dataset}/equivalence/{metric.label}"
    if not ctx.cfg.n_bootstrap or ctx.store.has_block(ctx.run_id, block) or not evaluations:
        return
    datasets = {name: ds for name, (_, ds) in evaluations.items()}
    crit = double_criterion(datasets)
    labels = {"dataset": dataset, "metric": metric.label, "split": "test"}
    frames = [
        rows_from(crit[v].astype(float), analysis="equivalence", statistic=v, **labels)
        for v in ("score_equivalent", "aps_equivalent", "double")
    ]
    frames.extend(_paradigm_rows(models, datasets, dataset, metric.label))
    frames.extend(_paired_rows(ctx, evaluations, labels))
    board = leaderboard(datasets)
    paradigms = {m.name: m.paradigm or md.attrs.get("paradigm", "user") for m, md in models}
    for name in board.coords["model"].values:
        values = {k: float(board[k].sel(model=name)) for k in board.data_vars}
        frames.append(
            scalar_rows(
                values, analysis="leaderboard", model=name, paradigm=paradigms[name], **labels
            )
        )
    ctx.store.write_block(ctx.run_id, block, frames)


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
