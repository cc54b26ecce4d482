# The two commands of the README (`make run`, `make test`) and their helpers.
# Each target installs what it needs into .venv/ first (once; again when setup.py or the lock
# changes), at the exact versions of the lock, constraints.txt.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LOCK := constraints.txt
# The lock applies to every pip call, the isolated build of newswire itself included.
LOCKED := PIP_CONSTRAINT=$(abspath $(LOCK))

.PHONY: help install run test lint bench lock test-latest clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(STAMP): setup.py $(LOCK)
	$(PYTHON) -m venv $(VENV)
	$(LOCKED) $(BIN)/python -m pip install --quiet pip setuptools wheel
	$(LOCKED) $(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)  ## create .venv and install newswire with its test and dev extras, from the lock

run: $(STAMP)  ## the main job on embedded defaults; pass options with ARGS="--duration 60"
	$(BIN)/newswire run $(ARGS)

test: $(STAMP)  ## every test (pass pytest options with ARGS="-k dateline")
	$(BIN)/python -m pytest $(ARGS)

lint: $(STAMP)  ## ruff over the code
	$(BIN)/ruff check pipeline transforms schemas tests benchmarks scripts

lock:  ## refresh constraints.txt: the newest versions setup.py allows, resolved in a scratch venv
	rm -rf .venv-lock
	$(PYTHON) -m venv .venv-lock
	.venv-lock/bin/python -m pip install --quiet --upgrade pip setuptools wheel
	.venv-lock/bin/python -m pip install --quiet -e '.[dev]'
	.venv-lock/bin/python scripts/lock.py write .venv-lock $(LOCK)
	rm -rf .venv-lock

test-latest:  ## the tests on the newest versions setup.py allows (not the lock): an upstream release that breaks us shows here first
	rm -rf .venv-latest
	$(PYTHON) -m venv .venv-latest
	.venv-latest/bin/python -m pip install --quiet --upgrade pip setuptools wheel
	.venv-latest/bin/python -m pip install --quiet --upgrade -e '.[dev]'
	.venv-latest/bin/python scripts/lock.py diff .venv-latest $(LOCK)
	.venv-latest/bin/python -m pytest $(ARGS)

clean:  ## remove the virtual environments and caches
	rm -rf $(VENV) .venv-lock .venv-latest .pytest_cache .hypothesis build *.egg-info
