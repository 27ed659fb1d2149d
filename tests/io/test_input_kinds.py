"""One input-kind rule everywhere: a square variable is an RDM and is checked as one; a
similarity matrix is refused (or converted on request); nothing is guessed from values.

Each case writes the file that once gave a silently wrong number and asserts the error or the
correct number (computed independently with scipy)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from scipy.spatial.distance import pdist, squareform

import crossalign as ca
from crossalign.io import load_activations, load_arrays

N_STIM, N_SUB = 12, 4


def _rdms(rng: np.random.Generator, n_sub: int = N_SUB, n: int = N_STIM) -> np.ndarray:
    """Correlation-distance RDMs of random responses: (n_sub, n, n)."""
    return np.stack(
        [squareform(pdist(rng.normal(size=(n, 30)), "correlation")) for _ in range(n_sub)]
    )


def _triu(d: np.ndarray) -> np.ndarray:
    return d[np.triu_indices(d.shape[-1], k=1)]


def _spearman_matrix_entry(a: np.ndarray, b: np.ndarray) -> float:
    """Cross-region matrix entry by hand: mean Spearman over ordered pairs of different subjects."""
    vals = [
        stats.spearmanr(_triu(a[s]), _triu(b[t]))[0]
        for s in range(len(a))
        for t in range(len(b))
        if s != t
    ]
    return float(np.mean(vals))


@pytest.mark.parametrize("offset", [0.3, 1e-5])
def test_one_asymmetric_entry_is_refused_not_read_as_responses(tmp_path, rng, offset):
    rdms = _rdms(rng)
    rdms[1, 2, 5] += offset
    np.savez(tmp_path / "f.npz", EVC=rdms, IT=_rdms(rng))
    with pytest.raises(ca.errors.InputError, match=r"'EVC'.*must be symmetric"):
        load_arrays(tmp_path / "f.npz")


def test_symmetrise_averages_rounding_only(tmp_path, rng):
    rdms, it = _rdms(rng), _rdms(rng)
    clean = rdms.copy()
    rdms[1, 2, 5] += 1e-5
    np.savez(tmp_path / "f.npz", EVC=rdms, IT=it)
    data = load_arrays(tmp_path / "f.npz", symmetrise=True)
    got = data[(1, "EVC")].values
    assert got[2, 5] == got[5, 2] == pytest.approx(clean[1, 2, 5] + 0.5e-5, abs=1e-15)
    rdms[1, 2, 5] += 0.3
    np.savez(tmp_path / "g.npz", EVC=rdms, IT=it)
    with pytest.raises(ca.errors.InputError, match="too asymmetric"):
        load_arrays(tmp_path / "g.npz", symmetrise=True)


def test_nonzero_diagonal_is_refused(tmp_path, rng):
    rdms = _rdms(rng)
    rdms[:, np.arange(N_STIM), np.arange(N_STIM)] = 0.5
    np.savez(tmp_path / "f.npz", EVC=rdms, IT=_rdms(rng))
    with pytest.raises(ca.errors.InputError, match=r"'EVC'.*zero diagonal"):
        load_arrays(tmp_path / "f.npz")


def test_similarity_matrices_are_refused_and_never_flipped_by_symmetrise(tmp_path, rng):
    evc, it = _rdms(rng), _rdms(rng)
    np.savez(tmp_path / "sim.npz", EVC=1 - evc, IT=1 - it)  # correlation matrices
    for kwargs in ({}, {"symmetrise": True}):
        with pytest.raises(ca.errors.InputError, match=r"similarity matrix.*similarity='1-r'"):
            load_arrays(tmp_path / "sim.npz", **kwargs)
    converted = load_arrays(tmp_path / "sim.npz", similarity="1-r")
    matrix = ca.cross_region_matrix(converted, "spearman")
    expected = _spearman_matrix_entry(evc, it)
    assert matrix.sel(region="EVC", target_region="IT").item() == pytest.approx(expected, abs=1e-12)
    assert expected != pytest.approx(_spearman_matrix_entry(evc, -it), abs=1e-3)


def test_kernel_similarity_gives_squared_euclidean(rng):
    x = rng.normal(size=(3, N_STIM, 8))
    gram = x @ x.transpose(0, 2, 1)
    data = ca.BrainData.from_rdms({"V1": gram}, similarity="kernel")
    expected = squareform(pdist(x[1], "sqeuclidean"))
    np.testing.assert_allclose(data[(1, "V1")].values, expected, atol=1e-10)
    with pytest.raises(ca.errors.InputError, match="unit diagonal"):
        ca.BrainData.from_rdms({"V1": gram}, similarity="1-r")


def test_negative_dissimilarities_need_allow_negative(rng):
    rdms = _rdms(rng)
    rdms[0, 1, 2] = rdms[0, 2, 1] = -0.2
    with pytest.raises(ca.errors.InputError, match=r"non-negative.*allow_negative=True"):
        ca.BrainData.from_rdms({"V1": rdms})
    data = ca.BrainData.from_rdms({"V1": rdms}, allow_negative=True)
    assert data[(0, "V1")].values[1, 2] == -0.2


def test_first_variable_responses_later_rdms_is_refused(tmp_path, rng):
    np.savez(tmp_path / "f.npz", V1=rng.normal(size=(N_SUB, N_STIM, 7)), IT=_rdms(rng))
    with pytest.raises(ca.errors.InputError, match=r"mixes RDMs.*\['IT'\].*\['V1'\]"):
        load_arrays(tmp_path / "f.npz")
    only = load_arrays(tmp_path / "f.npz", regions=["IT"])
    assert only.kind((0, "IT")) == "rdm"


def test_subjects_last_stack_needs_subject_axis(tmp_path, rng):
    evc, it = _rdms(rng, n_sub=5), _rdms(rng, n_sub=5)
    np.savez(tmp_path / "f.npz", EVC=np.moveaxis(evc, 0, -1), IT=np.moveaxis(it, 0, -1))
    with pytest.raises(ca.errors.InputError, match=r"subject_axis=-1"):
        load_arrays(tmp_path / "f.npz")
    data = load_arrays(tmp_path / "f.npz", subject_axis=-1)
    matrix = ca.cross_region_matrix(data, "spearman")
    expected = _spearman_matrix_entry(evc, it)
    assert matrix.sel(region="EVC", target_region="IT").item() == pytest.approx(expected, abs=1e-12)


def test_square_responses_need_kind_responses(tmp_path, rng):
    x = rng.normal(size=(N_SUB, N_STIM, N_STIM))
    np.savez(tmp_path / "f.npz", V1=x, IT=rng.normal(size=(N_SUB, N_STIM, N_STIM)))
    with pytest.raises(ca.errors.InputError, match="kind='responses'"):
        load_arrays(tmp_path / "f.npz")
    data = load_arrays(tmp_path / "f.npz", kind="responses")
    np.testing.assert_array_equal(data[(2, "V1")].values, x[2])


def test_model_rdms_in_an_activations_file_are_scored_as_rdms(tmp_path, rng):
    brain_rdms = _rdms(rng)
    model_rdm = squareform(pdist(rng.normal(size=(N_STIM, 30)), "correlation"))
    np.savez(tmp_path / "brain.npz", IT=brain_rdms)
    np.savez(tmp_path / "monkey.npz", IT=model_rdm)
    brain = load_arrays(tmp_path / "brain.npz")
    model = load_activations(tmp_path / "monkey.npz")
    assert model.kind(("monkey", "IT")) == "rdm"
    got = ca.score_tensor(model, brain, metric="spearman").values[0, 0, :, 0]
    expected = [stats.spearmanr(_triu(model_rdm), _triu(b))[0] for b in brain_rdms]
    np.testing.assert_allclose(got, expected, atol=1e-12)
    # a broken model RDM is an error, not responses
    bad = model_rdm.copy()
    bad[0, 0] = 0.4
    np.savez(tmp_path / "bad.npz", IT=bad)
    with pytest.raises(ca.errors.InputError, match="zero diagonal"):
        load_activations(tmp_path / "bad.npz")


def test_activation_file_mixing_rdms_and_responses_is_refused(tmp_path, rng):
    np.savez(
        tmp_path / "m.npz",
        conv=rng.normal(size=(N_STIM, 40)),
        rdm=squareform(pdist(rng.normal(size=(N_STIM, 5)))),
    )
    with pytest.raises(ca.errors.InputError, match=r"mixes square \(RDM\) layers \['rdm'\]"):
        load_activations(tmp_path / "m.npz")


def test_matrix_command_applies_the_same_checks(tmp_path, rng):
    from typer.testing import CliRunner

    from crossalign.cli import app

    np.savez(tmp_path / "evc.npz", x=1 - _rdms(rng))
    np.savez(tmp_path / "it.npz", x=_rdms(rng))
    result = CliRunner().invoke(
        app, ["matrix", "--rdms", f"EVC={tmp_path}/evc.npz:x", "--rdms", f"IT={tmp_path}/it.npz:x"]
    )
    assert result.exit_code == 2 and "similarity" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("metric", ["spearman", "pearson", "cka", "procrustes"])
def test_score_one_pair_equals_an_independent_computation(rng, metric):
    x, y = rng.normal(size=(15, 9)), rng.normal(size=(15, 6))
    got = ca.score(x, y, metric=metric)
    if metric in ("spearman", "pearson"):
        fn = stats.spearmanr if metric == "spearman" else stats.pearsonr
        expected = fn(pdist(x, "correlation"), pdist(y, "correlation"))[0]
        assert got == pytest.approx(expected, abs=1e-12)
        rdm_x = squareform(pdist(x, "correlation"))
        assert ca.score(rdm_x, y, metric=metric) == pytest.approx(expected, abs=1e-12)
    elif metric == "cka":
        xc, yc = x - x.mean(0), y - y.mean(0)
        expected = np.linalg.norm(yc.T @ xc) ** 2 / (
            np.linalg.norm(xc.T @ xc) * np.linalg.norm(yc.T @ yc)
        )
        assert got == pytest.approx(expected, abs=1e-12)
    else:
        assert ca.score(x, x, metric=metric) == pytest.approx(
            ca.score(x, x @ np.linalg.qr(rng.normal(size=(9, 9)))[0], metric=metric), abs=1e-9
        )


def test_score_refuses_rdms_for_response_metrics(rng):
    rdm = squareform(pdist(rng.normal(size=(10, 4))))
    with pytest.raises(ca.errors.CrossalignError):
        ca.score(rdm, rdm, metric="cka")
