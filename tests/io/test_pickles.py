"""The restricted pickle reader: allow-listed globals only, in an isolated child process."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

import crossalign as ca
from crossalign.io.pickles import load_pickle


def test_numpy_and_containers_round_trip(tmp_path, rng):
    data = {"train": rng.normal(size=(5, 3, 7)), "ids": ["vid0001", "vid0002"], "n": (1, 2.5)}
    path = tmp_path / "ok.pkl"
    path.write_bytes(pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL))
    got = load_pickle(path)
    np.testing.assert_array_equal(got["train"], data["train"])
    assert got["ids"] == data["ids"] and got["n"] == data["n"]
    old = tmp_path / "py2.pkl"  # protocol 2, as Python 2-era dataset pickles
    old.write_bytes(pickle.dumps({"train": data["train"]}, protocol=2))
    np.testing.assert_array_equal(load_pickle(old, encoding="latin1")["train"], data["train"])


def test_a_pickle_naming_another_global_is_refused_and_runs_nothing(tmp_path):
    marker = tmp_path / "code-ran"

    class Writes:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps({"x": Writes()}))
    with pytest.raises(ca.errors.InputError, match=r"names io\.open|names builtins\.open"):
        load_pickle(path)
    assert not marker.exists()

    class Runs:
        def __reduce__(self):
            import os

            return (os.system, (f"touch {marker}",))

    path.write_bytes(pickle.dumps(Runs()))
    with pytest.raises(ca.errors.InputError, match=r"names (posix|os)\.system"):
        load_pickle(path)
    assert not marker.exists()


def test_damaged_and_missing_pickles_are_named(tmp_path):
    bad = tmp_path / "bad.pkl"
    bad.write_bytes(b"\x80\x04not really a pickle")
    with pytest.raises(ca.errors.InputError, match=r"bad\.pkl' was not loaded"):
        load_pickle(bad)
    with pytest.raises(ca.errors.MissingFileError, match=r"nope\.pkl"):
        load_pickle(tmp_path / "nope.pkl")
