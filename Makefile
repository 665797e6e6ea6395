# The two commands of the README: `make run` and `make test`. Both set up first (idempotent).
VENV ?= .venv
PY := $(VENV)/bin/python
ARGS ?=

.PHONY: setup run test lint bench clean

setup:
	@VENV=$(VENV) bash tools/setup.sh

run: setup
	$(PY) -m analysis $(ARGS)

test: setup
	$(PY) -m pytest -q

lint: setup
	$(VENV)/bin/pre-commit run --all-files

bench: setup
	$(PY) -m analysis bench

clean:
	rm -rf output .pytest_cache .mypy_cache .ruff_cache
