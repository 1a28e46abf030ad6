# Two commands set everything up on a fresh machine with Python 3.11+: `make run` and `make test`.
# The first Python 3.11+ found on PATH is used; override with `make run PYTHON=/path/to/python3.12`.
PYTHON ?= $(shell for p in python3 python3.13 python3.12 python3.11; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null \
	&& echo $$p && break; done)
VENV := .venv
BIN := $(VENV)/bin
# Runtime dependencies for `make run`; the dev extras (pytest, ruff, mypy, playwright) for tests and lint.
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint fmt bench check purge clean

$(BIN)/python:
	@test -n "$(PYTHON)" || { echo "Python 3.11 or newer is needed (none found on PATH)." >&2; exit 1; }
	$(PYTHON) -m venv $(VENV) || { echo "Could not create $(VENV): on Debian/Ubuntu run: apt-get install python3-venv" >&2; exit 1; }
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $(STAMP)

$(DEV_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP) $(DEV_STAMP)

## make run: the bot with embedded defaults (in-process store, SQLite under var/, demo pack) and the local web chat
##           on http://127.0.0.1:8000 (health: /healthz, readiness: /readyz, staff desk: /staff/login)
run: $(STAMP)
	$(BIN)/intake db upgrade
	$(BIN)/intake serve --host $(HOST) --port $(PORT) --no-migrate

## make test: the whole suite (real Redis, PostgreSQL and Chromium are used when present, skipped with the
##            reason when not; CI=true turns those skips into failures). PYTEST_ARGS="-k store -x" to narrow.
test: $(DEV_STAMP)
	$(BIN)/pytest $(PYTEST_ARGS)

## make lint: ruff (lint and format) and mypy (strict), as CI runs them; all three run, any failure fails
lint: $(DEV_STAMP)
	@status=0; \
	echo "ruff check ."; $(BIN)/ruff check . || status=1; \
	echo "ruff format --check ."; $(BIN)/ruff format --check . || status=1; \
	echo "mypy"; $(BIN)/mypy || status=1; \
	exit $$status

fmt: $(DEV_STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## make check: validate every knowledge pack (what admins run before publishing)
check: $(STAMP)
	$(BIN)/intake knowledge check knowledge

## make purge: what the retention period would remove (dry run; `intake db purge` does it)
purge: $(STAMP)
	$(BIN)/intake db purge --dry-run

## make bench: the benchmarks whose figures README reports
bench: $(DEV_STAMP)
	@for f in benchmarks/[!_]*.py; do [ -e "$$f" ] || continue; echo "== $$f"; $(BIN)/python "$$f" || exit 1; done

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
