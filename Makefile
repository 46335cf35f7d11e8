# netobs: `make run` starts a single node, `make test` runs every test. Both set up what they need.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test unit integration lint bench venv clean packages

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	$(BIN)/netobs run

# The system packages of scripts/system-packages.txt: installed when run as root, else named with the
# apt-get command to run, before any test starts.
packages:
	$(PYTHON) scripts/system_packages.py install

test: packages lint
	$(BIN)/python -m pytest -q -ra

unit: $(STAMP)
	$(BIN)/python -m pytest -q -ra tests/unit

integration: packages $(STAMP)
	$(BIN)/python -m pytest -q -ra tests/integration

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python bench/patterns.py
	$(BIN)/python bench/syslog_ingest.py
	$(BIN)/python bench/e2e_latency.py
	$(BIN)/python bench/traps.py
	$(BIN)/python bench/pollers.py
	$(BIN)/python bench/mcp_security.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
