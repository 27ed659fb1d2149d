"""The main job: `crossalign demo` / `run`, the results database, figures and the report."""

import json
import os
import re
import shutil
import subprocess
from html import unescape

import numpy as np
import pytest
from typer.testing import CliRunner

import crossalign.functional as caf
from crossalign.cli import app
from crossalign.study.runner import load_study, parse_study, run_study
from crossalign.study.store import ResultsStore

pytestmark = pytest.mark.slow  # the demo, kills and resumes, 1000-case fuzzing

runner = CliRunner()


#: The demo's models cut to one network (trained and its untrained control) and the
#: hand-built models: the same datasets, analyses, figures and report, a third of the time.
TINY_MODELS = (
    "EfficientNet-Lite0",
    "EfficientNet-Lite0 untrained",
    "pixels",
    "Castaldi predictors",
)


@pytest.fixture(scope="module")
def demo_out(data_dir, tmp_path_factory):
    """The README's main command on the demo study with fewer networks, at a reduced
    bootstrap count; activations go to the session's cache (tests/conftest.py), which the
    EfficientNet-Lite0 tests of tests/models share."""
    import crossalign.cli
    from crossalign import study

    out = tmp_path_factory.mktemp("demo")
    tiny = {
        **study.DEMO_STUDY,
        "models": [m for m in study.DEMO_STUDY["models"] if m["name"] in TINY_MODELS],
    }
    assert len(tiny["models"]) == len(TINY_MODELS)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(crossalign.cli, "DEMO_STUDY", tiny)  # where the command reads it
        result = runner.invoke(app, ["demo", "--out", str(out), "--n-bootstrap", "30"])
    assert result.exit_code == 0, result.output
    assert "Report:" in result.stdout
    return out


def test_demo_writes_report_figures_and_database(demo_out):
    assert (demo_out / "report.html").stat().st_size > 100_000
    pngs = sorted(p.name for p in (demo_out / "figures").glob("*.png"))
    pdfs = sorted(p.name for p in (demo_out / "figures").glob("*.pdf"))
    assert len(pngs) == len(pdfs) >= 10
    kinds = ("brain_matrix", "brain_aps", "matrices", "patterns", "scores", "equivalence")
    for kind in (*kinds, "profiles"):
        assert any(p.startswith(kind) for p in pngs), kind
    with ResultsStore(demo_out / "results.duckdb") as store:
        runs = store.query("SELECT status, config_hash, version FROM runs")
        assert list(runs["status"]) == ["complete"]
        models = set(
            store.query("SELECT DISTINCT model FROM results WHERE model IS NOT NULL")["model"]
        )
        assert "EfficientNet-Lite0" in models and "EfficientNet-Lite1" not in models  # cut demo
        analyses = set(store.query("SELECT DISTINCT analysis FROM results")["analysis"])
        assert {
            "cross_region_matrix",
            "noise_ceiling",
            "brain_aps",
            "score",
            "aps",
            "layer_profile",
            "selected_layer",
            "model_matrix",
            "model_to_brain",
            "matrix_comparison",
            "equivalence",
        } <= analyses
        # the Cichy matrix in the database is the reference matrix
        m = store.query(
            "SELECT region, target_region, value FROM results WHERE dataset = "
            "'cichy2014' AND analysis = 'cross_region_matrix'"
        )
        got = m.pivot(index="region", columns="target_region", values="value")
        np.testing.assert_array_equal(
            np.round(got.loc[["EVC", "IT"], ["EVC", "IT"]].values, 4),
            [[0.0988, 0.0798], [0.0798, 0.2514]],
        )
        # the pretrained network beats its untrained control in IT
        s = store.query(
            "SELECT model, value FROM results WHERE dataset='cichy2014' AND "
            "analysis='score' AND statistic='mean' AND region='IT'"
        )
        s = dict(zip(s["model"], s["value"], strict=True))
        assert s["EfficientNet-Lite0"] > s["EfficientNet-Lite0 untrained"]


CELL = re.compile(r"<td ([^>]*data-value=\"[^\"]+\"[^>]*)>")
ATTR = re.compile(r'data-([a-z_]+)="([^"]*)"')


def test_database_queries_reproduce_the_report(demo_out):
    html = (demo_out / "report.html").read_text()
    cells = [dict(ATTR.findall(m.group(1))) for m in CELL.finditer(html)]
    assert len(cells) > 200
    with ResultsStore(demo_out / "results.duckdb") as store:
        checked = 0
        for cell in cells[::7]:  # a spread sample of every table
            where = ["analysis = ?"]
            params = [unescape(cell["analysis"])]
            for col in ("model", "paradigm", "region", "target_region", "statistic"):
                if col in cell and not (col == "model" and cell[col] == "brain"):
                    where.append(f"{col} = ?")
                    params.append(unescape(cell[col]))
            if cell.get("model") == "brain":  # the brain's own rows carry no model
                where.append("model IS NULL")
            rows = store.query(f"SELECT value FROM results WHERE {' AND '.join(where)}", params)
            values = set(rows["value"].round(12))
            assert round(float(cell["value"]), 12) in values, cell
            checked += 1
    assert checked > 30


def test_markup_in_names_is_shown_as_text(tmp_path, rng):
    evil_region = "<script>alert('r')</script>"
    evil_model = "<img src=x onerror=alert(1)>"
    stims = [f"s{i}" for i in range(12)]
    latent = rng.normal(size=(12, 4))
    rdms = {
        name: np.stack(
            [
                caf.compute_rdm(latent @ rng.normal(size=(4, 10)) + rng.normal(size=(12, 10)))
                for _ in range(4)
            ]
        )
        for name in (evil_region, "V1", "V2")
    }
    np.savez(tmp_path / "brain.npz", **rdms, stimuli=np.array(stims))
    np.savez(tmp_path / "acts.npz", layer1=latent, stimuli=np.array(stims))
    config = {
        "name": "<b>study</b>",
        "datasets": [{"name": "user <data>", "path": str(tmp_path / "brain.npz")}],
        "models": [
            {"name": evil_model, "source": "activations", "path": str(tmp_path / "acts.npz")}
        ],
        "n_bootstrap": 10,
        "n_permutations": 10,
    }
    result = run_study(config, tmp_path / "out")
    html = result["report"].read_text()
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(&#39;r&#39;)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    scripts = re.findall(r"<script[^>]*>", html.lower())
    assert scripts == ["<script>"]  # only the report's own inline sorter, no external source
    assert all(
        re.fullmatch(r"[A-Za-z0-9._-]+\.(png|pdf)", p.name)
        for p in (tmp_path / "out" / "figures").iterdir()
        if p.name != ".crossalign.files"  # the list of what crossalign wrote there
    )


def test_report_renders_in_headless_chromium(demo_out, tmp_path):
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        if os.environ.get("CI"):
            pytest.fail("chromium must be installed in CI (.ci/run installs it)")
        pytest.skip("chromium is not installed")
    shot = tmp_path / "report.png"
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--enable-logging=stderr",
        "--v=0",
        "--window-size=1200,3000",
    ]
    url = (demo_out / "report.html").as_uri()
    run = subprocess.run(
        [browser, *flags, f"--screenshot={shot}", url], capture_output=True, text=True, timeout=120
    )
    console_errors = [
        line
        for line in run.stderr.splitlines()
        if "CONSOLE" in line and ("rror" in line or "Uncaught" in line)
    ]
    assert console_errors == []
    assert shot.is_file() and shot.stat().st_size > 20_000
    from PIL import Image

    pixels = np.asarray(Image.open(shot).convert("L"), dtype=float)
    assert pixels.std() > 10  # not a blank page
    dom = subprocess.run(
        [browser, *flags, "--dump-dom", url], capture_output=True, text=True, timeout=120
    ).stdout
    assert dom.count("<table") >= 8 and dom.count("data:image/png;base64") >= 10
    assert 'id="leaderboard"' in dom
    shutil.copy(shot, demo_out / "report-screenshot.png")


def _leaderboard_models(dom: str, key: str) -> list[tuple[str, float]]:
    """(model, value of column key) in the order the leaderboard rows stand in the DOM."""
    board = dom[dom.index('id="leaderboard"') :]
    board = board[: board.index("</table>")]
    rows = re.findall(r"<tr>(.*?)</tr>", board, flags=re.S)[1:]
    out = []
    for row in rows:
        model = re.search(r'data-model="([^"]*)"', row).group(1)
        value = re.search(rf'data-statistic="{key}"[^>]*data-value="([^"]*)"', row)
        out.append((unescape(model), float(value.group(1)) if value else float("-inf")))
    return out


def test_leaderboard_sorts_in_headless_chromium(demo_out, tmp_path):
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        if os.environ.get("CI"):
            pytest.fail("chromium must be installed in CI (.ci/run installs it)")
        pytest.skip("chromium is not installed")
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
    ]
    html = (demo_out / "report.html").read_text()
    for key in ("aps_mean", "score_mean"):
        url = (demo_out / "report.html").as_uri() + f"#sort={key}"
        dom = subprocess.run(
            [browser, *flags, "--dump-dom", url], capture_output=True, text=True, timeout=120
        ).stdout
        rows = _leaderboard_models(dom, key)
        assert len(rows) >= 4  # every model of every dataset
        values = [v for _, v in rows]
        assert values == sorted(values, reverse=True), rows
    assert {m for m, _ in _leaderboard_models(html, "aps_mean")} == {m for m, _ in rows}


def test_resume_after_failure_keeps_what_was_written(data_dir, tmp_path, monkeypatch):
    from crossalign.study import blocks as study

    config = {
        "name": "resume",
        "datasets": [{"name": "castaldi2019"}],
        "models": [{"name": "pred", "source": "predictors"}],
        "n_bootstrap": 10,
    }
    calls = {"n": 0}
    real = study._evaluation_rows

    def flaky(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("simulated crash")
        return real(*args, **kwargs)

    monkeypatch.setattr(study, "_evaluation_rows", flaky)
    with pytest.raises(RuntimeError, match="simulated crash"):
        run_study(config, tmp_path)
    with ResultsStore(tmp_path / "results.duckdb") as store:
        assert store.query("SELECT status FROM runs")["status"].tolist() == ["failed"]
        done = store.query("SELECT block FROM blocks")["block"].tolist()
    assert len(done) == 3  # the brain block and two models, nothing half-written
    monkeypatch.setattr(study, "_evaluation_rows", real)
    resumed = run_study(config, tmp_path, resume=True, report=False)
    fresh = run_study(config, tmp_path / "fresh", report=False)
    a = resumed["summary"].sort_values(["model", "region"]).reset_index(drop=True)
    b = fresh["summary"].sort_values(["model", "region"]).reset_index(drop=True)
    np.testing.assert_allclose(a["score_mean"], b["score_mean"], atol=1e-12)
    np.testing.assert_allclose(a["aps_mean"], b["aps_mean"], atol=1e-12)
    with ResultsStore(tmp_path / "results.duckdb") as store:
        counts = store.query("SELECT block, count(*) AS n FROM blocks GROUP BY block")
        assert (counts["n"] == 1).all()  # no block written twice


def test_study_config_errors(tmp_path):
    with pytest.raises(
        ValueError,
        match=r"metrics: Value error, The 'metric' parameter must "
        r"be one of.*Did you mean 'spearman'",
    ):
        parse_study({"datasets": [{"name": "cichy2014"}], "metrics": ["spearmn"]})
    with pytest.raises(ValueError, match=r"test_fraction: Input should be less than 1"):
        parse_study({"datasets": [{"name": "cichy2014"}], "test_fraction": 1.5})
    with pytest.raises(ValueError, match=r"models\.0\.sauce: Extra inputs are not permitted"):
        parse_study({"datasets": [{"name": "x"}], "models": [{"name": "m", "sauce": "y"}]})
    bad = tmp_path / "bad.toml"
    bad.write_text("name = [unclosed")
    with pytest.raises(ValueError, match=r"bad\.toml' is not valid TOML"):
        load_study(bad)
    code = tmp_path / "code.toml"
    code.write_text(
        'datasets = [{name = "cichy2014"}]\n'
        'models = [{name = "m", source = "module", module = "os:getcwd"}]\n'
    )
    result = runner.invoke(app, ["run", str(code), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and "--allow-user-modules" in result.output


def test_results_command_queries_and_exports(demo_out, tmp_path):
    db = demo_out / "results.duckdb"
    q = "SELECT count(*) AS n FROM results WHERE analysis = 'score'"
    result = runner.invoke(app, ["results", str(db), q, "--json"])
    assert result.exit_code == 0 and json.loads(result.stdout)[0]["n"] > 100
    target = tmp_path / "scores.parquet"
    result = runner.invoke(
        app, ["results", str(db), "SELECT * FROM results LIMIT 50", "--export", str(target)]
    )
    assert result.exit_code == 0 and target.is_file()
    import pandas as pd

    assert len(pd.read_parquet(target)) == 50
    bad = runner.invoke(app, ["results", str(db), "SELECT nope FROM results"])
    assert bad.exit_code == 2 and "The SQL query failed" in bad.output
