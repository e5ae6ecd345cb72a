# Entry points: `make demo` and `make test` work on a fresh clone (see README.md).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed

.PHONY: demo test test-datalayer lint bench services clean

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -r requirements-dev.txt
	touch $@

venv: $(STAMP)

## services: installs redis-server and pgbouncer (Debian) when missing.
services:
	@bash scripts/ensure-services.sh

demo: $(STAMP) demo-infra
	$(PY) -m datalayer demo

test: $(STAMP) services test-infra-deps
	$(PY) -m pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

bench: $(STAMP)
	$(PY) -m bench --repeat 3

clean:
	rm -rf $(VENV) .datalayer cdk.out .pytest_cache .mypy_cache .ruff_cache

# Infrastructure targets (synth, scanners, infra test dependencies) live in infra.mk.
include infra.mk
