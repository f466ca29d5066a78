# Two commands from a fresh clone: `make serve` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# `make serve PORT=8123` (or HOST=0.0.0.0 in a container) serves elsewhere; the links printed follow
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install serve test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

## make serve: install, migrate, seed the demo coach and athlete, plan, start on $(HOST):$(PORT)
serve: install
	$(BIN)/planner db upgrade
	$(BIN)/planner demo --url http://$(HOST):$(PORT)
	$(BIN)/planner serve --host $(HOST) --port $(PORT)

## make test: install, lint, then the whole suite (SQLite and PostgreSQL at 127.0.0.1:5432)
test: install lint
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: install
	$(BIN)/python bench/plan_bench.py
	$(BIN)/python bench/api_bench.py

clean:
	rm -rf $(VENV) var .pytest_cache .hypothesis
