"""A run killed with SIGKILL at several points resumes to the numbers of an uninterrupted run."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from crossalign.study.store import LABELS, ResultsStore

pytestmark = pytest.mark.slow  # the demo, kills and resumes, 1000-case fuzzing

ROOT = Path(__file__).resolve().parents[2]
STUDY = """
name = "resume-test"
n_bootstrap = 20
n_permutations = 20
batch_size = 64

[[datasets]]
name = "castaldi2019"

[[models]]
name = "predictors"
source = "predictors"
paradigm = "hand-built"

[[models]]
name = "tiny"
source = "module"
module = "tests.helper_models:tiny_net"
pool = "avg"
"""


def crossalign_run(
    study: Path,
    out: Path,
    cache: Path,
    fault: str | None = None,
    resume: bool = False,
    report: bool = False,
) -> subprocess.CompletedProcess:
    """``crossalign run`` in a child process; without the report unless asked (the numbers
    are what these tests compare)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CROSSALIGN_CACHE_DIR": str(cache)}
    env.pop("CROSSALIGN_FAULT", None)
    if fault:
        env["CROSSALIGN_FAULT"] = fault
    cmd = [
        sys.executable,
        "-m",
        "crossalign.cli",
        "run",
        str(study),
        "--out",
        str(out),
        "--allow-user-modules",
        "--report" if report else "--no-report",
    ] + (["--resume"] if resume else [])
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)


def numbers(out: Path, status: str = "computed") -> pd.DataFrame:
    with ResultsStore(out / "results.duckdb") as store:
        runs = store.query("SELECT run_id, status FROM runs")
        assert list(runs["status"]) == [status], runs
        frame = store.results(runs["run_id"].iloc[0]).drop(columns="run_id")
        blocks = store.query("SELECT block, count(*) AS n FROM blocks GROUP BY block")
        assert (blocks["n"] == 1).all(), "a block was written twice"
    frame[LABELS] = frame[LABELS].fillna("")
    return frame.sort_values(LABELS).reset_index(drop=True)


@pytest.fixture(scope="module")
def study(tmp_path_factory, data_dir):
    folder = tmp_path_factory.mktemp("resume")
    path = folder / "study.toml"
    path.write_text(STUDY)
    clean = folder / "clean"
    done = crossalign_run(path, clean, folder / "cache-clean")
    assert done.returncode == 0, done.stderr[-3000:]
    assert not (clean / "report.html").exists()
    assert f"crossalign run {path} --out {clean} --resume" in " ".join(done.stdout.split())
    return path, numbers(clean), clean


def test_a_run_without_its_report_resumes_to_the_report_computing_nothing(study, tmp_path):
    path, expected, clean = study
    out = tmp_path / "out"
    shutil.copytree(clean, out)
    resumed = crossalign_run(path, out, tmp_path / "no-cache", resume=True, report=True)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "Resuming run" in resumed.stdout
    assert not (tmp_path / "no-cache").exists()  # no model ran again
    assert (out / "report.html").stat().st_size > 50_000
    got = numbers(out, "complete")
    pd.testing.assert_frame_equal(got, expected)


@pytest.mark.parametrize("fault", ["block-mid-write:3", "block-written:5", "extraction-batch:3"])
def test_sigkill_then_resume_gives_identical_numbers(study, fault, tmp_path):
    path, expected, _ = study
    out = tmp_path / "out"
    killed = crossalign_run(path, out, tmp_path / "cache", fault=fault)
    assert killed.returncode == -9, (killed.returncode, killed.stderr[-2000:])
    with ResultsStore(out / "results.duckdb") as store:  # what survived is consistent
        status = store.query("SELECT status FROM runs")["status"].tolist()
        assert status == ["running"]
        written = store.query("SELECT block, n_rows FROM blocks")
        per_block = store.query("SELECT count(*) AS n FROM results")["n"].iloc[0]
        assert per_block == written["n_rows"].sum()  # no rows of an uncommitted block
    if fault == "extraction-batch:3":  # nothing half-written in the activation cache either
        assert not list((tmp_path / "cache").rglob("*.h5"))
    resumed = crossalign_run(path, out, tmp_path / "cache", resume=True)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "Resuming run" in resumed.stdout
    got = numbers(out)
    pd.testing.assert_frame_equal(got.drop(columns="value"), expected.drop(columns="value"))
    np.testing.assert_allclose(
        got["value"].to_numpy(float),
        expected["value"].to_numpy(float),
        rtol=0,
        atol=1e-12,
        equal_nan=True,
    )
