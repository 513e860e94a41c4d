# Two commands for a new user: `make run` and `make test`. Everything installs into .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DATA_DIR ?= .agentledger/data
PYTEST_ARGS ?=

.PHONY: run test lint format bench browser-deps clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev]"
	touch $(STAMP)

## Start the whole platform on the embedded store, with demo traffic.
run: $(STAMP)
	$(BIN)/agentledger db migrate --data-dir $(DATA_DIR)
	$(BIN)/agentledger up --demo --data-dir $(DATA_DIR)

## Install what the tests need (Chromium included) and run the whole suite.
test: $(STAMP) browser-deps
	$(BIN)/python -m pytest $(PYTEST_ARGS)

browser-deps:
	@if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then \
		echo "Installing Chromium for the browser tests"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -q && $$SUDO apt-get install -y -q chromium chromium-driver; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks examples scripts
	$(BIN)/ruff format --check src tests benchmarks examples scripts
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format src tests benchmarks
	$(BIN)/ruff check --fix src tests benchmarks

bench: $(STAMP)
	$(BIN)/python benchmarks/ingest.py
	$(BIN)/python benchmarks/redaction.py
	$(BIN)/python benchmarks/instrumentation.py

clean:
	rm -rf $(VENV) .agentledger .pytest_cache .mypy_cache .ruff_cache tests/artifacts
