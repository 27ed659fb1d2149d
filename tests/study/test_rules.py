"""The rules for studies and outputs (docs/robustness.md): protocols own their choices, config
files are strict, the resume key covers every input, outputs never destroy data."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from typer.testing import CliRunner

import crossalign as ca
from crossalign.cli import app
from crossalign.errors import InputError, OutputExistsError, ProtocolOverrideWarning, ResumeError
from crossalign.io.outputs import write_atomic
from crossalign.study.config import load_study, parse_study
from crossalign.study.resume import key_parts
from crossalign.study.runner import run_study
from crossalign.study.store import ResultsStore

from .test_hostile import _config, _write_inputs


@pytest.fixture
def inputs(tmp_path):
    return _write_inputs(tmp_path / "in")


@pytest.fixture
def no_report(monkeypatch):
    import crossalign.study.runner as runner

    monkeypatch.setattr(runner, "write_report", lambda r, c, out, i: ({}, out / "report.html"))


# ---------------------------------------------------------------------- protocols
def test_a_protocol_without_a_metrics_line_scores_with_the_protocols_metric(inputs):
    cfg = parse_study(_config(inputs, protocol="hoefling2026"))
    assert [m.label for m in cfg.metric_objects()] == ["pearson"]
    assert cfg.overrides() == []
    assert cfg.effective_choices()["bootstrap"] == "fixed"
    assert parse_study(_config(inputs)).metric_objects()[0].name == "spearman"


@pytest.mark.slow  # over 0.5 s: in make test, not the everyday subset
def test_a_study_metric_against_its_protocol_is_warned_and_recorded(inputs, tmp_path, no_report):
    config = _config(inputs, protocol="hoefling2026", metrics=["spearman"], n_bootstrap=0)
    with pytest.warns(ProtocolOverrideWarning, match=r"metrics = \['spearman'\].*'pearson'"):
        run_study(config, tmp_path / "out")
    with ResultsStore(tmp_path / "out" / "results.duckdb") as store:
        choices = store.query("SELECT choices FROM runs")["choices"].iloc[0]
    assert '"overrides": ["metrics = [\'spearman\']' in choices
    assert '"protocol": "hoefling2026"' in choices


def test_the_default_protocol_without_a_protocol_line_warns_of_nothing(inputs):
    with warnings.catch_warnings():
        warnings.simplefilter("error", ProtocolOverrideWarning)
        assert parse_study(_config(inputs, metrics=["cka"])).overrides() == []


# ---------------------------------------------------------------------- strict files
def test_unknown_keys_name_the_closest_valid_one(inputs):
    with pytest.raises(InputError, match=r"metrix: Extra inputs.*did you mean 'metrics'"):
        parse_study(_config(inputs, metrix=["spearman"]))
    raw = _config(inputs)
    raw["models"][0]["layres"] = ["early"]
    with pytest.raises(InputError, match=r"models.0.layres.*did you mean 'layers'"):
        parse_study(raw)


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        (
            "similarity",
            "pearsn",
            r"similarity: .*'similarity' parameter must be one of .*"
            r"Did you mean 'pearson'",
        ),
        (
            "outcome",
            ["score", "norm_lowr"],
            r"'outcome' parameter must be one of "
            r"\['score', 'norm_upper', 'norm_lower'\]. Got 'norm_lowr' instead",
        ),
        ("partners", "some", r"'partners' parameter must be 'all' or a positive integer"),
        ("partners", 0, r"'partners' parameter must be 'all' or a positive integer. Got 0"),
        ("rdm", "corelation", r"'rdm' parameter must be a registered RDM distance"),
    ],
)
def test_a_study_checks_evaluation_choices_as_the_evaluation_declares_them(
    inputs, key, value, message
):
    with pytest.raises(InputError, match=message):
        parse_study(_config(inputs, **{key: value}))
    for good in ["score"] if key == "outcome" else ["euclidean"] if key == "rdm" else []:
        assert getattr(parse_study(_config(inputs, **{key: good})), key) == good


def test_a_misspelt_models_table_in_a_models_file_is_refused(inputs, tmp_path):
    (tmp_path / "models.toml").write_text(
        f'[[model]]\nname = "net"\nsource = "activations"\npath = "{inputs["acts"]}"\n'
    )
    study = tmp_path / "study.toml"
    study.write_text(
        f'models_file = "models.toml"\n[[datasets]]\nname = "lab"\npath = "{inputs["brain"]}"\n'
    )
    with pytest.raises(InputError, match=r"unknown key\(s\) \['model'\].*did you mean 'models'"):
        load_study(study)
    result = CliRunner().invoke(app, ["run", str(study)])
    assert result.exit_code == 2 and "Traceback" not in result.output


# ---------------------------------------------------------------------- the resume key
def test_resume_after_a_weights_or_option_file_changed_is_refused(inputs, tmp_path):
    weights = tmp_path / "w.pt"
    weights.write_bytes(b"one")
    atlas = tmp_path / "atlas.npz"
    np.savez(atlas, map_all=np.zeros(3))
    raw = _config(inputs)
    raw["datasets"][0]["options"] = {"kind": "rdm"}
    cfg = parse_study(raw)
    brain = ca.io.load_arrays(inputs["brain"])
    cfg_w = cfg.model_copy(
        update={"models": [cfg.models[0].model_copy(update={"weights": str(weights)})]}
    )
    before = key_parts(cfg_w, [(cfg.datasets[0], brain)])
    weights.write_bytes(b"two")
    after = key_parts(cfg_w, [(cfg.datasets[0], brain)])
    assert before["inputs"]["weights file net"] != after["inputs"]["weights file net"]
    options = {"parcellation": str(atlas), "root": str(tmp_path)}
    dset = cfg.datasets[0].model_copy(update={"options": options})
    first = key_parts(cfg, [(dset, brain)])["inputs"]
    # a folder (a dataset's root) is not hashed: the loaded data are, as the data's hash
    assert "file lab parcellation" in first and "file lab root" not in first
    np.savez(atlas, map_all=np.ones(3))
    assert key_parts(cfg, [(dset, brain)])["inputs"] != first


def test_resume_after_the_weights_changed_names_them(inputs, tmp_path, no_report):
    from crossalign.study.resume import open_run

    cfg = parse_study(_config(inputs))
    brain = ca.io.load_arrays(inputs["brain"])
    parts = key_parts(cfg, [(cfg.datasets[0], brain)])
    with ResultsStore(tmp_path / "r.duckdb") as store:
        store.start_run(cfg.name, cfg.model_dump(mode="json"), ca.__version__, parts)
        changed = {**parts, "inputs": {**parts["inputs"], "weights file net": "0" * 64}}
        with pytest.raises(ResumeError, match="weights file net changed"):
            open_run(store, cfg, changed, True, None)


# ---------------------------------------------------------------------- outputs
def test_a_file_crossalign_did_not_write_is_never_replaced(tmp_path):
    target = tmp_path / "report.html"
    target.write_text("my notes")
    with pytest.raises(OutputExistsError, match=r"report.html' exists and crossalign did not"):
        write_atomic(target, lambda tmp: tmp.write_text("new"))
    assert target.read_text() == "my notes"
    write_atomic(target, lambda tmp: tmp.write_text("new"), overwrite=True)
    assert target.read_text() == "new"
    write_atomic(target, lambda tmp: tmp.write_text("newer"))  # now crossalign's own file
    assert target.read_text() == "newer"


def test_convert_refuses_an_existing_output_and_never_deletes_a_folder(tmp_path):
    data = ca.BrainData.from_responses(
        {(s, "V1"): np.random.default_rng(s).normal(size=(5, 3)) for s in range(2)}
    )
    nc = tmp_path / "d.nc"
    nc.write_text("someone's file")
    with pytest.raises(OutputExistsError, match=r"d\.nc"):
        ca.io.save_xarray(data, nc)
    assert nc.read_text() == "someone's file"
    folder = tmp_path / "d.zarr"
    folder.mkdir()
    (folder / "thesis.tex").write_text("precious")
    for overwrite in (False, True):
        with pytest.raises(OutputExistsError, match=r"d\.zarr"):
            ca.io.save_xarray(data, folder, overwrite=overwrite)
    assert (folder / "thesis.tex").read_text() == "precious"
    pytest.importorskip("zarr")
    store = ca.io.save_xarray(data, tmp_path / "ok.zarr")
    ca.io.save_xarray(data, store)  # its own store: replaced
    assert ca.io.load_xarray(store).subjects == [0, 1]


def test_convert_on_the_command_line_names_the_flag(tmp_path):
    out = tmp_path / "x.nc"
    out.write_text("keep")
    result = CliRunner().invoke(app, ["convert", "cichy2014", str(out)])
    assert result.exit_code == 2
    assert "--overwrite" in result.output and "Traceback" not in result.output
    assert out.read_text() == "keep"
