"""Every study option reaches the code that uses it.

The schema is walked: each field of the study, dataset and model configs must have a case
here, which changes that one field in a small study and asserts what the change does to the
results (or, for the few fields that by design change no number, that the numbers stay equal
and the value is recorded). A field added without a case fails ``test_every_field_has_a_case``.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from rich.console import Console

import crossalign as ca
from crossalign.models.video import write_video
from crossalign.study.config import DatasetConfig, ModelConfig, StudyConfig
from crossalign.study.runner import run_study
from crossalign.study.store import ResultsStore, query_database

from .test_hostile import _write_inputs

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("options")
    files = _write_inputs(folder / "a")
    other = _write_inputs(folder / "b", seed=1)
    clips = folder / "clips"
    clips.mkdir()
    rng = np.random.default_rng(3)
    for image in sorted(files["images"].iterdir()):  # a short clip per stimulus, named by id
        frames = rng.integers(0, 256, size=(6, 24, 24, 3), dtype=np.uint8)
        write_video(clips / f"{image.stem}.mkv", frames)
    return {
        **files,
        "brain_b": other["brain"],
        "acts_b": other["acts"],
        "images_b": other["images"],
        "clips": clips,
    }


def base(inputs) -> dict:
    return {
        "name": "options",
        "datasets": [
            {"name": "lab", "path": str(inputs["brain"]), "stimuli": str(inputs["images"])}
        ],
        "models": [
            {"name": "net", "source": "activations", "path": str(inputs["acts"])},
            {"name": "tiny", "source": "module", "module": "tests.helper_models:tiny_net"},
            {
                "name": "enet",
                "model": "efficientnet_lite0",
                "pretrained": False,
                "seed": 0,
                "layers": ["_blocks.1", "_blocks.15"],
                "pool": "avg",
            },
        ],
        "n_bootstrap": 30,
        "n_permutations": 30,
    }


class Run:
    """One run of a config: its results, runs table and console output."""

    def __init__(self, config: dict, out: Path) -> None:

        console = Console(file=io.StringIO(), width=300)  # figures are tested elsewhere
        run_study(config, out, allow_user_modules=True, console=console, report=False)
        self.printed = console.file.getvalue()
        with ResultsStore(out / "results.duckdb") as store:
            self.results = store.results()
        self.runs = query_database(out / "results.duckdb", "SELECT * FROM runs")
        self.config = json.loads(self.runs["config"].iloc[-1])

    def values(self, analysis: str, statistic: str = "mean", **where: str) -> pd.Series:
        res = self.results
        rows = res[(res["analysis"] == analysis) & (res["statistic"] == statistic)]
        for col, value in where.items():
            rows = rows[rows[col] == value]
        return rows.set_index(["dataset", "model", "region"])["value"].sort_index()


@pytest.fixture(scope="module")
def reference(inputs, tmp_path_factory):
    return Run(base(inputs), tmp_path_factory.mktemp("reference"))


def _model(cfg: dict, name: str) -> dict:
    return next(m for m in cfg["models"] if m["name"] == name)


def _changed(ref: Run, new: Run, analysis: str = "score", model: str | None = None) -> bool:
    a, b = ref.values(analysis), new.values(analysis)
    if model is not None:
        a, b = a.xs(model, level="model"), b.xs(model, level="model")
    return not (a.index.equals(b.index) and np.allclose(a.to_numpy(), b.to_numpy(), atol=1e-12))


# Each case: (change the base config in place, check the run against the reference).
Case = tuple[Callable[[dict, dict], None], Callable[[Run, Run, dict], None]]


def _set(path: str, value):
    def change(cfg: dict, inputs: dict) -> None:
        target = cfg
        *head, last = path.split(".")
        for part in head:
            if part.startswith("model:"):  # the entry of the models list with this name
                target = next(m for m in target if m["name"] == part[6:])
            else:
                target = target[part]
        target[last] = value(inputs) if callable(value) else value

    return change


def _equal_numbers(ref: Run, new: Run) -> None:
    for analysis in ("score", "aps", "brain_aps"):
        a, b = ref.values(analysis), new.values(analysis)
        pd.testing.assert_series_equal(a, b, rtol=0, atol=1e-12)


CASES: dict[str, Case] = {
    "StudyConfig.name": (
        _set("name", "renamed"),
        lambda ref, new, inp: (new.runs["study"].iloc[-1] == "renamed") or pytest.fail(),
    ),
    "StudyConfig.datasets": (
        lambda cfg, inp: cfg["datasets"].append(
            {
                "name": "lab",
                "label": "second",
                "path": str(inp["brain_b"]),
                "stimuli": str(inp["images_b"]),
            }
        ),
        lambda ref, new, inp: assert_(set(new.results["dataset"]) == {"lab", "second"}),
    ),
    "StudyConfig.models": (
        lambda cfg, inp: cfg["models"].pop(),
        lambda ref, new, inp: assert_("enet" not in set(new.results["model"].dropna())),
    ),
    "StudyConfig.models_file": (  # the same models from a file: the same numbers
        lambda cfg, inp: cfg.update(models_file=_models_file(cfg.pop("models"), inp)),
        lambda ref, new, inp: (
            _equal_numbers(ref, new),
            assert_(set(new.results["model"].dropna()) == set(ref.results["model"].dropna())),
        ),
    ),
    "StudyConfig.metrics": (
        _set("metrics", ["pearson"]),
        lambda ref, new, inp: assert_(set(new.results["metric"]) == {"pearson"}),
    ),
    "StudyConfig.protocol": (  # the protocol's metric where the study sets none (Pearson)
        _set("protocol", "hoefling2026"),
        lambda ref, new, inp: assert_(
            set(ref.results["metric"].dropna()) == {"spearman"}
            and set(new.results["metric"].dropna()) == {"pearson"}
        ),
    ),
    "StudyConfig.rdm": (  # another RDM distance: other scores
        _set("rdm", "euclidean"),
        lambda ref, new, inp: assert_(not ref.values("score").equals(new.values("score"))),
    ),
    "StudyConfig.test_fraction": (
        _set("test_fraction", 0.3),
        lambda ref, new, inp: assert_(_changed(ref, new)),
    ),
    "StudyConfig.seed": (_set("seed", 3), lambda ref, new, inp: assert_(_changed(ref, new))),
    "StudyConfig.n_bootstrap": (
        _set("n_bootstrap", 40),
        lambda ref, new, inp: assert_(
            not ref.values("score", "low").equals(new.values("score", "low"))
            and ref.values("score").equals(new.values("score"))
        ),
    ),
    "StudyConfig.n_permutations": (
        _set("n_permutations", 5),
        lambda ref, new, inp: assert_(
            (new.results.query("statistic == 'n_permutations'")["value"] == 5).all()
        ),
    ),
    "StudyConfig.batch_size": (  # changes no number, by design; recorded
        _set("batch_size", 5),
        lambda ref, new, inp: (_equal_numbers(ref, new), assert_(new.config["batch_size"] == 5)),
    ),
    "StudyConfig.cache_dir": (
        _set("cache_dir", lambda inp: str(inp["brain"].parent / "cache-here")),
        lambda ref, new, inp: (
            _equal_numbers(ref, new),
            assert_(any((inp["brain"].parent / "cache-here").rglob("*"))),
        ),
    ),
    "StudyConfig.memory_budget": (
        _set("memory_budget", "3GB"),
        lambda ref, new, inp: (_equal_numbers(ref, new), assert_("budget 3.00 GB" in new.printed)),
    ),
    "StudyConfig.outcome": (  # the score over the lower ceiling, labelled and kept beside
        _set("outcome", ["norm_lower", "score"]),
        lambda ref, new, inp: assert_(
            set(new.results["metric"]) == {"spearman", "spearman [norm_lower]"}
            and set(new.results["outcome"]) == {"score", "norm_lower"}
            and not _changed(ref, _only(new, "spearman"))
            and _changed(ref, _only(new, "spearman [norm_lower]"))
        ),
    ),
    "StudyConfig.partners": (  # 2 partners per target: other brain APS and ceilings
        _set("partners", 2),
        lambda ref, new, inp: assert_(
            _changed(ref, new, "brain_aps") and new.config["partners"] == 2
        ),
    ),
    "StudyConfig.similarity": (  # APS by mean absolute difference: other APS, same scores
        _set("similarity", "mae"),
        lambda ref, new, inp: assert_(
            _changed(ref, new, "aps") and not _changed(ref, new, "score")
        ),
    ),
    "StudyConfig.connectivity": (
        lambda cfg, inp: cfg.update(
            connectivity=[{"name": "wires", "path": _connectivity_file(inp), "n_random": 20}]
        ),
        lambda ref, new, inp: (
            _equal_numbers(ref, new),
            assert_(
                set(new.results.query("analysis == 'connectivity_aps'")["other_model"]) == {"wires"}
            ),
        ),
    ),
    "ModelConfig.encoding": (  # a brain-predictive model on response data: its own regions
        lambda cfg, inp: (
            cfg["datasets"][0].update(path=_response_brain(inp)),
            cfg["models"].append(
                {
                    "name": "insilico",
                    "source": "encoding",
                    "path": str(inp["acts"]),
                    "encoding": {"subjects": "others", "cv": 3},
                }
            ),
        ),
        lambda ref, new, inp: assert_(
            set(new.results.query("model == 'insilico'")["paradigm"].dropna())
            == {"brain-predictive"}
            and {
                (r, la)
                for r, la in new.results.query(
                    "model == 'insilico' and analysis == 'selected_layer'"
                )[["region", "layer"]].itertuples(index=False)
            }
            == {(r, r) for r in set(new.results["region"].dropna())}
        ),
    ),
    "DatasetConfig.name": (
        lambda cfg, inp: cfg["datasets"][0].update(name="renamed"),
        lambda ref, new, inp: assert_(set(new.results["dataset"]) == {"renamed"}),
    ),
    "DatasetConfig.label": (
        lambda cfg, inp: cfg["datasets"][0].update(label="labelled"),
        lambda ref, new, inp: assert_(set(new.results["dataset"]) == {"labelled"}),
    ),
    "DatasetConfig.options": (
        lambda cfg, inp: cfg["datasets"][0].update(options={"subjects": ["a", "b", "c", "d"]}),
        lambda ref, new, inp: assert_(set(new.results["subject"].dropna()) == {"a", "b", "c", "d"}),
    ),
    "DatasetConfig.path": (
        lambda cfg, inp: cfg["datasets"][0].update(path=str(inp["brain_b"])),
        lambda ref, new, inp: assert_(_changed(ref, new, "brain_aps")),
    ),
    "DatasetConfig.regions": (
        lambda cfg, inp: cfg["datasets"][0].update(regions=["V1", "V2", "IT"]),
        lambda ref, new, inp: assert_(set(new.results["region"].dropna()) == {"V1", "V2", "IT"}),
    ),
    "DatasetConfig.parcellation": (  # regions checked against the map; recorded
        lambda cfg, inp: cfg["datasets"][0].update(
            regions=["V1", "V2", "V4"], parcellation="hcp_mmp1"
        ),
        lambda ref, new, inp: assert_(
            '"parcellation": "hcp_mmp1"' in new.runs["config"].iloc[-1]
            and set(new.results["region"].dropna()) == {"V1", "V2", "V4"}
        ),
    ),
    "DatasetConfig.clips": (  # clip decoding: recorded; still images are not clips
        lambda cfg, inp: cfg["datasets"][0].update(clips={"fps": 2.0, "size": 32}),
        lambda ref, new, inp: assert_(
            '"clips": {"fps": 2.0' in new.runs["config"].iloc[-1]
            and ref.values("score").equals(new.values("score"))
        ),
    ),
    "DatasetConfig.stimuli": (
        lambda cfg, inp: cfg["datasets"][0].update(stimuli=str(inp["images_b"])),
        lambda ref, new, inp: assert_(
            _changed(ref, new, model="tiny") and not _changed(ref, new, model="net")
        ),
    ),
    "ModelConfig.name": (
        _set("models.model:net.name", "renamed"),
        lambda ref, new, inp: assert_("renamed" in set(new.results["model"].dropna())),
    ),
    "ModelConfig.source": (
        _set("models.model:net.source", "pixels"),
        lambda ref, new, inp: assert_(
            set(new.results.query("model == 'net' and analysis == 'layer_profile'")["layer"])
            == {"pixels"}
        ),
    ),
    "ModelConfig.model": (
        lambda cfg, inp: _model(cfg, "enet").update(
            model="timm:resnet18", layers=["layer1", "layer4"]
        ),
        lambda ref, new, inp: assert_(
            set(new.results.query("model == 'enet' and analysis == 'layer_profile'")["layer"])
            == {"layer1", "layer4"}
        ),
    ),
    "ModelConfig.pretrained": (
        _set("models.model:enet.pretrained", True),
        lambda ref, new, inp: assert_(_changed(ref, new, model="enet")),
    ),
    "ModelConfig.seed": (
        _set("models.model:enet.seed", 1),
        lambda ref, new, inp: assert_(
            _changed(ref, new, model="enet") and not _changed(ref, new, model="net")
        ),
    ),
    "ModelConfig.path": (
        _set("models.model:net.path", lambda inp: str(inp["acts_b"])),
        lambda ref, new, inp: assert_(_changed(ref, new, model="net")),
    ),
    "ModelConfig.module": (
        _set("models.model:tiny.module", "tests.helper_models:tiny_net_b"),
        lambda ref, new, inp: assert_(_changed(ref, new, model="tiny")),
    ),
    "ModelConfig.layers": (
        _set("models.model:enet.layers", ["_blocks.15"]),
        lambda ref, new, inp: assert_(
            set(new.results.query("model == 'enet' and analysis == 'selected_layer'")["layer"])
            == {"_blocks.15"}
        ),
    ),
    "ModelConfig.pool": (
        _set("models.model:enet.pool", "flatten"),
        lambda ref, new, inp: assert_(_changed(ref, new, model="enet")),
    ),
    "ModelConfig.projection": (
        _set("models.model:enet.projection", 8),
        lambda ref, new, inp: assert_(
            _changed(ref, new, model="enet") and not _changed(ref, new, model="net")
        ),
    ),
    "ModelConfig.frames": (
        lambda cfg, inp: (_on_clips(cfg, inp), _model(cfg, "tiny").update(frames=2)),
        lambda ref, new, inp: assert_(_clip_variant_differs(new, inp, frames=4)),
    ),
    "ModelConfig.temporal": (
        lambda cfg, inp: (_on_clips(cfg, inp), _model(cfg, "tiny").update(temporal="max")),
        lambda ref, new, inp: assert_(_clip_variant_differs(new, inp, temporal="mean")),
    ),
    "ModelConfig.weights": (
        lambda cfg, inp: _model(cfg, "enet").update(weights=_weights_file(inp)),
        lambda ref, new, inp: assert_(
            _changed(ref, new, model="enet") and not _changed(ref, new, model="net")
        ),
    ),
    "ModelConfig.input": (  # the enet sees 48 x 48 inputs without a crop: its numbers move
        _set("models.model:enet.input", {"size": 48, "crop_pct": 1.0}),
        lambda ref, new, inp: (
            assert_(_changed(ref, new, model="enet") and not _changed(ref, new, model="net")),
            assert_(_model(new.config, "enet")["input"]["size"] == 48),
        ),
    ),
    "ModelConfig.family": (  # metadata: no number changes; recorded for the report
        _set("models.model:net.family", "convnet"),
        lambda ref, new, inp: (
            _equal_numbers(ref, new),
            assert_(_model(new.config, "net")["family"] == "convnet"),
        ),
    ),
    "ModelConfig.training_data": (
        _set("models.model:net.training_data", "ImageNet-1k"),
        lambda ref, new, inp: (
            _equal_numbers(ref, new),
            assert_(_model(new.config, "net")["training_data"] == "ImageNet-1k"),
        ),
    ),
    "ModelConfig.paradigm": (
        _set("models.model:net.paradigm", "self-supervised"),
        lambda ref, new, inp: assert_(
            set(new.results.query("model == 'net'")["paradigm"].dropna()) == {"self-supervised"}
        ),
    ),
    "ModelConfig.datasets": (
        lambda cfg, inp: (
            cfg["datasets"].append(
                {
                    "name": "lab",
                    "label": "second",
                    "path": str(inp["brain_b"]),
                    "stimuli": str(inp["images_b"]),
                }
            ),
            _model(cfg, "net").update(datasets=["second"]),
        ),
        lambda ref, new, inp: assert_(
            set(new.results.query("model == 'net'")["dataset"]) == {"second"}
            and set(new.results.query("model == 'tiny'")["dataset"]) == {"lab", "second"}
        ),
    ),
}


def _weights_file(inputs: dict) -> str:
    """EfficientNet-Lite0 weights drawn with another seed, saved as a state dict."""
    import torch

    path = inputs["brain"].parent / "enet-seed7.pt"
    if not path.exists():
        torch.save(
            ca.load_model("efficientnet_lite0", pretrained=False, seed=7).module.state_dict(), path
        )
    return str(path)


def _only(run: Run, metric: str) -> Run:
    """A view of a run's results of one metric label (for comparing with the reference)."""
    view = object.__new__(Run)
    view.results = run.results[run.results["metric"] == metric]
    return view


def _connectivity_file(inputs: dict) -> str:
    """A random symmetric connectivity over the base dataset's regions."""
    brain = dict(np.load(inputs["brain"]))
    regions = [k for k in brain if k != "stimuli"]
    w = np.random.default_rng(0).uniform(size=(len(regions), len(regions)))
    path = inputs["brain"].parent / "wires.npz"
    np.savez(path, connectivity=(w + w.T) / 2, regions=np.array(regions))
    return str(path)


def _response_brain(inputs: dict) -> str:
    """Responses of 4 subjects in the base dataset's regions, driven by the base model's
    activations (a dataset an encoding model can be fitted on)."""
    acts = dict(np.load(inputs["acts"]))
    regions = [k for k in dict(np.load(inputs["brain"])) if k != "stimuli"]
    rng = np.random.default_rng(5)
    drive = np.hstack([acts["early"], acts["late"]])
    brain = ca.BrainData.from_responses(
        {
            (f"s{s}", r): drive @ rng.normal(size=(drive.shape[1], 8))
            + rng.normal(size=(len(drive), 8))
            for s in range(4)
            for r in regions
        },
        stimuli=[str(x) for x in acts["stimuli"]],
    )
    path = inputs["brain"].parent / "responses.nc"
    if not path.exists():
        ca.io.save_xarray(brain, path)
    return str(path)


def _models_file(models: list[dict], inputs: dict) -> str:
    """The models as a TOML models file."""
    lines = []
    for m in models:
        lines.append("[[models]]")
        lines += [f"{k} = {json.dumps(v)}" for k, v in m.items()]
    path = inputs["brain"].parent / "models.toml"
    path.write_text("\n".join(lines) + "\n")  # JSON scalars and lists are valid TOML
    return str(path)


def _on_clips(cfg: dict, inputs: dict) -> None:
    """The study on short clips, without the EfficientNet (the clip cases test the tiny
    model's clip options; the EfficientNet would only run every frame at 224 x 224)."""
    cfg["datasets"][0]["stimuli"] = str(inputs["clips"])
    cfg["models"] = [m for m in cfg["models"] if m["name"] != "enet"]


def _clip_variant_differs(new: Run, inputs: dict, **tiny: object) -> bool:
    """The same clip study with the tiny model's clip option set otherwise: its numbers
    differ, the other models' do not."""
    import tempfile

    config = json.loads(json.dumps(base(inputs)))
    _on_clips(config, inputs)
    _model(config, "tiny").update(tiny)
    other = Run(config, Path(tempfile.mkdtemp()) / "out")
    return _changed(other, new, model="tiny") and not _changed(other, new, model="net")


def assert_(condition: bool) -> None:
    assert condition


def test_every_field_has_a_case():
    fields = {
        f"{cls.__name__}.{name}"
        for cls in (StudyConfig, DatasetConfig, ModelConfig)
        for name in cls.model_fields
    }
    assert fields == set(CASES)


@pytest.mark.parametrize("field", sorted(CASES))
def test_each_field_changes_what_it_should(field, inputs, reference, tmp_path):
    change, check = CASES[field]
    config = json.loads(json.dumps(base(inputs)))
    change(config, inputs)
    check(reference, Run(config, tmp_path / "out"), inputs)


def test_metric_parameters_in_a_study(tmp_path, rng):
    """A metrics entry may be a table with the metric's typed parameters; results name the
    metric with them, and their numbers are those of the library's own call."""
    stims = [f"s{i}" for i in range(14)]
    latent = rng.normal(size=(14, 4))
    brain = ca.BrainData.from_responses(
        {
            (f"sub{s}", r): latent @ rng.normal(size=(4, 8)) + 0.5 * rng.normal(size=(14, 8))
            for s in range(4)
            for r in ("V1", "V2", "IT")
        },
        stimuli=stims,
    )
    ca.io.save_xarray(brain, tmp_path / "brain.nc")
    np.savez(tmp_path / "acts.npz", layer1=latent, stimuli=np.array(stims))
    config = {
        "name": "params",
        "datasets": [{"name": "data", "path": str(tmp_path / "brain.nc")}],
        "models": [{"name": "net", "source": "activations", "path": str(tmp_path / "acts.npz")}],
        "metrics": ["spearman", {"name": "mutual_knn", "k": 3}],
        "n_bootstrap": 10,
        "n_permutations": 10,
    }
    from crossalign.study.runner import run_study
    from crossalign.study.store import ResultsStore

    result = run_study(config, tmp_path / "out", report=False)
    with ResultsStore(result["database"]) as store:
        rows = store.query(
            "SELECT region, target_region, value FROM results WHERE metric = 'mutual_knn(k=3)' "
            "AND analysis = 'cross_region_matrix'"
        )
        metrics = set(store.query("SELECT DISTINCT metric FROM results")["metric"])
    assert metrics == {"spearman", "mutual_knn(k=3)"}
    got = rows.pivot(index="region", columns="target_region", values="value")
    want = ca.cross_region_matrix(brain, ca.get_metric("mutual_knn", k=3))
    np.testing.assert_allclose(got.loc[["V1", "V2", "IT"], ["V1", "V2", "IT"]], want, atol=1e-12)


@pytest.mark.parametrize(
    ("metrics", "message"),
    [
        ([{"name": "mutual_knn", "k": 0}], r"'k' parameter of mutual_knn must be a positive"),
        ([{"name": "shape", "alfa": 0.5}], r"no parameter 'alfa'.*Did you mean 'alpha'"),
        ([{"k": 3}], r"metric table needs a 'name'"),
        (["spearman", {"name": "spearman"}], r"names a metric twice"),
    ],
)
def test_bad_metric_parameters_are_refused_before_the_study_runs(metrics, message):
    from crossalign.study.config import parse_study

    with pytest.raises(ValueError, match=message):
        parse_study({"datasets": [{"name": "cichy2014"}], "metrics": metrics})


def test_a_models_input_replaces_its_preprocessing_field_by_field_and_is_checked():
    from crossalign.models.stimuli import Preprocess
    from crossalign.study.models import registry_model
    from crossalign.study.runner import parse_study

    pytest.importorskip("timm")
    entry = {"name": "r", "model": "timm:resnet10t", "pretrained": False}
    plain = registry_model(ModelConfig(**entry), False).preprocess
    mcfg = ModelConfig(**entry, input={"size": 64, "crop_pct": 1.0})
    got = registry_model(mcfg, False).preprocess
    assert got == Preprocess(64, 1.0, plain.mean, plain.std, plain.interpolation)
    # fed as they are: a 64 x 64 frame at size 64 without a crop is only normalised
    frame = np.random.default_rng(0).integers(0, 256, size=(64, 64, 3), dtype=np.uint8)
    want = (frame / np.float32(255.0) - np.float32(plain.mean)) / np.float32(plain.std)
    np.testing.assert_allclose(got(frame), want.transpose(2, 0, 1), rtol=1e-6)
    with pytest.raises(
        ValueError, match=r"models.0.input.crop_pct: Input should be less than or equal to 1"
    ):
        parse_study(
            {"datasets": [{"name": "cichy2014"}], "models": [{**entry, "input": {"crop_pct": 2}}]}
        )
    with pytest.raises(ValueError, match=r"'input' replaces a registry model's preprocessing"):
        ModelConfig(name="p", source="predictors", input={"size": 64})
    with pytest.raises(ValueError, match=r"input.scale\n  Extra inputs are not permitted"):
        ModelConfig(**entry, input={"scale": 2})
