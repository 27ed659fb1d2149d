"""Studies and commands as a new user or an attacker would try them: each case once gave a
silently wrong number, lost data or crashed after computing. Each test builds the file or
config that caused it and asserts the correct number or a clear error."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from typer.testing import CliRunner

import crossalign as ca
import crossalign.functional as caf
from crossalign.cli import app
from crossalign.errors import BusyError, InputError, PlanError, ResumeError
from crossalign.study.runner import load_study, parse_study, run_study
from crossalign.study.store import ResultsStore, query_database

ROOT = Path(__file__).resolve().parents[2]
REGIONS = ("V1", "V2", "V4", "IT")
N_STIM = 12


def _write_inputs(folder: Path, seed: int = 0, n_sub: int = 4) -> dict[str, Path]:
    """A small user dataset with planted structure: RDMs per region, activations of a model
    with two layers, and one PNG per stimulus."""
    rng = np.random.default_rng(seed)
    stims = [f"img{i:02d}" for i in range(N_STIM)]
    base = rng.normal(size=(N_STIM, 7))
    # region k draws on latent columns k..k+3: neighbouring regions share structure
    patterns = {r: base[:, k : k + 4] @ rng.normal(size=(4, 20)) for k, r in enumerate(REGIONS)}
    rdms = {
        r: np.stack(
            [
                caf.compute_rdm(patterns[r] + 0.7 * rng.normal(size=(N_STIM, 20)))
                for _ in range(n_sub)
            ]
        )
        for r in REGIONS
    }
    folder.mkdir(parents=True, exist_ok=True)
    np.savez(folder / "brain.npz", **rdms, stimuli=np.array(stims))
    np.savez(
        folder / "acts.npz",
        early=patterns["V1"] + 0.3 * rng.normal(size=(N_STIM, 20)),
        late=patterns["IT"] + 0.3 * rng.normal(size=(N_STIM, 20)),
        stimuli=np.array(stims),
    )
    images = folder / "images"
    images.mkdir(exist_ok=True)
    for i, s in enumerate(stims):
        pixels = (np.random.default_rng((seed, i)).random((24, 24, 3)) * 255).astype(np.uint8)
        Image.fromarray(pixels).save(images / f"{s}.png")
    return {"brain": folder / "brain.npz", "acts": folder / "acts.npz", "images": images}


@pytest.fixture
def inputs(tmp_path):
    return _write_inputs(tmp_path / "in")


@pytest.fixture
def no_report(monkeypatch):
    """Skip drawing figures where a test is about the numbers (the report has its own)."""
    import crossalign.study.runner as runner

    def fake(results, config, out, run_id):
        return {}, out / "report.html"

    monkeypatch.setattr(runner, "write_report", fake)


def _config(inputs: dict[str, Path], **extra) -> dict:
    base = {
        "name": "hostile",
        "datasets": [{"name": "lab", "path": str(inputs["brain"])}],
        "models": [{"name": "net", "source": "activations", "path": str(inputs["acts"])}],
        "n_bootstrap": 20,
        "n_permutations": 20,
    }
    base.update(extra)
    return base


def _results(out: Path) -> pd.DataFrame:
    with ResultsStore(out / "results.duckdb") as store:
        return store.results()


# ---------------------------------------------------------------------- resume integrity
def test_resume_after_an_input_file_changed_is_refused(inputs, tmp_path, no_report):
    config = _config(inputs)
    out = tmp_path / "out"
    with ResultsStore(out / "results.duckdb") as store:  # an interrupted run of this config
        cfg = parse_study(config)
        from crossalign.study.runner import _preflight, key_parts

        parts = key_parts(cfg, _preflight(cfg, None))
        store.start_run(cfg.name, cfg.model_dump(mode="json"), ca.__version__, parts)
    data = dict(np.load(inputs["acts"]))
    data["late"] = data["late"] + 1.0  # the activations file changes on disk
    np.savez(inputs["acts"], **data)
    with pytest.raises(ResumeError, match=r"model file net changed"):
        run_study(config, out, resume=True)
    with pytest.raises(ResumeError, match=r"config\.n_bootstrap: 20 -> 30"):
        run_study({**config, "n_bootstrap": 30}, out, resume=True)


@pytest.mark.slow  # over 0.5 s: in make test, not the everyday subset
def test_resume_with_another_dtype_is_refused_and_the_old_run_kept(inputs, tmp_path, no_report):
    out = tmp_path / "out"
    with ResultsStore(out / "results.duckdb") as store:
        cfg = parse_study(_config(inputs))
        from crossalign.study.runner import _preflight, key_parts

        parts = key_parts(cfg, _preflight(cfg, None))
        run = store.start_run(cfg.name, cfg.model_dump(mode="json"), ca.__version__, parts)
    with (
        ca.options(dtype="float32"),
        pytest.raises(ResumeError, match=r"dtype: 'float64' -> 'float32'"),
    ):
        run_study(_config(inputs), out, resume=True)
    with ca.options(backend="torch:cpu"), pytest.raises(ResumeError, match=r"backend: 'numpy'"):
        run_study(_config(inputs), out, resume=True)
    resumed = run_study(_config(inputs), out, resume=True)
    assert resumed["run_id"] == run
    runs = query_database(out / "results.duckdb", "SELECT run_id, status FROM runs")
    assert runs.to_dict("records") == [{"run_id": run, "status": "complete"}]


@pytest.mark.slow  # over 0.5 s: in make test, not the everyday subset
def test_a_fresh_run_marks_a_dead_running_run_interrupted(inputs, tmp_path, no_report):
    out = tmp_path / "out"
    with ResultsStore(out / "results.duckdb") as store:
        old = store.start_run("hostile", {}, ca.__version__, {})
    new = run_study(_config(inputs), out)["run_id"]
    runs = query_database(out / "results.duckdb", "SELECT run_id, status FROM runs")
    assert dict(zip(runs["run_id"], runs["status"], strict=True)) == {
        old: "interrupted",
        new: "complete",
    }


# ---------------------------------------------------------------------- unique names, labels
def test_duplicate_dataset_and_model_names_are_config_errors(inputs):
    twice = {"name": "lab", "path": str(inputs["brain"])}
    with pytest.raises(InputError, match=r"\['lab'\] appear more than once.*label"):
        parse_study(_config(inputs, datasets=[twice, twice]))
    model = {"name": "net", "source": "activations", "path": str(inputs["acts"])}
    with pytest.raises(InputError, match=r"models: the name\(s\) \['net'\]"):
        parse_study(_config(inputs, models=[model, model]))
    with pytest.raises(InputError, match=r"models.net.datasets names \['nope'\]"):
        parse_study(_config(inputs, models=[{**model, "datasets": ["nope"]}]))


@pytest.mark.slow  # over 0.5 s: in make test, not the everyday subset
def test_one_reference_dataset_twice_with_labels(data_dir, tmp_path, no_report):
    config = {
        "name": "twice",
        "datasets": [
            {"name": "castaldi2019", "label": "castaldi-num", "options": {"task": "num"}},
            {"name": "castaldi2019", "label": "castaldi-size", "options": {"task": "size"}},
        ],
        "n_bootstrap": 0,
    }
    run_study(config, tmp_path / "out")
    res = _results(tmp_path / "out")
    crm = res[res["analysis"] == "cross_region_matrix"]
    assert set(crm["dataset"]) == {"castaldi-num", "castaldi-size"}
    for label, task in (("castaldi-num", "num"), ("castaldi-size", "size")):
        expected = ca.cross_region_matrix(ca.load_dataset("castaldi2019", task=task), "spearman")
        got = crm[
            (crm["dataset"] == label) & (crm["region"] == "V1") & (crm["target_region"] == "V2")
        ]
        assert got["value"].item() == pytest.approx(
            expected.sel(region="V1", target_region="V2").item(), abs=1e-12
        )


def test_a_model_named_like_a_predictor_is_refused(data_dir, tmp_path):
    from crossalign.io.datasets import CASTALDI_PREDICTORS

    config = {
        "datasets": [{"name": "castaldi2019"}],
        "models": [
            {"name": "preds", "source": "predictors"},
            {"name": CASTALDI_PREDICTORS[0], "source": "pixels", "datasets": ["castaldi2019"]},
        ],
    }
    with pytest.raises(InputError, match=r"predictor models.*named.*Rename"):
        run_study(config, tmp_path / "out")
    assert not (tmp_path / "out" / "results.duckdb").exists()


# ---------------------------------------------------------------------- options reach the code
@pytest.mark.slow  # over 0.5 s: in make test, not the everyday subset
def test_n_permutations_reaches_the_matrix_test(inputs, tmp_path, no_report):
    run_study(_config(inputs, n_permutations=7), tmp_path / "out")
    res = _results(tmp_path / "out")
    cmp = res[res["analysis"] == "matrix_comparison"].set_index("statistic")["value"]
    assert cmp["n_permutations"] == 7
    # 4 regions: 24 relabellings > 7, so Monte Carlo with the +1 rule: p = (k + 1) / 8
    assert (cmp["p_value"] * 8) == pytest.approx(round(cmp["p_value"] * 8), abs=1e-9)


# ---------------------------------------------------------------------- figures and crashes
@pytest.mark.slow
def test_figure_names_are_unique_and_dollar_labels_draw(inputs, tmp_path):
    acts = dict(np.load(inputs["acts"]))
    np.savez(tmp_path / "b.npz", **acts)
    config = _config(
        inputs,
        models=[
            {"name": "α", "source": "activations", "path": str(inputs["acts"])},
            {"name": "β", "source": "activations", "path": str(tmp_path / "b.npz")},
            {"name": "$x^2$ cost $5", "source": "activations", "path": str(inputs["acts"])},
        ],
        n_bootstrap=3,
    )
    result = run_study(config, tmp_path / "out")
    names = [p.name for p in (tmp_path / "out" / "figures").glob("patterns_*.png")]
    assert len(names) == len(set(names)) == 3
    html = result["report"].read_text()
    assert "$x^2$ cost $5" in html
    status = query_database(tmp_path / "out" / "results.duckdb", "SELECT status FROM runs")
    assert status["status"].tolist() == ["complete"]


@pytest.mark.slow
@pytest.mark.parametrize("n_bootstrap", [1, 2, 5])
def test_tiny_bootstraps_finish_with_a_report_and_warn(inputs, tmp_path, n_bootstrap):
    result = run_study(_config(inputs, n_bootstrap=n_bootstrap), tmp_path / "out")
    assert result["report"].is_file()
    res = _results(tmp_path / "out")
    kept = res[(res["analysis"] == "score") & (res["statistic"] == "kept_fraction")]
    assert len(kept) == len(REGIONS) and (kept["value"] == 1.0).all()


@pytest.mark.slow
def test_three_subjects_give_flagged_degenerate_intervals(tmp_path):
    inputs = _write_inputs(tmp_path / "in", n_sub=3)
    from rich.console import Console

    console = Console(file=io.StringIO(), width=300)
    result = run_study(_config(inputs, n_bootstrap=200), tmp_path / "out", console=console)
    printed = console.file.getvalue()
    assert "warning: brain APS: the bootstrap interval is degenerate" in printed
    res = _results(tmp_path / "out")
    flags = res[(res["analysis"] == "brain_aps") & (res["statistic"] == "degenerate")]
    assert len(flags) and (flags["value"] == 1.0).all()
    kept = res[(res["analysis"] == "brain_aps") & (res["statistic"] == "kept_fraction")]
    # a resample defines APS only if it draws all 3 subjects: 3!/3^3 = 2/9 expected
    assert kept["value"].between(0.1, 0.35).all()
    html = result["report"].read_text()
    assert "With 3 subjects" in html and "degenerate" in html


def test_interval_diagnostics_against_a_hand_count():
    from crossalign.stats.resampling import interval_diagnostics

    samples = np.array(
        [[1.0, np.nan, 2.0], [1.0, np.nan, 3.0], [1.0, 5.0, np.nan], [1.0, np.nan, 4.0]]
    )
    low, high = np.array([1.0, 5.0, 2.0]), np.array([1.0, 5.0, 4.0])
    kept, degenerate = interval_diagnostics(samples, low, high, warn=False)
    np.testing.assert_array_equal(kept, [1.0, 0.25, 0.75])
    np.testing.assert_array_equal(degenerate, [True, True, False])


# ---------------------------------------------------------------------- plans
def test_an_impossible_bootstrap_is_refused_before_anything_runs(inputs, tmp_path):
    with pytest.raises(PlanError, match=r"n_bootstrap = 10000000000 needs about"):
        run_study(_config(inputs, n_bootstrap=10**10), tmp_path / "out")
    assert not (tmp_path / "out" / "results.duckdb").exists()
    with pytest.raises(InputError, match=r"n_bootstrap: Input should be a valid integer"):
        parse_study(_config(inputs, n_bootstrap=1e10))


# ---------------------------------------------------------------------- the results command
@pytest.mark.parametrize(
    "sql",
    [
        "DELETE FROM results",
        "DROP TABLE results",
        "COPY results TO '{tmp}/x.csv'",
        "ATTACH '{tmp}/other.duckdb'",
        "SELECT * FROM read_csv('/etc/passwd')",
        "SELECT 1; DELETE FROM results",
        "CREATE TABLE t AS SELECT 1",
    ],
)
@pytest.mark.slow  # over 0.5 s: in make test, not the everyday subset
def test_results_command_cannot_change_or_leak(inputs, tmp_path, sql, no_report):
    run_study(_config(inputs, n_bootstrap=0), tmp_path / "out")
    db = tmp_path / "out" / "results.duckdb"
    before = query_database(db, "SELECT count(*) AS n FROM results")["n"].item()
    result = CliRunner().invoke(app, ["results", str(db), sql.format(tmp=tmp_path)])
    assert result.exit_code == 2 and result.output.startswith("error:"), result.output
    assert "Traceback" not in result.output
    assert query_database(db, "SELECT count(*) AS n FROM results")["n"].item() == before > 0
    assert not (tmp_path / "x.csv").exists() and not (tmp_path / "other.duckdb").exists()


@pytest.mark.slow  # over 0.5 s: in make test, not the everyday subset
def test_results_command_errors_are_one_line(inputs, tmp_path, no_report):
    runner = CliRunner()
    bogus = tmp_path / "bogus.duckdb"
    bogus.write_text("not a database")
    result = runner.invoke(app, ["results", str(bogus)])
    assert result.exit_code == 2 and "could not be opened" in result.output
    run_study(_config(inputs, n_bootstrap=0), tmp_path / "out")
    db = tmp_path / "out" / "results.duckdb"
    result = runner.invoke(
        app, ["results", str(db), "SELECT 1", "--export", str(tmp_path / "no" / "x.csv")]
    )
    assert result.exit_code == 2 and "does not exist" in result.output
    ok = runner.invoke(app, ["results", str(db), "SELECT count(*) AS n FROM latest", "--json"])
    assert ok.exit_code == 0 and json.loads(ok.output)[0]["n"] > 0


@pytest.mark.slow  # over 0.5 s: in make test, not the everyday subset
def test_results_while_another_process_writes_is_a_clear_error(inputs, tmp_path, no_report):
    run_study(_config(inputs, n_bootstrap=0), tmp_path / "out")
    db = tmp_path / "out" / "results.duckdb"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, time; c = duckdb.connect({str(db)!r}); print('x', flush=True); "
            "time.sleep(30)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        holder.stdout.readline()
        result = CliRunner().invoke(app, ["results", str(db)])
        assert result.exit_code == 2 and "held by another process" in result.output
    finally:
        holder.kill()
        holder.wait()


# ---------------------------------------------------------------------- CLI errors
@pytest.mark.slow
def test_cli_user_errors_are_one_line(inputs, tmp_path):
    runner = CliRunner()
    truncated = tmp_path / "t" / "results.duckdb"
    truncated.parent.mkdir()
    truncated.write_bytes(b"\x00" * 100)
    study = tmp_path / "study.toml"
    study.write_text(f'[[datasets]]\nname = "lab"\npath = "{inputs["brain"]}"\n')
    cases = [
        (["run", str(study), "--out", str(truncated.parent), "--resume"], "could not be opened"),
        (["matrix", "--rdms", f"V1={inputs['brain']}:V1", "--backend", "torch:cuda"], None),
        (
            ["run", str(study), "--out", str(tmp_path / "s"), "--scheduler", "tcp://127.0.0.1:9"],
            "Dask scheduler",
        ),
    ]
    for args, text in cases:
        if "torch:cuda" in args and "torch:cuda" in ca.backends.installed():
            continue
        result = runner.invoke(app, args)
        assert result.exit_code == 2, (args, result.output)
        last = result.output.strip().splitlines()[-1]
        assert last.startswith("error:") and "Traceback" not in result.output
        assert text is None or text in last


def test_a_study_file_without_suffix_gets_its_own_output_folder(inputs, tmp_path, monkeypatch):
    import crossalign.study.runner as runner

    monkeypatch.setattr(runner, "write_report", lambda r, c, out, i: ({}, out / "report.html"))
    study = tmp_path / "mystudy"
    study.write_text(f'n_bootstrap = 0\n[[datasets]]\nname = "lab"\npath = "{inputs["brain"]}"\n')
    result = CliRunner().invoke(app, ["run", str(study)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "mystudy-results" / "results.duckdb").is_file()


def test_internal_bugs_keep_their_traceback(monkeypatch):
    import crossalign.cli as cli

    def broken() -> list:
        raise TypeError("a bug")

    monkeypatch.setattr(cli, "list_metrics", broken)
    result = CliRunner().invoke(app, ["metrics"])
    assert isinstance(result.exception, TypeError)


# ---------------------------------------------------------------------- the output folder
@pytest.mark.slow  # over 0.5 s: in make test, not the everyday subset
def test_a_second_run_on_a_held_folder_is_refused(inputs, tmp_path, no_report):
    out = tmp_path / "out"
    out.mkdir()
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        (out / ".crossalign.lock").write_text(str(sleeper.pid))
        with pytest.raises(
            BusyError, match=rf"in use by another crossalign run \(process {sleeper.pid}\)"
        ):
            run_study(_config(inputs), out)
    finally:
        sleeper.kill()
        sleeper.wait()
    run_study(_config(inputs), out)  # the holder is gone: its stale lock is taken over
    assert not (out / ".crossalign.lock").exists()


@pytest.mark.slow
def test_links_planted_in_the_output_folder_are_not_written_through(inputs, tmp_path):
    out = tmp_path / "out"
    (out / "figures").mkdir(parents=True)
    outside = tmp_path / "outside.txt"
    outside.write_text("precious")
    (out / "report.html").symlink_to(outside)
    run_study(_config(inputs, n_bootstrap=0), out)
    assert outside.read_text() == "precious"
    assert not (out / "report.html").is_symlink()
    (out / "results.duckdb").unlink()
    (out / "results.duckdb").symlink_to(tmp_path / "elsewhere.duckdb")
    with pytest.raises(InputError, match="symbolic link"):
        run_study(_config(inputs, n_bootstrap=0), out)
    assert not (tmp_path / "elsewhere.duckdb").exists()


# ---------------------------------------------------------------------- what a new user hits
@pytest.mark.slow  # over 0.5 s: in make test, not the everyday subset
def test_relative_paths_resolve_from_the_study_file(inputs, tmp_path, monkeypatch, no_report):
    study = inputs["brain"].parent / "study.toml"
    study.write_text(
        textwrap.dedent(
            """
            n_bootstrap = 0
            [[datasets]]
            name = "lab"
            path = "brain.npz"
            stimuli = "images"
            [[models]]
            name = "net"
            source = "activations"
            path = "acts.npz"
            """
        )
    )
    monkeypatch.chdir(tmp_path)  # elsewhere: relative to here, nothing would be found
    cfg = load_study(study)
    assert Path(cfg.datasets[0].path) == inputs["brain"]
    run_study(cfg, tmp_path / "out")
    assert (_results(tmp_path / "out")["model"] == "net").any()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"n_bootstrap": True}, r"n_bootstrap: Input should be a valid integer"),
        ({"seed": -1}, r"seed: Input should be greater than or equal to 0"),
        ({"datasets": [{"name": "lab", "regions": []}]}, r"datasets.0.regions"),
        ({"models": [{"name": "m", "source": "activations"}]}, r"needs a 'path'"),
        ({"metrics": ["spearman", "spearman"]}, r"names a metric twice"),
    ],
)
def test_config_values_that_were_silently_accepted(inputs, change, message):
    with pytest.raises(InputError, match=message):
        parse_study(_config(inputs, **change))


def test_a_model_that_needs_images_on_a_dataset_without_them_is_an_error(inputs, tmp_path):
    config = _config(inputs, models=[{"name": "px", "source": "pixels"}])
    with pytest.raises(InputError, match=r"'px' needs the stimulus images.*'stimuli' folder"):
        run_study(config, tmp_path / "out")


@pytest.mark.slow  # over 0.5 s: in make test, not the everyday subset
def test_stimulus_images_for_a_user_dataset(inputs, tmp_path, no_report):
    dataset = {"name": "lab", "path": str(inputs["brain"]), "stimuli": str(inputs["images"])}
    config = _config(inputs, datasets=[dataset], models=[{"name": "px", "source": "pixels"}])
    run_study(config, tmp_path / "out")
    res = _results(tmp_path / "out")
    layer = res[(res["analysis"] == "layer_profile") & (res["model"] == "px")]
    assert set(layer["layer"]) == {"pixels"}
    # the pixel model's train-split score equals one computed by hand from the PNGs
    brain = ca.io.load_arrays(inputs["brain"])
    grey = np.stack(
        [
            np.asarray(
                Image.open(inputs["images"] / f"{s}.png")
                .convert("L")
                .resize((64, 64), Image.BILINEAR),
                float,
            ).ravel()
            / 255
            for s in brain.stimuli
        ]
    )
    model = ca.ModelData.from_activations({"pixels": grey}, model="px", stimuli=list(brain.stimuli))
    ev = ca.evaluate_model(model, brain, n_bootstrap=0)
    got = res[(res["analysis"] == "score") & (res["model"] == "px") & (res["statistic"] == "mean")]
    assert got.set_index("region")["value"].to_dict() == pytest.approx(
        ev["score_mean"].to_series().to_dict(), abs=1e-12
    )
    missing = tmp_path / "few"
    missing.mkdir()
    with pytest.raises(InputError, match=r"no file for 12 stimulus id"):
        run_study({**config, "datasets": [{**dataset, "stimuli": str(missing)}]}, tmp_path / "o2")


@pytest.mark.slow  # over 0.5 s: in make test, not the everyday subset
def test_model_rdms_and_one_file_per_region(tmp_path, no_report):
    inputs = _write_inputs(tmp_path / "in")
    brain = ca.io.load_arrays(inputs["brain"])
    files = {}
    for r in REGIONS:
        np.savez(
            tmp_path / f"{r}.npz", arr_0=np.stack([brain[(s, r)].values for s in brain.subjects])
        )
        files[r] = f"{tmp_path / r}.npz:arr_0"
    model_rdm = caf.compute_rdm(np.load(inputs["acts"])["late"])
    np.savez(tmp_path / "model_rdms.npz", late=model_rdm, stimuli=np.array(list(brain.stimuli)))
    config = {
        "datasets": [
            {"name": "per-region", "regions": files, "options": {"stimuli": list(brain.stimuli)}}
        ],
        "models": [{"name": "m", "source": "rdms", "path": str(tmp_path / "model_rdms.npz")}],
        "n_bootstrap": 0,
    }
    run_study(config, tmp_path / "out")
    res = _results(tmp_path / "out")
    crm = res[res["analysis"] == "cross_region_matrix"].set_index(["region", "target_region"])
    expected = ca.cross_region_matrix(brain.select(areas=list(REGIONS)), "spearman")
    assert crm.loc[("V1", "IT"), "value"] == pytest.approx(
        expected.sel(region="V1", target_region="IT").item(), abs=1e-12
    )
    md = ca.ModelData.from_rdms(
        {"late": model_rdm[None]}, sources=["m"], stimuli=list(brain.stimuli)
    )
    ev = ca.evaluate_model(md, brain, n_bootstrap=0)
    got = res[(res["analysis"] == "score") & (res["statistic"] == "mean")].set_index("region")[
        "value"
    ]
    assert got.to_dict() == pytest.approx(ev["score_mean"].to_series().to_dict(), abs=1e-12)


def test_readme_extract_glob_selects_blocks_not_shared_submodules():
    from crossalign.models.extract import match_layers

    names = [
        "_conv_stem",
        "_blocks",
        "_blocks.0",
        "_blocks.0._swish",
        "_blocks.10",
        "_blocks.10._bn0",
    ]
    assert match_layers("_blocks.*", names) == ["_blocks.0", "_blocks.10"]
    assert match_layers("_blocks.**", names) == [
        "_blocks.0",
        "_blocks.0._swish",
        "_blocks.10",
        "_blocks.10._bn0",
    ]
    assert match_layers("_blocks.[!1]*", names) == ["_blocks.0"]


@pytest.mark.slow
def test_collect_model_responses_takes_the_librarys_own_models(data_dir):
    pytest.importorskip("torch")
    data = ca.load_dataset("cichy2014")
    net = ca.load_model("efficientnet_lite0", pretrained=False, seed=0)
    md = caf.collect_model_responses([net], data, {"EVC": "_blocks.2", "IT": "_blocks.14"})
    direct = ca.extract(net, data, layers=["_blocks.2", "_blocks.14"])
    name = md.models[0]
    np.testing.assert_array_equal(
        md[(name, "_blocks.14")].values, direct[(direct.models[0], "_blocks.14")].values
    )
    assert md.layers_by_region == {name: {"EVC": "_blocks.2", "IT": "_blocks.14"}}


@pytest.mark.slow
def test_study_stores_paired_comparisons_and_unreliable_regions(tmp_path):
    inputs = _write_inputs(tmp_path / "in")
    rdms = dict(np.load(inputs["brain"]))
    rng = np.random.default_rng(5)
    d1 = caf.compute_rdm(rng.normal(size=(N_STIM, 20)))
    d2 = d1.max() - d1 + 0.05 * caf.compute_rdm(rng.normal(size=(N_STIM, 20)))
    np.fill_diagonal(d2, 0.0)
    rdms["V4"] = np.stack([d1, d1, d2, d2])  # V4: two subjects disagree with the other two
    np.savez(inputs["brain"], **rdms)
    acts = dict(np.load(inputs["acts"]))
    acts["late"] = rng.normal(size=acts["late"].shape)
    np.savez(tmp_path / "other.npz", **acts)
    config = _config(
        inputs,
        models=[
            {"name": "net", "source": "activations", "path": str(inputs["acts"])},
            {"name": "other", "source": "activations", "path": str(tmp_path / "other.npz")},
        ],
        n_bootstrap=100,
    )
    result = run_study(config, tmp_path / "out")
    res = _results(tmp_path / "out")
    flags = res[(res["analysis"] == "noise_ceiling") & (res["statistic"] == "unreliable")]
    assert flags.set_index("region")["value"].to_dict()["V4"] == 1.0
    lower = res.query("analysis == 'noise_ceiling' and statistic == 'lower'").set_index("region")
    assert (flags.set_index("region")["value"] == (lower["value"] <= 0).astype(float)).all()
    assert lower.loc["V1", "value"] > 0 and flags.set_index("region").loc["V1", "value"] == 0
    paired = res[res["analysis"] == "paired_score"]
    assert set(zip(paired["model"], paired["other_model"], strict=True)) == {("net", "other")}
    brain = ca.io.load_arrays(inputs["brain"])
    evs = {
        name: ca.Evaluation.fit(ca.io.load_activations(path, model=name), brain)
        for name, path in (("net", inputs["acts"]), ("other", tmp_path / "other.npz"))
    }
    expected = evs["net"].compare(evs["other"], n_bootstrap=100, n_permutations=20)
    got = paired[paired["statistic"] == "difference"].set_index("region")["value"]
    np.testing.assert_allclose(
        got.reindex(REGIONS).values,
        expected["difference"].sel(statistic="score").values,
        atol=1e-12,
    )
    html = result["report"].read_text()
    assert 'data-table="paired_comparison"' in html and "noise ceiling (V4)" in html


@pytest.mark.slow  # over 0.5 s: in make test, not the everyday subset
def test_an_extraction_over_budget_is_refused_before_anything_runs(tmp_path):
    inputs = _write_inputs(tmp_path / "in")
    dataset = {"name": "lab", "path": str(inputs["brain"]), "stimuli": str(inputs["images"])}
    model = {"name": "enet", "model": "efficientnet_lite0", "pretrained": False}
    config = _config(inputs, datasets=[dataset], models=[model], memory_budget="30MB")
    with pytest.raises(PlanError, match=r"Model 'enet': its activations for 12 stimuli need"):
        run_study(config, tmp_path / "out")
    assert not (tmp_path / "out" / "results.duckdb").exists()
    from crossalign.models.extract import extraction_bytes

    net = ca.load_model("efficientnet_lite0", pretrained=False)
    md = ca.extract(net, sorted(inputs["images"].iterdir()), cache=False, progress=False)
    stored = sum(md[k].values.size for k in md) * 4
    assert extraction_bytes(net, 12) == stored


@pytest.mark.slow
def test_a_six_model_study_has_all_six_on_the_leaderboard(tmp_path):
    inputs = _write_inputs(tmp_path / "in")
    acts = dict(np.load(inputs["acts"]))
    rng = np.random.default_rng(9)
    models = []
    for k in range(6):
        mixed = {
            "early": acts["early"] + k * 0.5 * rng.normal(size=acts["early"].shape),
            "late": acts["late"] + k * 0.5 * rng.normal(size=acts["late"].shape),
            "stimuli": acts["stimuli"],
        }
        np.savez(tmp_path / f"m{k}.npz", **mixed)
        models.append(
            {"name": f"model {k}", "source": "activations", "path": str(tmp_path / f"m{k}.npz")}
        )
    result = run_study(_config(inputs, models=models, n_bootstrap=100), tmp_path / "out")
    board = query_database(
        tmp_path / "out" / "results.duckdb",
        "SELECT model, statistic, value FROM latest WHERE analysis = 'leaderboard'",
    ).pivot(index="model", columns="statistic", values="value")
    assert sorted(board.index) == [f"model {k}" for k in range(6)]
    assert (board["score_low"] <= board["score_mean"]).all() and (
        board["score_mean"] <= board["score_high"]
    ).all()
    best = board["score_mean"].idxmax()
    assert board.loc[best, "score_equivalent"] == 1.0
    expected = (board["score_mean"] >= board.loc[best, "score_low"]).astype(float)
    pd.testing.assert_series_equal(board["score_equivalent"], expected, check_names=False)
    html = result["report"].read_text()
    assert html.count('data-analysis="leaderboard" data-model="model ') == 6 * 9
    config = html[html.index('<h2 id="configuration">') :]
    assert "&#34;path&#34;" in config or '"path"' in config
    assert "pretrained" not in config and "pool" not in config  # not used by activations


@pytest.mark.slow  # over 0.5 s: in make test, not the everyday subset
def test_a_brain_only_study_draws_brain_aps(data_dir, tmp_path):
    result = run_study(
        {"datasets": [{"name": "castaldi2019"}], "n_bootstrap": 50}, tmp_path / "out"
    )
    names = [p.name for p in (tmp_path / "out" / "figures").glob("*.png")]
    assert any(n.startswith("brain_aps_") for n in names) and any(
        n.startswith("brain_matrix_") for n in names
    )
    html = result["report"].read_text()
    assert 'data-table="brain_aps"' in html and "Leaderboard" not in html


@pytest.mark.slow
def test_geometry_rows_equal_the_rdms_and_their_mds(tmp_path):
    from scipy.spatial.distance import pdist

    inputs = _write_inputs(tmp_path / "in")
    result = run_study(_config(inputs, n_bootstrap=0), tmp_path / "out")
    res = _results(tmp_path / "out")
    brain = ca.io.load_arrays(inputs["brain"])
    mean_rdm = np.mean([brain[(s, "IT")].values for s in brain.subjects], axis=0)
    rdm = res[(res["analysis"] == "rdm") & (res["region"] == "IT") & res["model"].isna()]
    square = rdm.pivot(index="stimulus", columns="target_stimulus", values="value")
    square = square.loc[list(brain.stimuli), list(brain.stimuli)]
    np.testing.assert_allclose(square.to_numpy(), mean_rdm, atol=1e-12)
    mds = res[(res["analysis"] == "mds") & (res["region"] == "IT") & res["model"].isna()]
    xy = mds.pivot(index="stimulus", columns="statistic", values="value").loc[list(brain.stimuli)]
    # classical MDS in 2-D preserves the dissimilarities' order to the extent they are planar
    assert np.corrcoef(pdist(xy.to_numpy()), mean_rdm[np.triu_indices(12, 1)])[0, 1] > 0.5
    model_mds = res[(res["analysis"] == "mds") & (res["model"] == "net")]
    assert set(model_mds["region"]) == set(REGIONS) and model_mds["layer"].notna().all()
    assert any(p.name.startswith("geometry_") for p in (tmp_path / "out" / "figures").glob("*.png"))
    assert "geometry" in result["report"].read_text()
