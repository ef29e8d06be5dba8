# The two commands the README opens with (hack/prereqs.sh first: it installs make):
#   hack/prereqs.sh && make demo  - bring up the local seed if no cluster is configured,
#                                   then provision a shoot
#   hack/prereqs.sh && make test  - every quality gate and test CI runs
# Each installs what it needs (apt, Go, venv, pip, Go builds) idempotently; `make prereqs`
# is hack/prereqs.sh (machine prerequisites and the seed's kubectl in the venv).

SHELL := /bin/bash
PYTHON ?= python3.11
VENV := $(CURDIR)/.venv
BIN := $(VENV)/bin
# The one place naming the Airflow (and cncf-kubernetes) versions: a pip constraints file.
PINS := airflow_provider_garden/pins.txt
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml $(PINS) | sha256sum | cut -c1-12)

export AIRFLOW_HOME ?= $(CURDIR)/.airflow
export AIRFLOW__CORE__DAGS_FOLDER ?= $(CURDIR)/dags
export AIRFLOW__CORE__LOAD_EXAMPLES ?= False
export AIRFLOW__CORE__UNIT_TEST_MODE ?= False
export GOTOOLCHAIN ?= local
export PATH := $(BIN):$(PATH)

.PHONY: prereqs venv lint unit integration integration-lanes e2e seed-teardown-test test long test-long demo bench seed-up seed-down seed-status images chart chart-sync clean

# Debian packages, Go, kernel modules, the venv and the seed's kubectl in it. Seconds
# when all is there; a cold first run builds the seed's Kubernetes (~7 min).
prereqs:
	@VENV=$(VENV) PYTHON=$(PYTHON) hack/prereqs.sh

venv: $(STAMP)
$(STAMP): pyproject.toml $(PINS)
	@echo "==> [venv] creating $(VENV) and installing the provider with its dev tools (first run: ~2 min)"
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/pip install -q --upgrade pip
	@hack/heartbeat.sh "pip install -e .[dev]" $(BIN)/pip install -q -e '.[dev]' --constraint $(PINS)
	@rm -f $(VENV)/.installed-* && touch $@
	@echo "==> [venv] ready"

lint: venv
	@echo "==> [lint] ruff check"
	@$(BIN)/ruff check .
	@echo "==> [lint] ruff format --check"
	@$(BIN)/ruff format --check .
	@echo "==> [lint] mypy airflow_provider_garden"
	@$(BIN)/mypy
	@echo "==> [lint] import-linter"
	@$(BIN)/lint-imports

# No Go, no network, no cluster: the chart tests (they build helm) are integration tests.
unit: venv
	@echo "==> [unit] pytest tests/unit"
	@$(BIN)/pytest -q tests/unit

# Integration tests bring the local seed up themselves (session fixture) unless
# KUBECONFIG / GARDEN_KUBECONFIG points at a cluster.
integration: venv
	@echo "==> [integration] pytest tests/integration (against a real cluster)"
	@$(BIN)/pytest -q tests/integration

# The same tests as LANES pytest processes at once on the one seed (tests/lanes.py):
# modules marked `serial` first and alone, then the rest balanced over the lanes by the
# last run's durations. What `make test` runs; `make integration` stays one process.
LANES ?= 2
integration-lanes: venv
	@echo "==> [integration] tests/integration in $(LANES) lanes (tests/lanes.py)"
	@$(BIN)/python tests/lanes.py --lanes $(LANES) --reports $(REPORTS)

e2e: venv
	@echo "==> [e2e] pytest tests/e2e (real Airflow)"
	@$(BIN)/pytest -q tests/e2e

# Stops the shared seed and proves nothing of it is left, then brings it back: last.
seed-teardown-test: venv
	@echo "==> [teardown] pytest -m teardown_seed (down leaves nothing; up again)"
	@$(BIN)/pytest -q -m teardown_seed tests/integration/test_local_seed.py

# Every stage in order, stopping at the first failure; always ends with the table of
# each stage's and the slowest test modules' durations (tests/budget.py). prereqs takes
# seconds after the README's hack/prereqs.sh; run alone, it builds the seed's kubectl.
TEST_STAGES := prereqs lint unit integration-lanes e2e seed-teardown-test
REPORTS := $(CURDIR)/.test-reports
test: venv
	@$(BIN)/python tests/budget.py --reports $(REPORTS) $(TEST_STAGES)

# Soaks and matrices beyond that budget (tests marked `long`): run before every release
# and by whoever changes their area (README, "Tests and their budget").
long: venv
	@echo "==> [long] pytest -m long tests/integration tests/e2e"
	@$(BIN)/pytest -q -m long tests/integration tests/e2e
test-long: venv
	@$(BIN)/python tests/budget.py --reports $(REPORTS)/long long

seed-up: venv
	@$(BIN)/garden local-seed up
seed-down: venv
	@$(BIN)/garden local-seed down
seed-status: venv
	@$(BIN)/garden local-seed status

demo: prereqs venv
	@$(BIN)/python -m airflow_provider_garden.cli.demo

# Release artefacts: the toolbox and Airflow images (podman), the Helm chart.
images: venv
	@$(BIN)/python -m airflow_provider_garden.cli.packaging images
chart: venv
	@$(BIN)/python -m airflow_provider_garden.cli.packaging chart
chart-sync: venv
	@$(BIN)/python -m airflow_provider_garden.cli.packaging chart-sync

bench: prereqs venv
	@$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) $(AIRFLOW_HOME) .mypy_cache .ruff_cache .pytest_cache
