# Everything a fresh machine needs: `make demo` runs the main job, `make test` the tests.
# Each target creates the virtual environment (.venv) and installs the project first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The reference data lives outside the repository (never copied in).
export CROSSALIGN_DATA_DIR ?= $(abspath ../shared/data)

.PHONY: install demo test test-fast test-base check lint docs clean

# PyTorch is pinned here, not in pyproject.toml (users keep ranges): this pair lies on the
# machine's disk (a CUDA build that runs on the CPU); torchvision is needed by timm.
TORCH_PIN ?= torch==2.14.1 torchvision==0.29.1

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(TORCH_PIN)
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@

install: $(BIN)/.installed

demo: install
	$(BIN)/crossalign demo

# the tests run on $(WORKERS) processes (pytest-xdist; a module stays on one worker, so its
# fixtures are built once; the slowest modules start first, tests/conftest.py), each with one
# BLAS and PyTorch thread (2 workers on 2 cores); WORKERS=0 runs them in this process
WORKERS ?= 2
# and with compiled modules kept (an environment that sets PYTHONDONTWRITEBYTECODE recompiles
# every module and test file in each worker, about 10 s of every run)
THREADS := OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 PYTHONDONTWRITEBYTECODE=

test: install
	$(THREADS) $(BIN)/python -m pytest -q -n $(WORKERS) --dist loadscope --no-loadscope-reorder

# everyday loop: everything but the tests marked slow, with fewer hypothesis examples (no heavy
# module fixtures here: an idle worker takes queued tests instead)
test-fast: install
	$(THREADS) HYPOTHESIS_PROFILE=fast $(BIN)/python -m pytest -q -n $(WORKERS) --dist worksteal \
		-m "not slow"

# what `pip install crossalign` gets (no extras), with the test tools: the fast tests; a test
# that needs an optional extra is reported as skipped, naming it (tests/conftest.py); CI is
# unset there, since CI=true makes a missing extra fail where the full install is expected
BASE_VENV ?= .venv-base
test-base:
	$(PYTHON) -m venv $(BASE_VENV)
	$(BASE_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(BASE_VENV)/bin/python -m pip install --quiet ".[test]"
	$(THREADS) CI= CROSSALIGN_BASE_INSTALL=1 HYPOTHESIS_PROFILE=fast $(BASE_VENV)/bin/python -m pytest -q \
		-n $(WORKERS) --dist loadscope -m "not slow" -p no:cacheprovider

# the static checks CI runs before the tests: style, the layers contract, types
check: install
	$(BIN)/ruff check src tests tools
	$(BIN)/lint-imports
	$(BIN)/mypy

docs: install
	$(BIN)/mkdocs build --strict --quiet

lint: install
	$(BIN)/ruff check src tests tools

clean:
	rm -rf $(VENV) $(BASE_VENV) .pytest_cache .ruff_cache .hypothesis site
