# One-command set-up: `make book` builds the book, `make test` runs every check.
# Both create .venv, install the pinned packages and the Debian packages the
# course needs (when run as root with apt-get), and prepare the datasets.
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
SHARED ?= ../shared
JOBS ?= 2
# Where datasets live; course_lib.data reads the same variable (default below).
export COURSE_DATA_DIR ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/course_lib
export MPLBACKEND := Agg
export PYTHONHASHSEED := 0

APT_PACKAGES := dataset-fashion-mnist chromium chromium-driver bubblewrap fonts-wqy-microhei postgresql
CIFAR_DIR := $(COURSE_DATA_DIR)/cifar-10-batches-py

.PHONY: help book test unit browser-test data system-deps venv test-venv bench clean

help:
	@echo "make book   build the HTML book into _build/html (installs everything first)"
	@echo "make test   unit tests, book build and browser check (what CI runs)"
	@echo "make unit   unit tests only"
	@echo "make bench  benchmark scripts in bench/ (prints tables)"

# ---- Python environment ---------------------------------------------------
# pip's "Location ... is ignored" notes come from this machine's pip config: hide them.
PIP := $(BIN)/python -m pip install -q --disable-pip-version-check
QUIET_PIP := 2>&1 | { grep -v 'is ignored: it is neither a file nor a directory' || true; }

$(VENV)/.stamp-base: requirements.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "installing Python packages into $(VENV) (requirements.txt)"
	@$(PIP) -r requirements.txt $(QUIET_PIP)
	@$(PIP) --no-deps -e . $(QUIET_PIP)
	@touch $@

$(VENV)/.stamp-test: $(VENV)/.stamp-base requirements-test.txt
	@echo "installing test peers into $(VENV) (requirements-test.txt: PyTorch CPU, Playwright)"
	@$(PIP) -r requirements-test.txt $(QUIET_PIP)
	@touch $@

venv: $(VENV)/.stamp-base
test-venv: $(VENV)/.stamp-test

# ---- Debian packages ------------------------------------------------------
system-deps:
	@if ! command -v dpkg >/dev/null 2>&1; then \
	  echo "note: not a Debian system; install Chromium and Fashion-MNIST yourself if you need them"; exit 0; fi; \
	missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing Debian packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	else echo "warning: missing Debian packages:$$missing (run: sudo apt-get install$$missing)"; fi

# ---- Data -----------------------------------------------------------------
# Offline here: build CIFAR-10 from ../shared/data when it is there; otherwise
# the course_lib loader downloads the official archive (MD5-checked, atomic).
data: $(VENV)/.stamp-base system-deps
	@if [ -f "$(CIFAR_DIR)/batches.meta" ] && [ -f "$(CIFAR_DIR)/test_batch" ]; then :; \
	elif [ -f "$(SHARED)/data/make_cifar10.py" ]; then \
	  $(BIN)/python "$(SHARED)/data/make_cifar10.py" "$(COURSE_DATA_DIR)"; \
	else $(BIN)/python -m course_lib.data fetch cifar10; fi
	$(BIN)/python -m course_lib.data check

# ---- Book -----------------------------------------------------------------
# COURSE_BOOK_BUILD=1: course_lib.widgets draws each explorer's frames at
# build time and shows them as HTML controls instead of live ipywidgets (the
# kernels that execute the chapters inherit it). MATPLOTLIBRC: both editions'
# kernels load book/matplotlibrc (course_lib.bookfigures), whatever their
# working directory. MPLBACKEND is
# unset for the build: the Agg exported above would keep plt.show() from
# putting any figure into the pages; unset, each kernel uses the inline backend.
# Sphinx cannot see that the glossary pages read book/glossary/*.yml through
# course_lib/glossary.py: mark a page for a rebuild when one of those is newer
# than the built page.
# The Chinese edition (book/zh/, the same code cells) is built next, into
# _build/html/zh/, by book/build_zh.py: it reuses the English edition's
# execution cache, so it adds Sphinx time but no chapter execution.
BOOK_ENV := env -u MPLBACKEND COURSE_BOOK_BUILD=1 OPENBLAS_NUM_THREADS=1 MATPLOTLIBRC=$(CURDIR)/book/matplotlibrc
GLOSSARY_PAGES := _build/html/book/glossary.html:book/glossary.md _build/html/zh/glossary.html:book/zh/glossary.md
book: $(VENV)/.stamp-base data
	@for pair in $(GLOSSARY_PAGES); do html=$${pair%%:*}; page=$${pair#*:}; \
	  if [ -f $$html ] && [ -n "$$(find book/glossary course_lib/glossary.py -newer $$html -print -quit)" ]; \
	  then touch $$page; fi; done
	$(BOOK_ENV) $(BIN)/jupyter-book build . --builder html -W -n --keep-going
	$(BOOK_ENV) $(BIN)/python book/build_zh.py -W -n --keep-going
	@echo "book: open _build/html/index.html (English) or _build/html/zh/index.html (中文)"

# ---- Tests ----------------------------------------------------------------
unit: $(VENV)/.stamp-test
	# one BLAS thread per test worker: OpenBLAS threads busy-wait and thrash when
	# two workers each start two of them on two cores.
	OPENBLAS_NUM_THREADS=1 $(BIN)/python -m pytest -q -n $(JOBS) -m "not browser" tests

# Reads the book that `book` just brought up to date (a no-change rebuild is
# quick), in Debian's headless Chromium; screenshots go to _build/screenshots/.
browser-test: $(VENV)/.stamp-test system-deps book
	$(BIN)/python -m pytest -q -m browser tests

test: unit book browser-test

bench: $(VENV)/.stamp-test data
	@for f in bench/bench_*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

clean:
	rm -rf _build .pytest_cache

# ---- Graded assignments (GRADE; see course_lib/grading/README.md) --------------
# solutions/<id>/<id>.ipynb is nbgrader's source, written by solutions/build_<a>.py;
# assignments/ is the student release, generated by nbgrader, never edited by hand.
.PHONY: assignments
# One line per assignment: <alias>:<id> (solutions/build_<alias>.py writes the source).
ASSIGNMENTS := a1:a1_knn_linear $(if $(wildcard solutions/build_a2.py),a2:a2_fc_nets) $(if $(wildcard solutions/build_a3.py),a3:a3_convnets)
assignments: $(VENV)/.stamp-base
	@set -e; for pair in $(ASSIGNMENTS); do a=$${pair%%:*}; \
	  echo "== $$a: solutions/build_$$a.py, then nbgrader generate_assignment"; \
	  $(BIN)/python solutions/build_$$a.py; \
	  $(BIN)/python -m course_lib.grading generate $$a; done

# make grade-a1: autograde the collected submissions of A1 (JOBS sandboxes at a time)
grade-%: $(VENV)/.stamp-base
	$(BIN)/python -m course_lib.grading autograde $* --workers $(JOBS)

# ---- The course's JupyterHub (deploy/README.md) ---------------------------------
# make hub: a demo hub on http://127.0.0.1:8000 with local Unix users (as root);
# make hub-clean removes the users and everything under $(HUB_ROOT);
# make test-hub: the end-to-end browser test (two students, one instructor).
HUB_ROOT ?= /srv/nn-course-hub
export COURSE_HUB_ROOT := $(HUB_ROOT)
HUB_APT_PACKAGES := python3-venv patchelf $(if $(shell command -v node),,nodejs) $(if $(shell command -v npm),,npm)
.PHONY: hub hub-setup hub-clean test-hub hub-deps student-wheel

deploy/node_modules/.stamp: deploy/package.json deploy/package-lock.json
	@command -v npm >/dev/null || { echo "npm is missing: apt-get install nodejs npm"; exit 1; }
	cd deploy && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

$(VENV)/.stamp-hub: $(VENV)/.stamp-base deploy/requirements-hub.txt
	@echo "installing JupyterHub into $(VENV) (deploy/requirements-hub.txt)"
	@$(PIP) -r deploy/requirements-hub.txt $(QUIET_PIP)
	@touch $@

hub-deps: $(VENV)/.stamp-hub deploy/node_modules/.stamp
	@$(MAKE) --no-print-directory system-deps APT_PACKAGES="$(HUB_APT_PACKAGES) bubblewrap"

# The students' course_lib (no reference, no grading specs) as a wheel in dist/
student-wheel: $(VENV)/.stamp-base
	$(BIN)/python -m course_lib.grading.student_package --out dist

hub-setup: hub-deps data
	$(BIN)/python deploy/hubctl.py setup

hub: hub-setup
	$(BIN)/python deploy/hubctl.py start

hub-clean:
	$(BIN)/python deploy/hubctl.py clean

test-hub: hub-setup $(VENV)/.stamp-test system-deps
	COURSE_HUB_E2E=1 $(BIN)/python -m pytest -q -p no:cacheprovider tests/test_hub_e2e.py
