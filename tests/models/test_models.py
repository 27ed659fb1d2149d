"""Models in: adapters, hook extraction, pooling, projection, cache (needs the torch extra)."""

import dataclasses
import os

import numpy as np
import pytest

import crossalign as ca


def _require(module):
    if os.environ.get("CI"):
        return __import__(module)  # in CI the extra is installed: a missing one must fail
    return pytest.importorskip(module)


torch = _require("torch")
from crossalign.models import (  # noqa: E402
    ActivationCache,
    Preprocess,
    as_adapter,
    extract,
    load_model,
    paper_projection,
    sparse_projection,
)
from crossalign.models.projection import paper_dimension  # noqa: E402


class TinyNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.conv = torch.nn.Conv2d(3, 4, 3, padding=1)
        self.relu = torch.nn.ReLU()
        self.pool = torch.nn.AdaptiveAvgPool2d(2)
        self.fc = torch.nn.Linear(16, 5)
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        x = self.pool(self.relu(self.conv(x)))
        return self.fc(x.flatten(1))


SMALL = Preprocess(size=16, crop_pct=1.0)


@pytest.fixture
def images(rng):
    return [rng.integers(0, 255, size=(20, 24, 3), dtype=np.uint8) for _ in range(7)]


@pytest.fixture
def cache_dir(tmp_path):
    return tmp_path / "cache"


def hand_hook(net, images, layer):
    out = []
    handle = dict(net.named_modules())[layer].register_forward_hook(
        lambda m, i, o: out.append(o.detach().flatten(1).numpy().copy())
    )
    with torch.no_grad():
        net(torch.from_numpy(np.stack([SMALL(im) for im in images])))
    handle.remove()
    return out[0]


def test_extraction_equals_a_hand_written_hook(images):
    net = TinyNet()
    adapter = as_adapter(net, preprocess=SMALL)
    md = extract(adapter, images, layers=["conv", "relu", "fc"], cache=False, progress=False)
    assert md.layers() == ["conv", "relu", "fc"]
    for layer in ("conv", "relu", "fc"):
        np.testing.assert_allclose(
            md[("TinyNet", layer)].values, hand_hook(net, images, layer), atol=1e-6
        )


def test_batch_size_does_not_change_results(images):
    adapter = as_adapter(TinyNet(), preprocess=SMALL)
    a = extract(adapter, images, layers="conv", batch_size=7, cache=False, progress=False)
    b = extract(adapter, images, layers="conv", batch_size=2, cache=False, progress=False)
    np.testing.assert_allclose(
        a[("TinyNet", "conv")].values, b[("TinyNet", "conv")].values, atol=1e-6
    )


def test_cached_rerun_does_not_call_the_model(images, cache_dir):
    net = TinyNet()
    adapter = as_adapter(net, preprocess=SMALL)
    first = extract(adapter, images, layers=["conv", "fc"], cache=cache_dir, progress=False)
    calls = net.calls
    assert calls == 1
    second = extract(adapter, images, layers=["conv", "fc"], cache=cache_dir, progress=False)
    assert net.calls == calls  # served from the cache
    assert second.attrs["cached_layers"] == ["conv", "fc"]
    np.testing.assert_array_equal(first[("TinyNet", "fc")].values, second[("TinyNet", "fc")].values)
    # a different pooling is a different cache entry
    extract(adapter, images, layers=["conv"], pool="avg", cache=cache_dir, progress=False)
    assert net.calls == calls + 1


def test_interrupted_cache_writes_are_never_read(images, cache_dir):
    net = TinyNet()
    adapter = as_adapter(net, preprocess=SMALL)
    extract(adapter, images, layers=["fc"], cache=cache_dir, progress=False)
    entries = list(cache_dir.rglob("*.h5"))
    assert len(entries) == 1
    entries[0].write_bytes(entries[0].read_bytes()[:100])  # a torn entry
    (entries[0].parent / ".partial.part").write_bytes(b"junk")  # a leftover temp file
    calls = net.calls
    md = extract(adapter, images, layers=["fc"], cache=cache_dir, progress=False)
    assert net.calls == calls + 1  # recomputed, not read back
    assert md.attrs["cached_layers"] == []
    assert ActivationCache(cache_dir).get("0" * 32) is None


def test_layers_by_glob_and_unknown_layers(images):
    adapter = load_model("efficientnet_lite0")
    from crossalign.models import select_layers

    assert select_layers(adapter, "_blocks.1?") == [f"_blocks.{i}" for i in range(10, 16)]
    with pytest.raises(
        ValueError, match=r"Unknown layer '_block.3'.*closest first\): '_blocks\.3'"
    ):
        select_layers(adapter, ["_block.3"])
    with pytest.raises(ValueError, match=r"pattern 'conv\*' matches no layer"):
        select_layers(adapter, "conv*")


def test_pooling_and_projection(images):
    adapter = as_adapter(TinyNet(), preprocess=SMALL)
    flat = extract(adapter, images, layers="conv", cache=False, progress=False)
    avg = extract(adapter, images, layers="conv", pool="avg", cache=False, progress=False)
    x = flat[("TinyNet", "conv")].values.reshape(7, 4, 16, 16)
    np.testing.assert_allclose(avg[("TinyNet", "conv")].values, x.mean(axis=(2, 3)), atol=1e-5)
    proj = extract(adapter, images, layers="conv", projection=64, cache=False, progress=False)
    assert proj[("TinyNet", "conv")].shape == (7, 64)
    again = extract(adapter, images, layers="conv", projection=64, cache=False, progress=False)
    np.testing.assert_array_equal(
        proj[("TinyNet", "conv")].values, again[("TinyNet", "conv")].values
    )


@pytest.mark.parametrize(("n_train", "width"), [(50, 3000), (50, 4000), (12, 900)])
@pytest.mark.slow  # over 0.5 s: in make test, not the everyday subset
def test_the_paper_projection_equals_scikit_learns_fitted_on_the_train_rows(n_train, width):
    from sklearn.random_projection import SparseRandomProjection, johnson_lindenstrauss_min_dim

    rng = np.random.default_rng(n_train)
    x = rng.normal(size=(n_train + 20, width))
    dim = min(int(johnson_lindenstrauss_min_dim(n_train, eps=0.1)), width)
    srp = SparseRandomProjection(dim, random_state=1234).fit(x[:n_train])
    ours = np.asarray(x @ paper_projection(width, n_train))
    assert ours.shape == (n_train + 20, dim)
    np.testing.assert_allclose(ours, srp.transform(x), rtol=0, atol=1e-12)
    # the dimension rule: scikit-learn's bound (rounded down), capped at the width
    assert dim == {50: min(3353, width), 12: 900}[n_train]
    assert paper_dimension(7000, 1000) == 5920 and paper_dimension(5000, 1000) == 5000
    other = np.asarray(x @ paper_projection(width, n_train, seed=1235))
    assert not np.allclose(other, ours)


def test_extract_with_the_paper_projection_fits_on_the_given_stimuli(images):
    from sklearn.random_projection import SparseRandomProjection

    adapter = as_adapter(TinyNet(), preprocess=SMALL)
    kw = {"layers": ["conv", "fc"], "cache": False, "progress": False}
    raw = extract(adapter, images, **kw)
    proj = extract(adapter, images, projection="hoefling2026", projection_fit=[0, 1, 2], **kw)
    assert proj.attrs["projection"] == "hoefling2026"
    for layer, width in (("conv", 1024), ("fc", 5)):
        x = raw[("TinyNet", layer)].values.astype(np.float64)
        if layer == "conv":  # the paper stores feature maps channels last: (H, W, C) units
            x = x.reshape(7, 4, 16, 16).transpose(0, 2, 3, 1).reshape(7, -1)
        # 3 training stimuli: min(JL bound 941, width) components, the layer narrower too
        srp = SparseRandomProjection(min(941, width), random_state=1234).fit(x[:3])
        np.testing.assert_allclose(
            proj[("TinyNet", layer)].values, srp.transform(x), rtol=1e-5, atol=1e-5
        )
    # the layer's own (C, H, W) order would give another projection of the same units
    own = raw[("TinyNet", "conv")].values.astype(np.float64)
    srp = SparseRandomProjection(941, random_state=1234).fit(own[:3])
    assert not np.allclose(proj[("TinyNet", "conv")].values, srp.transform(own), atol=1e-3)
    fitted_on_all = extract(adapter, images, projection="hoefling2026", **kw)
    assert fitted_on_all[("TinyNet", "conv")].shape == (7, 1024)  # JL(7) = 1667 > 1024
    with pytest.raises(ValueError, match=r"'projection'.*Did you mean 'hoefling2026'"):
        extract(adapter, images, projection="hoefling", **kw)
    with pytest.raises(ValueError, match=r"'projection' argument must be a positive dimension"):
        extract(adapter, images, projection=0, **kw)


def test_the_paper_projection_of_an_image_model_on_clips_follows_the_papers_pipeline(rng):
    """Hoefling et al. 2026 run an image model frame by frame, store (N, T, H, W, C), average
    the frames and project the (H, W, C) units with SparseRandomProjection(random_state=1234)
    fitted on the training clips."""
    from sklearn.random_projection import SparseRandomProjection

    net = TinyNet()
    clips = [rng.normal(size=(3, 3, 8, 8)).astype(np.float32) for _ in range(6)]  # T C H W
    ready = dataclasses.replace(as_adapter(net), preprocess=None)  # clips fed as they are
    proj = extract(
        ready,
        clips,
        layers=["conv"],
        projection="hoefling2026",
        projection_fit=[0, 1, 2, 3],
        cache=False,
        progress=False,
    )
    with torch.no_grad():  # the paper's pipeline, step by step
        maps = np.stack([net.conv(torch.from_numpy(c)).numpy() for c in clips])  # N T C H W
    stored = np.moveaxis(maps, 2, -1)  # N T H W C
    features = stored.mean(axis=1).reshape(6, -1).astype(np.float64)
    srp = SparseRandomProjection(min(1188, 256), random_state=1234)  # JL(4 clips) > width
    expected = srp.fit(features[:4]).transform(features)
    assert proj[("TinyNet", "conv")].shape == (6, 256)
    np.testing.assert_allclose(proj[("TinyNet", "conv")].values, expected, rtol=1e-5, atol=1e-5)


def test_sparse_projection_preserves_distances():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(30, 20000))
    r = sparse_projection(20000, 2000, seed=1)
    y = np.asarray(x @ r)
    from scipy.spatial.distance import pdist

    ratio = pdist(y) / pdist(x)
    assert abs(ratio.mean() - 1) < 0.02 and ratio.std() < 0.05


def test_callable_models_and_exemplar_averaging(rng):
    calls = []

    def feature_model(batch):
        calls.append(len(batch))
        arr = np.stack([np.asarray(b, dtype=float).ravel()[:6] for b in batch])
        return {"raw": arr, "double": 2 * arr}

    stimuli = {f"cond{k}": [rng.normal(size=(3, 4)) for _ in range(k + 1)] for k in range(4)}
    md = extract(feature_model, stimuli, progress=False)
    assert md.layers() == ["raw", "double"] and list(md.stimuli) == list(stimuli)
    expected = np.mean([im.ravel()[:6] for im in stimuli["cond2"]], axis=0)
    np.testing.assert_allclose(md[("feature_model", "raw")].sel(stimulus="cond2").values, expected)
    with pytest.raises(ValueError, match=r"Unknown layer 'triple'"):
        extract(feature_model, stimuli, layers=["triple"], progress=False)


def test_shared_module_is_refused():
    class Shared(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.act = torch.nn.ReLU()
            self.lin = torch.nn.Linear(3, 3)

        def forward(self, x):
            return self.act(self.lin(self.act(x.mean(dim=(2, 3)))))

    adapter = as_adapter(Shared(), preprocess=SMALL)
    with pytest.raises(ValueError, match=r"'act'.*runs more than once per forward pass"):
        extract(
            adapter,
            [np.zeros((16, 16, 3), np.uint8)] * 3,
            layers="act",
            cache=False,
            progress=False,
        )


@pytest.mark.slow  # over 0.5 s: in make test, not the everyday subset
def test_timm_architecture_offline(images, monkeypatch):
    _require("timm")
    adapter = load_model("timm:resnet18", pretrained=False, seed=3)
    assert adapter.name == "timm:resnet18-untrained-seed3" and adapter.paradigm == "untrained"
    assert "layer4" in adapter.default_layers and "fc" in adapter.default_layers
    md = extract(
        adapter, images[:3], layers=["layer1", "fc"], pool="avg", cache=False, progress=False
    )
    assert md[(adapter.name, "layer1")].shape == (3, 64)
    assert load_model("timm:resnet18", pretrained=False, seed=3).weights_id == adapter.weights_id
    assert load_model("timm:resnet18", pretrained=False, seed=4).weights_id != adapter.weights_id
    monkeypatch.setenv("CROSSALIGN_OFFLINE", "1")
    with pytest.raises(RuntimeError, match=r"could not fetch pretrained weights.*pretrained=False"):
        load_model("timm:resnet18", pretrained=True)
    with pytest.raises(ValueError, match=r"timm has no architecture 'resnet19'.*Did you mean"):
        load_model("timm:resnet19", pretrained=False)
    with pytest.raises(ValueError, match=r"Unknown model 'efficientnet_lite9'.*timm:"):
        load_model("efficientnet_lite9")


@pytest.mark.slow  # over 0.5 s: in make test, not the everyday subset
def test_a_timm_tag_resolves_its_own_pretrained_config_without_a_download(monkeypatch, images):
    from crossalign.models.sources import timm_pretrained_config

    monkeypatch.setenv("CROSSALIGN_OFFLINE", "1")
    paper = timm_pretrained_config("convnext_base.fb_in1k")
    assert paper["tag"] == "fb_in1k" and paper["hf_hub_id"] == "timm/convnext_base.fb_in1k"
    assert timm_pretrained_config("convnext_base")["tag"] == "fb_in22k_ft_in1k"  # timm's default
    adapter = load_model("timm:resnet18.a1_in1k", pretrained=False, seed=0)
    assert adapter.name == "timm:resnet18.a1_in1k-untrained-seed0"
    assert adapter.weights_tag == "a1_in1k" and adapter.preprocess.crop_pct == 0.95  # a1's crop
    assert load_model("timm:convnext_tiny", pretrained=False).weights_tag != "fb_in1k"
    md = extract(adapter, images[:3], layers=["fc"], cache=False, progress=False)
    assert md.attrs["weights_tag"] == "a1_in1k"
    with pytest.raises(ValueError, match=r"no pretrained tag 'fb_in1kk'.*Did you mean 'fb_in1k'"):
        load_model("timm:convnext_base.fb_in1kk", pretrained=False)


@pytest.mark.slow  # over 0.5 s: in make test, not the everyday subset
def test_precomputed_activations_work_like_a_model(tmp_path, rng):
    from crossalign import io

    from ..analysis.test_aps import synthetic_world

    _, latent, _regions, stimuli, brain = synthetic_world(seed=6, n=30)
    acts = {f"L{r}": latent[r] @ rng.normal(size=(6, 10)) for r in range(5)}
    np.savez(tmp_path / "net.npz", **acts, stimuli=np.array(stimuli))
    import h5py

    with h5py.File(tmp_path / "net.h5", "w") as f:
        f.attrs["stimuli"] = np.array(stimuli, dtype="S")
        for k, v in acts.items():
            f.create_dataset(k, data=v[::-1])  # reversed rows ...
        f.attrs["stimuli"] = np.array(stimuli[::-1], dtype="S")  # ... and reversed ids
    import xarray as xr

    xr.Dataset(
        {k: (("stimulus", f"u_{k}"), v) for k, v in acts.items()}, coords={"stimulus": stimuli}
    ).to_netcdf(tmp_path / "net.nc")
    results = []
    for suffix in ("npz", "h5", "nc"):
        md = io.load_activations(tmp_path / f"net.{suffix}", model="net")
        ev = ca.evaluate_model(md, brain, n_bootstrap=0, seed=0)
        results.append(ev["aps_mean"].values)
    np.testing.assert_allclose(results[0], results[1], atol=1e-10)
    np.testing.assert_allclose(results[0], results[2], atol=1e-10)


# ---------------------------------------------------------------- the acceptance checks
@pytest.fixture(scope="module")
def lite(tmp_path_factory):
    return load_model("efficientnet_lite0")


def test_pretrained_efficientnet_sees_a_cat(lite):
    skimage_data = _require("skimage.data")
    from skimage import data as skdata

    del skimage_data
    x = torch.from_numpy(lite.preprocess(skdata.chelsea())[None])
    with torch.inference_mode():
        top = int(lite.module(x).argmax())
    assert 281 <= top <= 285  # ImageNet's domestic cat classes (tabby ... Egyptian cat)


@pytest.mark.slow
def test_trained_beats_untrained_on_cichy_it(cichy, lite):
    it = cichy.select(areas=["IT"]).rdm_vectors().mean(axis=0)
    spearman = ca.get_metric("spearman")
    best = {}
    for adapter in (lite, load_model("efficientnet_lite0", pretrained=False, seed=0)):
        md = extract(adapter, cichy, progress=False)  # the session cache: the demo reuses it
        assert list(md.stimuli) == list(cichy.stimuli)
        best[adapter.paradigm] = max(spearman.score(it, v) for v in md.rdm_vectors())
    assert best["supervised"] > best["untrained"] + 0.1, best


def test_auto_projection_is_the_very_sparse_one_at_the_jl_dimension_of_all_stimuli(images):
    from crossalign.models.projection import jl_dimension

    adapter = as_adapter(TinyNet(), preprocess=Preprocess(size=64, crop_pct=1.0))
    kw = {"layers": ["conv", "fc"], "cache": False, "progress": False}
    raw = extract(adapter, images, **kw)
    auto = extract(adapter, images, projection="auto", projection_fit=[0, 1], **kw)
    k = jl_dimension(7)  # all 7 stimuli (auto is not fitted to projection_fit)
    conv = raw[("TinyNet", "conv")].values.astype(np.float64)
    assert conv.shape[1] == 16384 > k and auto.attrs["projection"] == "auto"
    np.testing.assert_allclose(
        auto[("TinyNet", "conv")].values,
        conv @ sparse_projection(16384, k, 0),
        rtol=1e-5,
        atol=1e-4,
    )
    np.testing.assert_array_equal(auto[("TinyNet", "fc")].values, raw[("TinyNet", "fc")].values)


def test_as_adapter_replaces_what_it_is_given_on_an_adapter_and_leaves_it_unchanged():
    base = as_adapter(TinyNet(), name="tiny")
    small = Preprocess(size=32, crop_pct=1.0)
    copy = as_adapter(base, preprocess=small, layers=["fc"], name="tiny32")
    assert (copy.preprocess, copy.default_layers, copy.name) == (small, ["fc"], "tiny32")
    assert base.preprocess is not small and base.name == "tiny" and base.default_layers != ["fc"]
    assert as_adapter(base) is base  # nothing to replace: the same adapter
    assert copy.module is base.module and copy.weights_id == base.weights_id
