.DEFAULT_GOAL := help
VENV ?= .venv
PY := $(VENV)/bin/python

help: ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

$(VENV)/bin/activate:
	python3 -m venv $(VENV)

install: $(VENV)/bin/activate ## install the service with dev tools (editable)
	$(VENV)/bin/pip install -q -e '.[dev,bench]'

run: install ## serve the API with demo data on SQLite
	$(VENV)/bin/sscmatch serve --demo

test: install ## run the test suite (PostgreSQL too when TEST_DATABASE_URL is set)
	$(VENV)/bin/pytest

lint: ## ruff
	$(VENV)/bin/ruff check .

fmt: ## ruff format and autofix
	$(VENV)/bin/ruff check --fix . && $(VENV)/bin/ruff format .

typecheck: ## mypy --strict
	$(VENV)/bin/mypy

migrate: ## upgrade the configured database
	$(VENV)/bin/sscmatch migrate

revision: ## autogenerate a migration: make revision m="Add something"
	$(VENV)/bin/alembic revision --autogenerate -m "$(m)"

bench: ## run the benchmarks and refresh docs/benchmarks.md
	$(PY) bench/quality.py && $(PY) bench/plan_perf.py && $(PY) bench/api_perf.py && $(PY) bench/list_perf.py && $(PY) bench/scoring_perf.py && $(PY) bench/crash.py && $(PY) bench/load.py

check: ## what CI runs
	bash .ci/run

.PHONY: help install run test lint fmt typecheck migrate revision bench check
