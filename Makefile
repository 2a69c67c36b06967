# trialflow — build targets. Needs only python3.11 (or python3 >= 3.11) on the PATH.
#
#   make tlf     set up .venv if needed, then run every stage into build/
#   make test    set up .venv if needed, then run the test suite
#   make test-fast  the suite without the tests that build whole studies (under a minute)
#   make lint    ruff over the repository
#   make bench   time every stage at 219, 2,190 and 21,900 subjects -> build/bench/
#                (BENCH_ARGS='--sizes 219,2190' for fewer, '--large' to add 43,800)
#   make clean   remove build/

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3 2>/dev/null)
VENV   := .venv
BIN    := $(VENV)/bin
# Reinstall only when pyproject.toml changes: the install is editable, so code edits
# need no reinstall, but new dependencies do. `make tlf` installs what runs; `make test`
# adds the development tools (the `dev` extra).
STAMP  := $(VENV)/.installed
DEV    := $(VENV)/.installed-dev

export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: tlf test test-fast lint clean setup bench

tlf: $(STAMP)
	$(BIN)/trialflow run --out build

# Tests run in parallel, one worker per core (pytest-xdist; TEST_JOBS=1 for one process).
# The workers share one build of the calibrated study (tests/conftest.py).
TEST_JOBS ?= auto

test: $(DEV)
	$(BIN)/python -m pytest -q -n $(TEST_JOBS)

# The edit-test loop: everything but the tests that build or simulate a whole study.
test-fast: $(DEV)
	$(BIN)/python -m pytest -q -n $(TEST_JOBS) -m "not slow"

lint: $(DEV)
	$(BIN)/ruff check .

bench: $(DEV)
	$(BIN)/python bench/bench_pipeline.py --out build/bench $(BENCH_ARGS)

clean:
	rm -rf build

setup: $(STAMP)

$(BIN)/python:
	@test -n "$(PYTHON)" || { echo "make: need python3.11 (or python3) on the PATH" >&2; exit 2; }
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml setup.py | $(BIN)/python
	$(BIN)/python -m pip install -e .
	touch $(STAMP)

$(DEV): pyproject.toml setup.py | $(BIN)/python
	$(BIN)/python -m pip install -e '.[dev]'
	touch $(STAMP) $(DEV)
