"""The activation cache: a miss is only an entry that cannot be read; anything else propagates."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from crossalign.models.cache import ActivationCache

h5py = pytest.importorskip("h5py")


def test_an_entry_round_trips_and_a_damaged_one_is_a_miss(tmp_path):
    cache = ActivationCache(tmp_path)
    acts = np.arange(12.0).reshape(3, 4)
    cache.put("ab" * 16, acts, {"layer": "fc"})
    np.testing.assert_array_equal(cache.get("ab" * 16), acts)
    cache.path("cd" * 16).parent.mkdir(parents=True, exist_ok=True)
    cache.path("cd" * 16).write_bytes(b"not an HDF5 file at all")
    assert cache.get("cd" * 16) is None  # damaged: recomputed, never trusted
    cache.path("ef" * 16).parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(cache.path("ef" * 16), "w") as f:  # complete flag but no dataset
        f.attrs["complete"] = True
    assert cache.get("ef" * 16) is None


def test_a_memory_error_while_reading_propagates(tmp_path, monkeypatch):
    cache = ActivationCache(tmp_path)
    cache.put("ab" * 16, np.ones((2, 2)), {})

    def exhausted(*args, **kwargs):
        raise MemoryError("no memory left")

    monkeypatch.setattr(h5py, "File", exhausted)
    with pytest.raises(MemoryError, match="no memory left"):
        cache.get("ab" * 16)


def test_a_missing_h5py_is_named_not_a_silent_miss(tmp_path, monkeypatch):
    cache = ActivationCache(tmp_path)
    cache.put("ab" * 16, np.ones((2, 2)), {})
    monkeypatch.setitem(sys.modules, "h5py", None)
    with pytest.raises(ImportError, match=r"activation cache needs h5py.*crossalign\[torch\]"):
        cache.get("ab" * 16)


def test_extraction_works_for_one_stimulus_and_analyses_say_why_they_need_three():
    pytest.importorskip("torch")
    import crossalign as ca
    from crossalign.errors import InputError

    from ..helper_models import tiny_net

    images = np.random.default_rng(0).uniform(0, 1, size=(1, 3, 16, 16)).astype(np.float32)
    md = ca.extract(tiny_net(), images, layers=["0"], cache=False, progress=False)
    assert md.n_stimuli == 1 and md[(md.models[0], "0")].shape[0] == 1
    with pytest.raises(InputError, match=r"holds 1 stimulus.*at least 3"):
        ca.score_tensor(md)
