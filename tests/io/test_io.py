"""Safe array loading and reference datasets (lookup, checksums, missing files)."""

import shutil

import numpy as np
import pytest

import crossalign as ca
from crossalign.io import load_array
from crossalign.io.mat_layout import check_mat_layout


def test_object_npz_is_never_unpickled(tmp_path):
    np.savez(tmp_path / "obj.npz", x=np.array([object()], dtype=object))
    with pytest.raises(ValueError, match=r"object \(pickled\) array.*never unpickles"):
        load_array(tmp_path / "obj.npz", "x")


def test_truncated_npz(tmp_path):
    np.savez(tmp_path / "ok.npz", x=np.arange(1000.0))
    raw = (tmp_path / "ok.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ValueError, match=r"cut\.npz' could not be read"):
        load_array(tmp_path / "cut.npz")


def test_npz_key_errors(tmp_path):
    np.savez(tmp_path / "two.npz", alpha=np.zeros(3), beta=np.ones(3))
    with pytest.raises(ValueError, match=r"holds 2 variables \['alpha', 'beta'\]"):
        load_array(tmp_path / "two.npz")
    with pytest.raises(ValueError, match=r"no variable 'alpah'.*Did you mean 'alpha'"):
        load_array(tmp_path / "two.npz", "alpah")
    with pytest.raises(ValueError, match=r"unsupported suffix '\.txt'"):
        (tmp_path / "a.txt").write_text("1 2 3")
        load_array(tmp_path / "a.txt")


def test_mat_v5_round_trip(tmp_path):
    from scipy.io import savemat

    x = np.arange(24.0).reshape(2, 3, 4)
    savemat(tmp_path / "x.mat", {"data": x})
    np.testing.assert_array_equal(load_array(tmp_path / "x.mat", "data"), x)


@pytest.mark.parametrize("compressed", [False, True])
def test_a_damaged_mat_v5_layout_is_refused_without_a_child_process(
    tmp_path, monkeypatch, compressed
):
    """Intact files (scipy's, compressed or not; MATLAB's own in the reference data) pass the
    layout check; a truncated file, stray bytes or a foreign element are refused naming the
    byte, before any reader process starts."""
    from scipy.io import savemat

    from crossalign.io import arrays

    x = {"V1": np.arange(24.0).reshape(2, 3, 4), "IT": np.eye(3), "note": "text"}
    savemat(tmp_path / "ok.mat", x, do_compression=compressed)
    check_mat_layout(tmp_path / "ok.mat")
    raw = (tmp_path / "ok.mat").read_bytes()
    bad = {
        "cut.mat": (raw[:-1], r"variable at byte \d+ needs \d+ bytes, but the file ends"),
        "tail.mat": (raw + b"\0\0\0", r"3 stray byte\(s\) after its last variable"),
        "kind.mat": (raw[:128] + b"\x05" + raw[129:], r"byte 128 has type 5, expected a variable"),
    }
    monkeypatch.setattr(arrays.mp, "get_context", lambda *_: pytest.fail("a child started"))
    for name, (blob, message) in bad.items():
        (tmp_path / name).write_bytes(blob)
        with pytest.raises(ValueError, match=rf"'{tmp_path / name}' is damaged.*{message}"):
            load_array(tmp_path / name, "V1")
    monkeypatch.undo()
    np.testing.assert_array_equal(load_array(tmp_path / "ok.mat", "V1"), x["V1"])


def test_a_file_of_no_matlab_version_is_refused_without_a_child_process(tmp_path, monkeypatch):
    """The version is told as scipy tells it (a zero in the first 4 bytes: v4; else the
    header's version byte): a v4 file scipy wrote passes and loads; an empty file, a short one,
    a header of no version and a v4 header with an impossible type code are refused before
    any reader process starts."""
    from scipy.io import savemat

    from crossalign.io import arrays

    savemat(tmp_path / "v4.mat", {"V1": np.arange(6.0).reshape(2, 3)}, format="4")
    check_mat_layout(tmp_path / "v4.mat")
    np.testing.assert_array_equal(load_array(tmp_path / "v4.mat"), np.arange(6.0).reshape(2, 3))
    v4 = (tmp_path / "v4.mat").read_bytes()
    text = b"MATLAB 5.0 MAT-file" + b" " * 105
    bad = {
        "empty.mat": (b"", "it is empty"),
        "short.mat": (b"MATLAB 5.0", "10 bytes, fewer than the 128-byte header"),
        "noversion.mat": (
            text + b"\x07\x07IM",
            r"its header \(bytes 124-127: b'\\x07\\x07IM'\) gives no",
        ),
        "v4type.mat": (np.int32(9).tobytes() + v4[4:], r"neither a v4 matrix header \(type code 9"),
        "v4short.mat": (v4[:12], "fewer than a v4 matrix header"),
    }
    monkeypatch.setattr(arrays.mp, "get_context", lambda *_: pytest.fail("a child started"))
    for name, (blob, message) in bad.items():
        (tmp_path / name).write_bytes(blob)
        with pytest.raises(
            ValueError, match=rf"'{tmp_path / name}' is not a MATLAB file: .*{message}"
        ):
            load_array(tmp_path / name)


def _patched(raw: bytes, offset: int, value: bytes) -> bytes:
    return raw[:offset] + value + raw[offset + len(value) :]


def test_plain_numeric_mat_files_are_read_without_a_child_process(tmp_path, monkeypatch):
    """A v5 file of uncompressed numeric matrices whose parts match their dimensions needs no
    isolated reader: its values (damaged ones included) are read at once. Anything else (a
    text variable, a compressed file, a matrix whose parts disagree with its flags or
    dimensions) goes to the child process."""
    from scipy.io import savemat

    from crossalign.io import arrays

    x = np.arange(6.0).reshape(2, 3)
    savemat(tmp_path / "plain.mat", {"V1": x, "IT": np.eye(2, dtype=np.int16)})
    raw = (tmp_path / "plain.mat").read_bytes()
    # V1 at byte 128: flags at 144 (class 6, double), dimensions 2 x 3 at 160, values at 184
    assert raw[144] == 6 and raw[160] == 2 and raw[164] == 3
    plain = {
        "plain.mat": raw,
        "value.mat": _patched(raw, 184, np.float64(7.5).tobytes()),  # a damaged value
        "logical.mat": _patched(raw, 145, b"\x02"),  # the logical flag: still numeric
    }
    monkeypatch.setattr(arrays.mp, "get_context", lambda *_: pytest.fail("a child started"))
    for name, blob in plain.items():
        (tmp_path / name).write_bytes(blob)
        assert check_mat_layout(tmp_path / name) is True, name
    np.testing.assert_array_equal(load_array(tmp_path / "plain.mat", "V1"), x)
    assert load_array(tmp_path / "value.mat", "V1")[0, 0] == 7.5
    monkeypatch.undo()
    isolated = {
        "dims.mat": _patched(raw, 164, np.int32(4).tobytes()),  # 2 x 4: 64 bytes, not 48
        "negative.mat": _patched(raw, 160, np.int32(-2).tobytes()),
        "complex.mat": _patched(raw, 145, b"\x08"),  # complex, without an imaginary part
        "cell.mat": _patched(raw, 144, b"\x01"),  # a cell array
        "bits.mat": _patched(raw, 146, b"\x01"),  # a flag bit of no meaning
        "nameless.mat": _patched(raw, 168, np.uint32(0x00020002).tobytes()),  # name as uint8
    }
    for name, blob in isolated.items():
        (tmp_path / name).write_bytes(blob)
        assert check_mat_layout(tmp_path / name) is False, name
    savemat(tmp_path / "text.mat", {"V1": x, "note": "text"})
    savemat(tmp_path / "packed.mat", {"V1": x}, do_compression=True)
    for name in ("text.mat", "packed.mat"):
        assert check_mat_layout(tmp_path / name) is False, name
        np.testing.assert_array_equal(load_array(tmp_path / name, "V1"), x)  # by the child
    with pytest.raises(ValueError, match=r"dims\.mat"):
        load_array(tmp_path / "dims.mat", "V1")


def test_matlabs_own_v5_files_pass_the_layout_check(data_dir):

    files = sorted(data_dir.rglob("*.mat"))
    assert len(files) >= 30
    for path in files:
        assert path.read_bytes()[:10] == b"MATLAB 5.0"
        check_mat_layout(path)


def test_castaldi_dataset_labels(castaldi):
    assert castaldi.regions[:2] == ["V1", "V2"] and len(castaldi.regions) == 10
    assert len(castaldi.subjects) == 20 and castaldi.n_stimuli == 18
    assert castaldi.stimuli[0] == "N1_S1_TFA1" and castaldi.stimuli[1] == "N1_S1_TFA2"
    cond = castaldi.attrs["conditions"]
    assert list(cond.columns) == ["number", "size", "tfa"]
    models = castaldi.attrs["models"]
    assert models.models == ["Number", "Size", "TFA", "TSA", "Density"]
    assert all(len(v) == 24 for v in castaldi.attrs["stimulus_paths"].values())
    assert "@article{castaldi2019" in castaldi.attrs["citation"]


def test_castaldi_predictors_published_pattern(data_dir):
    data = ca.load_dataset("castaldi2019", task="num")
    mean_rdm = data.rdms().mean("subject")
    pred = data.attrs["models"]
    m = ca.get_metric("spearman")

    def score(model, region):
        return m.score(
            ca.upper_triangle(pred[(model, "rdm")].values),
            ca.upper_triangle(mean_rdm.sel(region=region).values),
        )

    assert score("TFA", "V1") > score("Number", "V1")
    assert score("Number", "IPS345") > score("TFA", "IPS345")


def test_corrupted_copy_fails_checksum(data_dir, tmp_path, monkeypatch):
    target = tmp_path / "cichy2014_92images"
    target.mkdir()
    for name in ("fmri_EVC_RDMs.npz", "fmri_IT_RDMs.npz"):
        shutil.copy(data_dir / "cichy2014_92images" / name, target / name)
    raw = bytearray((target / "fmri_IT_RDMs.npz").read_bytes())
    raw[-100] ^= 0xFF
    (target / "fmri_IT_RDMs.npz").write_bytes(bytes(raw))
    monkeypatch.setenv("CROSSALIGN_DATA_DIR", str(tmp_path))
    with pytest.raises(
        ValueError,
        match=r"fmri_IT_RDMs\.npz' of dataset 'cichy2014' fails its "
        r"SHA-256 check",
    ):
        ca.load_dataset("cichy2014")


def test_missing_dataset_message(tmp_path, monkeypatch):
    monkeypatch.setenv("CROSSALIGN_DATA_DIR", str(tmp_path / "empty"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    with pytest.raises(
        FileNotFoundError,
        match=r"'cichy2014' is missing the file "
        r"'fmri_EVC_RDMs\.npz'\. Looked in: .*empty.*cache"
        r".*Provide it by setting CROSSALIGN_DATA_DIR",
    ):
        ca.load_dataset("cichy2014")
    with pytest.raises(
        ValueError,
        match=r"'name' parameter of load_dataset must be one of.*Did you mean "
        r"'cichy2014'",
    ):
        ca.load_dataset("cichy2015")
    with pytest.raises(ValueError, match=r"'task' parameter of castaldi2019 must be one of"):
        ca.load_dataset("castaldi2019", task="number")
