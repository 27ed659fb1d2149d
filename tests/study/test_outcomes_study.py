"""A study over two outcomes: every row says which outcome it is computed on, the normalised
scores equal the raw scores over the stored per-subject ceilings, and the report leads with
the first outcome listed."""

from __future__ import annotations

import numpy as np
import pytest

from crossalign.study.runner import run_study
from crossalign.study.store import ResultsStore

from .test_hostile import _config, _write_inputs


@pytest.mark.slow
def test_a_study_runs_each_outcome_labelled(tmp_path):
    inputs = _write_inputs(tmp_path / "in", n_sub=5)
    config = _config(
        inputs, outcome=["norm_lower", "score"], partners=2, similarity="mse", n_bootstrap=30
    )
    out = run_study(config, tmp_path / "out")
    with ResultsStore(out["database"]) as store:
        rows = store.results()
    assert set(rows["metric"]) == {"spearman", "spearman [norm_lower]"}
    labelled = rows.groupby("metric")["outcome"].unique()
    assert list(labelled["spearman"]) == ["score"]
    assert list(labelled["spearman [norm_lower]"]) == ["norm_lower"]
    norm = rows[(rows["metric"] == "spearman [norm_lower]") & (rows["split"] == "test")]

    def cell(analysis, statistic="value"):
        sel = norm[(norm["analysis"] == analysis) & (norm["statistic"] == statistic)]
        return sel.set_index(["region", "subject"])["value"].sort_index()

    expected = cell("raw_score") / cell("subject_ceiling_test", "lower")
    np.testing.assert_allclose(cell("score").values, expected.values, atol=1e-10)
    raw = rows[(rows["metric"] == "spearman") & (rows["analysis"] == "score")
               & (rows["statistic"] == "value")]  # fmt: skip
    assert len(raw) == len(cell("score"))
    html = out["report"].read_text()
    assert html.index("spearman [norm_lower]") < html.index("(spearman)")


@pytest.mark.slow
def test_connectivity_entries_run_in_a_study(tmp_path):
    from crossalign.errors import InputError

    from .test_hostile import REGIONS

    inputs = _write_inputs(tmp_path / "in", n_sub=4)
    rng = np.random.default_rng(0)
    w = rng.uniform(size=(2, len(REGIONS), len(REGIONS)))
    folder = tmp_path / "conn"
    folder.mkdir()
    np.savez(folder / "tracts.npz", connectivity=w, regions=np.array(REGIONS))
    entry = {"name": "tracts", "path": str(folder / "tracts.npz"), "n_random": 50}
    out = run_study(_config(inputs, connectivity=[entry]), tmp_path / "out")
    with ResultsStore(out["database"]) as store:
        rows = store.query("SELECT * FROM results WHERE analysis = 'connectivity_aps'")
    assert set(rows["other_model"]) == {"tracts"}
    brain = rows[rows["model"].isna() & (rows["statistic"] == "mean")]
    assert len(brain) == len(REGIONS) and set(rows["model"].dropna()) == {"net"}
    assert {"null_low", "null_high", "flag"} <= set(rows["statistic"])
    assert "against tracts" in out["report"].read_text()
    np.savez(folder / "short.npz", connectivity=w[:, :3, :3], regions=np.array(REGIONS[:3]))
    short = {**entry, "path": str(folder / "short.npz")}
    with pytest.raises(InputError, match=r"connectivity 'tracts'.*has no region"):
        run_study(_config(inputs, connectivity=[short]), tmp_path / "out2")


@pytest.mark.slow
def test_a_two_region_report_draws_no_empty_aps_panel(tmp_path):
    from .test_hostile import REGIONS

    inputs = _write_inputs(tmp_path / "in", n_sub=5)
    config = _config(inputs, n_bootstrap=100)
    config["datasets"][0]["regions"] = [REGIONS[0], REGIONS[-1]]
    config["models"].append({"name": "twin", "source": "activations", "path": str(inputs["acts"])})
    out = run_study(config, tmp_path / "out")
    names = [p.name for p in (tmp_path / "out" / "figures").glob("*.png")]
    assert names and not [n for n in names if "APS" in n or n.startswith(("layers_", "patterns_"))]
    assert any(n.startswith("paired_regions_") for n in names)  # the score's, which is defined
    assert "APS needs" in out["report"].read_text() or "3 regions" in out["report"].read_text()
