"""The paper's models as data: the 47 of Hoefling et al. 2026, their tags and layers, and the
runnable ones built with random weights."""

import collections
import json

import numpy as np
import pytest
from typer.testing import CliRunner

from crossalign.cli import app
from crossalign.models.paper_zoo import paper_models

ZOO = paper_models("hoefling2026")
RUNNABLE = paper_models("hoefling2026", status="runnable")


def test_the_47_models_by_family_each_runnable_or_saying_why_not():
    families = collections.Counter(m.family for m in ZOO.values())
    assert len(ZOO) == 47
    assert families == {
        "Taskonomy": 25, "timm": 6, "CLIP": 5, "V-JEPA 2": 4, "mmaction2": 3,
        "VISSL SimCLR": 2, "VGGT": 1, "Opt-CWM": 1,
    }  # fmt: skip
    for m in ZOO.values():
        assert m.layers and len(set(m.layers)) == len(m.layers), m.name
        assert m.status in {"runnable", "planned", "not runnable"}
        assert (m.status == "runnable") == bool(m.model), m.name
        assert m.status == "runnable" or m.reason, m.name
    # facts of the paper's configs
    assert ZOO["timm_convnext_base.fb_in1k"].layers[-1] == "stages.3.blocks.2"
    assert len(ZOO["timm_resnet18.a1_in1k"].layers) == 8
    assert "encoder.layer2.3.relu" not in ZOO["taskonomy_normal"].layers
    assert ZOO["vggt_vggt-1b"].frames.startswith("1.5 fps")
    assert {m.tag for m in RUNNABLE.values()} == {"a1_in1k", "fb_in1k", "openai", "", "1000 epochs"}
    assert {m.family for m in RUNNABLE.values()} == {
        "timm", "CLIP", "Taskonomy", "VISSL SimCLR", "V-JEPA 2",
    }  # fmt: skip
    assert len(RUNNABLE) == 42


def test_models_paper_prints_the_table():
    result = CliRunner().invoke(app, ["models", "--paper", "hoefling2026", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [r["name"] for r in rows] == list(ZOO) and rows[0]["layers"] == list(
        ZOO[rows[0]["name"]].layers
    )
    bad = CliRunner().invoke(app, ["models", "--paper", "hoefling20"])
    assert bad.exit_code != 0 and "Did you mean 'hoefling2026'" in bad.output


def _check_runnable(name, monkeypatch):
    entry = RUNNABLE[name]
    needs = {"timm": "timm", "CLIP": "open_clip", "Taskonomy": "visualpriors"}
    needs["V-JEPA 2"] = "transformers"
    pytest.importorskip(needs.get(entry.family, "torchvision"))
    import crossalign as ca
    from crossalign.models import Preprocess, extract, load_model
    from crossalign.models.extract import select_layers

    monkeypatch.setenv("CROSSALIGN_OFFLINE", "1")  # random weights: nothing is downloaded
    adapter = load_model(entry.model, pretrained=False, seed=0)
    assert (adapter.weights_tag or "") == entry.tag
    assert select_layers(adapter, list(entry.layers)) == list(entry.layers)
    frames = 2
    if entry.family != "CLIP":
        adapter = ca.as_adapter(adapter, preprocess=Preprocess(size=64, crop_pct=1.0))
    else:  # its towers have position embeddings of one input size (up to 336 px): one frame
        frames = 1
    clips = np.random.default_rng(0).integers(0, 255, (3, frames, 40, 40, 3), dtype=np.uint8)
    # a video model sees the clips' own 2 frames (one tubelet), not its 64
    sampling = {"frames": frames} if adapter.kind == "video" else {}
    md = extract(
        adapter,
        clips,
        layers=list(entry.layers),
        pool="avg",
        cache=False,
        progress=False,
        **sampling,
    )
    assert md.layers() == list(entry.layers) and md.n_stimuli == 3


@pytest.mark.slow  # over 0.5 s: in make test, not the everyday subset
@pytest.mark.parametrize("name", ["timm_resnet18.a1_in1k", "taskonomy_colorization"])
def test_a_runnable_paper_model_builds_with_its_layers_and_runs_a_clip_batch(name, monkeypatch):
    _check_runnable(name, monkeypatch)


#: V-JEPA 2 ViT-H and ViT-g take 1-2 minutes each to initialise randomly on a CPU: their
#: architectures are checked on the meta device below; ViT-L runs like every other model.
BIG = ("v_jepa_vjepa2_vit_huge", "v_jepa_vjepa2_vit_giant", "v_jepa_vjepa2_vit_giant_384")


@pytest.mark.slow
@pytest.mark.parametrize(
    "name",
    [n for n in RUNNABLE if n not in ("timm_resnet18.a1_in1k", "taskonomy_colorization", *BIG)],
)
def test_every_runnable_paper_model_builds_with_its_layers(name, monkeypatch):
    _check_runnable(name, monkeypatch)


@pytest.mark.parametrize("name", BIG)
def test_the_large_vjepa2_architectures_have_the_papers_blocks(name):
    """Built on the meta device (no memory, no initialisation): the encoder has the blocks the
    paper reads, its last block the paper's last layer, and the width of the released model."""
    torch = pytest.importorskip("torch")
    tf = pytest.importorskip("transformers")
    from crossalign.models.huggingface import VJEPA2

    entry = ZOO[name]
    spec = {k: v for k, v in VJEPA2[entry.model.split(":")[1]].items() if k != "hub"}
    with torch.device("meta"):
        module = tf.AutoModel.from_config(tf.VJEPA2Config(frames_per_clip=64, **spec))
    blocks = [n for n, _ in module.named_modules() if n.startswith("encoder.layer.")]
    blocks = [n.replace("encoder.layer.", "blocks.") for n in blocks if n.count(".") == 2]
    assert set(entry.layers) <= set(blocks) and entry.layers[-1] == blocks[-1], name
    assert module.config.hidden_size == {"vit_huge": 1280}.get(name.split("vjepa2_")[1], 1408)
