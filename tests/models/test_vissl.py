"""VISSL SimCLR trunks read from checkpoints in VISSL's layout into torchvision ResNets."""

import os

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import crossalign as ca  # noqa: E402
from crossalign.errors import InputError  # noqa: E402
from crossalign.models.vissl import VISSL_CHECKPOINTS, vissl_trunk  # noqa: E402


def _vissl_checkpoint(path, arch="resnet50", seed=5, layout="classy"):
    """A checkpoint as VISSL's model zoo stores one: the trunk under classy_state_dict,
    every name prefixed _feature_blocks., no classifier; and the net it came from."""
    import torchvision.models as tvm

    torch.manual_seed(seed)
    net = tvm.get_model(arch, weights=None)
    net.fc = torch.nn.Identity()
    trunk = {f"_feature_blocks.{k}": v for k, v in net.state_dict().items()}
    body = {"classy_state_dict": {"base_model": {"model": {"trunk": trunk, "heads": {}}}},
            "phase_idx": 999}  # fmt: skip
    if layout == "model":
        body = {"model_state_dict": trunk}
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(body, path)
    return net.eval()


@pytest.mark.slow  # over 0.5 s: in make test, not the everyday subset
def test_a_checkpoint_in_vissls_layout_loads_into_the_trunk(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.delenv("CROSSALIGN_OFFLINE", raising=False)
    _, url, _ = VISSL_CHECKPOINTS["simclr_resnet50_1000epochs"]
    cached = tmp_path / "torch" / "hub" / "checkpoints" / os.path.basename(url)
    reference = _vissl_checkpoint(cached)  # in torch's cache: read without a download
    adapter = ca.load_model("vissl:simclr_resnet50_1000epochs")
    assert adapter.name == "vissl:simclr_resnet50_1000epochs"
    assert adapter.weights_tag == "1000 epochs" and adapter.paradigm.startswith("self-supervised")
    x = torch.randn(2, 3, 64, 64)
    with torch.inference_mode():
        np.testing.assert_array_equal(adapter.module(x).numpy(), reference(x).numpy())
    untrained = ca.load_model("vissl:simclr_resnet50_1000epochs", pretrained=False)
    assert untrained.weights_id != adapter.weights_id


def test_both_layouts_give_torchvision_names_and_other_files_are_refused(tmp_path):
    net = _vissl_checkpoint(tmp_path / "a.torch", layout="model")
    body = torch.load(tmp_path / "a.torch", weights_only=True)
    assert set(vissl_trunk(body)) == set(net.state_dict())
    with pytest.raises(InputError, match=r"not a VISSL checkpoint.*Got the keys \['state_dict'\]"):
        vissl_trunk({"state_dict": {}})
    with pytest.raises(ValueError, match=r"'model' parameter of vissl must be one of"):
        ca.load_model("vissl:simclr_resnet50_1001epochs", pretrained=False)
