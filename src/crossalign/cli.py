"""The ``crossalign`` command.

User errors (bad files, unknown names, malformed input) print one clear message and exit with
code 2, without a traceback.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import inspect
import json
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any, TypeVar

import numpy as np
import typer
import xarray as xr
from rich import box
from rich.console import Console, Group
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from crossalign._validation import check_option
from crossalign._version import __version__
from crossalign.analysis.patterns import cross_region_matrix
from crossalign.bench.suite import BENCHMARKS, blas_config
from crossalign.compute.heap import keep_large_blocks
from crossalign.config import options
from crossalign.data.containers import BrainData
from crossalign.engine.distributed import cluster
from crossalign.errors import CrossalignError, InputError, OutputExistsError, PluginWarning
from crossalign.io import dataset_status, load_array
from crossalign.io.datasets import data_dirs, load_dataset
from crossalign.io.rdm_files import load_matlab_rdms, load_rsatoolbox_rdms
from crossalign.io.xarray_files import save_xarray
from crossalign.metrics import list_metrics
from crossalign.models import load_model
from crossalign.models.extract import match_layers
from crossalign.models.paper_zoo import paper_models
from crossalign.models.sources import list_sources
from crossalign.plugins import load_plugins
from crossalign.study.reproduce import reproduction_study, write_reproduction
from crossalign.study.runner import DEMO_STUDY, load_study, run_study
from crossalign.study.store import export_frame, query_database

# The commands are documented by their --help (typer); the Python API is app and main.
__all__ = ["app", "main"]

app = typer.Typer(
    name="crossalign",
    help="Evaluate models of the brain by cross-region alignment patterns.",
    no_args_is_help=True,
    add_completion=False,
)


def _console(**kwargs: Any) -> Console:
    """A console that does not squeeze tables to 80 columns when output is not a terminal."""
    console = Console(**kwargs)
    return console if console.is_terminal else Console(width=160, **kwargs)


out = _console()
err = _console(stderr=True)

F = TypeVar("F", bound=Callable[..., Any])
# Errors a user causes: crossalign's own class, and files that are missing or not readable.
# Anything else (TypeError, KeyError, ...) is a bug and keeps its traceback.
USER_ERRORS = (CrossalignError, FileNotFoundError, PermissionError, IsADirectoryError)


def _fail(message: str) -> typer.Exit:
    err.print("[bold red]error:[/]", escape(message), highlight=False, soft_wrap=True)
    return typer.Exit(code=2)


def _replace_hint(command: Callable[..., Any]) -> str:
    """How to replace an output on the command line: ``--overwrite`` where the command takes
    it, else another output path (never an option the command lacks)."""
    names = inspect.signature(command).parameters
    if "overwrite" in names:
        return " On the command line: --overwrite."
    if "out_dir" in names or "out" in names:
        return " On the command line: choose another folder with --out, or move the file away."
    return " On the command line: move the file away."


def user_errors(func: F) -> F:
    """Turn user errors into a one-line message and exit code 2."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except OutputExistsError as exc:
            raise _fail(f"{exc}{_replace_hint(func)}") from None
        except USER_ERRORS as exc:
            raise _fail(str(exc)) from None
        except ImportError as exc:
            raise _fail(
                f"{exc}. This command needs an optional part of crossalign: "
                "pip install 'crossalign[all]' (or the extra the message names)."
            ) from None

    return wrapper  # type: ignore[return-value]


def _version(value: bool) -> None:
    if value:
        out.print(f"crossalign {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show version.")
    ] = False,
) -> None:
    """Evaluate models of the brain by cross-region alignment patterns."""
    keep_large_blocks()  # each batch's activations reuse the last one's memory
    with warnings.catch_warnings():  # said here in one line each
        warnings.simplefilter("ignore", PluginWarning)
        report = load_plugins()
    for label, reason in report.failed:
        err.print(f"warning: the plugin {escape(label)} is left out: {escape(reason)}")


def matrix_table(matrix: xr.DataArray, title: str) -> Group:
    """A titled rich table of a region x region matrix."""
    table = Table(box=box.SIMPLE_HEAD)
    table.add_column("region", style="bold")
    for q in matrix.coords["target_region"].values:
        table.add_column(str(q), justify="right")
    digits = 4 if matrix.shape[1] <= 6 else 3
    for r, row in zip(matrix.coords["region"].values, matrix.values, strict=True):
        table.add_row(str(r), *(f"{v:.{digits}f}" for v in row))
    return Group(Text(title, style="bold"), table)


def _matrix_json(matrix: xr.DataArray) -> dict[str, Any]:
    return {
        "metric": matrix.attrs.get("metric"),
        "regions": [str(r) for r in matrix.coords["region"].values],
        "matrix": np.asarray(matrix.values).tolist(),
        "n_subjects": matrix.attrs.get("n_subjects"),
        "n_stimuli": matrix.attrs.get("n_stimuli"),
    }


def _parse_rdm_spec(spec: str) -> tuple[str, Path, str | None]:
    region, sep, location = spec.partition("=")
    if not sep or not region or not location:
        raise InputError(
            f"The '--rdms' option must look like REGION=PATH[:KEY]. Got {spec!r} instead."
        )
    path, key = Path(location), None
    if not path.exists() and ":" in location:
        head, _, tail = location.rpartition(":")
        path, key = Path(head), tail or None
    return region, path, key


@app.command()
@user_errors
def matrix(
    rdms: Annotated[
        list[str],
        typer.Option(
            "--rdms",
            help="REGION=PATH[:KEY], repeated: an RDM stack (subjects, n, n) per region "
            "(.npz/.npy/.mat).",
        ),
    ],
    metric: Annotated[str, typer.Option(help="RSA comparator.")] = "spearman",
    symmetrise: Annotated[
        bool,
        typer.Option(help="Average rounding-level asymmetry (at most 1e-3 of the largest entry)."),
    ] = False,
    similarity: Annotated[
        str | None,
        typer.Option(
            help="The files hold similarities: convert with 1-r (D = 1 - S, unit diagonal) or "
            "kernel (D = S_ii + S_jj - 2 S_ij)."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    backend: BackendOpt = "numpy",
    workers: WorkersOpt = None,
    scheduler: SchedulerOpt = None,
) -> None:
    """Cross-region alignment matrix from RDM files (mean over pairs of different subjects)."""
    stacks: dict[str, np.ndarray] = {}
    for spec in rdms:
        region, path, key = _parse_rdm_spec(spec)
        if region in stacks:
            raise InputError(f"The '--rdms' option names region {region!r} twice.")
        stacks[region] = load_array(path, key)
    data = BrainData.from_rdms(stacks, symmetrise=symmetrise, similarity=similarity)
    with _execution(backend, "float64", workers, scheduler):
        result = cross_region_matrix(data, metric)
    if as_json:
        print(json.dumps(_matrix_json(result)))
    else:
        out.print(
            matrix_table(
                result,
                f"Cross-region alignment ({result.attrs['metric']}, mean over "
                f"{result.attrs['n_subjects']}x{result.attrs['n_subjects'] - 1} ordered pairs "
                "of different subjects)",
            )
        )


@app.command()
def metrics(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """List the registered alignment metrics."""
    records = list_metrics()
    if as_json:
        print(json.dumps([{k: v for k, v in r.items() if k != "citation"} for r in records]))
        return
    table = Table(title="Alignment metrics")
    columns = ("name", "input", "symmetric", "higher is better", "backends", "parameters")
    for col in (*columns, "description"):
        table.add_column(col)
    for r in records:
        table.add_row(
            r["name"],
            r["input"],
            str(r["symmetric"]),
            str(r["higher_is_better"]),
            ", ".join(r["backends"]),
            "\n".join(_parameter_text(p) for p in r["parameters"]) or "-",
            r["description"],
        )
    out.print(table)


def _parameter_text(par: dict) -> str:
    default = par["default"]
    if isinstance(default, list) and len(default) > 4:
        default = f"[{default[0]:g}, ..., {default[-1]:g}] ({len(default)} values)"

    return escape(f"{par['name']}: {par['type']} = {default}")


@app.command()
@user_errors
def models(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    paper: Annotated[
        str | None,
        typer.Option(help="A published experiment (hoefling2026): its models and their status."),
    ] = None,
) -> None:
    """List the registered models and the model sources, and whether trained weights are
    available offline; with --paper, the paper's models: source, weights tag, layers, status."""
    if paper is not None:
        _paper_models(paper, as_json)
        return
    rows = list_sources()
    if as_json:
        print(json.dumps(rows))
        return
    table = Table(title="Models (pretrained=False builds any of them offline, seeded)")
    for col in ("name", "kind", "trained weights offline"):
        table.add_column(col)
    for r in rows:
        table.add_row(r["name"], r["kind"], "yes" if r["weights_offline"] else "downloaded")
    out.print(table)


def _paper_models(paper: str, as_json: bool) -> None:
    """The table of a paper's models (``crossalign models --paper``)."""
    entries = paper_models(paper)
    if as_json:
        print(json.dumps([dataclasses.asdict(m) for m in entries.values()]))
        return
    counts = Counter(m.status for m in entries.values())
    title = (
        f"{paper}: {len(entries)} models ("
        + ", ".join(f"{n} {status}" for status, n in counts.items())
        + ")"
    )
    table = Table(title=title, box=box.SIMPLE_HEAD)
    for col in ("paper model", "source", "tag", "layers", "crossalign model", "status"):
        table.add_column(col)
    for m in entries.values():
        status = m.status if not m.reason else f"{m.status}: {m.reason}"
        table.add_row(
            escape(m.name), escape(m.paper_source), m.tag, str(len(m.layers)),
            escape(m.model or "-"), escape(status),
        )  # fmt: skip
    out.print(table)


@app.command()
def datasets(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """List the reference datasets and whether their files are present here."""
    records = dataset_status()
    if as_json:
        print(json.dumps(records))
        return
    table = Table(title=f"Reference datasets (searched: {', '.join(map(str, data_dirs()))})")
    for col in ("name", "status", "title"):
        table.add_column(col)
    for r in records:
        style = "green" if r["status"] == "present" else "red"
        table.add_row(r["name"], f"[{style}]{r['status']}[/]", r["title"])
    out.print(table)


_MEMORY_HELP = (
    "Memory the analysis may use, e.g. 8GB (default 80% of what is free). Larger analyses are "
    "streamed in blocks; refused before starting only if one block cannot fit."
)
BackendOpt = Annotated[
    str, typer.Option(help="Engine backend: numpy, torch (CUDA if present), torch:cpu, torch:cuda.")
]
DtypeOpt = Annotated[str, typer.Option(help="Working precision of the products: float64, float32.")]
WorkersOpt = Annotated[
    int | None, typer.Option(help="Run the all-pairs blocks on a local Dask cluster of N workers.")
]
SchedulerOpt = Annotated[
    str | None,
    typer.Option(help="Run the all-pairs blocks on this Dask scheduler (tcp://host:8786)."),
]


@contextlib.contextmanager
def _execution(
    backend: str, dtype: str, workers: int | None, scheduler: str | None
) -> Iterator[None]:
    """Options for where and how the engine runs, for one command."""
    with options(backend=backend, dtype=dtype), contextlib.ExitStack() as stack:
        if workers is not None or scheduler is not None:
            client = stack.enter_context(cluster(workers=workers, scheduler=scheduler))
            err.print(f"Dask: {len(client.nthreads())} worker(s) at {client.scheduler.address}")
        yield


ReportOpt = Annotated[
    bool,
    typer.Option(
        help="Draw the figures and write the report (--no-report: the database only; a later "
        "--resume writes the report without computing again)."
    ),
]


def _run_and_report(
    config: Any,
    out_dir: Path,
    resume: bool,
    allow_user_modules: bool,
    report: bool = True,
    study_file: Path | None = None,
) -> None:
    result = run_study(
        config,
        out_dir,
        resume=resume,
        allow_user_modules=allow_user_modules,
        console=out,
        report=report,
    )
    summary = result["summary"]
    if not summary.empty:
        table = Table(
            title="Summary (test stimuli; mean over regions; per-region values and CIs are in "
            "the report)",
            box=box.SIMPLE_HEAD,
        )
        for col in ("dataset", "model", "score", "APS", "best region (score)"):
            table.add_column(col, justify="right" if col in ("score", "APS") else "left")
        for (dataset, model), rows in summary.groupby(["dataset", "model"], sort=False):
            aps = rows["aps_mean"].mean() if "aps_mean" in rows else float("nan")
            best = rows.loc[rows["score_mean"].idxmax()]
            table.add_row(
                str(dataset),
                str(model),
                f"{rows['score_mean'].mean():.3f}",
                "-" if not np.isfinite(aps) else f"{aps:.3f}",
                f"{best['region']} ({best['score_mean']:.3f}, layer {best.get('layer', '')})",
            )
        out.print(table)
    if result["report"] is not None:
        out.print(f"Report:   {result['report']}")
    out.print(
        f"Database: {result['database']}  (query: crossalign results "
        f'{result["database"]} "SELECT ...")'
    )
    if result["report"] is not None:
        out.print(f"Figures:  {result['report'].parent / 'figures'}")
    else:
        again = (
            f"`crossalign run {study_file} --out {out_dir} --resume`" if study_file else "--resume"
        )
        out.print(f"No report written (--no-report); {again} writes it, computing nothing again.")


@app.command()
@user_errors
def demo(
    out_dir: Annotated[Path, typer.Option("--out", help="Output folder.")] = Path(
        "crossalign-demo"
    ),
    resume: Annotated[bool, typer.Option(help="Resume an interrupted demo run.")] = False,
    n_bootstrap: Annotated[int, typer.Option(help="Bootstrap resamples.")] = 1000,
    memory_budget: Annotated[str | None, typer.Option(help=_MEMORY_HELP)] = None,
    backend: BackendOpt = "numpy",
    dtype: DtypeOpt = "float64",
    workers: WorkersOpt = None,
    scheduler: SchedulerOpt = None,
) -> None:
    """The built-in study: Cichy 2014 and Castaldi 2019 with the EfficientNet-Lite0/1/2
    capacity series and their untrained controls, a pixel model and the Castaldi predictors;
    writes a report (with a leaderboard), figures and a database."""
    config = {**DEMO_STUDY, "n_bootstrap": n_bootstrap, "memory_budget": memory_budget}
    with _execution(backend, dtype, workers, scheduler):
        _run_and_report(config, out_dir, resume, False)


@app.command()
@user_errors
def run(
    study: Annotated[Path, typer.Argument(help="A study TOML file.")],
    out_dir: Annotated[Path | None, typer.Option("--out", help="Output folder.")] = None,
    resume: Annotated[bool, typer.Option(help="Resume an interrupted run.")] = False,
    allow_user_modules: Annotated[
        bool, typer.Option(help="Allow models that name Python code to import.")
    ] = False,
    memory_budget: Annotated[str | None, typer.Option(help=_MEMORY_HELP)] = None,
    backend: BackendOpt = "numpy",
    dtype: DtypeOpt = "float64",
    workers: WorkersOpt = None,
    scheduler: SchedulerOpt = None,
    report: ReportOpt = True,
) -> None:
    """Run a study from a TOML config (datasets, models, metrics, splits, bootstrap)."""
    config = load_study(study)
    if memory_budget is not None:
        config = config.model_copy(update={"memory_budget": memory_budget})
    with _execution(backend, dtype, workers, scheduler):
        folder = out_dir or _default_out(study)
        _run_and_report(config, folder, resume, allow_user_modules, report, study)


def _default_out(study: Path) -> Path:
    """``study.toml`` -> ``study/``; a study file without a suffix -> ``study-results/``."""
    return study.with_suffix("") if study.suffix else study.with_name(study.name + "-results")


@app.command()
@user_errors
def reproduce(
    experiment: Annotated[str, typer.Argument(help="The published experiment: hoefling2026.")],
    root: Annotated[
        Path, typer.Option("--root", help="The BOLD Moments download (derivatives/, stimuli/).")
    ],
    out: Annotated[
        Path, typer.Option("--out", help="Output folder: study.toml, models.toml, the results.")
    ],
    models_file: Annotated[
        Path | None,
        typer.Option(help="A models file (default: the paper's models with a public source)."),
    ] = None,
    parcellation: Annotated[
        str | None, typer.Option(help="Another parcellation (name or file): every parcel.")
    ] = None,
    max_stimuli: Annotated[
        int | None,
        typer.Option(help="A quick look: the first N train and N/5 test videos."),
    ] = None,
    n_bootstrap: Annotated[int, typer.Option(help="Bootstrap resamples.")] = 1000,
    allow_user_modules: Annotated[
        bool, typer.Option(help="Allow models that name Python code to import.")
    ] = False,
    overwrite: Annotated[
        bool, typer.Option(help="Replace a study.toml or models.toml crossalign did not write.")
    ] = False,
    backend: BackendOpt = "numpy",
    dtype: DtypeOpt = "float64",
    report: ReportOpt = True,
) -> None:
    """Run a published experiment as the paper ran it: writes the study it runs into --out
    (edit and rerun it with `crossalign run`), then runs it and writes the report."""
    study = reproduction_study(
        experiment,
        root,
        parcellation=parcellation,
        max_stimuli=max_stimuli,
        n_bootstrap=n_bootstrap,
    )
    path = write_reproduction(study, out, models_file, overwrite=overwrite)
    with _execution(backend, dtype, None, None):
        _run_and_report(load_study(path), out, False, allow_user_modules, report, path)


@app.command()
@user_errors
def results(
    database: Annotated[Path, typer.Argument(help="A results.duckdb file.")],
    sql: Annotated[str, typer.Argument(help="SQL over the tables runs, results, blocks.")] = (
        "SELECT dataset, analysis, model, region, statistic, value FROM results LIMIT 20"
    ),
    export: Annotated[
        Path | None, typer.Option(help="Write the result to .parquet or .csv instead.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON records.")] = False,
    overwrite: Annotated[
        bool, typer.Option(help="Replace an export file that crossalign did not write.")
    ] = False,
) -> None:
    """Query a results database with one read-only SQL SELECT, or export it to Parquet/CSV.

    Tables: runs, results, blocks; the view `latest` holds the results of the most recent
    complete run."""
    frame = query_database(database, sql)
    if export is not None:
        out.print(f"Wrote {export_frame(frame, export, overwrite=overwrite)}")
        return
    if as_json:
        print(frame.to_json(orient="records"))
        return
    table = Table(box=box.SIMPLE_HEAD)
    for col in frame.columns:
        table.add_column(str(col))
    for _, row in frame.iterrows():
        table.add_row(*(f"{v:.4g}" if isinstance(v, float) else str(v) for v in row))
    out.print(table)


@app.command()
@user_errors
def layers(
    model: Annotated[
        str, typer.Argument(help="Registered model, e.g. efficientnet_lite0 or timm:resnet18.")
    ],
    untrained: Annotated[bool, typer.Option(help="Random weights (seed 0).")] = False,
    pattern: Annotated[
        str | None,
        typer.Option(
            help="Only layers matching this glob (* stays within a name part; ** crosses dots)."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List a model's layers with their output shapes (one forward pass on a blank image, or
    a blank clip for video models: (C, T, H, W) or token shapes); the default layers used by
    `extract` are marked."""
    import torch

    adapter = load_model(model, pretrained=not untrained)
    shapes: dict[str, list[int]] = {}
    modules = dict(adapter.module.named_modules())

    def hook_for(name: str) -> Any:
        def hook(_m: Any, _i: Any, output: Any) -> None:
            if isinstance(output, tuple | list) and output and isinstance(output[0], torch.Tensor):
                output = output[0]  # transformer blocks return (hidden states, ...)
            if isinstance(output, torch.Tensor):
                shapes[name] = list(output.shape[1:])

        return hook

    handles = [m.register_forward_hook(hook_for(n)) for n, m in modules.items() if n]
    try:
        with torch.inference_mode():
            adapter.forward(adapter.blank_input())
    finally:
        for h in handles:
            h.remove()
    rows = [
        {
            "layer": n,
            "type": type(m).__name__,
            "output_shape": shapes.get(n),
            "default": n in adapter.default_layers,
        }
        for n, m in modules.items()
        if n and (pattern is None or match_layers(pattern, [n]))
    ]
    if as_json:
        print(json.dumps({"model": adapter.name, "layers": rows}))
        return
    table = Table(title=f"{adapter.name}: {len(rows)} layers (* = default)", box=box.SIMPLE_HEAD)
    for col in ("layer", "type", "output shape"):
        table.add_column(col)
    for r in rows:
        mark = "* " if r["default"] else "  "
        shape = "x".join(map(str, r["output_shape"])) if r["output_shape"] else "-"
        table.add_row(mark + r["layer"], r["type"], shape)
    out.print(table)


def _option_value(text: str) -> Any:
    """A ``-o key=value`` value: JSON where it parses (numbers, true/false, lists), a list
    for comma-separated items, else the string."""
    try:
        return json.loads(text)
    except ValueError:
        pass
    if "," in text:
        return [_option_value(part) for part in text.split(",") if part]
    return text


@app.command()
@user_errors
def convert(
    dataset: Annotated[
        str,
        typer.Argument(
            help="A dataset name (bold_moments, nsd, algonauts2021, algonauts2023, "
            "things_fmri, cichy2014, castaldi2019) or an RDM file kind (rsatoolbox, "
            "matlab-rdms)."
        ),
    ],
    output: Annotated[Path, typer.Argument(help="The file to write: .nc (netCDF) or .zarr.")],
    root: Annotated[
        Path | None,
        typer.Option(help="Where the dataset was downloaded (or the RDM file to read)."),
    ] = None,
    option: Annotated[
        list[str] | None,
        typer.Option(
            "--option",
            "-o",
            help="A loader option as key=value (repeatable), e.g. -o rois=V1v,FFA "
            "-o hemispheres=keep -o subjects=1,2.",
        ),
    ] = None,
    overwrite: Annotated[
        bool,
        typer.Option(
            "--overwrite",
            help="Replace an existing output that crossalign did not write (never a folder "
            "holding anything but a Zarr store).",
        ),
    ] = False,
) -> None:
    """Read a dataset once (pickles in a restricted child process) and write it to one safe
    file that keeps repeats, missing cells, label types and the fixed split; read it back
    with ``crossalign.io.load_xarray`` or in a study (``path = "file.nc"``)."""
    options = {}
    for item in option or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise InputError(f"The option {item!r} must be key=value.")
        options[key.strip().replace("-", "_")] = _option_value(value.strip())
    files: dict[str, Callable[..., BrainData]] = {
        "rsatoolbox": load_rsatoolbox_rdms,
        "matlab-rdms": load_matlab_rdms,
    }
    if dataset in files:
        if root is None:
            raise InputError(f"Converting {dataset} needs --root <the RDM file>.")
        data = files[dataset](root, **options)
    else:
        data = load_dataset(dataset, root=root, **options)
    path = save_xarray(data, output, layout="entries", overwrite=overwrite)
    out.print(
        f"wrote {path}: {len(data.subjects)} subjects x {len(data.regions)} regions "
        f"({len(data)} cells), {data.n_stimuli} stimuli"
    )


@app.command()
@user_errors
def bench(
    name: Annotated[
        str,
        typer.Argument(
            help=(
                "Benchmark: paper (paper-rsa, paper-lp: one metric), cortex, rsa, crossnobis, "
                "aps, predictivity, evaluate, extract, extract-video, stream or nsd."
            )
        ),
    ],
    size: Annotated[
        str, typer.Option(help="small or full (the full sizes are those of BENCHMARKS.md).")
    ] = "small",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    floor: Annotated[
        bool,
        typer.Option(
            "--floor",
            help="predictivity: time the arithmetic floor in the same run and print the ratio.",
        ),
    ] = False,
    backend: BackendOpt = "numpy",
    dtype: DtypeOpt = "float64",
) -> None:
    """Run a benchmark on seeded synthetic data and print its timings."""
    check_option(name, "name", BENCHMARKS, "bench")
    check_option(size, "size", ["small", "full"], "bench")
    if floor and name != "predictivity":
        raise InputError(
            f"The '--floor' option times the floor of linear predictivity; got it with the "
            f"benchmark {name!r}. Expected 'crossalign bench predictivity --floor'."
        )
    with _execution(backend, dtype, None, None):
        result = BENCHMARKS[name](size, floor=True) if floor else BENCHMARKS[name](size)
    result["blas"] = blas_config()  # what the times depend on
    if as_json:
        print(json.dumps(result))
        return
    table = Table(title=f"benchmark {name} ({size})", box=box.SIMPLE_HEAD)
    table.add_column("quantity")
    table.add_column("value", justify="right")
    for key, value in result.items():
        table.add_row(key, f"{value:.4g}" if isinstance(value, float) else str(value))
    out.print(table)


def main() -> None:
    """Entry point of the ``crossalign`` console script."""
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
