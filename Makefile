# mnv2lab: `make figures` regenerates every figure offline; `make test` runs the test suite.
# Both create .venv on first use (and again when pyproject.toml or constraints.txt changes): the
# package with its `test` and `lab` extras, every version pinned by constraints.txt.

PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

.PHONY: figures test test-fast lint format format-check venv clean-notebooks clean help slides lab

help:
	@echo "make figures          run every notebook (papermill) and regenerate figures/"
	@echo "make test             lint (ruff), then the whole test suite (pytest)"
	@echo "make test-fast        the tests not marked slow, for day-to-day work"
	@echo "make lint             ruff check (the rules in pyproject.toml) and ruff format --check"
	@echo "make format           ruff format the Python files (format-check: only report)"
	@echo "make clean-notebooks  strip outputs from notebooks/*.ipynb (git also does it on add)"
	@echo "make slides           16:9 deck from figures/ in the order of docs/story.toml -> build/slides/ (PDF, PNGs, notes.md)"
	@echo "make lab              JupyterLab on notebooks/ at 127.0.0.1 (prints the URL with its token)"

venv: $(STAMP)

# torch is pinned to 2.13.0 (pyproject.toml and constraints.txt): the CPU wheel on local disk.
# The pinned setuptools goes in first: the editable install is built with it (no build isolation).
# The clean filter makes git store notebooks without outputs (.gitattributes); skipped outside git.
$(STAMP): constraints.txt pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -c constraints.txt setuptools 2>&1 | { grep -v "is ignored" || true; }
	$(PY) -m pip install --quiet -c constraints.txt --no-build-isolation -e ".[test,lab]" 2>&1 \
	  | { grep -v "is ignored" || true; }
	$(PY) -c "import torch, mnv2lab, papermill; print('venv ready: torch', torch.__version__)"
	@if git rev-parse --git-dir >/dev/null 2>&1; then \
	  git config filter.clean-notebooks.clean "$(PY) tools/clean_notebooks.py --filter"; \
	fi
	@touch $(STAMP)

figures: $(STAMP)
	$(PY) tools/run_notebooks.py $(NOTEBOOKS)

test: lint
	$(PY) -m pytest $(PYTEST_ARGS)

test-fast: $(STAMP)
	$(PY) -m pytest -m "not slow" $(PYTEST_ARGS)

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: $(STAMP)
	$(PY) -m ruff format .

format-check: $(STAMP)
	$(PY) -m ruff format --check .

slides: $(STAMP)
	$(PY) tools/make_slides.py

# Loopback only, no browser; the URL with its token is printed. LAB_PORT=8890 make lab to move it.
LAB_PORT ?= 8888
lab: $(STAMP)
	$(PY) -m jupyterlab --no-browser --ip=127.0.0.1 --port=$(LAB_PORT) \
	  --ServerApp.root_dir=notebooks $(if $(filter 0,$(shell id -u)),--allow-root,)

clean-notebooks: $(STAMP)
	$(PY) tools/clean_notebooks.py notebooks/*.ipynb

clean:
	rm -rf build
