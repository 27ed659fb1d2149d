"""Safe array loading and reference datasets (lookup, checksums, missing files)."""

import shutil

import numpy as np
import pytest

import crossalign as ca
from crossalign.io import load_array


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
    arrays.check_mat_v5_layout(tmp_path / "ok.mat")
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


def test_matlabs_own_v5_files_pass_the_layout_check(data_dir):
    from crossalign.io.arrays import check_mat_v5_layout

    files = sorted(data_dir.rglob("*.mat"))
    assert len(files) >= 30
    for path in files:
        assert path.read_bytes()[:10] == b"MATLAB 5.0"
        check_mat_v5_layout(path)


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
