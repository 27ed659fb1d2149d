"""The `crossalign` command: matrix, metrics, datasets, demo; user errors exit with 2."""

import json

import numpy as np
import pytest
from typer.testing import CliRunner

import crossalign as ca
from crossalign.cli import app

runner = CliRunner()


def test_matrix_json_on_cichy(data_dir):
    folder = data_dir / "cichy2014_92images"
    result = runner.invoke(
        app,
        [
            "matrix",
            "--rdms",
            f"EVC={folder / 'fmri_EVC_RDMs.npz'}:Net_RDM",
            "--rdms",
            f"IT={folder / 'fmri_IT_RDMs.npz'}",
            "--metric",
            "spearman",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["metric"] == "spearman" and payload["regions"] == ["EVC", "IT"]
    np.testing.assert_array_equal(
        np.round(payload["matrix"], 4), [[0.0988, 0.0798], [0.0798, 0.2514]]
    )


def test_matrix_table_output(tmp_path, rng):
    x = rng.normal(size=(3, 10, 10))
    rdms = np.abs(x + x.transpose(0, 2, 1))
    for r in rdms:
        np.fill_diagonal(r, 0)
    np.savez(tmp_path / "a.npz", rdm=rdms)
    np.save(tmp_path / "b.npy", rdms[::-1])
    result = runner.invoke(
        app,
        [
            "matrix",
            "--rdms",
            f"A={tmp_path / 'a.npz'}",
            "--rdms",
            f"B={tmp_path / 'b.npy'}",
            "--metric",
            "pearson",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "Cross-region alignment (pearson" in result.stdout and " A " in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--rdms", "EVC"], r"must look like REGION=PATH\[:KEY\]"),
        (["--rdms", "EVC=/nonexistent/file.npz"], r"does not exist"),
        (["--rdms", "EVC=x.npz", "--metric", "spearmn"], r"Did you mean 'spearman'"),
    ],
)
def test_matrix_user_errors_exit_2_without_traceback(args, message, tmp_path, rng):
    if "--metric" in args:
        d = np.abs(rng.normal(size=(2, 5, 5)))
        d = d + d.transpose(0, 2, 1)
        for r in d:
            np.fill_diagonal(r, 0)
        np.savez(tmp_path / "x.npz", d=d)
        args = ["--rdms", f"EVC={tmp_path / 'x.npz'}", "--metric", "spearmn"]
    result = runner.invoke(app, ["matrix", *args])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    import re

    assert re.search(message, result.output.replace("\n", " ")), result.output


def test_matrix_refuses_pickled_npz(tmp_path):
    np.savez(tmp_path / "evil.npz", rdm=np.array([{"a": 1}], dtype=object))
    result = runner.invoke(app, ["matrix", "--rdms", f"A={tmp_path / 'evil.npz'}"])
    assert result.exit_code == 2
    assert "never unpickles" in result.output


def test_metrics_lists_registry():
    result = runner.invoke(app, ["metrics", "--json"])
    assert result.exit_code == 0
    names = [r["name"] for r in json.loads(result.stdout)]
    assert names == ca.METRICS.names() and len(names) == 13  # the whole registry


def test_datasets_status(data_dir):
    result = runner.invoke(app, ["datasets", "--json"])
    assert result.exit_code == 0
    status = {r["name"]: r["status"] for r in json.loads(result.stdout)}
    assert status == {"cichy2014": "present", "castaldi2019": "present"}
