"""A battery of hostile study configs through the command line, as a user would run them.

For every config: a user error ends in one ``error:`` line (exit code 2, no traceback) and
leaves an existing database exactly as it was; a run that completes has a report and its
numbers equal an independent computation from the input files (no silently wrong number)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy import stats
from typer.testing import CliRunner

from crossalign.cli import app
from crossalign.study.store import query_database

from .test_hostile import REGIONS, _write_inputs

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("battery")
    inputs = _write_inputs(folder / "in")
    rdms = dict(np.load(inputs["brain"]))
    np.savez(
        folder / "similarity.npz", **{r: 1 - rdms[r] for r in REGIONS}, stimuli=rdms["stimuli"]
    )
    acts = dict(np.load(inputs["acts"]))
    np.savez(folder / "short.npz", early=acts["early"][:-1], late=acts["late"][:-1])
    bad = dict(acts)
    bad["late"] = bad["late"].copy()
    bad["late"][3, 2] = np.nan
    np.savez(folder / "nan.npz", **bad)
    np.savez(folder / "ids.npz", **{**acts, "stimuli": np.array([f"x{i}" for i in range(12)])})
    (folder / "truncated.npz").write_bytes(inputs["acts"].read_bytes()[:200])
    three = _write_inputs(folder / "three", n_sub=3)
    return {**inputs, "folder": folder, "three": three["brain"]}


def _lines(defaults: dict[str, str], extra: str) -> str:
    """TOML ``key = value`` lines: the defaults, overridden by the lines of ``extra``."""
    table = dict(defaults)
    for line in filter(None, extra.splitlines()):
        key, _, value = line.partition("=")
        table[key.strip()] = value.strip()
    return "".join(f"{k} = {v}\n" for k, v in table.items())


def _toml(brain: str, acts: str, top: str = "", dataset: str = "", model: str = "") -> str:
    head = _lines({"name": '"battery"', "n_bootstrap": "20", "n_permutations": "20"}, top)
    data = _lines({"name": '"lab"', "path": f'"{brain}"'}, dataset)
    net = _lines({"name": '"net"', "source": '"activations"', "path": f'"{acts}"'}, model)
    return f"{head}\n[[datasets]]\n{data}\n[[models]]\n{net}"


# (id, top-level lines, dataset lines, model lines, files to substitute, expected: ok | error text)
BATTERY = [
    ("plain", "", "", "", {}, "ok"),
    ("one-bootstrap", "n_bootstrap = 1", "", "", {}, "ok"),
    ("float-bootstrap", "n_bootstrap = 2.5", "", "", {}, "n_bootstrap"),
    ("negative-bootstrap", "n_bootstrap = -1", "", "", {}, "n_bootstrap"),
    ("string-bootstrap", 'n_bootstrap = "1000"', "", "", {}, "n_bootstrap"),
    ("bool-permutations", "n_permutations = true", "", "", {}, "n_permutations"),
    ("huge-bootstrap", "n_bootstrap = 100000000000", "", "", {}, "n_bootstrap = 100000000000"),
    ("zero-test-fraction", "test_fraction = 0.0", "", "", {}, "test_fraction"),
    ("no-metrics", "metrics = []", "", "", {}, "metrics"),
    ("misspelt-metric", 'metrics = ["Spearman"]', "", "", {}, "Did you mean"),
    ("huge-seed", "seed = 1099511627776", "", "", {}, "seed"),
    ("bad-budget", 'memory_budget = "lots"', "", "", {}, "memory_budget"),
    ("tiny-budget", 'memory_budget = "1kB"', "", "", {}, "over the memory budget"),
    ("unknown-field", "sauce = 1", "", "", {}, "sauce"),
    ("empty-name", 'name = ""', "", "", {}, "name"),
    ("zero-batch", "batch_size = 0", "", "", {}, "batch_size"),
    ("empty-regions", "", "regions = []", "", {}, "regions"),
    ("unknown-region", "", 'regions = ["V9"]', "", {}, "V9"),
    ("similarity-file", "", "", "", {"brain": "similarity.npz"}, "similarity"),
    ("missing-file", "", "", "", {"brain": "nowhere.npz"}, "does not exist"),
    ("folder-as-file", "", "", "", {"brain": "."}, "error"),
    ("truncated-model", "", "", "", {"acts": "truncated.npz"}, "truncated.npz"),
    ("short-model", "", "", "", {"acts": "short.npz"}, "stimuli"),
    ("nan-model", "", "", "", {"acts": "nan.npz"}, "finite"),
    ("other-ids", "", "", "", {"acts": "ids.npz"}, "does not cover the same stimuli"),
    ("model-dollar-name", "", "", 'paradigm = "$5 & <b>"', {}, "ok"),
    ("unknown-model-dataset", "", "", 'datasets = ["nope"]', {}, "nope"),
    (
        "module-not-allowed",
        "",
        "",
        'module = "os:getcwd"\nsource = "module"',
        {},
        "allow-user-modules",
    ),
    ("dataset-label-path", "", 'label = "../../etc"', "", {}, "ok"),
    ("three-subjects", "n_bootstrap = 100", "", "", {"brain": "three"}, "ok"),
]


def _expected_matrix(brain_file: Path) -> dict[tuple[str, str], float]:
    """Spearman cross-region matrix from the file, with scipy: mean over s != t."""
    rdms = dict(np.load(brain_file))
    iu = np.triu_indices(12, k=1)
    out = {}
    for r in REGIONS:
        for q in REGIONS:
            a, b = rdms[r], rdms[q]
            vals = [
                stats.spearmanr(a[s][iu], b[t][iu])[0]
                for s in range(len(a))
                for t in range(len(b))
                if s != t
            ]
            out[(r, q)] = float(np.mean(vals))
    return out


@pytest.mark.parametrize(
    ("case", "top", "dataset", "model", "subs", "expected"), BATTERY, ids=[b[0] for b in BATTERY]
)
def test_hostile_config(files, tmp_path, case, top, dataset, model, subs, expected):
    paths = {"brain": str(files["brain"]), "acts": str(files["acts"])}
    for key, name in subs.items():
        paths[key] = str(files["three"]) if name == "three" else str(files["folder"] / name)
    study = tmp_path / "study.toml"
    dataset = dataset.replace("{images}", f'"{files["images"]}"')
    study.write_text(_toml(paths["brain"], paths["acts"], top, dataset, model))
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["run", str(study), "--out", str(out)])
    assert "Traceback" not in result.output
    if expected == "ok":
        assert result.exit_code == 0, result.output
        runs = query_database(out / "results.duckdb", "SELECT status FROM runs")
        assert runs["status"].tolist() == ["complete"]
        assert (out / "report.html").is_file()
        crm = query_database(
            out / "results.duckdb",
            "SELECT region, target_region, value FROM latest "
            "WHERE analysis = 'cross_region_matrix'",
        )
        truth = _expected_matrix(Path(paths["brain"]))
        for row in crm.itertuples():
            assert row.value == pytest.approx(truth[(row.region, row.target_region)], abs=1e-12)
    else:
        assert result.exit_code == 2, result.output
        last = result.output.strip().splitlines()[-1]
        assert last.startswith("error:") and (expected == "error" or expected in last), last
        assert not (out / "report.html").exists()


def test_a_refused_resume_leaves_the_database_as_it_was(files, tmp_path):
    study = tmp_path / "study.toml"
    study.write_text(_toml(files["brain"], files["acts"]))
    out = tmp_path / "out"
    db = out / "results.duckdb"
    runner = CliRunner()
    assert runner.invoke(app, ["run", str(study), "--out", str(out)]).exit_code == 0
    before = query_database(db, "SELECT * FROM results ORDER BY ALL")
    runs_before = query_database(db, "SELECT * FROM runs")
    study.write_text(_toml(files["brain"], files["acts"], top="seed = 4"))
    result = runner.invoke(app, ["run", str(study), "--out", str(out), "--resume"])
    # the stored run is complete: nothing to resume, a new run starts and completes
    assert result.exit_code == 0 and "No unfinished run" in result.output
    after = query_database(
        db,
        "SELECT * FROM results WHERE run_id IN (SELECT run_id FROM runs "
        f"WHERE run_id = '{runs_before['run_id'].iloc[0]}') ORDER BY ALL",
    )
    assert before.equals(after)
