"""A whole study from one validated config: ``crossalign run study.toml`` and ``crossalign demo``.

For each dataset and metric: the brain cross-region matrix, noise ceilings and brain APS with
CIs; for each model: layers chosen on training stimuli, pointwise score and APS on test
stimuli with bootstrap CIs, the seed's matrix-level comparison, alignment patterns and layer
profiles; across models: the equivalence analysis (double criterion) and paradigm summaries.
Every number goes to ``OUT/results.duckdb`` block by block (one transaction each, so an
interrupted run resumes with ``--resume`` where it stopped); figures and the HTML report are
then drawn from the database, so the report shows exactly what the database holds.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .data import BrainData, ModelData
from .store import ResultsStore, rows_from, scalar_rows

__all__ = ["DEMO_STUDY", "DatasetConfig", "ModelConfig", "StudyConfig", "load_study", "run_study"]


class DatasetConfig(BaseModel):
    """A brain dataset: a reference dataset by name, or a user file (``path``)."""

    model_config = ConfigDict(extra="forbid")
    name: str
    options: dict[str, Any] = Field(default_factory=dict)
    path: str | None = None
    regions: list[str] | None = None


class ModelConfig(BaseModel):
    """A model. ``source``: ``registry`` (``model`` name, e.g. efficientnet_lite0 or
    timm:resnet18), ``predictors`` (the dataset's hand-built model RDMs), ``pixels`` (a
    pixel-space model of the stimulus images), ``activations`` (a precomputed file at
    ``path``), or ``module`` (``"package.module:factory"``, needs --allow-user-modules)."""

    model_config = ConfigDict(extra="forbid")
    name: str
    source: Literal["registry", "predictors", "pixels", "activations", "module"] = "registry"
    model: str | None = None
    pretrained: bool = True
    seed: int = 0
    path: str | None = None
    module: str | None = None
    layers: list[str] | str | None = None
    pool: Literal["flatten", "avg"] = "flatten"
    paradigm: str | None = None
    datasets: list[str] | None = None


class StudyConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = "study"
    datasets: list[DatasetConfig] = Field(min_length=1)
    models: list[ModelConfig] = Field(default_factory=list)
    metrics: list[str] = Field(default_factory=lambda: ["spearman"])
    test_fraction: float = Field(0.5, gt=0.0, lt=1.0)
    seed: int = 0
    n_bootstrap: int = Field(1000, ge=0)
    n_permutations: int = Field(1000, ge=1)
    batch_size: int = Field(32, ge=1)
    cache_dir: str | None = None
    memory_budget: str | None = None  # e.g. "8GB"; default 80% of the available memory

    @field_validator("memory_budget")
    @classmethod
    def _valid_budget(cls, value: str | None) -> str | None:
        from ._options import parse_bytes

        if value is not None:
            parse_bytes(value)
        return value

    @field_validator("metrics")
    @classmethod
    def _known_metrics(cls, value: list[str]) -> list[str]:
        from .metrics import METRICS

        for name in value:
            METRICS.get(name)  # raises with the valid names and the closest match
        if not value:
            raise ValueError("at least one metric is needed")
        return value


DEMO_STUDY: dict[str, Any] = {
    "name": "demo",
    "datasets": [
        {"name": "cichy2014"},
        {"name": "castaldi2019", "options": {"task": "both"}},
    ],
    "models": [
        {"name": "EfficientNet-Lite0", "model": "efficientnet_lite0", "paradigm": "supervised"},
        {
            "name": "EfficientNet-Lite0 untrained",
            "model": "efficientnet_lite0",
            "pretrained": False,
            "seed": 0,
            "paradigm": "untrained",
        },
        {"name": "pixels", "source": "pixels", "paradigm": "hand-built"},
        {
            "name": "Castaldi predictors",
            "source": "predictors",
            "paradigm": "hand-built",
            "datasets": ["castaldi2019"],
        },
    ],
    "metrics": ["spearman"],
    "n_bootstrap": 1000,
}


def load_study(path: str | Path) -> StudyConfig:
    """Read and validate a TOML study file (errors name the file and the field)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"The study file '{path}' does not exist.")
    try:
        raw = tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"The study file '{path}' is not valid TOML: {exc}") from None
    return parse_study(raw, where=str(path))


def parse_study(raw: dict[str, Any], where: str = "the study config") -> StudyConfig:
    try:
        return StudyConfig.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(top level)'}: {e['msg']}"
            for e in exc.errors()
        )
        raise ValueError(f"In {where}: {problems}") from None


# ---------------------------------------------------------------------- building blocks
def _load_brain(cfg: DatasetConfig) -> BrainData:
    from .io import load_arrays, load_dataset, load_table, load_xarray

    if cfg.path is None:
        data = load_dataset(cfg.name, **cfg.options)
    else:
        path = Path(cfg.path)
        suffix = path.suffix.lower()
        if suffix in (".nc", ".zarr"):
            data = load_xarray(path, **cfg.options)
        elif suffix in (".csv", ".tsv", ".parquet"):
            data = load_table(path, **cfg.options)
        else:
            data = load_arrays(path, **cfg.options)
        data.attrs.setdefault("title", cfg.name)
    if cfg.regions:
        data = data.select(areas=cfg.regions)
    return data


def _pixel_model(size: int = 64) -> Callable[[list[Any]], dict[str, np.ndarray]]:
    """A pixel-space model: each image as grey levels on a size x size grid."""

    def pixels(images: list[Any]) -> dict[str, np.ndarray]:
        from PIL import Image

        out = []
        for image in images:
            if isinstance(image, str | Path):
                with Image.open(image) as img:
                    grey = img.convert("L").resize((size, size), Image.BILINEAR)
            else:
                grey = Image.fromarray(np.asarray(image)).convert("L").resize((size, size))
            out.append(np.asarray(grey, dtype=np.float64).ravel() / 255.0)
        return {"pixels": np.stack(out)}

    pixels.name = "pixels"  # type: ignore[attr-defined]
    return pixels


def _build_models(
    cfg: StudyConfig,
    dataset: DatasetConfig,
    brain: BrainData,
    allow_user_modules: bool,
    console: Any,
) -> list[tuple[ModelConfig, ModelData]]:
    from .models import extract, load_model

    out = []
    for mcfg in cfg.models:
        if mcfg.datasets is not None and dataset.name not in mcfg.datasets:
            continue
        if mcfg.source == "predictors":
            preds = brain.attrs.get("models")
            if preds is None:
                console.print(f"  {dataset.name}: no predictor models; skipping {mcfg.name}")
                continue
            for name in preds.models:
                md = preds.select([name])
                md.attrs.update(preds.attrs)
                out.append((mcfg.model_copy(update={"name": str(name)}), md))
            continue
        if mcfg.source == "activations":
            from .io import load_activations

            if not mcfg.path:
                raise ValueError(f"Model {mcfg.name!r}: source 'activations' needs a 'path'.")
            md = load_activations(mcfg.path, model=mcfg.name)
            out.append((mcfg, md.align_to(brain.stimuli)))
            continue
        if not brain.attrs.get("stimulus_paths"):
            console.print(f"  {dataset.name}: no stimulus images; skipping {mcfg.name}")
            continue
        if mcfg.source == "pixels":
            model: Any = _pixel_model()
        elif mcfg.source == "module":
            model = _user_module(mcfg, allow_user_modules)
        else:
            model = load_model(mcfg.model or mcfg.name, pretrained=mcfg.pretrained, seed=mcfg.seed)
        md = extract(
            model,
            brain,
            layers=mcfg.layers,
            pool=mcfg.pool,
            batch_size=cfg.batch_size,
            cache=cfg.cache_dir or True,
            progress=console.is_terminal,
        )
        out.append((mcfg, md))
    return out


def _user_module(mcfg: ModelConfig, allowed: bool) -> Any:
    if not allowed:
        raise ValueError(
            f"Model {mcfg.name!r} names Python code to import ({mcfg.module!r}); pass "
            "--allow-user-modules to run code named in a config file."
        )
    if not mcfg.module or ":" not in mcfg.module:
        raise ValueError(
            f"Model {mcfg.name!r}: 'module' must look like 'package.module:factory'. Got "
            f"{mcfg.module!r}."
        )
    import importlib

    module_name, _, factory = mcfg.module.partition(":")
    return getattr(importlib.import_module(module_name), factory)()


def _rename_model(md: ModelData, name: str) -> ModelData:
    old = md.models[0]
    if old == name:
        return md
    entries = {(name, layer): md[(old, layer)] for layer in md.layers(old)}
    out = ModelData(
        {k: v.values for k, v in entries.items()},
        {k: md.kind((old, k[1])) for k in entries},
        md.stimuli,
        md.attrs,
    )
    return out


# ---------------------------------------------------------------------- the run
def run_study(
    config: StudyConfig | dict[str, Any],
    out_dir: str | Path,
    *,
    resume: bool = False,
    allow_user_modules: bool = False,
    console: Any = None,
) -> dict[str, Any]:
    """Run a study; write ``results.duckdb``, ``figures/`` and ``report.html`` to ``out_dir``.

    Returns ``{"run_id", "database", "report", "figures", "summary"}`` where ``summary`` is a
    DataFrame of the headline numbers (per dataset, model and region).
    """
    from ._options import options

    cfg = config if isinstance(config, StudyConfig) else parse_study(config)
    with options(memory_budget=cfg.memory_budget):
        return _run(cfg, out_dir, resume, allow_user_modules, console)


def _preflight(cfg: StudyConfig, console: Any) -> list[tuple[DatasetConfig, BrainData]]:
    """Load every dataset, plan its brain-to-brain scoring and print the plan's memory and
    time estimates; refuse the study before it starts if the scoring cannot fit the memory
    budget even streamed (the estimate is in the message)."""
    from .engine import plan_scores
    from .metrics import get_metric

    loaded = []
    for dcfg in cfg.datasets:
        brain = _load_brain(dcfg)
        for metric_name in cfg.metrics:
            plan = plan_scores(brain, None, get_metric(metric_name))
            if console is not None:
                console.print(f"Plan for {dcfg.name}: {plan.describe()}")
        loaded.append((dcfg, brain))
    return loaded


def _run(
    cfg: StudyConfig, out_dir: str | Path, resume: bool, allow_user_modules: bool, console: Any
) -> dict[str, Any]:
    from rich.console import Console

    from . import __version__
    from .aps import brain_aps_ci, evaluate_model
    from .metrics import get_metric
    from .patterns import cross_region_matrix
    from .stats import double_criterion, noise_ceiling

    console = console or Console()
    datasets = _preflight(cfg, console)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    raw = cfg.model_dump()
    with ResultsStore(out / "results.duckdb") as store:
        run_id = store.resumable_run(cfg.name, raw) if resume else None
        if run_id:
            console.print(f"Resuming run {run_id}")
        else:
            run_id = store.start_run(cfg.name, raw, __version__)
        try:
            for dcfg, brain in datasets:
                console.print(
                    f"[bold]{dcfg.name}[/]: {brain.n_stimuli} stimuli, "
                    f"{len(brain.subjects)} subjects, {len(brain.regions)} regions"
                )
                for metric_name in cfg.metrics:
                    metric = get_metric(metric_name)
                    block = f"{dcfg.name}/brain/{metric.name}"
                    if not store.has_block(run_id, block):
                        labels = {"dataset": dcfg.name, "metric": metric.name, "split": "all"}
                        frames = [
                            rows_from(
                                cross_region_matrix(brain, metric),
                                analysis="cross_region_matrix",
                                **labels,
                            ),
                            rows_from(
                                noise_ceiling(brain, metric), analysis="noise_ceiling", **labels
                            ),
                        ]
                        if len(brain.regions) >= 3 and len(brain.subjects) >= 3:
                            ci = brain_aps_ci(
                                brain, metric, n_bootstrap=max(cfg.n_bootstrap, 1), seed=cfg.seed
                            )
                            frames.append(rows_from(ci["aps"], analysis="brain_aps", **labels))
                            for stat in ("mean", "low", "high"):
                                frames.append(
                                    rows_from(
                                        ci[stat], analysis="brain_aps", statistic=stat, **labels
                                    )
                                )
                        store.write_block(run_id, block, frames)
                models = None
                for metric_name in cfg.metrics:
                    metric = get_metric(metric_name)
                    evaluations = {}
                    if models is None:
                        models = _build_models(cfg, dcfg, brain, allow_user_modules, console)
                    for mcfg, md in models:
                        block = f"{dcfg.name}/model/{mcfg.name}/{metric.name}"
                        if store.has_block(run_id, block):
                            continue
                        console.print(
                            f"  {dcfg.name} / {mcfg.name} / {metric.name}: layer selection, "
                            f"score, APS, {cfg.n_bootstrap} bootstraps"
                        )
                        md = _rename_model(md, mcfg.name)
                        ev = evaluate_model(
                            md,
                            brain,
                            metric=metric,
                            test_fraction=cfg.test_fraction,
                            seed=cfg.seed,
                            n_bootstrap=cfg.n_bootstrap,
                        )
                        evaluations[mcfg.name] = ev
                        store.write_block(
                            run_id,
                            block,
                            _evaluation_rows(
                                ev,
                                dataset=dcfg.name,
                                model=mcfg.name,
                                paradigm=mcfg.paradigm or md.attrs.get("paradigm", "user"),
                                metric=metric.name,
                            ),
                        )
                    block = f"{dcfg.name}/equivalence/{metric.name}"
                    if cfg.n_bootstrap and not store.has_block(run_id, block):
                        for m, md in models:  # models already stored (resume): same seeds, same
                            if m.name not in evaluations:  # numbers; recompute for the test
                                evaluations[m.name] = evaluate_model(
                                    _rename_model(md, m.name),
                                    brain,
                                    metric=metric,
                                    test_fraction=cfg.test_fraction,
                                    seed=cfg.seed,
                                    n_bootstrap=cfg.n_bootstrap,
                                )
                        if evaluations:
                            crit = double_criterion(evaluations)
                            frames = [
                                rows_from(
                                    crit[v].astype(float),
                                    analysis="equivalence",
                                    statistic=v,
                                    dataset=dcfg.name,
                                    metric=metric.name,
                                    split="test",
                                )
                                for v in ("score_equivalent", "aps_equivalent", "double")
                            ]
                            frames.extend(
                                _paradigm_rows(models, evaluations, dcfg.name, metric.name)
                            )
                            store.write_block(run_id, block, frames)
            store.finish(run_id, "computed")
            results = store.results(run_id)
        except BaseException:
            store.finish(run_id, "failed")
            raise
    from .report import write_report

    figures, report = write_report(results, cfg, out, run_id)
    with ResultsStore(out / "results.duckdb") as store:
        store.finish(run_id, "complete")
    return {
        "run_id": run_id,
        "database": out / "results.duckdb",
        "report": report,
        "figures": figures,
        "summary": summary_table(results),
    }


def _paradigm_rows(
    models: list[tuple[ModelConfig, ModelData]],
    evaluations: dict[str, Any],
    dataset: str,
    metric: str,
) -> list[pd.DataFrame]:
    """The seed's paradigm comparison on the evaluation machinery: per paradigm, the mean
    score and APS over its models and regions, with paired-bootstrap CIs."""
    from .stats import paradigm_summary

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


def _evaluation_rows(ev: Any, **labels: Any) -> list[pd.DataFrame]:
    lab = dict(labels)
    test = {**lab, "split": "test"}
    frames = []
    for var in ("score", "aps", "brain_aps"):
        frames.append(rows_from(ev[var], analysis=var, **test))
        for stat in ("mean", "low", "high"):
            if f"{var}_{stat}" in ev:
                frames.append(rows_from(ev[f"{var}_{stat}"], analysis=var, statistic=stat, **test))
    frames.append(rows_from(ev["score_normalised"], analysis="score_normalised", **test))
    frames.append(rows_from(ev["ceiling"], analysis="noise_ceiling_test", **test))
    layers = ev["layer"].to_series()
    frames.append(
        pd.concat(
            [
                scalar_rows(
                    {"selected": 1.0},
                    analysis="selected_layer",
                    region=r,
                    layer=la,
                    **{**lab, "split": "train"},
                )
                for r, la in layers.items()
            ]
        )
    )
    if "layer_profile" in ev:
        prof = ev["layer_profile"].rename(candidate_layer="layer")
        frames.append(rows_from(prof, analysis="layer_profile", **{**lab, "split": "train"}))
    for var, analysis in (
        ("brain_matrix", "brain_matrix_test"),
        ("model_matrix", "model_matrix"),
        ("model_pattern", "model_to_brain"),
        ("brain_pattern", "brain_pattern"),
        ("brain_pattern_low", "brain_pattern_low"),
        ("brain_pattern_high", "brain_pattern_high"),
    ):
        frames.append(rows_from(ev[var], analysis=analysis, **test))
    frames.append(
        scalar_rows(
            {
                "pattern_correlation": ev.attrs["matrix_pattern_correlation"],
                "pattern_correlation_with_diagonal": ev.attrs[
                    "matrix_pattern_correlation_with_diagonal"
                ],
                "p_value": ev.attrs["matrix_p_value"],
            },
            analysis="matrix_comparison",
            **test,
        )
    )
    return frames


def summary_table(results: pd.DataFrame) -> pd.DataFrame:
    """Headline numbers: mean score and APS (with CIs) per dataset, model, region, metric."""
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
