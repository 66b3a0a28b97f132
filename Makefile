# Two commands on a fresh machine:  `make run` (set-up + default study) and `make test` (set-up + tests).
SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# every install goes through constraints.txt: torch==2.13.0 (local CPU wheel), torchvision==0.28.0
PIP_INSTALL := $(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt

.PHONY: install run test test-fast test-slow test-faults test-browser lint typecheck benchmark clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP_INSTALL) -e '.[dev,grpc]' 2>&1 | { grep -v "^WARNING: Location" || true; }
	$(BIN)/python -c "import qsearch, torch, norse, optuna; assert torch.__version__.startswith('2.13.0'), torch.__version__"
	touch $(STAMP)

run: install
	$(BIN)/qsearch run studies/digits.yaml

lint: install
	$(BIN)/ruff check qsearch tests benchmarks

# mypy with the pydantic plugin ([tool.mypy] in pyproject.toml); zero errors on the package (make test runs it too)
typecheck: install
	$(BIN)/mypy qsearch

# ordered so that a lint or type error stops the run before pytest (also under make -j)
test: install lint
	$(BIN)/mypy qsearch
	$(BIN)/pytest -q

test-slow: install
	$(BIN)/pytest -q -m slow

# the fault probes (tests/faults): each drives `qsearch` as a user would, in subprocesses
test-faults: install
	$(BIN)/pytest -q -m faults

# needs Debian's chromium and chromium-driver (.ci/run installs them when missing)
test-browser: install
	$(BIN)/pytest -q -m browser

benchmark: install
	$(BIN)/python benchmarks/trial_speed.py

# the study-file reference, generated from qsearch/studyfile.py (tests/test_study_file_reference.py checks it)
.PHONY: docs
docs: install
	$(BIN)/python -m qsearch.studyfile_reference > docs/study-file.md

clean:
	rm -rf $(VENV) *.egg-info qsearch.db qsearch.db.artifacts pareto.html plots exports
