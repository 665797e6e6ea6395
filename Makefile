# The two commands of the README: `make run` and `make test`. Both set up first (idempotent).
VENV ?= .venv
PY := $(VENV)/bin/python
ARGS ?=

.PHONY: setup run test test-fast lint bench montecarlo clean

setup:
	@VENV=$(VENV) bash tools/setup.sh

run: setup
	$(PY) -m analysis $(ARGS)

# Two pytest workers (pytest-xdist); the tests that read the session's fast run share one
# worker (xdist_group "fast_run"), so the study runs once.
test: setup
	$(PY) -m pytest -q -n 2 --dist loadgroup

# The quick loop while editing: without the slow tests and those that need R (it says so).
test-fast: setup
	@echo "test-fast: skipping tests marked slow, r_base or r_fixest (make test runs them all)"
	HYPOTHESIS_PROFILE=fast $(PY) -m pytest -q -n 2 -m "not slow and not r_base and not r_fixest"

lint: setup
	$(VENV)/bin/pre-commit run --all-files

bench: setup
	$(PY) -m analysis bench

# The committed Monte Carlo (README, "Monte Carlo") into montecarlo/: every design, the DID
# and DML estimator sets, 500 replications of the study's design and 200 of each other
# (MC_REPS); run again with more, it resumes and adds.
MC_REPS ?= 200,study=500
montecarlo: setup
	$(PY) -m analysis montecarlo --design all --estimators did,dml --reps $(MC_REPS) --out montecarlo

clean:
	rm -rf output .pytest_cache .mypy_cache .ruff_cache
