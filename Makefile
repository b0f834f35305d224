# mnv2lab: `make figures` regenerates every figure offline; `make test` runs the test suite.
# Both create .venv from requirements.txt on first use (and again when it changes).

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

.PHONY: figures test venv clean-notebooks clean help slides lab

help:
	@echo "make figures          run every notebook (papermill) and regenerate figures/"
	@echo "make test             run the test suite (pytest)"
	@echo "make clean-notebooks  strip outputs from notebooks/*.ipynb before committing"
	@echo "make slides           16:9 deck from figures/ in the order of docs/story.toml -> build/slides/ (PDF, PNGs, notes.md)"
	@echo "make lab              JupyterLab on notebooks/ at 127.0.0.1 (prints the URL with its token)"

venv: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -r requirements.txt 2>&1 | { grep -v "is ignored" || true; }
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e . 2>&1 | { grep -v "is ignored" || true; }
	$(PY) -c "import torch, mnv2lab, papermill; print('venv ready: torch', torch.__version__)"
	@touch $(STAMP)

figures: $(STAMP)
	$(PY) tools/run_notebooks.py $(NOTEBOOKS)

test: $(STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

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
