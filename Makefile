# Encore's two set-up commands:  `make demo`  and  `make test`.
# Both create .venv and install the CPU build of torch first: on these machines
# `pip install torch==2.13.0` takes a local CPU wheel, while an open range would pull
# several GB of CUDA packages. For the GPU extra, see README.md ("GPU").

PYTHON ?= python3
VENV ?= .venv
TORCH_SPEC ?= torch==2.13.0
VLLM_VENV ?= .venv-vllm
BIN := $(VENV)/bin
PY := $(BIN)/python
PIP := $(PY) -m pip install -q --disable-pip-version-check

.PHONY: install install-dev browser vllm-env demo test test-fast test-all lint bench clean

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

## Headless Chromium (Debian's package) for the browser test.
browser:
	bash tests/setup/install_chromium.sh

## The real vLLM (CPU build) in its own virtual environment, for the integration test.
vllm-env:
	bash tests/setup/vllm_env.sh $(VLLM_VENV)

## Install what the tests need (Python packages, Chromium, the vLLM environment) and run
## every test CI runs: unit tests, the real vLLM server, the Gradio server, the browser.
test: install-dev browser vllm-env
	ENCORE_REQUIRE_VLLM=1 ENCORE_VLLM_PYTHON=$(abspath $(VLLM_VENV))/bin/python \
		$(PY) -m pytest -m "not slow and not gpu"

## Only the fast offline unit tests (no servers, no browser).
test-fast: install-dev
	$(PY) -m pytest

## Every marker, including slow, integration and browser tests.
test-all: install-dev
	$(PY) -m pytest -m ""

## Style, types and layering: ruff, mypy (packages and settings in pyproject.toml) and
## import-linter's contracts. CI (.ci/run) runs it before the tests.
lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache
