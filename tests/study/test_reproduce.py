"""`crossalign reproduce hoefling2026`: the study it writes, and a run on a BOLD Moments
fixture in the published fsLR32k layout with clips and an untrained model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from crossalign.cli import app
from crossalign.errors import InputError
from crossalign.io.bold_moments import PAPER_EXCLUDED, PAPER_ROIS
from crossalign.study.config import load_study
from crossalign.study.reproduce import PAPER_MODELS, reproduction_study, write_reproduction
from crossalign.study.store import ResultsStore

from ..io import dataset_layouts as layouts


def test_the_written_study_is_the_papers_and_reads_back(tmp_path):
    study = reproduction_study("hoefling2026", tmp_path, max_stimuli=20, n_bootstrap=200)
    path = write_reproduction(study, tmp_path / "out")
    cfg = load_study(path)
    assert cfg.protocol == "hoefling2026"
    assert [m.label for m in cfg.metric_objects()] == ["pearson", "predictivity"]
    options = cfg.datasets[0].options
    assert options["preset"] == "hoefling2026" and options["root"] == str(tmp_path.resolve())
    assert options["stimuli"][:2] == ["vid0001", "vid0002"] and len(options["stimuli"]) == 24
    assert not set(PAPER_EXCLUDED) & set(options["stimuli"])
    clips = cfg.datasets[0].clips
    assert (clips.fps, clips.size, clips.max_frames, clips.fps_mode) == (4.0, 256, 12, "blend")
    assert [m.name for m in cfg.models] == [m["name"] for m in PAPER_MODELS]
    fed = {m.name: m.input for m in cfg.models}  # the paper's frames as they are, or not
    assert fed["timm_convnext_base.fb_in1k"].size == 256
    assert fed["timm_convnext_base.fb_in1k"].crop_pct == 1.0
    assert fed["v_jepa_vjepa2_vit_giant_384"].size == 256
    assert fed["clip_rn50"] is None and fed["taskonomy_normal"] is None
    assert cfg.overrides() == []
    with pytest.raises(InputError, match="at least 10"):
        reproduction_study("hoefling2026", tmp_path, max_stimuli=4)


@pytest.mark.slow
def test_reproduce_runs_on_a_fixture_and_stores_aps_for_every_parcel(tmp_path):
    pytest.importorskip("timm")
    pytest.importorskip("av")
    from crossalign.models.video import write_video

    root = tmp_path / "bmd"
    root.mkdir()
    rng = np.random.default_rng(0)
    _, atlas, _, _ = layouts.bold_moments_fslr(root, rng, parcels=PAPER_ROIS[:4], per_parcel=8)
    clips = root / "stimuli" / "stimulus_set" / "mp4_h264"
    clips.mkdir(parents=True)
    for i in [*range(1, 11), 1002, 1003, 1004]:
        frames = rng.integers(0, 255, size=(20, 24, 24, 3)).astype(np.uint8)
        write_video(clips / f"{i:04d}.mp4", frames, fps=10, codec="libx264")
    models = tmp_path / "models.toml"
    models.write_text(
        '[[models]]\nname = "untrained"\nsource = "registry"\nmodel = "timm:resnet10t"\n'
        "pretrained = false\n"
    )
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app,
        [
            "reproduce", "hoefling2026", "--root", str(root), "--out", str(out),
            "--models-file", str(models), "--parcellation", str(atlas),
            "--max-stimuli", "10", "--n-bootstrap", "20",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert {p.name for p in out.iterdir()} >= {"study.toml", "models.toml", "report.html"}
    with ResultsStore(out / "results.duckdb") as store:
        aps = store.query(
            "SELECT metric, region FROM results WHERE analysis = 'aps' AND value IS NOT NULL"
        )
        weights = store.query(
            "SELECT DISTINCT analysis, weights FROM results WHERE model = 'untrained' AND "
            "analysis IN ('score', 'aps', 'leaderboard')"
        )
    assert set(weights["weights"]) == {"untrained"} and len(weights) == 3  # random weights
    html = (out / "report.html").read_text()  # the leaderboard's weights column says so
    cell = '<td class="label" data-sort="untrained">untrained</td>'
    assert 'data-key="weights"' in html and cell * 3 in html  # model, paradigm, weights
    parcels = {*PAPER_ROIS[:4], "other"}
    for metric in ("pearson", "predictivity"):
        assert set(aps[aps["metric"] == metric]["region"]) == parcels
    study = Path(out) / "study.toml"
    rerun = CliRunner().invoke(app, ["run", str(study), "--out", str(out), "--no-report"])
    assert rerun.exit_code == 0, rerun.output
    assert f"crossalign run {study} --out {out} --resume" in " ".join(rerun.output.split())
