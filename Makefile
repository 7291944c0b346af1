# The two commands: `make run` and `make test`. Both set everything up first.
# Every variable of .env.example (or a .env file) is honoured.

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
RUN_DEPS := $(VENV)/.run-deps
DEV_DEPS := $(VENV)/.dev-deps
FRONTEND_BUILD := frontend/dist/index.html

.PHONY: run test test-slow bench lint format setup frontend clean stop help

# The Python and frontend set-ups are independent: let them run side by side.
MAKEFLAGS += --jobs=2

help:
	@echo "make run        set up and start the whole platform on http://127.0.0.1:$${PORT:-8000}"
	@echo "make test       set up and run the full test suite (lint, types, unit, integration, frontend, e2e)"
	@echo "make test-slow  fault-injection tests"
	@echo "make bench      run the benchmarks and rewrite docs/PERFORMANCE.md"
	@echo "make stop       stop the embedded PostgreSQL and Redis"

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip

$(RUN_DEPS): requirements.txt | $(PY)
	$(PIP) install -q -r requirements.txt
	touch $@

$(DEV_DEPS): requirements.txt requirements-dev.txt | $(PY)
	$(PIP) install -q -r requirements-dev.txt
	touch $(RUN_DEPS) $@

frontend:
	@if [ -f frontend/package.json ]; then $(MAKE) --no-print-directory $(FRONTEND_BUILD); fi

frontend/node_modules/.package-lock.json: frontend/package.json frontend/package-lock.json
	cd frontend && npm ci --no-audit --no-fund
	touch $@

$(FRONTEND_BUILD): frontend/node_modules/.package-lock.json $(shell find frontend/src frontend/index.html frontend/vite.config.ts -type f 2>/dev/null)
	cd frontend && npm run build

setup: $(RUN_DEPS) frontend
	$(PY) launcher.py setup

run: $(RUN_DEPS) frontend
	$(PY) launcher.py run

test: $(DEV_DEPS) frontend
	$(PY) launcher.py setup
	$(PY) scripts/test_all.py

test-slow: $(DEV_DEPS) frontend
	$(PY) -m pytest -m slow tests

bench: $(DEV_DEPS) frontend
	$(PY) launcher.py setup  # the candle and fan-out benchmarks read the platform's migrated database
	$(PY) launcher.py exec -- $(PY) bench/run_all.py

lint: $(DEV_DEPS)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy .

format: $(DEV_DEPS)
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

stop: $(RUN_DEPS)
	$(PY) launcher.py stop

clean:
	rm -rf $(VENV) frontend/node_modules frontend/dist
