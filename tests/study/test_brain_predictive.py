"""The three paradigms in one study: a supervised, an untrained and a brain-predictive model
(encoding models fitted on the training stimuli of the other subjects), end to end with the
report's paradigm summary; the brain-predictive model never sees a test stimulus or the
subject it is scored on."""

from __future__ import annotations

import numpy as np
import pytest

import crossalign as ca
from crossalign.study.runner import run_study
from crossalign.study.store import ResultsStore

pytestmark = pytest.mark.slow
REGIONS = ["V1", "V4", "IT"]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("paradigms")
    rng = np.random.default_rng(0)
    n = 48
    latent = rng.normal(size=(n, 6))
    readout = {r: rng.normal(size=(6, 10)) for r in REGIONS}
    ids = [f"x{i:02d}" for i in range(n)]
    brain = ca.BrainData.from_responses(
        {(f"s{s}", r): latent @ readout[r] + rng.normal(size=(n, 10))
         for s in range(4) for r in REGIONS},
        stimuli=ids,
    )  # fmt: skip
    ca.io.save_xarray(brain, folder / "brain.nc")
    stim = np.array(ids)
    early = latent @ rng.normal(size=(6, 12)) + rng.normal(size=(n, 12))
    np.savez(
        folder / "trained.npz", early=early, late=latent @ rng.normal(size=(6, 12)), stimuli=stim
    )
    np.savez(folder / "random.npz", early=rng.normal(size=(n, 12)), stimuli=stim)
    return folder


def config(folder, **extra):
    return {
        "name": "paradigms",
        "datasets": [{"name": "lab", "path": str(folder / "brain.nc")}],
        "models": [
            {
                "name": "trained",
                "source": "activations",
                "path": str(folder / "trained.npz"),
                "paradigm": "supervised",
            },
            {
                "name": "random",
                "source": "activations",
                "path": str(folder / "random.npz"),
                "paradigm": "untrained",
            },
            {
                "name": "insilico",
                "source": "encoding",
                "path": str(folder / "trained.npz"),
                "encoding": {"subjects": "others", "cv": 4},
            },
        ],
        "metrics": ["pearson"],
        "n_bootstrap": 100,
        "n_permutations": 20,
        **extra,
    }


def test_three_paradigms_run_end_to_end_with_the_paradigm_summary(files, tmp_path):
    out = run_study(config(files), tmp_path / "out")
    with ResultsStore(out["database"]) as store:
        rows = store.results()
    paradigms = set(rows.query("analysis == 'paradigm'")["paradigm"])
    assert paradigms == {"supervised", "untrained", "brain-predictive"}
    score = rows.query("analysis == 'score' and statistic == 'mean'")
    means = score.groupby("model")["value"].mean()
    assert means["insilico"] > means["random"]
    html = out["report"].read_text()
    assert "brain-predictive (n = 1)" in html and "APS gap" in html
    # the in-silico brain is scored on the test stimuli only, layer = its own region
    chosen = rows.query("analysis == 'selected_layer' and model == 'insilico'")
    assert set(zip(chosen["region"], chosen["layer"], strict=True)) == {(r, r) for r in REGIONS}


def test_the_brain_predictive_model_never_sees_test_data(files, tmp_path):
    """Changing every test response and all of one subject's data leaves that subject's
    in-silico predictions unchanged: they come from fits on the others' training data."""
    from rich.console import Console

    from crossalign.study.config import parse_study
    from crossalign.study.models import build_models

    cfg = parse_study(config(files))
    brain = ca.io.load_xarray(files / "brain.nc")
    train = brain.attrs.get("split", {}).get("train")
    assert train is None  # the study's seeded split
    dcfg = cfg.datasets[0]
    console = Console(quiet=True)
    (_, first), = [(m, md) for m, md in build_models(cfg, dcfg, brain, False, console)
                   if m.name == "insilico"]  # fmt: skip
    fitted_on = set(first.attrs["fitted_on"])
    changed = {}
    for key in brain:
        values = brain[key].values.copy()
        test_rows = [i for i, s in enumerate(brain.stimuli) if s not in fitted_on]
        values[test_rows] += 50.0
        if key[0] == "s2":
            values[:] = np.random.default_rng(1).normal(size=values.shape)
        changed[key] = values
    other = ca.BrainData.from_responses(changed, stimuli=list(brain.stimuli))
    (_, second), = [(m, md) for m, md in build_models(cfg, dcfg, other, False, console)
                    if m.name == "insilico"]  # fmt: skip
    for region in REGIONS:
        np.testing.assert_array_equal(
            first[("insilico|s2", region)].values, second[("insilico|s2", region)].values
        )
