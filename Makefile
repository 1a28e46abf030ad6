# Two commands set everything up on a fresh machine with Python 3.11+: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint fmt bench check clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

## make run: the bot with embedded defaults (in-process store, SQLite, demo pack) and the local web chat
run: $(STAMP)
	$(BIN)/intake db upgrade
	$(BIN)/intake serve --host 127.0.0.1 --port 8000

## make test: the whole suite (real Redis, PostgreSQL and Chromium are used when present)
test: $(STAMP)
	$(BIN)/pytest $(PYTEST_ARGS)

## make lint: ruff and mypy
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

fmt: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## make check: validate every knowledge pack (what admins run before publishing)
check: $(STAMP)
	$(BIN)/intake knowledge check knowledge

## make bench: the benchmarks whose figures README reports
bench: $(STAMP)
	$(BIN)/python benchmarks/triage_speed.py
	$(BIN)/python benchmarks/webhook_latency.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
