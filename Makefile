# The README's two commands: `make demo` and `make test`. Each creates .venv on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
MXCUBECORE_VERSION := 2.149.0
# What its mockup classes import beyond our own dependencies (mxcubecore.utils
# needs scipy.constants).
MXCUBECORE_TEST_DEPS := 'scipy>=1.11'

.PHONY: demo test bench lint format clean

$(STAMP): setup.cfg pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,dev]'
	# The real mxcubecore for the mxCuBE compatibility tests (tests/mxcube): its
	# pins (gevent<24, pytango<10.1, numpy<2, python-ldap) conflict with ours and
	# its hardware objects need none of them, so --no-deps.
	$(BIN)/pip install --quiet $(MXCUBECORE_TEST_DEPS)
	$(BIN)/pip install --quiet --no-deps 'mxcubecore==$(MXCUBECORE_VERSION)'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/hwr demo

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest

bench: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m benchmarks

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) build *.egg-info
