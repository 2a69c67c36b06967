# trialflow — build targets. Needs only python3.11 (or python3 >= 3.11) on the PATH.
#
#   make tlf     set up .venv if needed, then run every stage into build/
#   make test    set up .venv if needed, then run the test suite
#   make lint    ruff over the repository
#   make clean   remove build/

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3 2>/dev/null)
VENV   := .venv
BIN    := $(VENV)/bin
# Reinstall only when pyproject.toml changes: the install is editable, so code edits
# need no reinstall, but new dependencies do.
STAMP  := $(VENV)/.installed

export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: tlf test lint clean setup

tlf: $(STAMP)
	$(BIN)/trialflow run --out build

test: $(STAMP)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .

clean:
	rm -rf build

setup: $(STAMP)

$(BIN)/python:
	@test -n "$(PYTHON)" || { echo "make: need python3.11 (or python3) on the PATH" >&2; exit 2; }
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -e '.[dev]'
	touch $(STAMP)
