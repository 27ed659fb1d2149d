"""Every model source, offline: built with random weights, layers listed, pooled features
extracted and equal to a manual forward pass with hooks; user weights from a file; the
EfficientNet-Lite capacity series against its untrained controls."""

from __future__ import annotations

import numpy as np
import pytest

import crossalign as ca

torch = pytest.importorskip("torch")

from crossalign.models.pooling import pool_output  # noqa: E402


def _images(n: int = 3, size: int = 64) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [rng.integers(0, 256, size=(size, size, 3), dtype=np.uint8) for _ in range(n)]


def _hf_vit(tmp_path) -> str:
    transformers = pytest.importorskip("transformers")
    config = transformers.ViTConfig(
        image_size=32,
        patch_size=8,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
    )
    torch.manual_seed(0)
    transformers.ViTModel(config).save_pretrained(tmp_path / "vit")
    return f"hf:{tmp_path / 'vit'}"


SOURCES = {
    "efficientnet_lite1": ("efficientnet_lite1", "_blocks.3", "avg"),
    "timm": ("timm:resnet18", "layer2", "avg"),
    "torchvision": ("torchvision:resnet18", "layer3", "avg"),
    "openclip": ("openclip:RN50", "layer2", "avg"),
    "hf": (None, None, "cls"),  # the last transformer block
}


@pytest.mark.parametrize("source", sorted(SOURCES))
@pytest.mark.slow  # over 0.5 s: in make test, not the everyday subset
def test_source_builds_offline_and_equals_a_manual_forward(source, tmp_path):
    name, layer, pool = SOURCES[source]
    if source == "openclip":
        pytest.importorskip("open_clip")
    name = name or _hf_vit(tmp_path)
    model = ca.load_model(name, pretrained=False, seed=0)
    layer = layer or model.default_layers[-1]
    assert layer in model.layer_names()
    assert "untrained-seed0" in model.name and model.paradigm == "untrained"
    images = _images()
    md = ca.extract(model, images, layers=[layer], pool=pool, cache=False, progress=False)
    seen = {}
    module = dict(model.module.named_modules())[layer]
    handle = module.register_forward_hook(lambda m, i, o: seen.setdefault("o", o))
    batch = torch.from_numpy(np.stack([model.preprocess(img) for img in images]))
    with torch.inference_mode():
        model.forward(batch)
    handle.remove()
    expected = pool_output(seen["o"], pool)
    np.testing.assert_allclose(md[(md.models[0], layer)].values, expected, rtol=1e-6, atol=1e-6)
    again = ca.load_model(name, pretrained=False, seed=0)
    assert again.weights_id == model.weights_id  # the seed decides the weights


def test_user_weights_from_a_file_load_with_weights_only(tmp_path):
    donor = ca.load_model("timm:resnet18", pretrained=False, seed=5)
    torch.save(donor.module.state_dict(), tmp_path / "mine.pt")
    mine = ca.load_model("timm:resnet18", weights=tmp_path / "mine.pt")
    assert mine.weights_id == donor.weights_id and mine.name == "timm:resnet18+mine"
    bad = tmp_path / "bad.pt"
    torch.save({"fc.weight": torch.zeros(3, 3)}, bad)
    with pytest.raises(ca.errors.InputError, match=r"bad\.pt' does not fit"):
        ca.load_model("timm:resnet18", weights=bad)


def test_a_pickle_with_code_is_refused_as_weights(tmp_path):
    import pickle

    marker = tmp_path / "code-ran"

    class Boom:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    path = tmp_path / "evil.pt"
    path.write_bytes(pickle.dumps({"x": Boom()}))
    with pytest.raises(ca.errors.InputError, match="does not fit"):
        ca.load_model("timm:resnet18", weights=path)
    assert not marker.exists()


@pytest.mark.slow
@pytest.mark.parametrize("variant", [1, 2])
def test_lite_capacity_series_beats_untrained_controls_on_cichy_it(cichy, variant):
    it = cichy.select(areas=["IT"]).rdm_vectors().mean(axis=0)
    spearman = ca.get_metric("spearman")
    best = {}
    for pretrained in (True, False):
        adapter = ca.load_model(f"efficientnet_lite{variant}", pretrained=pretrained, seed=0)
        md = ca.extract(adapter, cichy, pool="avg", progress=False)
        best[pretrained] = max(spearman.score(it, v) for v in md.rdm_vectors())
    assert best[True] > best[False] + 0.1, best
