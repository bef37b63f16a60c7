# Crosswire: `make run` sets up and serves; `make test` sets up and runs the tests.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
MODEL ?= translate-zh_en-1_9
PORT ?= 50051

.PHONY: setup run test bench proto dictionaries

setup: $(VENV)/.installed dictionaries

# The English-Russian dictionaries alignment reads its word evidence from (Debian's mueller7-dict and
# dict-freedict-eng-rus, GPL, read at run time, never copied into the repository). Installed where
# apt-get works as root; elsewhere alignment runs without them and says so in its log.
dictionaries:
	@if [ ! -e /usr/share/dictd/mueller7.index ] && command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
		echo "installing the English-Russian dictionaries (mueller7-dict, dict-freedict-eng-rus)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mueller7-dict dict-freedict-eng-rus >/dev/null \
		|| echo "could not install them: alignment will run without dictionary evidence"; \
	fi

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@# The TypeScript/JavaScript plugins of proto/buf.gen.yaml, where npm exists (tests/test_stubs.py).
	@if command -v npm >/dev/null; then npm ci --silent --no-audit --no-fund --prefix proto/plugins; fi
	touch $@

# Fetch the model (once) and serve on 127.0.0.1:$(PORT) until Ctrl-C / SIGTERM.
run: setup
	$(BIN)/crosswire models fetch $(MODEL)
	$(BIN)/crosswire serve --port $(PORT)

test: setup tests/interop/node_modules/.installed
	$(BIN)/python -m pytest

# The Node packages of the interop test (tests/test_node_interop.py), where npm exists; without npm it skips.
tests/interop/node_modules/.installed: tests/interop/package-lock.json
	@if command -v npm >/dev/null; then npm ci --silent --no-audit --no-fund --prefix tests/interop && touch $@; fi

bench: setup
	$(BIN)/python benchmarks/serving.py

# Regenerate the Python code of the contract and lint it (rules: proto/buf.yaml).
proto: setup
	$(BIN)/python proto/generate.py
	$(BIN)/buf lint proto
