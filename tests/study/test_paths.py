"""A study's paths resolve from the study file's folder, never the working directory: the
same study file gives the same data (and resume key) wherever it is run from."""

from __future__ import annotations

import os

import numpy as np
import pytest
from typer.testing import CliRunner

from crossalign.cli import app
from crossalign.errors import InputError
from crossalign.study.config import load_study
from crossalign.study.paths import resolve_path
from crossalign.study.reproduce import reproduction_study
from crossalign.study.resume import key_parts
from crossalign.study.runner import _load_brain, run_study
from crossalign.study.store import ResultsStore

from ..io import dataset_layouts as layouts
from .test_hostile import _config, _write_inputs

PARCELS = ["V1", "V2", "V3"]

STUDY = """
name = "paths"
[[datasets]]
name = "bold_moments"
parcellation = "atlas_mmp.npz"
options = {{ root = ".", space = "fsLR32k", parcellation = "atlas_mmp.npz", rois = {rois}, repeats = "average", subjects = [1, 2] }}
[[models]]
name = "net"
source = "activations"
path = "acts.npz"
"""  # noqa: E501


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    folder = tmp_path_factory.mktemp("study")
    layouts.bold_moments_fslr(folder, np.random.default_rng(5), parcels=PARCELS)
    np.savez(folder / "acts.npz", layer=np.zeros((3, 3)))
    path = folder / "study.toml"
    path.write_text(STUDY.format(rois=str(PARCELS).replace("'", '"')))
    # a decoy of the same name where the study is run from: another map of the same axis
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    atlas = np.load(folder / "atlas_mmp.npz")
    np.savez(elsewhere / "atlas_mmp.npz", map_all=atlas["map_all"][::-1], labels=atlas["labels"])
    return path, elsewhere


@pytest.mark.slow  # over 0.5 s: in make test, not the everyday subset
def test_the_same_study_file_loads_the_same_data_from_any_folder(study, monkeypatch):
    path, elsewhere = study
    loaded = []
    for cwd in (path.parent, elsewhere):
        monkeypatch.chdir(cwd)
        cfg = load_study(os.path.relpath(path, cwd))
        dset = cfg.datasets[0]
        assert dset.parcellation == str(path.parent / "atlas_mmp.npz")
        assert dset.options["parcellation"] == str(path.parent / "atlas_mmp.npz")
        assert dset.options["root"] == str(path.parent / ".")
        brain = _load_brain(dset)
        loaded.append((brain, key_parts(cfg, [(dset, brain)])["inputs"]))
    (a, key_a), (b, key_b) = loaded
    for cell in a:
        np.testing.assert_array_equal(a[cell].values, b[cell].values)
    assert key_a == key_b
    assert {"file bold_moments parcellation", "file bold_moments parcellation (dataset)"} <= set(
        key_a
    )


def test_named_parcellations_stay_names_and_lists_resolve_item_by_item(tmp_path):
    assert resolve_path("hcp_mmp1", tmp_path, names={"hcp_mmp1"}) == "hcp_mmp1"
    assert resolve_path(["lh.a.annot", "/abs/rh.a.annot"], tmp_path) == [
        str(tmp_path / "lh.a.annot"),
        "/abs/rh.a.annot",
    ]
    assert resolve_path("evc.npz:Net_RDM", tmp_path) == f"{tmp_path / 'evc.npz'}:Net_RDM"


def test_reproduce_writes_a_parcellation_file_as_an_absolute_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "maps").mkdir()
    study = reproduction_study("hoefling2026", tmp_path, parcellation="maps/x.npz")
    assert study["datasets"][0]["options"]["parcellation"] == str(tmp_path / "maps" / "x.npz")
    named = reproduction_study("hoefling2026", tmp_path, parcellation="yeo7")
    assert named["datasets"][0]["options"]["parcellation"] == "yeo7"


@pytest.mark.slow  # over 0.5 s: in make test, not the everyday subset
def test_a_failed_report_keeps_the_run_visible(tmp_path, monkeypatch):
    import crossalign.study.runner as runner

    def broken(*args):
        raise InputError("the cortex maps could not be drawn")

    monkeypatch.setattr(runner, "write_report", broken)
    inputs = _write_inputs(tmp_path / "in")
    with pytest.raises(InputError, match=r"computed and stored .* cortex maps could not be"):
        run_study(_config(inputs, n_bootstrap=0), tmp_path / "out")
    with ResultsStore(tmp_path / "out" / "results.duckdb") as store:
        runs = store.query("SELECT status, note FROM runs")
        latest = store.query("SELECT count(*) AS n FROM latest")
    assert list(runs["status"]) == ["computed"]
    assert runs["note"].iloc[0].startswith("report failed: InputError: the cortex maps")
    assert int(latest["n"].iloc[0]) > 0


def _options_of_every_command() -> set[str]:
    import typer.main

    group = typer.main.get_command(app)
    names: set[str] = set()
    for command in [group, *group.commands.values()]:  # type: ignore[attr-defined]
        for param in command.params:
            opts = [*param.opts, *getattr(param, "secondary_opts", [])]  # --x/--no-x
            names.update(o for o in opts if o.startswith("--"))
    return names


def test_every_option_an_error_suggests_exists():
    import re
    from pathlib import Path

    import crossalign

    src = Path(crossalign.__file__).parent
    named = set()
    for path in src.rglob("*.py"):
        named.update(re.findall(r"(?<![\w-])--[a-z][a-z-]+", path.read_text()))
    missing = sorted(named - _options_of_every_command() - {"--help"})
    assert not missing, f"messages name options that no command has: {missing}"


@pytest.mark.slow  # over 0.5 s: in make test, not the everyday subset
def test_run_never_suggests_an_overwrite_option_it_lacks(tmp_path):
    inputs = _write_inputs(tmp_path / "in")
    study = tmp_path / "study.toml"
    lines = [f'{k} = "{v}"' if isinstance(v, str) else f"{k} = {v}" for k, v in [
        ("name", "hint"), ("n_bootstrap", 0)]]  # fmt: skip
    study.write_text(
        "\n".join(lines)
        + f'\n[[datasets]]\nname = "lab"\npath = "{inputs["brain"]}"\n'
        + f'[[models]]\nname = "net"\nsource = "activations"\npath = "{inputs["acts"]}"\n'
    )
    out = tmp_path / "out"
    out.mkdir()
    (out / "report.html").write_text("a person's page")
    result = CliRunner().invoke(app, ["run", str(study), "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert "--out" in result.output and "--overwrite" not in result.output
    assert (out / "report.html").read_text() == "a person's page"
