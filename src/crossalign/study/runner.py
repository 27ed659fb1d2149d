"""A whole study from one validated config: ``crossalign run study.toml`` and ``crossalign demo``.

For each dataset and metric: the brain cross-region matrix, noise ceilings and brain APS with
CIs; for each model: layers chosen on training stimuli, pointwise score and APS on test
stimuli with bootstrap CIs, the matrix-level comparison, alignment patterns and layer
profiles; across models: the equivalence analysis (double criterion) and paradigm summaries.

Every number goes to ``OUT/results.duckdb`` block by block (one transaction each). A run holds
its output folder's lock from start to report. ``--resume`` continues an interrupted run only
if everything that decides its numbers is unchanged: the validated config, a content hash of
every input (data, stimulus files, activation and RDM files), the crossalign version, the
backend and the dtype; otherwise it is refused, naming what changed. Figures and the HTML
report are drawn from the database, so the report shows exactly what the database holds.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rich.console import Console

from crossalign.compute.context import Context, using
from crossalign.config import MemoryBudgetError, get_option, options
from crossalign.data.containers import BrainData, ModelData
from crossalign.engine.plan import plan_scores
from crossalign.errors import (
    CrossalignError,
    InputError,
    ProtocolOverrideWarning,
    ReliabilityWarning,
)
from crossalign.io import load_arrays, load_dataset, load_region_files, load_table, load_xarray
from crossalign.io.loaders import match_stimulus_files
from crossalign.io.outputs import locked_folder
from crossalign.io.parcellations import load_parcellation
from crossalign.models.extract import extraction_bytes
from crossalign.study.blocks import (
    RunContext,
    brain_block,
    connectivity_block,
    connectivity_for,
    equivalence_block,
    load_study_connectivity,
    model_block,
    summary_table,
)
from crossalign.study.config import (
    DEMO_STUDY,
    IMAGE_SOURCES,
    DatasetConfig,
    ModelConfig,
    StudyConfig,
    load_study,
    parse_study,
)
from crossalign.study.models import IMAGE_MODELS, build_models, check_models, models_for, projection
from crossalign.study.plan import plan_inference
from crossalign.study.report import write_report
from crossalign.study.resume import key_parts, open_run
from crossalign.study.store import ResultsStore

__all__ = [
    "DEMO_STUDY",
    "DatasetConfig",
    "ModelConfig",
    "StudyConfig",
    "load_study",
    "parse_study",
    "run_study",
    "summary_table",
]


# ---------------------------------------------------------------------- inputs
def _load_brain(cfg: DatasetConfig) -> BrainData:
    if isinstance(cfg.regions, dict):
        data = load_region_files(cfg.regions, **cfg.options)
    elif cfg.path is None:
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
    if cfg.path is not None or isinstance(cfg.regions, dict):
        data.attrs.setdefault("title", cfg.key)
    if isinstance(cfg.regions, list):
        data = data.select(areas=cfg.regions)
    if cfg.stimuli is not None:
        data.attrs["stimulus_paths"] = match_stimulus_files(cfg.stimuli, list(data.stimuli))
    if cfg.parcellation is not None:
        _check_parcels(cfg, data)
        data.attrs["parcellation"] = cfg.parcellation
    return data


def _check_parcels(cfg: DatasetConfig, data: BrainData) -> None:
    """The dataset's regions must be parcels of the parcellation its entry names."""
    parcels = set(load_parcellation(str(cfg.parcellation)).regions)
    unknown = [str(r) for r in data.regions if str(r) not in parcels]
    if unknown:
        raise InputError(
            f"Dataset {cfg.key!r}: 'parcellation' = {cfg.parcellation!r}, but its regions "
            f"{unknown[:5]} are not parcels of it. Expected region names of that map (e.g. "
            f"{sorted(parcels)[:3]})."
        )


def _check_connectivity(cfg: StudyConfig, dcfg: DatasetConfig, brain: BrainData) -> None:
    """Every connectivity entry of the dataset reads and names all of its regions."""
    for conn in connectivity_for(cfg, dcfg.key):
        names = [str(r) for r in load_study_connectivity(conn).coords["region"].values]
        missing = [str(r) for r in brain.regions if str(r) not in names]
        if missing:
            raise InputError(
                f"connectivity {conn.name!r} ('{conn.path}') has no region(s) {missing[:10]} "
                f"of dataset {dcfg.key!r}; it names {names[:10]}. Regions are matched by name."
            )


def _preflight(
    cfg: StudyConfig, console: Any, allow_user_modules: bool = False
) -> list[tuple[DatasetConfig, BrainData]]:
    """Load every dataset, check every model can run on it, plan the scoring and the
    resampling loops and print the plans; refuse the study before it starts if any of this
    fails (the message names the dataset, model or parameter)."""
    loaded = []
    for dcfg in cfg.datasets:
        brain = _load_brain(dcfg)
        _check_connectivity(cfg, dcfg, brain)
        check_models(cfg, dcfg, brain, allow_user_modules)
        for metric in cfg.metric_objects():
            plan = plan_scores(brain, None, metric)
            if console is not None:
                console.print(f"Plan for {dcfg.key}: {plan.describe()}")
        models = models_for(cfg, dcfg)
        inference = plan_inference(
            len(brain.subjects),
            len(brain.regions),
            len(models),
            max((len(m.layers) for m in models if isinstance(m.layers, list)), default=20),
            n_bootstrap=cfg.n_bootstrap,
            n_permutations=cfg.n_permutations,
        )
        if console is not None:
            console.print(f"Plan for {dcfg.key}: {inference.describe()}")
        for mcfg in models:
            if mcfg.source in IMAGE_SOURCES and mcfg.source != "pixels":
                _plan_extraction(cfg, mcfg, brain, allow_user_modules, console)
        loaded.append((dcfg, brain))
    return loaded


def _plan_extraction(
    cfg: StudyConfig, mcfg: ModelConfig, brain: BrainData, allowed: bool, console: Any
) -> None:
    """The memory of a model's stored activations, from one blank forward pass; refused
    before anything runs when over the budget, naming the model and what reduces it."""
    model = IMAGE_MODELS[mcfg.source](mcfg, allowed)
    need = extraction_bytes(model, brain.n_stimuli, mcfg.layers, mcfg.pool, projection(cfg, mcfg))
    budget = get_option("memory_budget")
    if need > budget:
        raise MemoryBudgetError(
            f"Model {mcfg.name!r}: its activations for {brain.n_stimuli} stimuli need about "
            f"{need / 1e9:.3g} GB, over the memory budget of {budget / 1e9:.3g} GB. Set its "
            "'projection' (e.g. \"auto\"), pool = \"avg\", fewer 'layers', or a larger "
            "memory_budget."
        )
    if console is not None:
        console.print(
            f"Plan for {mcfg.name}: activations of {brain.n_stimuli} stimuli, about "
            f"{need / 1e6:.1f} MB",
            highlight=False,
        )


# ---------------------------------------------------------------------- the run
def run_study(
    config: StudyConfig | dict[str, Any],
    out_dir: str | Path,
    *,
    resume: bool = False,
    allow_user_modules: bool = False,
    console: Any = None,
    report: bool = True,
) -> dict[str, Any]:
    """Run a study; write ``results.duckdb``, ``figures/`` and ``report.html`` to ``out_dir``.

    Parameters
    ----------
    config : StudyConfig or dict
        The study (a dict is validated first; its relative paths resolve from the working
        directory, those of a study file from the file's folder).
    out_dir : str or Path
        The output folder; held by this run (a second run on it is refused) until it ends.
    resume : bool
        Continue the latest unfinished run of this study in ``out_dir``; refused if its
        config, inputs, crossalign version, backend or dtype differ.
    allow_user_modules : bool
        Allow models that name Python code to import (``source = "module"``).
    console : rich.console.Console, optional
        Where progress, plans and warnings are printed.
    report : bool
        Draw the figures and write the report. With False (a headless compute node, say)
        only the database is written and the run ends ``computed``; resuming it later
        (``resume=True``) computes nothing again and writes the report.

    Returns
    -------
    dict
        ``{"run_id", "database", "report", "figures", "summary"}``; ``summary`` is a
        DataFrame of the headline numbers (per dataset, model and region); ``report`` is
        None and ``figures`` empty when no report was asked for.

    Raises
    ------
    CrossalignError
        Invalid config or input, a plan over the memory budget, a refused resume, or an
        output folder held by another run; nothing has been computed then.
    """

    cfg = config if isinstance(config, StudyConfig) else parse_study(config)
    console = console or Console()
    with (
        options(memory_budget=cfg.memory_budget),
        using(Context.from_options()),  # one context: every model reuses the brain side
        locked_folder(out_dir) as out,
    ):
        return _run(cfg, out, resume, allow_user_modules, console, report)


def _run(
    cfg: StudyConfig,
    out: Path,
    resume: bool,
    allow_user_modules: bool,
    console: Any,
    report: bool,
) -> dict[str, Any]:
    for text in cfg.overrides():
        warnings.warn(
            f"The study overrides its protocol: {text}. The run uses the study's choice; the "
            "report and the runs table record it.",
            ProtocolOverrideWarning,
            stacklevel=3,
        )
    datasets = _preflight(cfg, console, allow_user_modules)
    parts = key_parts(cfg, datasets)
    with ResultsStore(out / "results.duckdb") as store:
        run_id = open_run(store, cfg, parts, resume, console)
        ctx = RunContext(store, run_id, cfg, out, console, allow_user_modules)
        try:
            with _reported_warnings(console):
                for dcfg, brain in datasets:
                    _run_dataset(ctx, dcfg, brain)
            store.finish(run_id, "computed")
            results = store.results(run_id)
        except BaseException:
            store.finish(run_id, "failed")
            raise
    figures, written = _report(results, cfg, out, run_id) if report else ({}, None)
    with ResultsStore(out / "results.duckdb") as store:
        if written is None:
            store.finish(run_id, "computed", note=NO_REPORT)
        else:
            store.finish(run_id, "complete")
    return {
        "run_id": run_id,
        "database": out / "results.duckdb",
        "report": written,
        "figures": figures,
        "summary": summary_table(results),
    }


#: ``runs.note`` of a run computed without its report.
NO_REPORT = "no report asked for (report=False); resume the run to write it"


def _report(results: Any, cfg: StudyConfig, out: Path, run_id: str) -> tuple[Any, Path]:
    """The report of a computed run; if it fails, the run stays ``computed`` (its results
    queryable in ``latest``) with the failure in ``runs.note``."""
    try:
        return write_report(results, cfg, out, run_id)
    except Exception as err:
        note = f"report failed: {type(err).__name__}: {err}"
        with ResultsStore(out / "results.duckdb") as store:
            store.finish(run_id, "computed", note=note)
        if not isinstance(err, CrossalignError):
            raise
        raise type(err)(
            f"Every result of run {run_id} is computed and stored in "
            f"'{out / 'results.duckdb'}' (the view `latest` holds them), but the report "
            f"could not be written: {err}"
        ) from None


@contextlib.contextmanager
def _reported_warnings(console: Any) -> Iterator[None]:
    """Print every reliability warning raised inside the block on the console (the flags
    they describe are also in the database and the report); other warnings pass through."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ReliabilityWarning)
        try:
            yield
        finally:
            others = [w for w in caught if not issubclass(w.category, ReliabilityWarning)]
            for w in caught:
                if issubclass(w.category, ReliabilityWarning):
                    console.print(f"[yellow]warning:[/] {w.message}", highlight=False)
    for w in others:
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)


def _run_dataset(ctx: RunContext, dcfg: DatasetConfig, brain: BrainData) -> None:

    cfg = ctx.cfg
    ctx.console.print(
        f"[bold]{dcfg.key}[/]: {brain.n_stimuli} stimuli, "
        f"{len(brain.subjects)} subjects, {len(brain.regions)} regions",
        highlight=False,
    )
    for scoring in cfg.scorings():
        brain_block(ctx, dcfg.key, brain, scoring)
    names = _result_names(cfg, dcfg, brain)
    models: list[tuple[ModelConfig, ModelData]] | None = None
    for scoring in cfg.scorings():
        blocks = [f"{dcfg.key}/model/{name}/{scoring.label}" for name in names]
        if cfg.n_bootstrap and names:
            blocks.append(f"{dcfg.key}/equivalence/{scoring.label}")
        if connectivity_for(cfg, dcfg.key) and names:
            blocks.append(f"{dcfg.key}/connectivity/{scoring.label}")
        if all(ctx.store.has_block(ctx.run_id, b) for b in blocks):
            continue
        if models is None:
            models = build_models(cfg, dcfg, brain, ctx.allow_user_modules, ctx.console)
        evaluations = {
            mcfg.name: model_block(ctx, dcfg.key, brain, mcfg, md, scoring) for mcfg, md in models
        }
        equivalence_block(ctx, dcfg.key, models, evaluations, scoring)
        connectivity_block(ctx, dcfg.key, evaluations, scoring)


def _result_names(cfg: StudyConfig, dcfg: DatasetConfig, brain: BrainData) -> list[str]:
    """The model names results of this dataset carry (predictor sets expanded)."""
    names: list[str] = []
    for mcfg in models_for(cfg, dcfg):
        if mcfg.source == "predictors":
            names.extend(str(p) for p in brain.attrs["models"].models)
        else:
            names.append(mcfg.name)
    return names
