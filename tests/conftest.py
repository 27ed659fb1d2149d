"""Shared fixtures: the reference datasets (read from $CROSSALIGN_DATA_DIR) and seeded data."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

import crossalign as ca
from crossalign.compute.heap import keep_large_blocks

settings.register_profile(
    "default",
    deadline=None,
    max_examples=60,
    # the one function-scoped fixture used with @given (engine_backend) only sets an option
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
# small by default, fewer in `make test-fast`, 1000 examples per property in CI (.ci/run)
settings.register_profile("fast", parent=settings.get_profile("default"), max_examples=15)
settings.register_profile("ci", parent=settings.get_profile("default"), max_examples=1000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


def pytest_configure(config: pytest.Config) -> None:
    """Each test process keeps freed large arrays in its heap, as the command line does
    (:func:`crossalign.compute.heap.keep_large_blocks`): a network's batches reuse the last
    batch's memory instead of faulting fresh pages in. No number depends on it."""
    keep_large_blocks()


#: Modules of the optional extras (``pip install 'crossalign[...]'``). In the job that tests a
#: base install (``CROSSALIGN_BASE_INSTALL=1``, ``make test-base``), a test that stops on one
#: of them missing is reported as skipped, naming the module; everywhere else it fails.
OPTIONAL_MODULES = {
    "torch",
    "torchvision",
    "timm",
    "open_clip",
    "transformers",
    "av",
    "duckdb",
    "jinja2",
    "nibabel",
    "pynwb",
    "h5netcdf",
    "zarr",
    "pyarrow",
    "fastparquet",
    "tables",
    "dask",
    "distributed",
    "efficientnet_lite_pytorch",
    "visualpriors",
    "PIL",
    "mkdocs",
}


#: The modules that take longest in ``make test`` (their tests' seconds summed, measured on 2
#: cores), longest first. They are started first: pytest-xdist hands each worker whole modules
#: (``--dist loadscope``, ``--no-loadscope-reorder``), and a long module begun last leaves the
#: other worker idle until it ends.
SLOWEST_MODULES = (
    "tests/test_fuzz.py",
    "tests/study/test_study.py",
    "tests/study/test_resume.py",
    "tests/study/test_hostile.py",
    "tests/study/test_study_options.py",
    "tests/models/test_paper_zoo.py",
    "tests/models/test_sources.py",
    "tests/study/test_report_layout.py",
    "tests/engine/test_scale.py",
    "tests/study/test_hostile_battery.py",
    "tests/stats/test_stats.py",
    "tests/study/test_reproduce.py",
    "tests/models/test_models.py",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The slowest modules first (:data:`SLOWEST_MODULES`); the others keep their order."""
    rank = {module: i for i, module in enumerate(SLOWEST_MODULES)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> object:
    outcome = yield
    if not os.environ.get("CROSSALIGN_BASE_INSTALL") or call.excinfo is None:
        return
    exc = call.excinfo.value
    chain = [exc, exc.__cause__, exc.__context__]
    missing = [
        e.name
        for e in chain
        if isinstance(e, ImportError) and e.name and e.name.split(".")[0] in OPTIONAL_MODULES
    ]
    text = str(exc)
    if not missing and "pip install 'crossalign[" in text:
        missing = [text]
    if not missing and isinstance(exc, ImportError) and any(m in text for m in OPTIONAL_MODULES):
        missing = [text]
    if missing:
        report = outcome.get_result()
        report.outcome = "skipped"
        report.longrepr = (str(item.path), item.location[1] or 0, f"needs {missing[0]}")


@pytest.fixture(scope="session", autouse=True)
def _activation_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """One activation cache for the whole session, shared by the pytest-xdist workers (a model
    is extracted once; entries are written to a temporary file and renamed into place, so
    workers never read one half-written), and never the user's own cache."""
    if "CROSSALIGN_CACHE_DIR" in os.environ:
        return
    if os.environ.get("PYTEST_XDIST_WORKER"):  # the workers' folders share the session's root
        folder = tmp_path_factory.getbasetemp().parent / "activations"
        folder.mkdir(exist_ok=True)
    else:
        folder = tmp_path_factory.mktemp("activations")
    os.environ["CROSSALIGN_CACHE_DIR"] = str(folder)


def _installed_backends() -> list[str]:
    from crossalign.compute.backends import installed

    # "torch" is "torch:cuda" or "torch:cpu" under another name: run each device once
    return [b for b in installed() if b != "torch"]


@pytest.fixture(params=_installed_backends())
def engine_backend(request: pytest.FixtureRequest):
    """Runs a test once per installed engine backend (modules opt in with
    ``pytestmark = pytest.mark.usefixtures("engine_backend")``)."""
    with ca.options(backend=request.param):
        yield request.param


@pytest.fixture(scope="session")
def data_dir() -> Path:
    value = os.environ.get("CROSSALIGN_DATA_DIR")
    if not value or not Path(value).is_dir():
        if os.environ.get("CI"):
            pytest.fail("CROSSALIGN_DATA_DIR must point at the reference data in CI.")
        pytest.skip("CROSSALIGN_DATA_DIR is not set; reference-data tests skipped.")
    return Path(value)


@pytest.fixture(scope="session")
def cichy(data_dir: Path) -> ca.BrainData:
    return ca.load_dataset("cichy2014")


@pytest.fixture(scope="session")
def castaldi(data_dir: Path) -> ca.BrainData:
    return ca.load_dataset("castaldi2019", task="both")


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)
