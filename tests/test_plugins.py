"""Plugins: a package installed beside crossalign registers a model, a metric and a dataset
through entry points; it appears in the command line and runs in a study, and a broken one is
reported by name without breaking anything."""

import json
import os
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest

import crossalign as ca
from crossalign.errors import PluginWarning
from crossalign.io.datasets import DATASETS
from crossalign.metrics import METRICS
from crossalign.models.sources import MODELS

PLUGIN = """
import torch
from crossalign.io.datasets import LocalDataset
from crossalign.metrics.rsa import Pearson


class TinyNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 3, stride=4)
        self.pool = torch.nn.AdaptiveAvgPool2d(2)
        self.fc = torch.nn.Linear(16, 5)

    def forward(self, x):
        return self.fc(self.pool(torch.relu(self.conv(x))).flatten(1))


def build(pretrained, seed):
    torch.manual_seed(seed)
    return TinyNet()


class PluginPearson(Pearson):
    name = "plugin_pearson"


DATA = LocalDataset("plugin_data", "A plugin's dataset", "", lambda root, **kw: None)
"""

ENTRY_POINTS = """
[crossalign.models]
plugin_tinynet = crossalign_test_plugin:build

[crossalign.metrics]
plugin_pearson = crossalign_test_plugin:PluginPearson

[crossalign.datasets]
plugin_data = crossalign_test_plugin:DATA
"""

BROKEN = """
[crossalign.metrics]
broken_metric = crossalign_missing_module:Metric
"""


def _dist(site, name, entry_points, module=None):
    """An installed distribution as pip leaves it: its dist-info (metadata and entry points)
    and its package, on a folder of sys.path."""
    info = site / f"{name}-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(entry_points)
    if module is not None:
        (site / f"{name}.py").write_text(module)


@pytest.fixture
def site(tmp_path, monkeypatch):
    pytest.importorskip("torch")
    folder = tmp_path / "site"
    _dist(folder, "crossalign_test_plugin", ENTRY_POINTS, textwrap.dedent(PLUGIN))
    _dist(folder, "crossalign_broken_plugin", BROKEN)
    monkeypatch.syspath_prepend(str(folder))
    yield folder
    for registry, name in ((MODELS, "plugin_tinynet"), (METRICS, "plugin_pearson"),
                           (DATASETS, "plugin_data")):  # fmt: skip
        registry._items.pop(name, None)
    sys.modules.pop("crossalign_test_plugin", None)


def test_plugins_register_and_a_broken_one_is_named(site):
    with pytest.warns(PluginWarning, match=r"'broken_metric' \(crossalign_missing_module:Metric"):
        report = ca.load_plugins()
    assert set(report.loaded) == {
        "crossalign.models:plugin_tinynet",
        "crossalign.metrics:plugin_pearson",
        "crossalign.datasets:plugin_data",
    }
    assert [label for label, _ in report.failed] == ["crossalign.metrics:broken_metric"]
    assert "ModuleNotFoundError" in report.failed[0][1]
    adapter = ca.load_model("plugin_tinynet", pretrained=False, seed=1)
    assert adapter.name == "plugin_tinynet" and "fc" in adapter.layer_names()
    metric = ca.get_metric("plugin_pearson")
    rdms = np.random.default_rng(0).normal(size=(3, 10))
    np.testing.assert_allclose(
        ca.pairwise_scores(rdms, metric=metric), ca.pairwise_scores(rdms, metric="pearson")
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PluginWarning)
        again = ca.load_plugins()  # loading again changes nothing
    assert again.loaded == report.loaded


@pytest.mark.slow  # two command-line processes
def test_the_command_line_lists_plugins_and_says_which_failed(site):
    env = {**os.environ, "PYTHONPATH": f"{site}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    run = [sys.executable, "-m", "crossalign.cli"]
    result = subprocess.run([*run, "models", "--json"], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    rows = {r["name"]: r for r in json.loads(result.stdout)}
    assert rows["plugin_tinynet"]["kind"] == "plugin"
    assert "the plugin crossalign.metrics:broken_metric is left out" in result.stderr
    assert "ModuleNotFoundError" in result.stderr and "Traceback" not in result.stderr
    metrics = subprocess.run([*run, "metrics", "--json"], env=env, capture_output=True, text=True)
    assert "plugin_pearson" in {r["name"] for r in json.loads(metrics.stdout)}


@pytest.mark.slow
def test_a_study_names_a_plugin_model_and_metric(site, data_dir, tmp_path):
    from crossalign.study.runner import run_study

    config = {
        "datasets": [{"name": "cichy2014"}],
        "models": [{"name": "tiny", "model": "plugin_tinynet", "pretrained": False}],
        "metrics": ["plugin_pearson"],
        "n_bootstrap": 10,
        "n_permutations": 10,
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PluginWarning)
        result = run_study(config, tmp_path / "out", report=False)
    summary = result["summary"]
    assert set(summary["model"]) == {"tiny"} and set(summary["metric"]) == {"plugin_pearson"}
    assert np.isfinite(summary["score_mean"]).all()
