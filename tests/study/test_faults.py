"""Resource faults and hostile paths: memory refusal, a full disk, links out of the data."""

import errno
import shutil

import numpy as np
import pytest

import crossalign as ca
from crossalign.study.runner import run_study
from crossalign.study.store import ResultsStore


def test_memory_budget_refuses_before_starting(cichy, tmp_path):
    with (
        ca.options(memory_budget="1MB"),
        pytest.raises(
            ca.MemoryBudgetError,
            match=r"needs about \d+\.\d MB, over the memory budget of 1\.0 MB, even streamed",
        ),
    ):
        ca.cross_region_matrix(cichy)
    assert ca.cross_region_matrix(cichy).shape == (2, 2)  # the option was restored
    config = {"name": "big", "datasets": [{"name": "cichy2014"}], "memory_budget": "100kB"}
    with pytest.raises(ca.MemoryBudgetError, match=r"memory_budget='16GB'\), or --memory-budget"):
        run_study(config, tmp_path / "out")
    assert not (tmp_path / "out" / "results.duckdb").exists()  # refused before anything ran
    with pytest.raises(ValueError, match=r"must look like '4GB'"), ca.options(memory_budget="x"):
        pass


def test_cli_reports_memory_refusal_without_traceback(tmp_path, data_dir):
    from typer.testing import CliRunner

    from crossalign.cli import app

    result = CliRunner().invoke(app, ["demo", "--out", str(tmp_path), "--memory-budget", "1kB"])
    assert result.exit_code == 2
    assert "over the memory budget" in result.output and "Traceback" not in result.output


@pytest.mark.slow  # over 0.5 s: in make test, not the everyday subset
def test_disk_full_during_a_write_leaves_the_database_consistent(data_dir, tmp_path, monkeypatch):
    config = {
        "name": "full",
        "datasets": [{"name": "castaldi2019"}],
        "models": [{"name": "p", "source": "predictors"}],
        "n_bootstrap": 5,
    }
    real = ResultsStore.write_block
    calls = {"n": 0}

    class FullDisk:
        """The connection, except that inserting result rows fails after writing them."""

        def __init__(self, con):
            self._con = con

        def __getattr__(self, name):
            return getattr(self._con, name)

        def execute(self, sql, *args):
            out = self._con.execute(sql, *args)
            if sql.startswith("INSERT INTO results"):
                raise OSError(errno.ENOSPC, "No space left on device")
            return out

    def full_disk(self, run_id, block, frames):
        calls["n"] += 1
        if calls["n"] != 3:
            return real(self, run_id, block, frames)
        con = self.con
        self.con = FullDisk(con)
        try:
            return real(self, run_id, block, frames)
        finally:
            self.con = con

    monkeypatch.setattr(ResultsStore, "write_block", full_disk)
    with pytest.raises(OSError, match="No space left"):
        run_study(config, tmp_path)
    with ResultsStore(tmp_path / "results.duckdb") as store:
        blocks = store.query("SELECT block, n_rows FROM blocks")
        rows = store.query("SELECT count(*) AS n FROM results")["n"].iloc[0]
        status = store.query("SELECT status FROM runs")["status"].tolist()
    assert len(blocks) == 2 and rows == blocks["n_rows"].sum()  # the failed block left nothing
    assert status == ["failed"]


def test_links_out_of_the_data_folder_are_refused(data_dir, tmp_path, monkeypatch):
    folder = tmp_path / "data" / "cichy2014_92images"
    folder.mkdir(parents=True)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    for name in ("fmri_EVC_RDMs.npz", "fmri_IT_RDMs.npz"):
        shutil.copy(data_dir / "cichy2014_92images" / name, outside / name)
        (folder / name).symlink_to(outside / name)
    monkeypatch.setenv("CROSSALIGN_DATA_DIR", str(tmp_path / "data"))
    with pytest.raises(ValueError, match=r"is a link to .*outside the data folder"):
        ca.load_dataset("cichy2014", images=False)


def test_huge_declared_shape_is_a_clear_error(tmp_path):
    from crossalign import io

    path = tmp_path / "huge.npy"
    np.save(path, np.zeros(4))
    raw = path.read_bytes().replace(b"(4,)", b"(4000000000000,)".ljust(4))
    path.write_bytes(raw)
    with pytest.raises(ValueError, match=r"huge\.npy'"):
        io.load_arrays(path, regions=["V1"])
