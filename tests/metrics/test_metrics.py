"""Metrics on raw responses against independent references, and their properties."""

import dataclasses

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats
from scipy.linalg import orthogonal_procrustes
from scipy.spatial.distance import cdist
from scipy.stats import ortho_group

import crossalign as ca
from crossalign.compute.context import current_context
from crossalign.engine.core import pairwise_scores
from crossalign.metrics import get_metric
from crossalign.metrics.knn import MutualKNN
from crossalign.metrics.predictivity import Predictivity
from crossalign.metrics.rsa import Spearman
from crossalign.metrics.shape import ShapeMetric

# every engine test runs once per installed backend (numpy, torch:cpu, torch:cuda)
pytestmark = pytest.mark.usefixtures("engine_backend")

RESPONSE_METRICS = [
    "cka",
    "cka_debiased",
    "cka_rbf",
    "procrustes",
    "shape",
    "predictivity",
    "mutual_knn",
]


def centred(x):
    return x - x.mean(axis=0)


def cka_direct(x, y):
    x, y = centred(x), centred(y)
    return np.linalg.norm(y.T @ x) ** 2 / (np.linalg.norm(x.T @ x) * np.linalg.norm(y.T @ y))


def hsic_unbiased(k, gl):
    """Song et al. 2012, eq. (5), written out."""
    n = k.shape[0]
    k, gl = k.copy(), gl.copy()
    np.fill_diagonal(k, 0)
    np.fill_diagonal(gl, 0)
    one = np.ones(n)
    term = (
        np.trace(k @ gl)
        + (one @ k @ one) * (one @ gl @ one) / ((n - 1) * (n - 2))
        - 2.0 / (n - 2) * one @ k @ gl @ one
    )
    return term / (n * (n - 3))


def cka_debiased_direct(x, y):
    k, gl = x @ x.T, y @ y.T
    return hsic_unbiased(k, gl) / np.sqrt(hsic_unbiased(k, k) * hsic_unbiased(gl, gl))


def cka_rbf_direct(x, y, fraction=1.0):
    def kernel(z):
        d = cdist(z, z)
        sigma = fraction * np.median(d[np.triu_indices(len(z), 1)])
        return np.exp(-(d**2) / (2 * sigma**2))

    h = np.eye(len(x)) - 1.0 / len(x)
    k, gl = h @ kernel(x) @ h, h @ kernel(y) @ h
    return np.sum(k * gl) / (np.linalg.norm(k) * np.linalg.norm(gl))


def shape_direct(x, y, alpha):
    def whiten(z):
        z = centred(z)
        c = z.T @ z / len(z)
        evals, evecs = np.linalg.eigh(alpha * np.eye(len(c)) + (1 - alpha) * c)
        z = z @ evecs @ np.diag(evals**-0.5) @ evecs.T
        return z / np.linalg.norm(z)

    a, b = whiten(x), whiten(y)
    return np.arccos(min(1.0, np.linalg.svd(a.T @ b, compute_uv=False).sum()))


def knn_direct(x, y, k):
    def sets(z):
        zn = z / np.linalg.norm(z, axis=1, keepdims=True)
        sim = zn @ zn.T
        np.fill_diagonal(sim, -np.inf)
        return [set(np.argsort(-sim[i], kind="stable")[:k]) for i in range(len(z))]

    sx, sy = sets(x), sets(y)
    return np.mean([len(a & b) / k for a, b in zip(sx, sy, strict=True)])


def predictivity_sklearn(x, y, seed=0):
    from sklearn.linear_model import RidgeCV
    from sklearn.metrics import r2_score
    from sklearn.model_selection import KFold
    from sklearn.preprocessing import StandardScaler

    x, y = StandardScaler().fit_transform(x), StandardScaler().fit_transform(y)
    out = []
    for tr, te in KFold(5, shuffle=True, random_state=seed).split(x):
        model = RidgeCV(alphas=np.logspace(0, 9, 19)).fit(x[tr], y[tr])
        out.append(r2_score(y[te], model.predict(x[te])))
    return np.mean(out)


def pair(rng, n=40, px=12, py=9, shared=4, noise=1.0):
    z = rng.normal(size=(n, shared))
    x = z @ rng.normal(size=(shared, px)) + noise * rng.normal(size=(n, px))
    y = z @ rng.normal(size=(shared, py)) + noise * rng.normal(size=(n, py))
    return x, y


# ---------------------------------------------------------------- references
@pytest.mark.parametrize("shape", [(40, 12, 9), (30, 60, 80)])
def test_cka_variants_match_direct_formulas(rng, shape):
    x, y = pair(rng, *shape)
    assert get_metric("cka").score(x, y) == pytest.approx(cka_direct(x, y), abs=1e-12)
    assert get_metric("cka_debiased").score(x, y) == pytest.approx(
        cka_debiased_direct(x, y), abs=1e-12
    )
    for frac in (0.5, 1.0, 2.0):
        assert get_metric("cka_rbf", bandwidth=frac).score(x, y) == pytest.approx(
            cka_rbf_direct(x, y, frac), abs=1e-12
        )


def test_debiased_cka_is_unbiased_for_independent_data():
    values, biased = [], []
    for seed in range(40):
        rng = np.random.default_rng(seed)
        x, y = rng.normal(size=(30, 50)), rng.normal(size=(30, 50))
        values.append(get_metric("cka_debiased").score(x, y))
        biased.append(get_metric("cka").score(x, y))
    values = np.array(values)
    se = values.std(ddof=1) / np.sqrt(len(values))
    assert abs(values.mean()) < 3 * se + 1e-3
    assert np.mean(biased) > 0.5  # linear CKA is strongly biased upwards here


def test_procrustes_matches_scipy(rng):
    x, y = pair(rng, 50, 10, 10)
    a, b = centred(x), centred(y)
    a, b = a / np.linalg.norm(a), b / np.linalg.norm(b)
    _, scale = orthogonal_procrustes(a, b)
    assert get_metric("procrustes").score(x, y) == pytest.approx(scale, abs=1e-12)


@pytest.mark.parametrize("alpha", [0.0, 0.3, 1.0])
def test_shape_metric_matches_explicit_whitening(rng, alpha):
    x, y = pair(rng, 60, 8, 8)
    assert get_metric("shape", alpha=alpha).score(x, y) == pytest.approx(
        shape_direct(x, y, alpha), abs=1e-9
    )


@pytest.mark.parametrize(
    ("n", "px", "py", "seed"), [(60, 20, 15, 0), (50, 80, 30, 3), (100, 30, 200, 7)]
)
def test_predictivity_matches_sklearn_ridgecv(n, px, py, seed):
    rng = np.random.default_rng(seed)
    x, y = pair(rng, n, px, py, noise=2.0)
    ours = get_metric("predictivity", seed=seed).score(x, y)
    assert ours == pytest.approx(predictivity_sklearn(x, y, seed), abs=1e-10)


def test_predictivity_on_real_shaped_data(castaldi):
    # real fMRI RDMs used as 18 x 18 "responses" of two regions (rows = conditions)
    x = castaldi[(castaldi.subjects[0], "V1")].values
    y = castaldi[(castaldi.subjects[1], "V2")].values
    assert get_metric("predictivity").score(x, y) == pytest.approx(
        predictivity_sklearn(x, y), abs=1e-4
    )


def test_mutual_knn_matches_neighbour_sets(rng):
    x, y = pair(rng, 35, 10, 6)
    for k in (1, 5, 10):
        assert get_metric("mutual_knn", k=k).score(x, y) == pytest.approx(
            knn_direct(x, y, k), abs=1e-12
        )


# ---------------------------------------------------------------- engine
@pytest.mark.parametrize("metric", RESPONSE_METRICS)
def test_batched_equals_per_pair(metric, rng):
    reps = [pair(rng, 30, p, 5)[0] for p in (6, 9, 14)]
    m = get_metric(metric)
    batched = pairwise_scores(reps, reps[:2], metric=m)
    slow = np.array([[m.score(x, y) for y in reps[:2]] for x in reps])
    np.testing.assert_allclose(batched, slow, atol=1e-12)


@pytest.mark.slow  # over 0.5 s: in make test, not the everyday subset
def test_predictivity_matrix_is_directional(rng):
    z = rng.normal(size=(60, 3))
    low = z @ rng.normal(size=(3, 3))  # 3-dimensional
    high = np.hstack([low, rng.normal(size=(60, 20))])  # contains low, plus noise units
    scores = pairwise_scores([high, low], metric="predictivity")
    assert scores[0, 1] > 0.9  # high predicts low
    assert scores[1, 0] < 0.3  # low cannot predict the noise units of high
    data = ca.BrainData.from_responses(
        {("a", "V1"): high, ("a", "IT"): low, ("b", "V1"): high + 0.1, ("b", "IT"): low - 0.1}
    )
    t = ca.score_tensor(data, metric="predictivity")
    assert float(t.sel(subject="a", region="V1", target_subject="b", target_region="IT")) > 0.9
    assert float(t.sel(subject="a", region="IT", target_subject="b", target_region="V1")) < 0.3


# ---------------------------------------------------------------- properties
matrices = st.builds(
    lambda seed, n, p: np.random.default_rng(seed).normal(size=(n, p)),
    st.integers(0, 10_000),
    st.integers(8, 20),
    st.integers(2, 8),
)


@pytest.mark.parametrize("metric", ["cka", "cka_debiased", "cka_rbf", "procrustes"])
@given(x=matrices, seed=st.integers(0, 1000), scale=st.floats(0.1, 10))
def test_invariant_to_rotation_and_isotropic_scaling(metric, x, seed, scale):
    rng = np.random.default_rng(seed)
    y = x @ rng.normal(size=(x.shape[1], 3)) + rng.normal(size=(len(x), 3))
    q = ortho_group.rvs(x.shape[1], random_state=seed) if x.shape[1] > 1 else np.eye(1)
    m = get_metric(metric)
    assert m.score(scale * x @ q, y) == pytest.approx(m.score(x, y), abs=1e-9)


@pytest.mark.parametrize("metric", ["cka", "cka_debiased", "cka_rbf", "procrustes", "mutual_knn"])
@given(x=matrices, seed=st.integers(0, 1000))
def test_identity_gives_the_maximum(metric, x, seed):
    m = get_metric(metric, k=3) if metric == "mutual_knn" else get_metric(metric)
    y = np.random.default_rng(seed).normal(size=(len(x), 4))
    assert m.score(x, x) == pytest.approx(1.0, abs=1e-9)
    assert m.score(x, y) <= 1.0 + 1e-12


@given(x=matrices, y=matrices, z=matrices, alpha=st.sampled_from([0.5, 1.0]))
def test_shape_distance_is_a_metric(x, y, z, alpha):
    n = min(len(x), len(y), len(z))
    p = min(x.shape[1], y.shape[1], z.shape[1])
    x, y, z = x[:n, :p], y[:n, :p], z[:n, :p]
    d = get_metric("shape", alpha=alpha)
    dxy, dyz, dxz = d.score(x, y), d.score(y, z), d.score(x, z)
    assert dxz <= dxy + dyz + 1e-7
    assert dxy == pytest.approx(d.score(y, x), abs=1e-9)
    assert d.score(x, x) == pytest.approx(0.0, abs=1e-7)


# ---------------------------------------------------------------- registry
def test_registry_lists_every_metric_with_its_properties():
    records = {r["name"]: r for r in ca.list_metrics()}
    assert set(RESPONSE_METRICS) | {"spearman", "pearson", "kendall_taua", "cosine"} <= set(records)
    assert records["predictivity"]["symmetric"] is False
    assert records["shape"]["higher_is_better"] is False
    assert records["mutual_knn"]["options"] == {"k": 10}
    for r in records.values():
        assert r["citation"].lstrip().startswith("@")
        assert r["input"] in ("rdm", "responses")


def test_metric_parameter_errors():
    with pytest.raises(
        ValueError, match=r"'shape' has no parameter 'alfa'.*\['alpha'\].*Did you mean"
    ):
        get_metric("shape", alfa=0.5)
    # refused when the metric is built, not when it first scores
    with pytest.raises(
        ValueError, match=r"'alpha' parameter of shape must be a number in \[0, 1\]"
    ):
        get_metric("shape", alpha=2.0)
    with pytest.raises(ValueError, match=r"'alpha' parameter of shape.*Got True"):
        ShapeMetric(alpha=True)
    with pytest.raises(ValueError, match=r"'k' parameter of mutual_knn must be a positive integer"):
        MutualKNN(k=2.5)
    with pytest.raises(ValueError, match=r"'k' parameter of mutual_knn must be an integer in"):
        get_metric("mutual_knn", k=50).score(np.eye(5), np.eye(5))
    with pytest.raises(ValueError, match=r"'bandwidth' parameter of cka_rbf.*Got -1"):
        get_metric("cka_rbf", bandwidth=-1)
    with pytest.raises(ValueError, match=r"'folds' parameter of predictivity.*Got 1"):
        Predictivity(folds=1)
    with pytest.raises(ValueError, match=r"'alphas' parameter of predictivity"):
        Predictivity(alphas=(1.0, -2.0))
    with pytest.raises(ValueError, match=r"'test' parameter of predictivity.*Got 'held-out'"):
        Predictivity(test="held-out")
    with pytest.raises(ValueError, match=r"needs split=\(train, test\)"):
        Predictivity(test="train-fitted")


def test_metric_parameters_are_typed_frozen_fields():
    m = get_metric("predictivity", alphas=np.array([1.0, 10.0]), split=None)
    assert m.alphas == (1.0, 10.0) and isinstance(m.alphas, tuple)
    assert m.options == {"alphas": (1.0, 10.0)}
    assert get_metric("predictivity").options == {}
    with pytest.raises(dataclasses.FrozenInstanceError):
        m.folds = 3
    tf = Predictivity(test="train-fitted", split=(np.arange(3), np.array([3, 4])))
    assert tf.split == ((0, 1, 2), (3, 4)) and hash(tf) == hash(
        Predictivity(test="train-fitted", split=([0, 1, 2], [3, 4]))
    )
    # replacing a parameter of an instance keeps the others
    assert get_metric(get_metric("shape", alpha=0.25), alpha=0.5) == ShapeMetric(alpha=0.5)
    pars = {p.name: (p.type, p.default) for p in Predictivity.parameters().values()}
    assert pars["folds"] == ("int", 5) and pars["test"] == ("str", "cross-validated")
    assert Spearman.parameters() == {}
    # labels name a metric with the parameters that differ from the defaults
    assert get_metric("spearman").label == "spearman"
    assert get_metric("mutual_knn", k=5).label == "mutual_knn(k=5)"
    assert get_metric("mutual_knn", k=10).label == "mutual_knn"  # the default
    a = get_metric("predictivity", alphas=tuple(np.logspace(0, 4, 9))).label
    b = get_metric("predictivity", alphas=tuple(np.logspace(0, 5, 9))).label
    assert a.startswith("predictivity(alphas=<9 values #") and a != b


def test_response_metric_on_rdm_data_explains(cichy):
    with pytest.raises(ValueError, match=r"compares raw responses, but 30 entries.*are RDMs"):
        ca.cross_region_matrix(cichy, "cka")


# ---------------------------------------------------------------- every analysis, every metric
@pytest.fixture(scope="module")
def small_study():
    from ..analysis.test_aps import synthetic_world

    rng, latent, _regions, stimuli, brain = synthetic_world(seed=4, n=30, n_sub=4, n_reg=4)
    models = {
        name: ca.ModelData.from_activations(
            {
                f"L{r}": (latent[r] if good else rng.normal(size=(30, 6)))
                @ rng.normal(size=(6, 12))
                + 0.3 * rng.normal(size=(30, 12))
                for r in range(4)
            },
            model=name,
            stimuli=stimuli,
        )
        for name, good in (("good", True), ("noise", False), ("half", True))
    }
    models["half"] = ca.ModelData.from_activations(
        {
            f"L{r}": models["good"][("good", f"L{r}")].values + 2.0 * rng.normal(size=(30, 12))
            for r in range(4)
        },
        model="half",
        stimuli=stimuli,
    )
    return brain, models


@pytest.mark.parametrize("metric", ["spearman", "kendall_taua", *RESPONSE_METRICS])
@pytest.mark.slow  # over 0.5 s: in make test, not the everyday subset
def test_every_analysis_runs_with_every_metric(metric, small_study):
    brain, models = small_study
    m = get_metric(metric, k=4) if metric == "mutual_knn" else get_metric(metric)
    c = ca.cross_region_matrix(brain, m)
    assert np.isfinite(c.values).all()
    if m.symmetric:
        np.testing.assert_allclose(c.values, c.values.T, atol=1e-12)
    assert np.isfinite(ca.brain_aps(brain, m).values).all()
    nc = ca.noise_ceiling(brain, m)
    assert nc.dims == ("region", "bound") and np.isfinite(nc.values).all()
    ev = ca.evaluate_model(models["good"], brain, metric=m, n_bootstrap=50, seed=1)
    assert np.isfinite(ev["aps_mean"].values).all()
    assert bool((ev["aps_low"] <= ev["aps_high"]).all())


@pytest.mark.slow  # over 0.5 s: in make test, not the everyday subset
def test_metric_sensitivity_reports_rankings(small_study):
    brain, models = small_study
    out = ca.metric_sensitivity(brain, models, ["spearman", "cka", "predictivity", "shape"])
    assert out["score"].dims == ("metric", "model", "region")
    assert list(out["metric"].values) == ["spearman", "cka", "predictivity", "shape"]
    # the planted best model is first under every metric (shape is a distance: lower = better)
    for metric in out["metric"].values:
        assert float(out["score_rank"].sel(metric=metric, model="good")) == 1.0, metric
    # ranks and their correlations follow from the per-region scores
    sign = {"spearman": 1, "cka": 1, "predictivity": 1, "shape": -1}
    for metric in out["metric"].values:
        means = sign[metric] * out["score"].sel(metric=metric).mean("region").values
        np.testing.assert_array_equal(
            out["score_rank"].sel(metric=metric).values, stats.rankdata(-means)
        )
    r = out["score_rank"].values
    assert float(out["score_rank_correlation"].sel(metric="cka", metric_b="shape")) == (
        pytest.approx(stats.spearmanr(r[1], r[3]).statistic)
    )
    np.testing.assert_allclose(np.diag(out["aps_rank_correlation"].values), 1.0)
    with pytest.raises(ValueError, match=r"repeats a metric"):
        ca.metric_sensitivity(brain, models, ["cka", "cka"])


@pytest.mark.parametrize("seed", [0, 11])
@pytest.mark.parametrize("fold_weights", ["equal", "size"])
@pytest.mark.slow  # over 0.5 s: in make test, not the everyday subset
def test_all_pairs_predictivity_equals_per_pair_ridgecv(monkeypatch, seed, fold_weights):
    """Every ordered pair of 5 representations (one with more units than stimuli), the
    sources stacked 2 at a time into one product with the targets (a small stack limit),
    equals scikit-learn's RidgeCV per pair, for two KFold seeds, with fold scores averaged
    equally or weighted by fold size (47 stimuli: folds of 10 and 9)."""
    from sklearn.linear_model import RidgeCV
    from sklearn.metrics import r2_score
    from sklearn.model_selection import KFold
    from sklearn.preprocessing import StandardScaler

    from crossalign.compute import ridge as module

    rng = np.random.default_rng(seed)
    z = rng.normal(size=(47, 4))
    reps = [z @ rng.normal(size=(4, p)) + rng.normal(size=(47, p)) for p in (6, 9, 60, 12, 3)]
    metric = get_metric("predictivity", seed=seed, fold_weights=fold_weights)
    monkeypatch.setattr(module, "STACK_BYTES", 2 * 19 * 38**2 * 8)
    ctx = current_context()
    prepared = metric.prepare(reps, ctx=ctx)
    ours = metric.cross(prepared, prepared, ctx=ctx)

    def reference(x, y):
        x, y = StandardScaler().fit_transform(x), StandardScaler().fit_transform(y)
        scores, sizes = [], []
        for tr, te in KFold(5, shuffle=True, random_state=seed).split(x):
            model = RidgeCV(alphas=np.logspace(0, 9, 19)).fit(x[tr], y[tr])
            scores.append(r2_score(y[te], model.predict(x[te])))
            sizes.append(len(te))
        w = np.array(sizes) / sum(sizes) if fold_weights == "size" else np.full(5, 0.2)
        return float(np.dot(w, scores))

    expected = np.array([[reference(x, y) for y in reps] for x in reps])
    np.testing.assert_allclose(ours, expected, rtol=0, atol=1e-8)
