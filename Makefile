# One command runs the pipeline end to end on sample data, one runs the tests. Both bootstrap .venv from the
# repository's own files (pyproject.toml pins the direct dependencies, constraints.txt the whole set).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo run test test-fast lint dev bench clean browser docs

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), f"Python 3.11 needed, got {sys.version}"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

## demo: generate sample exports into data/landing and run the whole pipeline once (twice is a no-op)
demo: $(STAMP)
	$(BIN)/pmw demo

## run: run the pipeline once on whatever is in data/landing
run: $(STAMP)
	$(BIN)/pmw run

## test: lint (ruff, sqlfluff) and the whole test suite (the report's browser test needs Debian's chromium)
test: $(STAMP) lint browser
	$(BIN)/pytest

## test-fast: ruff and the unit tests only (no subprocess, no dbt, no pipeline run); the loop while editing
test-fast: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest -q tests/unit

## browser: Debian's chromium for the headless test of report.html (apt-get; sudo when not root)
CHROMIUM := /usr/bin/chromium
browser:
	@test -x $(CHROMIUM) || { \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq --no-install-recommends chromium; }
	@$(CHROMIUM) --version 2>/dev/null

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pmw.lint_sql

## dev: the Dagster UI with the whole graph, sensor and schedule (http://127.0.0.1:3000)
# The definitions load the dbt manifest; prepare-dbt parses it first with the vars and data directory the runs use
# ($PMW_DATA_DIR / $PMW_CONFIG, read once by `pmw` here and by the `pmw` resource in each run).
dev: $(STAMP)
	mkdir -p dagster_home
	$(BIN)/pmw prepare-dbt
	DAGSTER_HOME=$(CURDIR)/dagster_home $(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000

## docs: the mart catalogue, dbt docs generated offline into data/docs/mart_catalogue.html (run make demo first)
docs: $(STAMP)
	$(BIN)/pmw docs

## bench: scale benchmarks (not part of the tests); N=events, default 1M
bench: $(STAMP)
	$(BIN)/python bench/bench_ingest.py --events $${N:-1000000}

clean:
	rm -rf data dbt_project/target dbt_project/logs
