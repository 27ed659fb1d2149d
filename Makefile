# Everything a fresh machine needs: `make demo` runs the main job, `make test` the tests.
# Each target creates the virtual environment (.venv) and installs the project first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The reference data lives outside the repository (never copied in).
export CROSSALIGN_DATA_DIR ?= $(abspath ../shared/data)

.PHONY: install demo test lint clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@

install: $(BIN)/.installed

demo: install
	$(BIN)/crossalign demo

test: install
	$(BIN)/python -m pytest -q

lint: install
	$(BIN)/ruff check src tests

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
