# The two commands of the README: `make run` and `make test`. Both set up what they need: `run`
# installs only what serving needs, `test` adds the test tools (the `test` extra) on top.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PG_PORT ?= 54329

.PHONY: run test lint

$(BIN)/pip:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# One stamp per install, so `make run` after `make test` does not reinstall, and a changed
# pyproject.toml installs again.
$(VENV)/.serve-installed: pyproject.toml | $(BIN)/pip
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.test-installed: pyproject.toml | $(BIN)/pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

# The service on the embedded SQLite default, migrations applied, on 127.0.0.1:8000.
run: $(VENV)/.serve-installed
	$(BIN)/stabilog serve

# The whole suite on SQLite and on a throwaway PostgreSQL 15 started for the run.
test: $(VENV)/.test-installed
	@pg_dir=$$(mktemp -d /tmp/stabilog-pg.XXXXXX); \
	trap '.ci/postgres stop '"$$pg_dir" EXIT; \
	export STABILOG_TEST_POSTGRES_URL=$$(.ci/postgres start $$pg_dir $(PG_PORT)); \
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/mypy && \
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(VENV)/.test-installed
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/mypy
