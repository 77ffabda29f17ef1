# Encore's two set-up commands:  `make demo`  and  `make test`.
# Both create .venv and install the CPU build of torch first: on these machines
# `pip install torch==2.13.0` takes a local CPU wheel, while an open range would pull
# several GB of CUDA packages. For the GPU extra, see README.md ("GPU").

PYTHON ?= python3
VENV ?= .venv
TORCH_SPEC ?= torch==2.13.0
BIN := $(VENV)/bin
PY := $(BIN)/python
PIP := $(PY) -m pip install -q --disable-pip-version-check

.PHONY: install install-dev demo test test-all lint bench clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.torch: $(BIN)/activate
	$(PIP) "$(TORCH_SPEC)"
	touch $@

$(VENV)/.installed: $(VENV)/.torch pyproject.toml
	$(PIP) -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.torch pyproject.toml
	$(PIP) -e ".[dev]"
	touch $@

install: $(VENV)/.installed

install-dev: $(VENV)/.installed-dev

## Install everything and start the demo.
demo: install
	$(BIN)/encore demo

## Install what the tests need and run the default (fast, offline) test suite.
test: install-dev
	$(PY) -m pytest

## Every marker, including slow, integration and browser tests.
test-all: install-dev
	$(PY) -m pytest -m ""

lint: install-dev
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache
