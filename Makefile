# Two commands from a fresh clone: `make serve` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install serve test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

## make serve: install, migrate, seed the demo coach and athlete, plan, start on 127.0.0.1:8000
serve: install
	$(BIN)/planner db upgrade
	$(BIN)/planner demo
	$(BIN)/planner serve --host 127.0.0.1 --port 8000

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
