"""RDM files of RSA toolboxes: rsatoolbox (written by rsatoolbox itself, HDF5 and pickle),
MATLAB RSA-toolbox struct arrays (v5 via scipy, v7.3 in MATLAB's HDF5 layout) and
vector-form RDMs; values checked against scipy's squareform."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.io import savemat
from scipy.spatial.distance import pdist, squareform

import crossalign as ca
from crossalign.io.rdm_files import load_matlab_rdms, load_rsatoolbox_rdms


def _vectors(rng, k=4, n=6):
    return np.stack([pdist(rng.normal(size=(n, 3))) for _ in range(k)])


@pytest.mark.parametrize("file_type", ["hdf5", "pkl"])
def test_rsatoolbox_files_written_by_rsatoolbox(tmp_path, file_type):
    rsa = pytest.importorskip("rsatoolbox")
    rng = np.random.default_rng(0)
    vec = _vectors(rng)
    rdms = rsa.rdm.RDMs(
        vec,
        dissimilarity_measure="euclidean",
        rdm_descriptors={"subject": ["a", "a", "b", "c"], "roi": ["V1", "IT", "V1", "IT"]},
        pattern_descriptors={"stimulus": [f"img{i}" for i in range(6)]},
    )
    path = tmp_path / f"rdms.{'h5' if file_type == 'hdf5' else 'pkl'}"
    rdms.save(str(path), file_type=file_type)
    data = load_rsatoolbox_rdms(path, stimulus="stimulus")
    assert data.subjects == ["a", "b", "c"] and data.regions == ["V1", "IT"]
    assert list(data.stimuli) == [f"img{i}" for i in range(6)]
    np.testing.assert_array_equal(data[("b", "V1")].values, squareform(vec[2]))
    np.testing.assert_array_equal(data[("c", "IT")].values, squareform(vec[3]))
    assert ("b", "IT") not in data and ("c", "V1") not in data  # missing cells
    assert data.attrs["dissimilarity_measure"] == "euclidean"
    with pytest.raises(
        ValueError, match=r"no subject \(rdm_descriptors\) descriptor 'participant'"
    ):
        load_rsatoolbox_rdms(path, subject="participant")
    with pytest.raises(ValueError, match=r"several RDMs for \(subject, region\)"):
        load_rsatoolbox_rdms(path, region=None)


def test_matlab_struct_array_v5(tmp_path):
    rng = np.random.default_rng(1)
    vec = _vectors(rng, k=3)
    names = ["EVC | subject 1", "IT | subject 1", "EVC | subject 2"]
    structs = np.empty((1, 3), dtype=[("RDM", object), ("name", object), ("color", object)])
    for i in range(3):
        rdm = squareform(vec[i]) if i != 1 else vec[i][None, :]  # square or a 1 x L vector
        structs[0, i] = (rdm, names[i], np.array([[1.0, 0.0, 0.0]]))
    savemat(tmp_path / "rdms.mat", {"RDMs": structs, "categoryVectors": np.ones((6, 2))})
    data = load_matlab_rdms(
        tmp_path / "rdms.mat", name_pattern=r"(?P<region>\w+) \| subject (?P<subject>\d+)"
    )
    assert data.subjects == ["1", "2"] and data.regions == ["EVC", "IT"]
    np.testing.assert_allclose(data[("1", "IT")].values, squareform(vec[1]))
    np.testing.assert_allclose(data[("2", "EVC")].values, squareform(vec[2]))
    # without a pattern every name is a region of one subject; categoryVectors is never read
    plain = load_matlab_rdms(tmp_path / "rdms.mat")
    assert plain.regions == names and plain.subjects == [0]
    with pytest.raises(ValueError, match=r"does not match name_pattern"):
        load_matlab_rdms(tmp_path / "rdms.mat", name_pattern=r"(?P<subject>\d+)_(?P<region>\w+)")
    with pytest.raises(ValueError, match=r"no variable 'RDM'"):
        load_matlab_rdms(tmp_path / "rdms.mat", variable="RDM")


def test_matlab_struct_array_v73(tmp_path):
    h5py = pytest.importorskip("h5py")
    rng = np.random.default_rng(2)
    vec = _vectors(rng, k=2)
    path = tmp_path / "rdms73.mat"
    with h5py.File(path, "w", userblock_size=512) as f:  # MATLAB's layout: #refs# + references
        refs = f.create_group("#refs#")
        rdm_refs, name_refs = [], []
        for i, name in enumerate(["V1", "IT"]):
            d = refs.create_dataset(f"r{i}", data=squareform(vec[i]).T)
            c = refs.create_dataset(
                f"n{i}", data=np.array([ord(ch) for ch in name], dtype=np.uint16)[:, None]
            )
            rdm_refs.append(d.ref)
            name_refs.append(c.ref)
        g = f.create_group("RDMs")
        g.create_dataset("RDM", data=np.array(rdm_refs, dtype=h5py.ref_dtype)[:, None])
        g.create_dataset("name", data=np.array(name_refs, dtype=h5py.ref_dtype)[:, None])
    with open(path, "r+b") as fh:
        fh.write(b"MATLAB 7.3 MAT-file".ljust(128, b" "))
    data = load_matlab_rdms(path)
    assert data.regions == ["V1", "IT"]
    np.testing.assert_allclose(data[(0, "IT")].values, squareform(vec[1]))


def test_vector_form_rdms(tmp_path):
    rng = np.random.default_rng(3)
    vec = _vectors(rng, k=3, n=7)
    np.savez(tmp_path / "v.npz", V1=vec, IT=vec[::-1])
    data = ca.io.load_arrays(tmp_path / "v.npz", kind="condensed")
    assert data.n_stimuli == 7 and data.subjects == [0, 1, 2]
    np.testing.assert_array_equal(data[(1, "V1")].values, squareform(vec[1]))
    np.testing.assert_array_equal(data[(0, "IT")].values, squareform(vec[2]))
    np.savez(tmp_path / "bad.npz", V1=np.ones((2, 20)))
    with pytest.raises(ValueError, match=r"20 entries per RDM, which is not n\(n-1\)/2"):
        ca.io.load_arrays(tmp_path / "bad.npz", kind="condensed")
