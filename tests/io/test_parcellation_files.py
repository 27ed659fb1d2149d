"""Parcellation files are checked as they are read: every refusal names the file, the ids or
names and what was expected; what loads equals numpy's selection on the same arrays."""

from __future__ import annotations

import numpy as np
import pytest

import crossalign as ca
from crossalign.errors import InputError

VALUES = np.array([1, 2, 3, 4, 0, 5, 2, 3, 1, 5])


def _npz(tmp_path, labels, values=VALUES, **extra):
    path = tmp_path / "map.npz"
    np.savez(path, map_all=values, labels=np.asarray(labels), **extra)
    return path


def test_an_id_listed_twice_is_refused(tmp_path):
    path = _npz(tmp_path, ["", "L_A", "R_A", "L_B", "R_B", "L_C"], ids=np.array([0, 1, 2, 3, 3, 5]))
    with pytest.raises(InputError, match=r"map.npz.*label id\(s\) 3 \('L_B' and 'R_B'\)"):
        ca.load_parcellation(path)


def test_two_ids_with_one_name_are_refused_or_merged_on_request(tmp_path):
    path = _npz(tmp_path, ["", "L_A", "R_A", "L_A", "R_B", "L_C"])
    with pytest.raises(InputError, match=r"map.npz.*'L_A' is ids \[1, 3\].*same_name='merge'"):
        ca.load_parcellation(path)
    merged = ca.load_parcellation(path, same_name="merge", hemispheres="keep")
    np.testing.assert_array_equal(merged.indices("L_A"), np.flatnonzero(np.isin(VALUES, [1, 3])))
    # the same name in both hemispheres is one bilateral parcel, not a clash
    both = ca.load_parcellation(_npz(tmp_path, ["", "L_A", "R_A", "L_B", "R_B", "L_C"]))
    np.testing.assert_array_equal(both.indices("A"), np.flatnonzero(np.isin(VALUES, [1, 2])))


def test_labels_stored_as_bytes_are_decoded_and_pair_hemispheres(tmp_path):
    labels = np.array([b"", b"L_V1", b"R_V1", b"L_V2", b"R_V2", b"L_MT"])
    parc = ca.load_parcellation(_npz(tmp_path, labels))
    assert parc.regions == ["V1", "V2", "MT"]
    np.testing.assert_array_equal(parc.indices("V1"), np.flatnonzero(np.isin(VALUES, [1, 2])))
    with pytest.raises(InputError, match=r"not UTF-8"):
        ca.load_parcellation(_npz(tmp_path, np.array([b"", b"\xff\xfe", b"R", b"a", b"b", b"c"])))


@pytest.mark.parametrize(
    "unlabelled", ["???", "Unknown", "medial_wall", "Medial_Wall", "L_???", "L_Medial_wall", " "]
)
def test_unlabelled_and_medial_wall_labels_are_no_parcel(tmp_path, unlabelled):
    parc = ca.load_parcellation(_npz(tmp_path, ["", unlabelled, "R_A", "L_B", "R_B", "L_C"]))
    assert parc.regions == ["A", "B", "C"]
    np.testing.assert_array_equal(parc.indices("A"), np.flatnonzero(VALUES == 2))


def test_ids_and_labels_of_other_types_are_refused(tmp_path):
    with pytest.raises(InputError, match=r"integer id"):
        ca.load_parcellation(_npz(tmp_path, ["", "A", "B", "C", "D", "E"], ids=np.arange(6.0)))
    with pytest.raises(InputError, match=r"one integer label per grayordinate"):
        ca.load_parcellation(_npz(tmp_path, ["", "A", "B", "C", "D", "E"], values=VALUES * 1.0))
    with pytest.raises(InputError, match=r"does not name"):
        ca.load_parcellation(_npz(tmp_path, ["", "A", "B", "C", "D"]))


def test_annotation_files_of_two_lengths_are_refused(tmp_path):
    fs = pytest.importorskip("nibabel.freesurfer")
    ctab = np.array([[25, 5, 25, 0, 0], [200, 20, 20, 0, 0], [20, 200, 20, 0, 0]])
    names = [b"unknown", b"A", b"B"]
    fs.write_annot(str(tmp_path / "lh.x.annot"), np.array([0, 1, 1, 2, 2, 0]), ctab, names)
    fs.write_annot(str(tmp_path / "rh.x.annot"), np.array([1, 2, 2, 0, 1]), ctab, names)
    with pytest.raises(InputError, match=r"lh.x.annot' \(6 vertices\).*rh.x.annot' \(5"):
        ca.load_parcellation([tmp_path / "lh.x.annot", tmp_path / "rh.x.annot"])
    fs.write_annot(str(tmp_path / "rh.x.annot"), np.array([1, 2, 2, 0, 1, 1]), ctab, names)
    parc = ca.load_parcellation([tmp_path / "lh.x.annot", tmp_path / "rh.x.annot"])
    assert parc.regions == ["A", "B"]  # "unknown" is no parcel
    np.testing.assert_array_equal(parc.indices("A"), [1, 2, 6, 10, 11])
