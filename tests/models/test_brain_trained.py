"""Brain-trained networks: a tiny CNN trained on 30 stimuli on the CPU, bit-reproducible with
a seed, saved to a weights file that loads and extracts."""

from __future__ import annotations

import time

import numpy as np
import pytest

import crossalign as ca
from crossalign.errors import InputError

torch = pytest.importorskip("torch")


def world(seed=0):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 255, size=(30, 16, 16, 3), dtype=np.uint8)
    mean = images.reshape(30, -1, 3).mean(1)  # what the regions respond to
    ids = [f"im{i:02d}" for i in range(30)]
    brain = ca.BrainData.from_responses(
        {(f"s{s}", r): mean @ rng.normal(size=(3, 6)) + rng.normal(size=(30, 6))
         for s in range(3) for r in ("V1", "V.4")},
        stimuli=ids,
    )  # fmt: skip
    return images, brain, ids


def train(tmp_path, name, seed=0, **kw):
    images, brain, ids = world()
    return ca.train_brain_model(
        "tests.helper_models:tiny_net", brain, tmp_path / name, images=images,
        stimuli=ids[:24], image_size=16, epochs=6, seed=seed, progress=False,
        allow_user_modules=True, **kw,
    )  # fmt: skip


@pytest.mark.slow  # over 0.5 s: in make test, not the everyday subset
def test_training_is_fast_bit_reproducible_and_loads(tmp_path):
    start = time.perf_counter()
    first = train(tmp_path, "a.pt")
    assert time.perf_counter() - start < 60
    second = train(tmp_path, "b.pt")
    other = train(tmp_path, "c.pt", seed=1)
    a, b, c = (torch.load(p, weights_only=True) for p in (first, second, other))
    assert a["state_dict"].keys() == b["state_dict"].keys()
    for k in a["state_dict"]:
        assert torch.equal(a["state_dict"][k], b["state_dict"][k]), k
    assert any(not torch.equal(a["state_dict"][k], c["state_dict"][k]) for k in a["state_dict"])
    assert len(a["validation_loss"]) >= 1
    adapter = ca.models.load_brain_model(first, allow_user_modules=True)
    assert adapter.paradigm == "brain-predictive"
    assert adapter.default_layers == ["readout.V1", "readout.V_4"]
    images, _brain, ids = world()
    acts = ca.extract(adapter, images, stimulus_ids=ids, cache=False, progress=False)
    assert acts[(adapter.name, "readout.V1")].shape == (30, 6)
    with pytest.raises(InputError, match="allow_user_modules"):
        ca.models.load_brain_model(first)


@pytest.mark.slow  # over 0.5 s: in make test, not the everyday subset
def test_only_the_chosen_blocks_learn(tmp_path):
    path = train(tmp_path, "frozen.pt", train_layers=0)
    trained = torch.load(path, weights_only=True)["state_dict"]
    torch.manual_seed(0)
    from tests.helper_models import tiny_net

    untouched = tiny_net().state_dict()
    for key, value in untouched.items():  # the backbone did not move
        assert torch.equal(trained[f"backbone.{key}"], value), key


def test_bad_arguments_are_named(tmp_path):
    images, brain, _ids = world()
    with pytest.raises(InputError, match="'epochs'"):
        ca.train_brain_model("tests.helper_models:tiny_net", brain, tmp_path / "x.pt",
                             images=images, epochs=0, allow_user_modules=True)  # fmt: skip
    with pytest.raises(InputError, match="allow_user_modules"):
        ca.train_brain_model("tests.helper_models:tiny_net", brain, tmp_path / "x.pt",
                             images=images)  # fmt: skip
    (tmp_path / "junk.pt").write_bytes(b"not a model")
    with pytest.raises(InputError, match="could not be read"):
        ca.models.load_brain_model(tmp_path / "junk.pt")


@pytest.mark.slow  # over 0.5 s: in make test, not the everyday subset
def test_a_registry_backbone_loads_through_the_brain_source(tmp_path):
    pytest.importorskip("timm")
    images, brain, ids = world()
    path = ca.train_brain_model(
        "timm:resnet10t", brain, tmp_path / "net.pt", images=images, stimuli=ids[:24],
        image_size=32, epochs=2, progress=False, readout_layer="layer4",
    )  # fmt: skip
    net = ca.load_model(f"brain:{path}")
    assert net.paradigm == "brain-predictive" and net.name == "brain:net"
    acts = ca.extract(net, images, stimulus_ids=ids, cache=False, progress=False)
    assert acts[(net.name, "readout.V_4")].shape == (30, 6)
    direct = ca.models.load_brain_model(path)
    assert direct.weights_id == net.weights_id
