# The two commands of the README: `make run` and `make test`. Both set up what they need.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PG_PORT ?= 54329

.PHONY: run test lint

$(BIN)/stabilog: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

# The service on the embedded SQLite default, migrations applied, on 127.0.0.1:8000.
run: $(BIN)/stabilog
	$(BIN)/stabilog serve

# The whole suite on SQLite and on a throwaway PostgreSQL 15 started for the run.
test: $(BIN)/stabilog
	@pg_dir=$$(mktemp -d /tmp/stabilog-pg.XXXXXX); \
	trap '.ci/postgres stop '"$$pg_dir" EXIT; \
	export STABILOG_TEST_POSTGRES_URL=$$(.ci/postgres start $$pg_dir $(PG_PORT)); \
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/mypy && \
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(BIN)/stabilog
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/mypy
