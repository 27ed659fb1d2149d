"""Engine backends: the torch kernels against NumPy and scipy, per-call and context choice,
float32 accuracy. (Every engine test module also runs once per installed backend through the
``engine_backend`` fixture.)"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

import crossalign as ca
from crossalign.compute.backends import BACKENDS, TorchBackend, get_backend, installed
from crossalign.compute.rdm import DISTANCES, rdm_vectors
from crossalign.engine.core import pairwise_scores
from crossalign.engine.plan import plan_scores

OTHERS = [b for b in installed() if b not in ("numpy", "torch")]
INNER_METRICS = ["spearman", "pearson", "cosine", "cka", "cka_debiased", "cka_rbf"]


def _brain() -> ca.BrainData:
    rng = np.random.default_rng(3)
    shared = rng.normal(size=(40, 6))
    data = {
        (f"s{s}", f"r{r}"): shared @ rng.normal(size=(6, 25)) + rng.normal(size=(40, 25))
        for s in range(3)
        for r in range(3)
    }
    return ca.BrainData.from_responses(data)


@pytest.fixture
def brain() -> ca.BrainData:
    return _brain()


@given(
    st.lists(st.integers(0, 6), min_size=2, max_size=40),
    st.lists(st.floats(-1e3, 1e3, allow_nan=False), min_size=2, max_size=40),
)
def test_ranks_equal_scipy_average_ranks_with_ties_on_every_backend(ints, floats):
    for row in (np.asarray(ints, float), np.asarray(floats)):
        v = np.stack([row, row[::-1], -row])
        want = stats.rankdata(v, axis=1, method="average")
        for backend in installed():
            got = get_backend(backend).rank(v, np.empty_like(v))
            np.testing.assert_array_equal(got, want, err_msg=backend)


def test_numpy_chunked_ranking_equals_one_shot(monkeypatch, rng):
    import crossalign.compute.backends as backends

    v = rng.integers(0, 20, size=(9, 50)).astype(float)  # ties on purpose
    whole = stats.rankdata(v, axis=1, method="average")
    monkeypatch.setattr(backends, "_CHUNK_ELEMENTS", 100)  # two rows per chunk, threaded
    got = get_backend("numpy").rank(v, np.empty_like(v))
    np.testing.assert_array_equal(got, whole)


def test_memory_bound_of_ranking_holds(rng):
    import tracemalloc

    from crossalign.compute.backends import RANK_TEMP_BYTES

    v = rng.integers(0, 1000, size=(2, 200_000)).astype(float)
    out = np.empty_like(v)
    backend = get_backend("numpy")
    tracemalloc.start()
    try:
        backend.rank(v, out)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak <= backend.rank_bytes(v.shape[1]) and RANK_TEMP_BYTES * v.shape[1] > peak / 2


@pytest.mark.parametrize("backend", OTHERS)
@pytest.mark.parametrize("distance", DISTANCES.names())
def test_rdm_vectors_agree_across_backends(backend, distance, rng):
    if DISTANCES.get(distance).cross_validated:  # from repetitions (stimulus, unit, rep)
        x = rng.normal(size=(30, 12, 3))
        ref = DISTANCES.get(distance).from_repeats(x, "x")
        with ca.options(backend=backend):
            got = DISTANCES.get(distance).from_repeats(x, "x")
        np.testing.assert_allclose(got, ref, rtol=0, atol=1e-10)
        return
    x = rng.normal(size=(2, 30, 12))
    ref = rdm_vectors(x, distance)
    with ca.options(backend=backend):
        got = rdm_vectors(x, distance)
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-12)


@pytest.mark.parametrize("backend", OTHERS)
@pytest.mark.parametrize("metric", INNER_METRICS)
@pytest.mark.slow  # over 0.5 s: in make test, not the everyday subset
def test_score_tensors_agree_across_backends(brain, backend, metric):
    ref = ca.score_tensor(brain, metric=metric)
    got = ca.score_tensor(brain, metric=metric, backend=backend)
    assert np.abs(got.values - ref.values).max() <= 1e-10
    assert got.dims == ref.dims


@pytest.mark.slow  # over 0.5 s: in make test, not the everyday subset
def test_per_call_backend_runs_the_torch_kernels(brain, monkeypatch):
    pytest.importorskip("torch")  # only this test and the CUDA one need torch itself
    with ca.options(backend="torch:cpu"):  # the planner probes its rates once per process
        plan_scores(brain, None, "spearman")
    calls = {"gram": 0, "rank": 0, "inner": 0}
    for name in calls:
        original = getattr(TorchBackend, name)

        def counted(self, *args, _name=name, _original=original):
            calls[_name] += 1
            return _original(self, *args)

        monkeypatch.setattr(TorchBackend, name, counted)
    ca.score_tensor(brain, metric="spearman")
    assert calls == {"gram": 0, "rank": 0, "inner": 0}  # numpy unless asked
    ca.score_tensor(brain, metric="spearman", backend="torch:cpu")
    assert calls["gram"] == len(brain) and calls["rank"] == 1 and calls["inner"] == 1
    with ca.options(backend="torch:cpu"):
        pairwise_scores(np.random.default_rng(0).normal(size=(4, 10)), metric="pearson")
    assert calls["inner"] == 2


@pytest.mark.slow  # over 0.5 s: in make test, not the everyday subset
def test_float32_is_used_and_within_its_stated_accuracy(brain):
    ref = ca.score_tensor(brain, metric="spearman").values
    for backend in ["numpy", *OTHERS]:
        with ca.options(dtype="float32", backend=backend):
            got = ca.score_tensor(brain, metric="spearman").values
        err = np.abs(got - ref).max()
        assert 0 < err <= 1e-5, (backend, err)  # docs/scale.md states 1e-5


def test_backend_and_dtype_options_fail_clearly():
    with (
        pytest.raises(ValueError, match=r"'backend'.*must be one of.*Did you mean 'torch'"),
        ca.options(backend="troch"),
    ):
        pass
    with (
        pytest.raises(ValueError, match=r"'dtype' option must be 'float32' or 'float64'"),
        ca.options(dtype="float16"),
    ):
        pass
    assert "numpy" in installed() and set(installed()) <= set(BACKENDS.names())


def test_cuda_backend_without_a_device_says_what_to_use_instead(brain):
    pytest.importorskip("torch")
    if "torch:cuda" in ca.backends.installed():
        pytest.skip("this machine has a CUDA device")
    with pytest.raises(ca.errors.InputError, match=r"'torch:cuda' is not available.*'numpy'"):
        ca.score_tensor(brain, backend="torch:cuda")
    with pytest.raises(RuntimeError, match=r"needs a CUDA device.*backend='torch:cpu'"):
        ca.backends.get_backend("torch:cuda").gram(np.ones((1, 3, 2)))


def test_options_are_isolated_between_overlapping_threads():
    """Two threads inside overlapping `with options(...)` blocks each see their own dtype,
    and both blocks leave the defaults behind."""
    import threading

    from crossalign.config import get_option

    seen: dict[str, list[str]] = {"a": [], "b": []}
    a_in, b_in, a_read = threading.Event(), threading.Event(), threading.Event()

    def worker_a() -> None:
        with ca.options(dtype="float32"):
            a_in.set()
            b_in.wait(5)  # b is inside its own block now
            seen["a"].append(get_option("dtype"))
            a_read.set()
        seen["a"].append(get_option("dtype"))

    def worker_b() -> None:
        a_in.wait(5)
        with ca.options(dtype="float64", memory_budget="1GB"):
            b_in.set()
            a_read.wait(5)
            seen["b"].append(get_option("dtype") + "/" + str(get_option("memory_budget")))
        seen["b"].append(get_option("dtype"))

    threads = [threading.Thread(target=worker_a), threading.Thread(target=worker_b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert seen == {"a": ["float32", "float64"], "b": ["float64/1000000000", "float64"]}
    assert get_option("dtype") == "float64" and get_option("backend") == "numpy"


@pytest.mark.parametrize("backend", OTHERS)
@pytest.mark.parametrize("metric", ca.metrics.METRICS.names())
@pytest.mark.slow  # over 0.5 s: in make test, not the everyday subset
def test_every_metric_agrees_across_backends_and_says_where_it_runs(brain, backend, metric):
    """Each metric either has kernels for the backend (its scores agree with NumPy's) or
    runs on NumPy, with a warning and a plan that says numpy, never silently."""
    from crossalign.metrics import get_metric

    m = get_metric(metric)
    ref = ca.score_tensor(brain, metric=metric)
    with ca.options(backend=backend):
        if backend.split(":")[0] in m.backends:
            got = ca.score_tensor(brain, metric=metric)
            assert plan_scores(brain, None, metric).backend == backend
        else:
            with pytest.warns(UserWarning, match=rf"{metric}.* runs on numpy"):
                got = ca.score_tensor(brain, metric=metric)
            with pytest.warns(UserWarning):
                assert plan_scores(brain, None, metric).backend == "numpy"
    np.testing.assert_allclose(got.values, ref.values, rtol=0, atol=1e-10)


def test_prepared_stacks_run_where_the_engine_says(brain):
    from crossalign.engine.core import cross, prepare

    vectors = brain.rdm_vectors()
    with ca.options(backend="numpy"):
        ref = pairwise_scores(vectors, metric="spearman")
    p = prepare("spearman", vectors)
    assert p.backend == "numpy"
    np.testing.assert_allclose(cross(p), ref, atol=1e-12)
    np.testing.assert_allclose(cross(p, prepare("spearman", vectors[:2])), ref[:, :2], atol=1e-12)
    with pytest.raises(ValueError, match=r"same metric.*'spearman' and 'pearson'"):
        cross(p, prepare("pearson", vectors))
    if "torch:cpu" in installed():
        with ca.options(backend="torch:cpu"):
            assert prepare("spearman", vectors).backend == "torch:cpu"
            with pytest.warns(UserWarning, match="'kendall_taua' has kernels for"):
                assert prepare("kendall_taua", vectors).backend == "numpy"
