# Crosswire: `make run` sets up and serves; `make test` sets up and runs the tests.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
MODEL ?= translate-zh_en-1_9
PORT ?= 50051

.PHONY: setup run test bench proto

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@

# Fetch the model (once) and serve on 127.0.0.1:$(PORT) until Ctrl-C / SIGTERM.
run: setup
	$(BIN)/crosswire models fetch $(MODEL)
	$(BIN)/crosswire serve --port $(PORT)

test: setup
	$(BIN)/python -m pytest

bench: setup
	$(BIN)/python benchmarks/serving.py

# Regenerate the Python code of the contract and lint it (rules: proto/buf.yaml).
proto: setup
	$(BIN)/python proto/generate.py
	$(BIN)/buf lint proto
