import numpy as np
import pytest
from scipy.spatial.distance import pdist, squareform

from crossalign.compute.rdm import check_rdm, compute_rdms, square_from_vector, upper_triangle

# every engine test runs once per installed backend (numpy, torch:cpu, torch:cuda)
pytestmark = pytest.mark.usefixtures("engine_backend")

DISTANCES = ["correlation", "cosine", "euclidean", "sqeuclidean"]


@pytest.mark.parametrize("distance", DISTANCES)
def test_rdms_match_scipy_pdist(distance, rng):
    x = rng.normal(size=(3, 30, 50)) + 0.3
    d = compute_rdms(x, distance)
    for b in range(3):
        np.testing.assert_allclose(d[b], squareform(pdist(x[b], distance)), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("distance", DISTANCES)
def test_rdms_symmetric_with_zero_diagonal(distance, rng):
    d = compute_rdms(rng.normal(size=(20, 7)), distance)
    assert np.array_equal(d, d.T)
    assert np.all(np.diag(d) == 0.0)


def test_upper_triangle_is_squareform_order(rng):
    d = compute_rdms(rng.normal(size=(9, 4)), "euclidean")
    np.testing.assert_array_equal(upper_triangle(d), squareform(d, checks=False))
    np.testing.assert_array_equal(square_from_vector(upper_triangle(d)), d)


def test_constant_pattern_under_correlation_is_refused(rng):
    x = rng.normal(size=(10, 5))
    x[3] = 2.0
    with pytest.raises(ValueError, match=r"1 constant stimulus pattern.*index \(3,\)"):
        compute_rdms(x, "correlation")
    compute_rdms(x, "euclidean")  # defined for euclidean


def test_nan_responses_are_refused(rng):
    x = rng.normal(size=(10, 5))
    x[2, 1] = np.nan
    with pytest.raises(ValueError, match=r"'responses'.*finite.*1 NaN/inf.*\(2, 1\)"):
        compute_rdms(x)


def test_unknown_distance_suggests_closest():
    with pytest.raises(
        ValueError,
        match=r"'rdm' parameter must be one of.*'corelation'.*"
        r"Did you mean 'correlation'",
    ):
        compute_rdms(np.ones((4, 3)), "corelation")


def test_check_rdm_errors(rng):
    d = compute_rdms(rng.normal(size=(6, 4)), "euclidean")
    with pytest.raises(ValueError, match=r"square RDM.*shape \(6, 5\)"):
        check_rdm(d[:, :5])
    with pytest.raises(ValueError, match=r"at least 3 stimuli"):
        check_rdm(d[:2, :2])
    bad = d.copy()
    bad[0, 1] += 0.5  # not rounding: refused, and symmetrise=True does not hide it
    with pytest.raises(ValueError, match=r"must be symmetric.*0\.5.*kind='responses'"):
        check_rdm(bad)
    with pytest.raises(ValueError, match=r"too asymmetric.*0\.5"):
        check_rdm(bad, symmetrise=True)
    rounded = d.copy()
    rounded[0, 1] += 1e-6 * d.max()  # rounding-level: averaged on request
    with pytest.raises(ValueError, match=r"must be symmetric.*symmetrise=True"):
        check_rdm(rounded)
    fixed = check_rdm(rounded, symmetrise=True)
    assert fixed[0, 1] == fixed[1, 0] == pytest.approx(d[0, 1] + 0.5e-6 * d.max(), abs=1e-15)
    diag = d.copy()
    diag[2, 2] = 1.0
    with pytest.raises(ValueError, match=r"zero diagonal.*1"):
        check_rdm(diag)
    with pytest.raises(TypeError, match=r"'rdm' argument must be a real numeric array"):
        check_rdm(np.full((3, 3), "a"))


@pytest.mark.parametrize("distance", DISTANCES)
def test_fast_rdm_vectors_equal_full_rdms(distance, rng):
    from crossalign.compute.rdm import rdm_vectors

    x = rng.normal(size=(2, 3, 25, 40)) * 5 + 1
    np.testing.assert_allclose(
        rdm_vectors(x, distance), upper_triangle(compute_rdms(x, distance)), rtol=1e-12, atol=1e-12
    )
    assert rdm_vectors(x, distance).shape == (2, 3, 300)


def test_classical_mds_recovers_planar_distances(rng):
    from scipy.spatial.distance import pdist, squareform

    from crossalign.compute.rdm import classical_mds

    points = rng.normal(size=(12, 2)) * [3.0, 1.0]
    coords = classical_mds(squareform(pdist(points)), 2)
    np.testing.assert_allclose(pdist(coords), pdist(points), atol=1e-9)
    # the first axis carries the larger spread
    assert coords[:, 0].std() > coords[:, 1].std()


@pytest.mark.parametrize("distance", ["correlation", "euclidean"])
def test_rdm_vectors_into_out_equal_the_returned_ones(distance):
    from crossalign.compute.rdm import rdm_vectors

    x = np.random.default_rng(3).normal(size=(2, 3, 7, 5))
    want = rdm_vectors(x, distance)
    out = np.zeros((2, 3, 21))
    assert rdm_vectors(x, distance, out=out) is out
    np.testing.assert_array_equal(out, want)
    # a non-contiguous out cannot be reshaped to (6, 21) as a view: it must still be filled
    strided = np.zeros((3, 2, 21)).transpose(1, 0, 2)
    assert rdm_vectors(x, distance, out=strided) is strided
    np.testing.assert_array_equal(strided, want)
