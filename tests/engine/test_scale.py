"""Scale: analyses larger than the memory budget stream in blocks with the same numbers, within
the budget; a local Dask cluster gives the same numbers; the plan is printed before a run."""

import dataclasses
import json
import tracemalloc

import numpy as np
import pytest

import crossalign as ca
from crossalign.engine.core import all_pairs
from crossalign.engine.costs import metric_cost
from crossalign.engine.plan import estimate_bytes, plan_scores


def _brain(n_sub: int, n_reg: int, n: int, p: int, seed: int = 0) -> ca.BrainData:
    rng = np.random.default_rng(seed)
    shared = rng.normal(size=(n_reg, n, 8))
    return ca.BrainData.from_responses(
        {
            (f"s{s}", f"r{r}"): shared[r] @ rng.normal(size=(8, p)) + rng.normal(size=(n, p))
            for s in range(n_sub)
            for r in range(n_reg)
        }
    )


@pytest.fixture(scope="module")
def big() -> ca.BrainData:
    return _brain(8, 6, 600, 40)  # 48 RDMs of 179,700 entries: a 69 MB stack


@pytest.mark.slow  # over 0.5 s: in make test, not the everyday subset
def test_streamed_spearman_within_a_budget_below_the_rdm_stack_equals_unbounded(big):
    n = big.n_stimuli
    stack = len(big) * n * (n - 1) // 2 * 8
    unbounded = all_pairs(big, None, "spearman")
    budget = int(0.6 * stack)
    with ca.options(memory_budget=budget):
        plan = plan_scores(big, None, "spearman")
        assert plan.streamed and plan.n_blocks >= 4 and plan.peak_bytes <= budget
        tracemalloc.start()
        try:
            streamed = all_pairs(big, None, "spearman")
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert peak <= budget < stack, (peak, budget, stack)
    np.testing.assert_allclose(streamed, unbounded, rtol=0, atol=1e-14)
    np.testing.assert_array_equal(streamed, streamed.T)
    # and the unbounded run really needs more than that budget
    tracemalloc.start()
    try:
        all_pairs(_brain(8, 6, 600, 40), None, "spearman")
        assert tracemalloc.get_traced_memory()[1] > budget
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("metric", ["pearson", "kendall_taua", "cka", "predictivity", "shape"])
def test_streamed_equals_unbounded_for_every_metric_family(metric):
    brain = _brain(3, 3, 60, 12, seed=1)
    unbounded = all_pairs(brain, None, metric)
    with ca.options(memory_budget=estimate_bytes(brain, None, metric) * 3 // 5):
        plan = plan_scores(brain, None, metric)
        streamed = all_pairs(brain, None, metric)
    assert plan.streamed
    np.testing.assert_allclose(streamed, unbounded, rtol=0, atol=1e-12)


def test_streamed_model_against_brain_tensor_keeps_labels():
    brain = _brain(4, 3, 400, 10, seed=2)
    rng = np.random.default_rng(5)
    model = ca.ModelData.from_activations(
        {f"layer{i}": rng.normal(size=(400, 16)) for i in range(8)},
        model="net",
        stimuli=brain.stimuli,
    )
    ref = ca.score_tensor(model, brain)
    with ca.options(memory_budget=estimate_bytes(model, brain, "spearman") * 3 // 5):
        assert plan_scores(model, brain, "spearman").streamed
        got = ca.score_tensor(model, brain)
    assert got.dims == ref.dims == ("model", "layer", "subject", "region")
    np.testing.assert_allclose(got.values, ref.values, rtol=0, atol=1e-14)


@pytest.mark.parametrize("metric", ["pearson", "predictivity"])
@pytest.mark.slow  # over 0.5 s: in make test, not the everyday subset
def test_a_few_layers_held_while_many_cells_stream_past_equal_one_block(metric):
    """A small side (a model's layers) is held whole; the large side (brain cells) streams
    past it in blocks, each prepared once, with nothing written to disk; either orientation
    (predictivity is asymmetric) gives the one-block numbers."""
    brain = _brain(6, 5, 120 if metric == "pearson" else 60, 12, seed=3)
    rng = np.random.default_rng(6)
    model = ca.ModelData.from_activations(
        {f"layer{i}": rng.normal(size=(brain.n_stimuli, 20)) for i in range(3)},
        model="net",
        stimuli=brain.stimuli,
    )
    for data, other in ((model, brain), (brain, model)):
        unbounded = all_pairs(data, other, metric)
        budget = estimate_bytes(data, other, metric) // 3
        with ca.options(memory_budget=budget):
            plan = plan_scores(data, other, metric)
            assert plan.held and plan.streamed and plan.peak_bytes <= budget
            assert len(plan.column_blocks() if data is model else plan.blocks(len(data))) > 1
            assert "held whole" in plan.describe()
            streamed = all_pairs(data, other, metric)
        np.testing.assert_allclose(streamed, unbounded, rtol=0, atol=1e-10)


def test_a_plan_counts_each_representation_at_its_own_width():
    """A few wide layers and many narrow cells: one block when their sum at their own widths
    fits the budget, though every one at the widest would not."""
    brain = _brain(6, 5, 60, 12, seed=3)
    rng = np.random.default_rng(6)
    model = ca.ModelData.from_activations(
        {f"layer{i}": rng.normal(size=(brain.n_stimuli, 400)) for i in range(2)},
        model="net",
        stimuli=brain.stimuli,
    )
    metric = ca.get_metric("predictivity")
    need = estimate_bytes(model, brain, metric)
    cost = {p: metric_cost(metric, brain.n_stimuli, p) for p in (12, 400)}
    held = {p: c.input_bytes + c.prepared_bytes for p, c in cost.items()}
    work, score = cost[400].working_bytes, 2 * 30 * 8
    assert need == 2 * held[400] + 30 * held[12] + work + score
    assert 32 * held[400] + work + score > 2 * need  # at the widest: over the budget
    with ca.options(memory_budget=need):
        plan = plan_scores(model, brain, metric)
    assert not plan.streamed and plan.peak_bytes == need


def test_the_held_plan_stays_within_its_budget():
    brain = _brain(8, 6, 500, 40, seed=4)  # 48 RDMs of 124,750 entries: 48 MB
    rng = np.random.default_rng(7)
    model = ca.ModelData.from_activations(
        {f"layer{i}": rng.normal(size=(500, 30)) for i in range(2)},
        model="net",
        stimuli=brain.stimuli,
    )
    unbounded = all_pairs(model, brain, "pearson")
    budget = estimate_bytes(model, brain, "pearson") // 4
    with ca.options(memory_budget=budget):
        plan = plan_scores(model, brain, "pearson")
        tracemalloc.start()
        try:
            streamed = all_pairs(model, brain, "pearson", plan=plan)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert plan.held and peak <= budget, (peak, budget)
    np.testing.assert_allclose(streamed, unbounded, rtol=0, atol=1e-12)


def test_a_run_planned_over_an_hour_says_so_before_it_starts(monkeypatch):
    """Linear predictivity at parcel scale (12 layers x 1,800 cells of 330 units, 1,000
    stimuli) is estimated at hours on a CPU; a run planned that long warns first, with the
    plan and where to run it faster."""
    from crossalign.engine import core, plan
    from crossalign.metrics import get_metric

    lp = get_metric("predictivity")
    hours = plan._seconds(lp, 1000, 330, 1800, 1800, 1800, "numpy", "float64") / 3600
    assert hours > 1, hours
    brain = _brain(3, 2, 40, 5, seed=8)
    monkeypatch.setattr(core, "LONG_RUN_SECONDS", 0.0)
    with pytest.warns(ca.LongRunWarning, match=r"6 x 6 representations.*Dask cluster.*GPU"):
        all_pairs(brain, None, "pearson")


def test_a_budget_too_small_for_one_block_is_refused_with_both_estimates(big):
    with ca.options(memory_budget="5MB"), pytest.raises(ca.MemoryBudgetError) as info:
        ca.score_tensor(big)
    msg = str(info.value)
    assert "even streamed one representation at a time" in msg and "all at once: 0." in msg


def test_plan_estimates_time_and_memory(big):
    plan = plan_scores(big, None, "spearman")
    assert not plan.streamed and plan.block == len(big)
    assert plan.peak_bytes == estimate_bytes(big, None, "spearman")
    line = plan.describe()
    assert "48 x 48 representations of 600 stimuli, spearman on numpy (float64)" in line
    assert "peak memory about" in line and "time about" in line
    assert 0 < plan.seconds < 60


@pytest.mark.slow
def test_local_dask_cluster_with_two_workers_gives_the_same_numbers(big):
    distributed = pytest.importorskip("distributed")
    single = ca.score_tensor(big)
    single_pred = all_pairs(big.select(sources=["s0", "s1"]), None, "predictivity")
    rng = np.random.default_rng(7)
    model = ca.ModelData.from_activations(
        {f"layer{i}": rng.normal(size=(big.n_stimuli, 20)) for i in range(3)},
        model="net",
        stimuli=big.stimuli,
    )
    single_model = ca.score_tensor(model, big, metric="cka")
    with ca.distributed.cluster(workers=2) as client:
        assert isinstance(client, distributed.Client) and len(client.nthreads()) == 2
        on_dask = ca.score_tensor(big)
        on_dask_pred = all_pairs(big.select(sources=["s0", "s1"]), None, "predictivity")
        matrix = ca.cross_region_matrix(big)
        on_dask_model = ca.score_tensor(model, big, metric="cka")
    assert ca.config.get_option("cluster") is None  # the option was restored
    # Dask cut the 48 representations into blocks of 12 (2 per worker thread); the same blocks
    # in this process agree to rounding (the workers' BLAS runs one thread), as does one block
    plan = dataclasses.replace(plan_scores(big, None, "spearman"), block=12)
    blocked = all_pairs(big, None, "spearman", plan=plan)
    np.testing.assert_allclose(on_dask.values.reshape(48, 48), blocked, rtol=0, atol=1e-14)
    np.testing.assert_allclose(on_dask.values, single.values, rtol=0, atol=1e-14)
    assert on_dask.dims == single.dims
    np.testing.assert_allclose(on_dask_pred, single_pred, rtol=0, atol=1e-14)
    np.testing.assert_allclose(matrix.values, ca.cross_region_matrix(big).values, atol=1e-14)
    assert on_dask_model.dims == single_model.dims == ("model", "layer", "subject", "region")
    np.testing.assert_allclose(on_dask_model.values, single_model.values, rtol=0, atol=1e-14)


@pytest.mark.slow
def test_predictivity_on_two_dask_workers_runs_folds_as_tasks_and_equals_one_process():
    distributed = pytest.importorskip("distributed")
    brain = _brain(3, 4, 120, 30, seed=4)  # 12 representations
    stimuli = list(brain.stimuli)
    metrics = [
        ca.get_metric("predictivity"),
        ca.get_metric("predictivity", seed=2, fold_weights="size"),
        ca.get_metric("predictivity", test="train-fitted", split=(range(100), range(100, 120))),
    ]
    single = [all_pairs(brain, None, m) for m in metrics]
    model = ca.ModelData.from_activations(
        {f"layer{i}": np.random.default_rng(i).normal(size=(120, 50)) for i in range(3)},
        model="net",
        stimuli=stimuli,
    )
    single_model = ca.score_tensor(model, brain, metric="predictivity")
    with ca.distributed.cluster(workers=2) as client:
        with distributed.get_task_stream(client) as stream:
            on_dask = [all_pairs(brain, None, m) for m in metrics]
        on_dask_model = ca.score_tensor(model, brain, metric="predictivity")
    for ours, reference in zip(on_dask, single, strict=True):
        np.testing.assert_allclose(ours, reference, rtol=0, atol=1e-10)
    np.testing.assert_allclose(on_dask_model.values, single_model.values, rtol=0, atol=1e-10)
    parts = [t for t in stream.data if t["key"].startswith("_part_task")]
    # 12 sources in blocks of 3 (2 per worker thread) x 5 folds, for each of the 3 metrics
    assert len(parts) == 3 * 4 * 5


def test_cluster_arguments_are_checked():
    with (
        pytest.raises(ValueError, match=r"'cluster' option must be a dask.distributed.Client"),
        ca.options(cluster=4),
    ):
        pass
    pytest.importorskip("distributed")
    with pytest.raises(ValueError, match=r"either 'workers'.*or 'scheduler'.*Got workers=2"):  # noqa: SIM117
        with ca.distributed.cluster(workers=2, scheduler="tcp://x:1"):
            pass
    with pytest.raises(ValueError, match=r"'workers' argument must be a positive integer. Got 0"):  # noqa: SIM117
        with ca.distributed.cluster(workers=0):
            pass


def test_a_scheduler_address_where_nothing_listens_is_refused_at_once(monkeypatch):
    """A refused connection is reported at once, naming the address, without a client (which
    would retry the address until its 10 s timeout)."""
    import socket

    distributed = pytest.importorskip("distributed")
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens there
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setattr(distributed, "Client", lambda *a, **k: pytest.fail("a client started"))
    address = f"tcp://127.0.0.1:{port}"
    with pytest.raises(ValueError, match=rf"scheduler at '{address}': nothing listens there"):  # noqa: SIM117
        with ca.distributed.cluster(scheduler=address):
            pass


@pytest.mark.slow
def test_cli_matrix_on_dask_and_torch_equals_the_default(data_dir):
    pytest.importorskip("distributed")
    from typer.testing import CliRunner

    from crossalign.cli import app

    folder = data_dir / "cichy2014_92images"
    args = [
        "matrix",
        "--rdms",
        f"EVC={folder / 'fmri_EVC_RDMs.npz'}",
        "--rdms",
        f"IT={folder / 'fmri_IT_RDMs.npz'}",
        "--json",
    ]
    runner = CliRunner()
    plain = runner.invoke(app, args)
    dask = runner.invoke(app, [*args, "--workers", "2"])
    torch = runner.invoke(app, [*args, "--backend", "torch:cpu"])
    for result in (plain, dask, torch):
        assert result.exit_code == 0, result.output
    ref = np.array(json.loads(plain.stdout)["matrix"])
    for result in (dask, torch):
        np.testing.assert_allclose(json.loads(result.stdout)["matrix"], ref, atol=1e-12)
    bad = runner.invoke(app, [*args, "--backend", "jax"])
    assert bad.exit_code == 2 and "must be one of" in bad.output


def test_a_study_prints_its_plan_before_it_starts(data_dir):
    from rich.console import Console

    from crossalign.study.runner import _preflight, parse_study

    console = Console(record=True, width=200)
    cfg = parse_study({"name": "plan", "datasets": [{"name": "cichy2014"}]})
    _preflight(cfg, console)
    text = console.export_text()
    assert "Plan for cichy2014: 30 x 30 representations of 92 stimuli, spearman" in text
    assert "peak memory about" in text and "time about" in text


@pytest.mark.slow  # over 0.5 s: in make test, not the everyday subset
def test_bench_stream_command_stays_within_its_budget():
    from typer.testing import CliRunner

    from crossalign.cli import app

    result = CliRunner().invoke(app, ["bench", "stream", "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert "streamed in blocks" in out["plan"]
    assert out["streamed_traced_peak_mb"] <= out["budget_mb"] < out["one_block_traced_peak_mb"]
    assert out["max_abs_diff"] <= 1e-14


def test_a_metric_registered_from_outside_is_planned_from_its_declared_cost(rng):
    """The planner asks the metric (Metric.cost), never switches on metric names: a new
    metric declaring a large prepared size is streamed, with its declared time."""
    from dataclasses import dataclass
    from typing import ClassVar

    from crossalign.engine.costs import Cost
    from crossalign.metrics import METRICS, Metric

    @dataclass(frozen=True)
    class Heavy(Metric):
        name: ClassVar = "heavy_test_metric"
        input_kind: ClassVar = "responses"
        symmetric: ClassVar = True

        def prepare(self, reps, labels=None, *, ctx):
            return [np.asarray(x) for x in reps]

        def cross(self, a, b, *, ctx):
            return np.zeros((len(a), len(b)))

    @metric_cost.register(Heavy)
    def _heavy(metric: Metric, n: int, p: int) -> Cost:
        return Cost(1e6, 4e8, 1e6, prepare_products=1e12, pair_products=0.0)

    METRICS.register(Heavy.name, Heavy)
    try:
        data = ca.BrainData.from_responses({(s, "V1"): rng.normal(size=(20, 5)) for s in range(6)})
        with ca.options(memory_budget="2GB"):
            plan = plan_scores(data, None, Heavy.name)
        assert plan.prepared_bytes == 4e8 and plan.streamed  # 6 x 0.4 GB > 2 GB
        assert plan.block == (2 * 10**9 - 1e6 - 6 * 6 * 8) // (1e6 + 8e8)
        cheap = plan_scores(data, None, "cka")
        assert plan.seconds > 1000 * cheap.seconds  # 1e12 products per preparation
    finally:
        METRICS._items.pop(Heavy.name)
