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
import hashlib
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .data import BrainData, ModelData, Representations
from .errors import InputError, ReliabilityWarning, ResumeError
from .store import ResultsStore, rows_from, scalar_rows
from .studyconfig import (
    DEMO_STUDY,
    FILE_SOURCES,
    IMAGE_SOURCES,
    DatasetConfig,
    ModelConfig,
    StudyConfig,
    load_study,
    parse_study,
)

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

#: Config fields that do not change any number (left out of the resume key).
_NOT_IN_KEY = ("memory_budget", "cache_dir", "batch_size")


# ---------------------------------------------------------------------- inputs
def _load_brain(cfg: DatasetConfig) -> BrainData:
    from .io import load_arrays, load_dataset, load_region_files, load_table, load_xarray
    from .io.loaders import match_stimulus_files

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
    return data


def _models_for(cfg: StudyConfig, dataset: DatasetConfig) -> list[ModelConfig]:
    return [
        m
        for m in cfg.models
        if m.datasets is None or dataset.key in m.datasets or dataset.name in m.datasets
    ]


def _check_models(
    cfg: StudyConfig, dataset: DatasetConfig, brain: BrainData, allow_user_modules: bool
) -> None:
    """Refuse, before anything runs, a model that cannot run on this dataset or whose
    results would share a name with another model's."""
    names = [m.name for m in cfg.models]
    for mcfg in _models_for(cfg, dataset):
        if mcfg.source == "module":
            _user_module_allowed(mcfg, allow_user_modules)
        if mcfg.source in IMAGE_SOURCES and not brain.attrs.get("stimulus_paths"):
            raise InputError(
                f"Model {mcfg.name!r} needs the stimulus images of dataset {dataset.key!r}, "
                "which has none. Give the dataset a 'stimuli' folder (one image per stimulus "
                f"id, named by the id), or limit the model with datasets = [...]."
            )
        if mcfg.source == "predictors":
            preds = brain.attrs.get("models")
            if preds is None:
                raise InputError(
                    f"Model {mcfg.name!r} (source 'predictors') needs a dataset with "
                    f"hand-built predictor models; dataset {dataset.key!r} has none. Limit "
                    "it with datasets = [...]."
                )
            clash = sorted({str(p) for p in preds.models} & set(names))
            if clash:
                raise InputError(
                    f"The predictor models of dataset {dataset.key!r} are named {clash}, as "
                    "are other models of the study; results are keyed by model name. Rename "
                    "those models."
                )


def _preflight(
    cfg: StudyConfig, console: Any, allow_user_modules: bool = False
) -> list[tuple[DatasetConfig, BrainData]]:
    """Load every dataset, check every model can run on it, plan the scoring and the
    resampling loops and print the plans; refuse the study before it starts if any of this
    fails (the message names the dataset, model or parameter)."""
    from .engine import plan_scores
    from .stats import plan_inference

    loaded = []
    for dcfg in cfg.datasets:
        brain = _load_brain(dcfg)
        _check_models(cfg, dcfg, brain, allow_user_modules)
        for metric in cfg.metric_objects():
            plan = plan_scores(brain, None, metric)
            if console is not None:
                console.print(f"Plan for {dcfg.key}: {plan.describe()}")
        models = _models_for(cfg, dcfg)
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
    from ._options import MemoryBudgetError, get_option
    from .models.extract import extraction_bytes

    model = _IMAGE_MODELS[mcfg.source](mcfg, allowed)
    need = extraction_bytes(model, brain.n_stimuli, mcfg.layers, mcfg.pool, _projection(cfg, mcfg))
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


# ---------------------------------------------------------------------- the resume key
def _digest_files(paths: Iterable[Path]) -> str:
    h = hashlib.sha256()
    for path in paths:
        path = Path(path)
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for f in files:
            h.update(str(f.relative_to(path) if path.is_dir() else f.name).encode())
            with f.open("rb") as fh:
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    h.update(chunk)
    return h.hexdigest()


def _digest_data(data: Representations) -> str:
    h = hashlib.sha256(repr(list(data.stimuli)).encode())
    for key in data:
        h.update(f"{key!r}:{data.kind(key)}".encode())
        h.update(np.ascontiguousarray(data[key].values).tobytes())
    return h.hexdigest()


def _stimulus_files(brain: BrainData) -> list[Path]:
    paths = brain.attrs.get("stimulus_paths") or []
    groups = [paths[k] for k in brain.stimuli] if isinstance(paths, dict) else paths
    return [Path(p) for g in groups for p in (g if isinstance(g, list | tuple) else [g])]


def _key_parts(cfg: StudyConfig, datasets: list[tuple[DatasetConfig, BrainData]]) -> dict[str, Any]:
    """Everything a resumed run must share with the stored one."""
    from . import __version__
    from ._options import get_option

    inputs = {}
    for dcfg, brain in datasets:
        inputs[f"data {dcfg.key}"] = _digest_data(brain)
        if _stimulus_files(brain):
            inputs[f"stimulus files {dcfg.key}"] = _digest_files(_stimulus_files(brain))
    for mcfg in cfg.models:
        if mcfg.source in FILE_SOURCES and mcfg.path:
            inputs[f"model file {mcfg.name}"] = _digest_files([Path(mcfg.path)])
    config = {k: v for k, v in cfg.model_dump(mode="json").items() if k not in _NOT_IN_KEY}
    return {
        "config": config,
        "inputs": inputs,
        "version": __version__,
        "backend": get_option("backend"),
        "dtype": get_option("dtype"),
    }


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            out.update(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        out = {}
        for i, v in enumerate(value):
            out.update(_flatten(v, f"{prefix}[{i}]"))
        return out
    return {prefix: value}


def _changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    a, b = _flatten(old), _flatten(new)
    out = []
    for key in sorted(set(a) | set(b)):
        if a.get(key, "<absent>") != b.get(key, "<absent>"):
            if key.startswith("inputs."):
                out.append(f"{key[7:]} changed (content hash)")
            else:
                out.append(f"{key}: {a.get(key, '<absent>')!r} -> {b.get(key, '<absent>')!r}")
    return out


def _open_run(
    store: ResultsStore, cfg: StudyConfig, parts: dict[str, Any], resume: bool, console: Any
) -> str:
    from . import __version__

    if resume:
        found = store.unfinished_run(cfg.name)
        if found is not None:
            run_id, stored = found
            changed = _changes(stored, parts)
            if changed:
                raise ResumeError(
                    f"Cannot resume run {run_id}: what decides its numbers has changed: "
                    f"{'; '.join(changed[:8])}"
                    + (f" (and {len(changed) - 8} more)" if len(changed) > 8 else "")
                    + ". Run without --resume to start a new run (the interrupted run stays "
                    "in the database)."
                )
            store.reopen(run_id)
            console.print(f"Resuming run {run_id}")
            return run_id
        console.print(f"No unfinished run of study {cfg.name!r} to resume; starting a new run.")
    return store.start_run(cfg.name, cfg.model_dump(mode="json"), __version__, parts)


# ---------------------------------------------------------------------- models
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


def _user_module_allowed(mcfg: ModelConfig, allowed: bool) -> None:
    if not allowed:
        raise InputError(
            f"Model {mcfg.name!r} names Python code to import ({mcfg.module!r}); pass "
            "--allow-user-modules to run code named in a config file."
        )
    if not mcfg.module or ":" not in mcfg.module:
        raise InputError(
            f"Model {mcfg.name!r}: 'module' must look like 'package.module:factory'. Got "
            f"{mcfg.module!r}."
        )


def _user_module(mcfg: ModelConfig, allowed: bool) -> Any:
    import importlib

    _user_module_allowed(mcfg, allowed)

    module_name, _, factory = mcfg.module.partition(":")
    return getattr(importlib.import_module(module_name), factory)()


def _registry_model(mcfg: ModelConfig, allowed: bool) -> Any:
    from .models import load_model

    return load_model(
        mcfg.model or mcfg.name, pretrained=mcfg.pretrained, seed=mcfg.seed, weights=mcfg.weights
    )


#: How a model that sees the stimulus images is built, by source.
_IMAGE_MODELS: dict[str, Callable[[ModelConfig, bool], Any]] = {
    "registry": _registry_model,
    "pixels": lambda mcfg, allowed: _pixel_model(),
    "module": _user_module,
}


def _file_model(mcfg: ModelConfig, brain: BrainData) -> ModelData:
    from .io import load_activations

    kind = "rdm" if mcfg.source == "rdms" else "auto"
    layers = mcfg.layers if isinstance(mcfg.layers, list) else None
    md = load_activations(str(mcfg.path), model=mcfg.name, layers=layers, kind=kind)
    return md.align_to(brain.stimuli)


def _build_models(
    cfg: StudyConfig,
    dataset: DatasetConfig,
    brain: BrainData,
    allow_user_modules: bool,
    console: Any,
) -> list[tuple[ModelConfig, ModelData]]:
    from .models import extract

    out = []
    for mcfg in _models_for(cfg, dataset):
        if mcfg.source == "predictors":
            preds = brain.attrs["models"]
            for name in preds.models:
                md = preds.select([name])
                md.attrs.update(preds.attrs)
                out.append((mcfg.model_copy(update={"name": str(name)}), md))
            continue
        if mcfg.source in FILE_SOURCES:
            out.append((mcfg, _file_model(mcfg, brain)))
            continue
        model = _IMAGE_MODELS[mcfg.source](mcfg, allow_user_modules)
        md = extract(
            model,
            brain,
            layers=mcfg.layers,
            pool=mcfg.pool,
            projection=_projection(cfg, mcfg),
            frames=mcfg.frames,
            temporal=mcfg.temporal,
            batch_size=cfg.batch_size,
            cache=cfg.cache_dir or True,
            progress=console.is_terminal,
        )
        out.append((mcfg, md))
    return out


def _projection(cfg: StudyConfig, mcfg: ModelConfig) -> int | str | None:
    """The model's own projection setting, else the protocol's."""
    from .protocols import get_protocol

    value = (
        mcfg.projection if mcfg.projection is not None else get_protocol(cfg.protocol).projection
    )
    return None if value == "none" else value


def _rename_model(md: ModelData, name: str) -> ModelData:
    old = md.models[0]
    if old == name:
        return md
    entries = {(name, layer): md[(old, layer)] for layer in md.layers(old)}
    return ModelData(
        {k: v.values for k, v in entries.items()},
        {k: md.kind((old, k[1])) for k in entries},
        md.stimuli,
        md.attrs,
    )


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

    Returns
    -------
    dict
        ``{"run_id", "database", "report", "figures", "summary"}``; ``summary`` is a
        DataFrame of the headline numbers (per dataset, model and region).

    Raises
    ------
    CrossalignError
        Invalid config or input, a plan over the memory budget, a refused resume, or an
        output folder held by another run; nothing has been computed then.
    """
    from rich.console import Console

    from ._options import options
    from .outputs import locked_folder

    cfg = config if isinstance(config, StudyConfig) else parse_study(config)
    console = console or Console()
    with options(memory_budget=cfg.memory_budget), locked_folder(out_dir) as out:
        return _run(cfg, out, resume, allow_user_modules, console)


def _run(
    cfg: StudyConfig, out: Path, resume: bool, allow_user_modules: bool, console: Any
) -> dict[str, Any]:
    from .report import write_report

    datasets = _preflight(cfg, console, allow_user_modules)
    parts = _key_parts(cfg, datasets)
    with ResultsStore(out / "results.duckdb") as store:
        run_id = _open_run(store, cfg, parts, resume, console)
        ctx = _Context(store, run_id, cfg, out, console, allow_user_modules)
        try:
            with _reported_warnings(console):
                for dcfg, brain in datasets:
                    _run_dataset(ctx, dcfg, brain)
            store.finish(run_id, "computed")
            results = store.results(run_id)
        except BaseException:
            store.finish(run_id, "failed")
            raise
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


@dataclass(frozen=True)
class _Context:
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
        from .outputs import slug

        folder = self.out / "evaluations" / slug(self.run_id)
        folder.mkdir(parents=True, exist_ok=True)
        return folder / f"{slug(dataset)}--{slug(model)}--{slug(metric)}.nc"


def _run_dataset(ctx: _Context, dcfg: DatasetConfig, brain: BrainData) -> None:

    cfg = ctx.cfg
    ctx.console.print(
        f"[bold]{dcfg.key}[/]: {brain.n_stimuli} stimuli, "
        f"{len(brain.subjects)} subjects, {len(brain.regions)} regions",
        highlight=False,
    )
    for metric in cfg.metric_objects():
        _brain_block(ctx, dcfg.key, brain, metric)
    names = _result_names(cfg, dcfg, brain)
    models: list[tuple[ModelConfig, ModelData]] | None = None
    for metric in cfg.metric_objects():
        blocks = [f"{dcfg.key}/model/{name}/{metric.label}" for name in names]
        if cfg.n_bootstrap and names:
            blocks.append(f"{dcfg.key}/equivalence/{metric.label}")
        if all(ctx.store.has_block(ctx.run_id, b) for b in blocks):
            continue
        if models is None:
            models = _build_models(cfg, dcfg, brain, ctx.allow_user_modules, ctx.console)
        evaluations = {
            mcfg.name: _model_block(ctx, dcfg.key, brain, mcfg, md, metric) for mcfg, md in models
        }
        _equivalence_block(ctx, dcfg.key, models, evaluations, metric)


def _result_names(cfg: StudyConfig, dcfg: DatasetConfig, brain: BrainData) -> list[str]:
    """The model names results of this dataset carry (predictor sets expanded)."""
    names = []
    for mcfg in _models_for(cfg, dcfg):
        if mcfg.source == "predictors":
            names.extend(str(p) for p in brain.attrs["models"].models)
        else:
            names.append(mcfg.name)
    return names


def _brain_block(ctx: _Context, dataset: str, brain: BrainData, metric: Any) -> None:
    from .aps import brain_aps, brain_aps_ci
    from .patterns import cross_region_matrix
    from .protocols import get_protocol
    from .stats import noise_ceiling, unreliable_regions

    block = f"{dataset}/brain/{metric.label}"
    if ctx.store.has_block(ctx.run_id, block):
        return
    labels = {"dataset": dataset, "metric": metric.label, "split": "all"}
    protocol = get_protocol(ctx.cfg.protocol)
    ceiling = noise_ceiling(brain, metric, definition=protocol.ceiling).drop_attrs()
    unreliable = unreliable_regions(ceiling).astype(float)
    frames = [
        rows_from(cross_region_matrix(brain, metric), analysis="cross_region_matrix", **labels),
        rows_from(ceiling, analysis="noise_ceiling", **labels),
        rows_from(unreliable, analysis="noise_ceiling", statistic="unreliable", **labels),
        rows_from(brain.present().astype(float), analysis="cells", statistic="present", **labels),
        *_brain_geometry(brain, labels),
    ]
    if len(brain.regions) >= 3 and len(brain.subjects) >= 3:
        if ctx.cfg.n_bootstrap == 0:
            aps = brain_aps(brain, metric)
            frames.append(rows_from(aps, analysis="brain_aps", **labels))
            mean = aps.mean("subject")
            frames.append(rows_from(mean, analysis="brain_aps", statistic="mean", **labels))
        else:
            ci = brain_aps_ci(
                brain,
                metric,
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
    import xarray as xr

    from .rdm import classical_mds, square_from_vector

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


def _brain_geometry(brain: BrainData, labels: dict[str, Any]) -> list[pd.DataFrame]:
    """Per region, the subject-mean RDM's geometry (all stimuli)."""
    frames = []
    for region in brain.regions:
        vector = brain.select(areas=[region]).rdm_vectors().mean(axis=0)
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


def _model_block(
    ctx: _Context,
    dataset: str,
    brain: BrainData,
    mcfg: ModelConfig,
    md: ModelData,
    metric: Any,
) -> Any:
    """Evaluate one model and store its rows; for a block already stored, return its
    evaluation (loaded from disk when this run saved it) only if the equivalence block still
    needs it."""
    from .evaluation import Evaluation

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
            _rename_model(md, mcfg.name),
            brain,
            protocol=cfg.protocol,
            metric=metric,
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


def _equivalence_block(
    ctx: _Context,
    dataset: str,
    models: list[tuple[ModelConfig, ModelData]],
    evaluations: dict[str, Any],
    metric: Any,
) -> None:
    from .stats import double_criterion, leaderboard

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


def _paired_rows(
    ctx: _Context, evaluations: dict[str, Any], labels: dict[str, str]
) -> list[pd.DataFrame]:
    """Every pair of models compared on the same subjects: the difference of score and APS
    (first minus second), its bootstrap CI and the paired permutation p-value."""
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
                for var in ("difference", "low", "high", "p_value"):
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
    return frames


def _paradigm_rows(
    models: list[tuple[ModelConfig, ModelData]],
    evaluations: dict[str, Any],
    dataset: str,
    metric: str,
) -> list[pd.DataFrame]:
    """The paradigm comparison on the evaluation machinery: per paradigm, the mean score and
    APS over its models and regions, with paired-bootstrap CIs."""
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
