# One command runs the pipeline end to end on sample data, one runs the tests. Both bootstrap .venv from the
# repository's own files (pyproject.toml pins the direct dependencies, constraints.txt the whole set).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo run test test-fast test-scenarios ci lint lint-py lint-sql dev bench clean browser postgres docs bi-clients init parity-spark java

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

## test: ruff and the tests of tests/{unit,dbt,integration,e2e} (the report's browser test needs Debian's chromium,
## the BI-client test the DuckDB 1.x clients of `make bi-clients`); ~5 minutes on an idle 2-core machine.
## TESTS=tests runs every folder in one session, scenarios and faults included (CI; they need `make postgres`).
# Two pytest-xdist workers; the whole suite (TESTS=tests, CI) runs three: its ~35 pipeline runs wait on their dbt
# process, SQLite and fsync part of the time, and a third worker fills those gaps. Idle 2-core machine: the whole
# suite 1,119 s with three against 1,472 s with two (before this commit's instance storage too); the default
# folders 389 s with two against 426 s with three. A module and its fixtures stay on one worker, and so do all the
# modules reading the shared pipeline run (tests/conftest.py refines --dist loadfile), so a session builds that run
# once. PYTEST_WORKERS=1 runs serially.
PYTEST_WORKERS ?= 2
PYTEST := $(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadfile
TESTS ?= tests/unit tests/dbt tests/integration tests/e2e
test: $(STAMP) lint-py browser bi-clients
	$(PYTEST) $(TESTS)

## test-scenarios: the whole-pipeline scenarios on data of their own and the fault injection suite
## (tests/{scenarios,faults}; the Dagster-on-PostgreSQL test needs `make postgres`'s server)
test-scenarios: $(STAMP) postgres
	$(PYTEST) tests/scenarios tests/faults

## ci: what CI (.ci/run) runs on a fresh clone: the README's test command over every folder in one session (one
## shared run, the workers kept busy), sqlfluff, and the dbt project on Spark
ci: postgres
	$(MAKE) test TESTS=tests PYTEST_WORKERS=3
	$(MAKE) lint-sql parity-spark

## test-fast: ruff and the unit tests only (no subprocess, no dbt, no pipeline run); the loop while editing
# (two workers: the unit tests never wait on a process; 118 s with two, 145 s with three)
test-fast: $(STAMP) lint-py
	$(PYTEST) -q tests/unit

## bi-clients: the BI clients the published marts.duckdb must open, each in its own .venv-bi/<name>/ (pip --target,
## from PyPI, never into .venv): DuckDB 1.1.3 and 1.4.4 (Evidence's connector), the DuckDB 1.4.4 CLI binary (PyPI's
## duckdb-cli wheel), and Superset's route, duckdb-engine
## with SQLAlchemy below 2.0.45 (2.0.45+ and 2.1 reflect columns through pg_catalog.pg_collation, which DuckDB lacks)
BI := .venv-bi
BI_CLIENTS := duckdb-1.1.3=duckdb==1.1.3 duckdb-1.4.4=duckdb==1.4.4 \
	superset-duckdb-engine=duckdb-engine==0.17.0,sqlalchemy==2.0.44,duckdb==1.4.4 \
	duckdb-cli-1.4.4=duckdb-cli==1.4.4
bi-clients: $(STAMP)
	@for spec in $(BI_CLIENTS); do \
		dir=$(BI)/$${spec%%=*}; pins=$$(echo "$${spec#*=}" | tr , ' '); \
		test -f $$dir/.installed && continue; \
		echo "installing $$pins into $$dir"; rm -rf $$dir; \
		$(BIN)/pip install --quiet --no-warn-conflicts --target $$dir $$pins || exit 1; \
		if [ -d $$dir/bin ]; then chmod +x $$dir/bin/*; fi; \
		touch $$dir/.installed; \
	done

## browser: Debian's chromium for the headless test of report.html (apt-get; sudo when not root)
CHROMIUM := /usr/bin/chromium
browser:
	@test -x $(CHROMIUM) || { \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq --no-install-recommends chromium; }
	@$(CHROMIUM) --version 2>/dev/null

## postgres: Debian's PostgreSQL server for the test of the Dagster instance on PostgreSQL
## (tests/scenarios/test_postgres_instance.py starts its own throwaway server with it; apt-get, sudo when not root)
POSTGRES_INITDB := /usr/lib/postgresql/*/bin/initdb
postgres:
	@ls $(POSTGRES_INITDB) >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		$$SUDO apt-get update -qq && \
		$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql; }
	@ls $(POSTGRES_INITDB)

## parity-spark: the dbt project on Apache Spark against DuckDB, mart for mart (tests/support/spark_parity.py,
## docs/scale-out.md): builds the default sample with `pmw demo` (or reuses PARITY_DATA_DIR=<a built data dir>), runs
## seeds and models on the profile's `spark` output (PySpark in the dbt process, one Spark session; SPARK_UNIT_TESTS=1
## adds the dbt unit tests Spark can run, ~15 s each there), compares every mart; exits non-zero on any difference
## beyond the float tolerance.
# The spark extra goes into .venv, not a venv of its own: the parity run needs the whole project too (pmw demo,
# the configuration's vars, DuckDB), constraints.txt pins one set that resolves with dbt-spark, and pyspark is
# only imported when a dbt target is `spark`; a second venv would reinstall ~130 packages for these 4.
SPARK_STAMP := $(VENV)/.installed-spark
PARITY_DIR := .parity-spark
PARITY_DATA_DIR ?=
parity-spark: $(SPARK_STAMP) java
	rm -rf $(PARITY_DIR)/spark
	@if [ -z "$(PARITY_DATA_DIR)" ]; then \
		chmod -R u+w $(PARITY_DIR)/data 2>/dev/null; rm -rf $(PARITY_DIR)/data; mkdir -p $(PARITY_DIR); \
		echo "building the default sample on DuckDB into $(PARITY_DIR)/data"; \
		$(BIN)/pmw --data-dir $(PARITY_DIR)/data demo > $(PARITY_DIR)/duckdb-demo.log 2>&1 || \
			{ tail -40 $(PARITY_DIR)/duckdb-demo.log; exit 1; }; \
	fi
	$(BIN)/python -m tests.support.spark_parity --data-dir $(or $(PARITY_DATA_DIR),$(PARITY_DIR)/data) \
		--spark-dir $(PARITY_DIR)/spark $(if $(SPARK_UNIT_TESTS),--unit-tests)

$(SPARK_STAMP): $(STAMP)
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev,spark]'
	touch $(SPARK_STAMP)

## java: Java 17 for PySpark (Debian's openjdk-17-jre-headless; apt-get, sudo when not root)
java:
	@java -version 2>&1 | grep -q 'version "17\.' || { \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		$$SUDO apt-get update -qq && \
		$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends openjdk-17-jre-headless; }
	@java -version 2>&1 | head -1

## lint: ruff (lint-py, part of make test) and sqlfluff with the dbt templater (lint-sql, ~1.5 min; CI runs it)
lint: lint-py lint-sql

lint-py: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

lint-sql: $(STAMP)
	$(BIN)/python -m pmw.lint_sql

## dev: the Dagster UI with the whole graph, sensors and schedule (http://127.0.0.1:3000), on the data directory's
## own Dagster instance (data/dagster_home, or $DAGSTER_HOME), the one `make demo` and `pmw run` record into.
# `pmw dev` prepares the dbt manifest and the instance, then execs `dagster dev` (Ctrl-C stops it within seconds).
dev: $(STAMP)
	exec $(BIN)/pmw dev

## docs: the mart catalogue, dbt docs generated offline into data/docs/mart_catalogue.html (run make demo first)
docs: $(STAMP)
	$(BIN)/pmw docs

## bench: scale benchmarks (not part of the tests); N=events, default 1M
bench: $(STAMP)
	$(BIN)/python bench/bench_ingest.py --events $${N:-1000000}

clean:
	chmod -R u+w $(PARITY_DIR) 2>/dev/null || true
	rm -rf data dbt_project/target dbt_project/logs $(PARITY_DIR)
