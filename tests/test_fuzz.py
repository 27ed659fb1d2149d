"""Hostile and broken input: every loader and the config parser, 1000 generated cases each.

Each case is a valid file of the format, damaged by hypothesis (truncated, bytes flipped,
bytes inserted, or replaced by garbage), or hostile content (NaN/inf, empty arrays, duplicate
ids, unicode and markup in names). Every case must end either in valid data or in a clear
``ValueError``/``FileNotFoundError`` naming the file: never any other exception.
"""

import tomllib

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import crossalign as ca
import crossalign.functional as caf
from crossalign import io
from crossalign.study.runner import parse_study

pytestmark = pytest.mark.slow  # the demo, kills and resumes, 1000-case fuzzing

FUZZ = settings(
    max_examples=1000,
    deadline=None,
    derandomize=True,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
    ],
)
CLEAR = (ValueError, FileNotFoundError)
IDS = [f"im{i}" for i in range(6)]


def _rdms(seed=0):
    rng = np.random.default_rng(seed)
    return np.stack([caf.compute_rdm(rng.normal(size=(6, 4))) for _ in range(3)])


def _valid_files(folder):
    import h5py
    import nibabel as nib
    from scipy.io import savemat

    files = {}
    np.savez(folder / "v.npz", V1=_rdms(0), IT=_rdms(1), stimuli=np.array(IDS))
    files["npz"] = (folder / "v.npz", lambda p: io.load_arrays(p))
    np.save(folder / "v.npy", _rdms(2))
    files["npy"] = (folder / "v.npy", lambda p: io.load_arrays(p, regions=["V1"]))
    savemat(folder / "v.mat", {"V1": _rdms(3), "IT": _rdms(4)})
    files["mat"] = (folder / "v.mat", lambda p: io.load_arrays(p))
    with h5py.File(folder / "v.h5", "w") as f:
        f.create_dataset("s1/V1", data=np.random.default_rng(5).normal(size=(6, 3)))
        f.create_dataset("s2/V1", data=np.random.default_rng(6).normal(size=(6, 3)))
    files["h5"] = (folder / "v.h5", lambda p: io.load_arrays(p))
    data = ca.BrainData.from_rdms({"V1": _rdms(7)}, stimuli=IDS)
    io.save_xarray(data, folder / "v.nc")
    files["netcdf"] = (folder / "v.nc", lambda p: io.load_xarray(p))
    rows = [
        (s, "V1", i, f"u{u}", float(np.sin(len(s) + k + u)))
        for s in ("a", "b")
        for k, i in enumerate(IDS)
        for u in range(3)
    ]
    df = pd.DataFrame(rows, columns=["subject", "region", "stimulus", "unit", "value"])
    df.to_csv(folder / "v.csv", index=False)
    files["csv"] = (folder / "v.csv", lambda p: io.load_table(p))
    df.to_parquet(folder / "v.parquet")
    files["parquet"] = (folder / "v.parquet", lambda p: io.load_table(p))
    vol = np.random.default_rng(8).normal(size=(4, 4, 3, 6))
    nib.save(nib.Nifti1Image(vol, np.eye(4)), folder / "b.nii")
    nib.save(nib.Nifti1Image((vol[..., 0] > 0).astype(np.uint8), np.eye(4)), folder / "m.nii")
    files["nifti"] = (
        folder / "b.nii",
        lambda p: io.load_nifti({"s1": p}, masks={"V1": folder / "m.nii"}),
    )
    np.savez(
        folder / "acts.npz", l1=np.random.default_rng(9).normal(size=(6, 5)), stimuli=np.array(IDS)
    )
    files["activations"] = (folder / "acts.npz", lambda p: io.load_activations(p))
    return files


@st.composite
def damage(draw, raw: bytes):
    kind = draw(st.sampled_from(["truncate", "flip", "insert", "garbage", "empty"]))
    if kind == "truncate":
        return raw[: draw(st.integers(0, max(len(raw) - 1, 0)))]
    if kind == "flip":
        out = bytearray(raw)
        for _ in range(draw(st.integers(1, 8))):
            pos = draw(st.integers(0, len(out) - 1))
            out[pos] = draw(st.integers(0, 255))
        return bytes(out)
    if kind == "insert":
        pos = draw(st.integers(0, len(raw)))
        return raw[:pos] + draw(st.binary(min_size=1, max_size=64)) + raw[pos:]
    if kind == "garbage":
        return draw(st.binary(max_size=2048))
    return b""


@pytest.fixture(scope="module")
def valid(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fuzz")
    return folder, _valid_files(folder)


FORMATS = ["npz", "npy", "mat", "h5", "netcdf", "csv", "parquet", "nifti", "activations"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_damaged_files_end_in_clear_errors(valid, fmt):
    folder, files = valid
    path, loader = files[fmt]
    raw = path.read_bytes()
    target = folder / f"damaged{''.join(path.suffixes)}"

    @FUZZ
    @given(blob=damage(raw))
    def case(blob):
        target.write_bytes(blob)
        try:
            result = loader(target)
        except CLEAR as exc:
            assert str(exc), "an error must say what is wrong"
            return
        assert isinstance(result, ca.BrainData | ca.ModelData)

    case()


@FUZZ
@given(
    values=st.lists(
        st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.floats(-1e6, 1e6)),
        min_size=0,
        max_size=40,
    ),
    names=st.lists(st.text(min_size=1, max_size=12), min_size=1, max_size=3),
    n_stim=st.integers(0, 6),
)
def test_hostile_array_content(tmp_path_factory, values, names, n_stim):
    """NaN/inf, empty arrays, odd shapes, unicode and markup in region names."""
    folder = tmp_path_factory.getbasetemp()
    arr = np.asarray(values, dtype=float)
    size = n_stim * n_stim * 2
    arr = np.resize(arr, size).reshape(2, n_stim, n_stim) if size else np.zeros((2, 0, 0))
    path = folder / "hostile.npz"
    with path.open("wb") as fh:
        np.savez(fh, **{f"r{i}_{n}": arr for i, n in enumerate(names)})
    try:
        data = io.load_arrays(path)
        vectors = data.rdm_vectors()  # degenerate patterns are refused here, clearly
    except CLEAR:
        return
    assert np.isfinite(vectors).all()


@FUZZ
@given(text=st.text(max_size=300))
def test_config_parser_fuzz_text(tmp_path_factory, text):
    path = tmp_path_factory.getbasetemp() / "fuzz.toml"
    path.write_text(text, encoding="utf-8")
    try:
        ca.study.load_study(path)
    except CLEAR as exc:
        assert str(exc)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)


@FUZZ
@given(
    raw=st.dictionaries(
        st.sampled_from(
            [
                "name",
                "datasets",
                "models",
                "metrics",
                "seed",
                "n_bootstrap",
                "test_fraction",
                "memory_budget",
                "extra",
            ]
        ),
        json_values,
        max_size=6,
    )
)
def test_config_parser_fuzz_structures(raw):
    try:
        cfg = parse_study(raw)
    except ValueError as exc:
        assert "In the study config" in str(exc)
        return
    assert cfg.datasets  # a valid config always names its data


def test_the_fuzzed_formats_are_really_valid_when_intact(valid):
    _, files = valid
    for fmt, (path, loader) in files.items():
        assert isinstance(loader(path), ca.BrainData | ca.ModelData), fmt
    # and the intact config the config fuzzers start from parses to what it says
    cfg = parse_study(
        tomllib.loads('datasets = [{name = "cichy2014"}]\nmodels = [{name = "efficientnet_lite0"}]')
    )
    assert [d.name for d in cfg.datasets] == ["cichy2014"]
    assert [m.name for m in cfg.models] == ["efficientnet_lite0"]
