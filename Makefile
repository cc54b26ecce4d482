# The two commands of the README (`make run`, `make test`) and their helpers.
# Each target installs what it needs into .venv/ first (once; again when setup.py changes).

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: help run test lint bench clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(STAMP): setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)  ## create .venv and install newswire with its test and dev extras

run: $(STAMP)  ## the main job on embedded defaults; pass options with ARGS="--duration 60"
	$(BIN)/newswire run $(ARGS)

test: $(STAMP)  ## every test (pass pytest options with ARGS="-k dateline")
	$(BIN)/python -m pytest $(ARGS)

lint: $(STAMP)  ## ruff over the code
	$(BIN)/ruff check pipeline transforms schemas tests benchmarks scripts

clean:  ## remove the virtual environment and caches
	rm -rf $(VENV) .pytest_cache build *.egg-info
