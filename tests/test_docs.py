"""The documentation builds offline, with no warnings, and every page is reachable."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow  # over 0.5 s: in make test, not the everyday subset
def test_docs_build_strictly(tmp_path):
    mkdocs = shutil.which("mkdocs") or str(Path(sys.executable).parent / "mkdocs")
    if not Path(mkdocs).exists():
        if os.environ.get("CI"):
            pytest.fail("mkdocs must be installed in CI (the 'docs' extra)")
        pytest.skip("mkdocs is not installed")
    run = subprocess.run(
        [mkdocs, "build", "--strict", "-d", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    api = (tmp_path / "site" / "api" / "index.html").read_text()
    for name in (
        "cross_region_matrix",
        "brain_aps",
        "evaluate_model",
        "load_nwb",
        "extract",
        "plan_scores",
        "TorchBackend",
        "dask_all_pairs",
    ):
        assert name in api, name
    for page in ("quickstart", "concepts", "data", "models", "study", "scale", "seed-api"):
        assert (tmp_path / "site" / page / "index.html").is_file(), page
