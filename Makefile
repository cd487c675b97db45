# Pictorium. `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.DEFAULT_GOAL := help

help: ## List the targets
	@grep -hE '^[a-z][a-z-]*:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install -q -e .
	@touch $@

$(VENV)/.installed-test: $(VENV)/.installed pyproject.toml
	$(BIN)/pip install -q -e '.[test]'
	@touch $@

install: $(VENV)/.installed static ## Create .venv and install Pictorium
faces: $(VENV)/.installed-faces ## Install the face-recognition extra (dlib-bin, face model; `make run` does it)

# A failed install does not stop `make test`: the face tests then skip and say why.
$(VENV)/.installed-faces: $(VENV)/.installed pyproject.toml scripts/install_faces.sh
	scripts/install_faces.sh $(BIN) && touch $@ || echo "faces extra NOT installed: face tests will skip"
static: static/vendor/htmx.min.js ## Fetch the pinned htmx into static/vendor/

static/vendor/htmx.min.js: scripts/fetch_htmx.py | $(BIN)/python
	$(BIN)/python scripts/fetch_htmx.py

# Face recognition is part of the product: `make run` installs the face extra (the model ships
# inside its wheel). Detection still stays off until an admin turns it on (System settings).
run: install faces ## Run Pictorium (web, worker, scheduler) on http://127.0.0.1:8000
	$(BIN)/pictorium up

lint: $(VENV)/.installed-test ## ruff, import-linter contracts and mypy
	$(BIN)/ruff check webapp tests bench scripts
	$(BIN)/ruff format --check webapp tests bench scripts
	$(BIN)/lint-imports
	$(BIN)/mypy webapp

services: ## Start PostgreSQL and Redis when down; install Chromium when missing
	@scripts/ensure-services.sh

# Azurite (Microsoft's Azure Storage emulator) for the azure_blob storage tests: the version
# pinned in tests/azurite/package-lock.json, into tests/azurite/node_modules (gitignored).
AZURITE := tests/azurite/node_modules/.bin/azurite-blob
azurite: $(AZURITE) ## Install the pinned Azurite (npm) for the Azure Blob storage tests
$(AZURITE): tests/azurite/package.json tests/azurite/package-lock.json | services
	npm ci --prefix tests/azurite --no-audit --no-fund --loglevel=error
	@touch $@

# Test processes per run (pytest-xdist). Each gets its own database, Redis index and DATA_DIR;
# `make test PYTEST_WORKERS=0` runs in one process.
PYTEST_WORKERS ?= 2

test: $(VENV)/.installed-test static services azurite faces lint ## Install the test tools and run the whole suite on SQLite and PostgreSQL
	PICTORIUM_TEST_DB=sqlite $(BIN)/pytest -q -n $(PYTEST_WORKERS) $(PYTEST_ARGS)
	PICTORIUM_TEST_DB=postgres $(BIN)/pytest -q -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

test-long: $(VENV)/.installed-test static services azurite faces ## The slow tests at full size and the long_only scenarios on more backends (PICTORIUM_LONG=1), both engines
	PICTORIUM_LONG=1 PICTORIUM_TEST_DB=sqlite $(BIN)/pytest -q -n $(PYTEST_WORKERS) -m "slow or long_only" $(PYTEST_ARGS)
	PICTORIUM_LONG=1 PICTORIUM_TEST_DB=postgres $(BIN)/pytest -q -n $(PYTEST_WORKERS) -m "slow or long_only" $(PYTEST_ARGS)

bench: install ## Run the benchmarks (see README)
	@for b in bench/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean: ## Remove .venv and fetched files (keeps data/)
	rm -rf $(VENV) static/vendor

.PHONY: help install static run lint services test test-long bench clean faces
