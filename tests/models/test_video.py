"""Clips as stimuli: decoding and sampling, image models over time, video models (torchvision
and Hugging Face, untrained and seeded), pooling of 5-D outputs, memory-bounded extraction.
Every clip is written by the test itself (lossless where exact pixels matter)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import crossalign as ca

torch = pytest.importorskip("torch")
av = pytest.importorskip("av")

from crossalign.models import Preprocess, as_adapter  # noqa: E402
from crossalign.models.video import sample_indices, write_video  # noqa: E402

SMALL = Preprocess(size=32, crop_pct=1.0)


def moving_square(n_frames: int = 12, size: int = 40, seed: int = 0) -> np.ndarray:
    """A bright square moving across a noisy background: (T, H, W, 3) uint8."""
    rng = np.random.default_rng(seed)
    frames = rng.integers(0, 60, size=(n_frames, size, size, 3), dtype=np.uint8)
    for t in range(n_frames):
        x = 2 + t * (size - 12) // max(n_frames - 1, 1)
        frames[t, 10:20, x : x + 10] = (255, 200, 40)
    return frames


def tiny_image_net() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 5, stride=2),
        torch.nn.ReLU(),
        torch.nn.AdaptiveAvgPool2d(3),
        torch.nn.Flatten(),
    )


# ---------------------------------------------------------------------- decoding
def test_lossless_clip_decodes_to_the_written_frames(tmp_path):
    frames = moving_square()
    path = write_video(tmp_path / "clip.mkv", frames, fps=12)
    clip = ca.load_video(path)
    assert clip.dtype == np.uint8 and clip.shape == frames.shape
    np.testing.assert_array_equal(np.asarray(clip), frames)
    assert clip.source_fps == 12 and clip.duration == pytest.approx(1.0, abs=0.1)


@pytest.mark.parametrize("n", [1, 4, 7, 12, 20])
def test_uniform_sampling_equals_an_independent_index_computation(tmp_path, n):
    frames = moving_square(12)
    path = write_video(tmp_path / "clip.mkv", frames, fps=12)
    expected = [0] if n == 1 else [math.floor(k * 11 / (n - 1)) for k in range(n)]
    clip = ca.load_video(path, frames=n)
    assert clip.indices.tolist() == expected
    np.testing.assert_array_equal(np.asarray(clip), frames[expected])


def test_sampling_by_fps_in_a_window():
    # 30 fps source, 2.0 s window from 0.5 s, 4 frames per second: every 7.5 source frames
    got = sample_indices(90, fps=4, source_fps=30, start=0.5, end=2.5)
    expected = [15 + math.floor(k * 7.5) for k in range(8) if 15 + k * 7.5 < 75]
    assert got.tolist() == expected


def test_folders_of_frames_and_arrays_are_clips(tmp_path):
    from PIL import Image

    frames = moving_square(5)
    folder = tmp_path / "frames"
    folder.mkdir()
    for i, f in enumerate(frames):
        Image.fromarray(f).save(folder / f"{i:03d}.png")
    np.testing.assert_array_equal(np.asarray(ca.load_video(folder)), frames)
    np.testing.assert_array_equal(np.asarray(ca.load_video(frames, frames=2)), frames[[0, 4]])


def test_unreadable_and_empty_clips_are_named(tmp_path):
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"not a video at all" * 10)
    with pytest.raises(ca.errors.InputError, match=r"broken\.mp4' could not be decoded"):
        ca.load_video(bad)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ca.errors.InputError, match="holds no frame images"):
        ca.load_video(empty)
    with pytest.raises(ca.errors.MissingFileError, match=r"nowhere\.mp4"):
        ca.load_video(tmp_path / "nowhere.mp4")


# ---------------------------------------------------------------------- image models over time
def test_static_clip_mean_equals_the_image_features(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(1)
    images = [rng.integers(0, 256, size=(40, 40, 3), dtype=np.uint8) for _ in range(3)]
    paths, clips = [], []
    for i, img in enumerate(images):
        Image.fromarray(img).save(tmp_path / f"s{i}.png")
        paths.append(tmp_path / f"s{i}.png")
        clips.append(write_video(tmp_path / f"s{i}.mkv", np.repeat(img[None], 6, axis=0)))
    net = as_adapter(tiny_image_net(), name="tiny", preprocess=SMALL, layers=["1", "3"])
    on_images = ca.extract(net, paths, cache=False, progress=False)
    on_clips = ca.extract(net, clips, temporal="mean", cache=False, progress=False)
    for layer in ("1", "3"):
        a, b = on_images[("tiny", layer)].values, on_clips[("tiny", layer)].values
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6)


@pytest.mark.slow  # over 0.5 s: in make test, not the everyday subset
def test_reversal_changes_a_3d_cnn_but_not_an_image_models_mean(tmp_path):
    clips = [moving_square(8, seed=s) for s in range(3)]
    forward = [write_video(tmp_path / f"f{i}.mkv", c) for i, c in enumerate(clips)]
    backward = [write_video(tmp_path / f"b{i}.mkv", c[::-1]) for i, c in enumerate(clips)]
    image = as_adapter(tiny_image_net(), name="tiny", preprocess=SMALL, layers=["3"])
    a = ca.extract(image, forward, temporal="mean", cache=False, progress=False)
    b = ca.extract(image, backward, temporal="mean", cache=False, progress=False)
    np.testing.assert_allclose(
        a[("tiny", "3")].values, b[("tiny", "3")].values, rtol=1e-5, atol=1e-6
    )
    cnn = ca.load_model("torchvision:r3d_18", pretrained=False, seed=0)
    kw = {"layers": ["layer2"], "pool": "avg", "frames": 8, "cache": False, "progress": False}
    fa, fb = ca.extract(cnn, forward, **kw), ca.extract(cnn, backward, **kw)
    name = fa.models[0]
    assert not np.allclose(fa[(name, "layer2")].values, fb[(name, "layer2")].values, atol=1e-4)


@pytest.mark.parametrize("temporal", ["max", "middle", "concat"])
def test_temporal_aggregations_equal_their_definitions(tmp_path, temporal):
    frames = moving_square(5)
    path = write_video(tmp_path / "c.mkv", frames)
    net = as_adapter(tiny_image_net(), name="tiny", preprocess=SMALL, layers=["3"])
    per_frame = ca.extract(net, frames, cache=False, progress=False)[("tiny", "3")].values
    clips = [path] + [
        write_video(tmp_path / f"o{i}.mkv", moving_square(5, seed=i + 1)) for i in range(2)
    ]
    got = ca.extract(net, clips, temporal=temporal, cache=False, progress=False)
    got = got[("tiny", "3")].values[0]
    expected = {"max": per_frame.max(0), "middle": per_frame[2], "concat": per_frame.ravel()}[
        temporal
    ]
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    with pytest.raises(ca.errors.InputError, match=r"image model.*temporal='mean'"):
        ca.extract(net, clips, temporal="none", cache=False, progress=False)


# ---------------------------------------------------------------------- video models
@pytest.mark.slow  # over 0.5 s: in make test, not the everyday subset
def test_r3d_18_untrained_extracts_seeded_pooled_features(tmp_path):
    clips = [write_video(tmp_path / f"c{i}.mkv", moving_square(8, seed=i)) for i in range(3)]
    kw = {
        "layers": ["layer1", "layer4", "avgpool"],
        "pool": "avg",
        "frames": 8,
        "cache": False,
        "progress": False,
    }
    a = ca.extract(ca.load_model("torchvision:r3d_18", pretrained=False, seed=0), clips, **kw)
    b = ca.extract(ca.load_model("torchvision:r3d_18", pretrained=False, seed=0), clips, **kw)
    name = a.models[0]
    assert name == "torchvision:r3d_18-untrained-seed0"
    assert a[(name, "layer1")].shape == (3, 64) and a[(name, "layer4")].shape == (3, 512)
    for layer in kw["layers"]:
        np.testing.assert_array_equal(a[(name, layer)].values, b[(name, layer)].values)
    other = ca.extract(ca.load_model("torchvision:r3d_18", pretrained=False, seed=1), clips, **kw)
    assert not np.allclose(a[(name, "layer4")].values, other[(other.models[0], "layer4")].values)


@pytest.mark.slow  # over 0.5 s: in make test, not the everyday subset
def test_video_features_equal_a_manual_forward_with_hooks(tmp_path):
    paths = [write_video(tmp_path / f"c{i}.mkv", moving_square(8, seed=i)) for i in range(3)]
    model = ca.load_model("torchvision:r3d_18", pretrained=False, seed=0)
    kw = {"layers": ["layer3"], "pool": "spatial", "frames": 4, "cache": False, "progress": False}
    got = ca.extract(model, paths, **kw)
    clips = [np.stack([model.preprocess(f) for f in ca.load_video(p, frames=4)]) for p in paths]
    x = np.stack(clips).transpose(0, 2, 1, 3, 4)  # (B, C, T, H, W)
    seen = {}
    handle = model.module.layer3.register_forward_hook(lambda m, i, o: seen.setdefault("o", o))
    with torch.inference_mode():
        model.module(torch.from_numpy(np.ascontiguousarray(x)))
    handle.remove()
    expected = seen["o"].mean(dim=(3, 4)).reshape(3, -1).numpy()  # spatial pool: (C x T)
    np.testing.assert_allclose(
        got[(got.models[0], "layer3")].values, expected, rtol=1e-5, atol=1e-5
    )


@pytest.mark.slow  # over 0.5 s: in make test, not the everyday subset
def test_hugging_face_video_model_from_a_local_folder(tmp_path):
    transformers = pytest.importorskip("transformers")
    config = transformers.VideoMAEConfig(
        image_size=32,
        patch_size=8,
        num_frames=4,
        tubelet_size=2,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
    )
    torch.manual_seed(0)
    transformers.VideoMAEModel(config).save_pretrained(tmp_path / "videomae")
    transformers.VideoMAEImageProcessor(
        size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}
    ).save_pretrained(tmp_path / "videomae")
    clips = [write_video(tmp_path / f"c{i}.mkv", moving_square(8, seed=i)) for i in range(3)]
    model = ca.load_model(f"hf:{tmp_path / 'videomae'}")
    assert model.kind == "video" and model.frames == 4
    assert model.default_layers == ["encoder.layer.0", "encoder.layer.1"]
    for pool, width in (("avg", 32), ("cls", 32), ("flatten", 32 * 2 * 16)):
        md = ca.extract(model, clips, pool=pool, cache=False, progress=False)
        assert md[(md.models[0], "encoder.layer.1")].shape == (3, width)
    untrained = ca.load_model(f"hf:{tmp_path / 'videomae'}", pretrained=False, seed=3)
    assert untrained.weights_id != model.weights_id


@pytest.mark.slow  # over 0.5 s: in make test, not the everyday subset
def test_v_jepa_2_is_a_video_model_fed_clips_with_its_authors_block_names(tmp_path):
    transformers = pytest.importorskip("transformers")
    config = transformers.VJEPA2Config(
        hidden_size=32, num_hidden_layers=3, num_attention_heads=2, pred_hidden_size=16,
        pred_num_hidden_layers=1, pred_num_attention_heads=2, crop_size=32, frames_per_clip=4,
    )  # fmt: skip
    torch.manual_seed(0)
    transformers.VJEPA2Model(config).save_pretrained(tmp_path / "vjepa2")
    model = ca.load_model(f"hf:{tmp_path / 'vjepa2'}", pretrained=False, seed=1)
    assert model.kind == "video" and model.frames == 4 and model.input_name == "pixel_values_videos"
    assert model.default_layers == ["encoder.layer.0", "encoder.layer.1", "encoder.layer.2"]
    assert model.module_path("blocks.2") == "encoder.layer.2"
    clips = [write_video(tmp_path / f"c{i}.mkv", moving_square(8, seed=i)) for i in range(3)]
    md = ca.extract(
        model, clips, layers=["blocks.0", "blocks.2"], pool="avg", cache=False, progress=False
    )
    assert md.layers() == ["blocks.0", "blocks.2"] and md[(md.models[0], "blocks.2")].shape == (
        3,
        32,
    )
    direct = ca.extract(
        model, clips, layers=["encoder.layer.2"], pool="avg", cache=False, progress=False
    )
    np.testing.assert_array_equal(
        md[(md.models[0], "blocks.2")].values, direct[(direct.models[0], "encoder.layer.2")].values
    )


def test_missing_weights_are_a_clear_error_never_a_random_init(monkeypatch):
    import torchvision.models as tvm

    def offline(*args, **kwargs):
        raise OSError("no network")

    monkeypatch.setattr(tvm, "get_model", offline)
    with pytest.raises(
        RuntimeError, match=r"pretrained weights.*download.pytorch.org.*pretrained=False"
    ):
        ca.load_model("torchvision:r3d_18", pretrained=True)


# ---------------------------------------------------------------------- memory
@pytest.mark.slow  # over 0.5 s: in make test, not the everyday subset
def test_projection_per_batch_equals_projecting_the_whole_layer(tmp_path):
    from crossalign.models.projection import sparse_projection

    clips = [write_video(tmp_path / f"c{i}.mkv", moving_square(4, seed=i)) for i in range(5)]
    model = ca.load_model("torchvision:r3d_18", pretrained=False, seed=0)
    kw = {"layers": ["layer1"], "pool": "flatten", "frames": 4, "cache": False, "progress": False}
    full = ca.extract(model, clips, batch_size=5, **kw)
    projected = ca.extract(model, clips, batch_size=2, projection=50, projection_seed=7, **kw)
    name = full.models[0]
    x = full[(name, "layer1")].values
    expected = np.asarray(x @ sparse_projection(x.shape[1], 50, 7))
    np.testing.assert_allclose(projected[(name, "layer1")].values, expected, rtol=1e-4, atol=1e-4)


@pytest.mark.slow  # over 0.5 s: in make test, not the everyday subset
def test_extraction_over_the_memory_budget_is_refused_early(tmp_path):
    clips = [write_video(tmp_path / f"c{i}.mkv", moving_square(4, seed=i)) for i in range(4)]
    model = ca.load_model("torchvision:r3d_18", pretrained=False, seed=0)
    calls = {"n": 0}
    handle = model.module.register_forward_hook(lambda *a: calls.__setitem__("n", calls["n"] + 1))
    with ca.options(memory_budget="20kB"), pytest.raises(ca.errors.PlanError, match="projection=N"):
        ca.extract(
            model, clips, layers=["layer1"], frames=4, batch_size=1, cache=False, progress=False
        )
    handle.remove()
    assert calls["n"] == 1  # refused after the first batch, before the rest ran


# ---------------------------------------------------------------------- hostile arguments
@pytest.mark.parametrize("fps", [0, -2.0, float("nan"), float("inf"), True, "4"])
@pytest.mark.parametrize("mode", ["select", "blend"])
def test_a_bad_fps_names_the_argument_not_the_clip(tmp_path, fps, mode):
    path = write_video(tmp_path / "good.mkv", moving_square(6))
    with pytest.raises(ca.errors.InputError) as err:
        ca.load_video(path, fps=fps, fps_mode=mode)
    assert "'fps' argument" in str(err.value) and "good.mkv" not in str(err.value)
    net = as_adapter(tiny_image_net(), name="tiny", preprocess=SMALL, layers=["3"])
    with pytest.raises(ca.errors.InputError, match="'fps' argument"):
        ca.extract(net, [path], fps=fps, cache=False, progress=False)


@pytest.mark.parametrize(
    ("argument", "value"),
    [("frames", 0), ("frames", 2.5), ("max_frames", -1), ("size", 0), ("size", (8, 0)),
     ("start", float("nan")), ("end", -1.0)],
)  # fmt: skip
def test_other_bad_sampling_arguments_are_named(tmp_path, argument, value):
    path = write_video(tmp_path / "good.mkv", moving_square(6))
    with pytest.raises(ca.errors.InputError, match=f"'{argument}' argument"):
        ca.load_video(path, **{argument: value})


@pytest.mark.parametrize("temporal", ["mean", "max", "middle"])
def test_per_clip_reductions_take_clips_of_different_lengths(tmp_path, temporal):
    net = as_adapter(tiny_image_net(), name="tiny", preprocess=SMALL, layers=["3"])
    lengths = [5, 3, 5, 7, 3]
    clips = [
        write_video(tmp_path / f"c{i}.mkv", moving_square(n, seed=i)) for i, n in enumerate(lengths)
    ]
    got = ca.extract(net, clips, temporal=temporal, batch_size=3, cache=False, progress=False)
    got = got[("tiny", "3")].values
    for i, n in enumerate(lengths):
        per_frame = ca.extract(net, moving_square(n, seed=i), cache=False, progress=False)
        per_frame = per_frame[("tiny", "3")].values
        expected = {"mean": per_frame.mean(0), "max": per_frame.max(0), "middle": per_frame[n // 2]}
        np.testing.assert_allclose(got[i], expected[temporal], rtol=1e-5, atol=1e-6)


def test_concatenating_clips_of_different_lengths_names_them(tmp_path):
    net = as_adapter(tiny_image_net(), name="tiny", preprocess=SMALL, layers=["3"])
    clips = [write_video(tmp_path / f"c{n}.mkv", moving_square(n)) for n in (4, 6)]
    with pytest.raises(ca.errors.InputError, match=r"'c4': 4 frames, 'c6': 6 frames"):
        ca.extract(net, clips, temporal="concat", cache=False, progress=False)
