# Two commands, each working on a fresh machine with Python 3.10+ and pip:
#   make test   unit tests on TensorFlow (.venv/), on JAX in an environment without TensorFlow
#               (.venv-jax/), the TensorFlow-only tests again on JAX, the torch backend's own tests;
#               beside the last three, the book built in the smoke profile (every chapter executed
#               once, any failing cell fails the build) and its pages checked, in headless Chromium too
#   make book   jupyter-book build, executing every chapter in the cpu profile
# Both create (or reuse) the project's own environment in .venv/.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-dev
# Keras + JAX (and PyTorch, CPU build), no TensorFlow: proves that training on small images needs
# no TensorFlow, and tests the torch backend the recorded runs train on (resnet_lib.train.torch_layout)
NOTF_VENV  := .venv-jax
NOTF_STAMP := $(NOTF_VENV)/.installed-jax
# the CPU build of PyTorch: pip takes it from the local wheel where there is one (CI); elsewhere
# set TORCH_SPEC to what your platform needs
TORCH_SPEC ?= torch==2.13.0
# pytest-xdist workers (CI has 2 cores): unit tests are shared out as workers free up
# (worksteal); nbval keeps each notebook's cells on one worker (loadscope)
WORKERS ?= 2
XDIST   := -n $(WORKERS) --dist worksteal
export TF_CPP_MIN_LOG_LEVEL ?= 2
export PYTHONUNBUFFERED := 1
export MPLBACKEND := Agg
# Python caches what it compiles (__pycache__), so each kernel and test worker after the first
# imports TensorFlow from bytecode: measured 6.6 s instead of 15-17 s with PYTHONDONTWRITEBYTECODE=1,
# which some shells set (the install uses --no-compile, so nothing is compiled ahead).
unexport PYTHONDONTWRITEBYTECODE
# The smoke build that make test checks, apart from make book's book/_build
BOOK_CHECK_DIR := .cache/book-smoke

.PHONY: test unit unit-tf unit-jax unit-jax-tf unit-torch book-then-jax-tf jax-then-torch envs nbval book book-check browser env clean

env: $(STAMP)

# pip install --no-compile: Python compiles what it imports, when it first imports it
# (measured: the JAX environment in 26 s instead of 60 s)
$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 10), "Python 3.10+ is needed, found " + sys.version' 
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --no-compile -e ".[dev]"
	touch $(STAMP)

$(NOTF_STAMP): pyproject.toml
	test -x $(NOTF_VENV)/bin/python || $(PYTHON) -m venv $(NOTF_VENV)
	$(NOTF_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(NOTF_VENV)/bin/python -m pip install --quiet --no-compile "$(TORCH_SPEC)"
	$(NOTF_VENV)/bin/python -m pip install --quiet --no-compile -e ".[jax,test]"
	touch $(NOTF_STAMP)

envs:
	$(MAKE) -j2 $(STAMP) $(NOTF_STAMP)

# One pass per backend. The second and third skip what the first covered (one_backend tests);
# the second runs without TensorFlow and fails if one is installed (test_no_tensorflow.py);
# the third runs on JAX what needs TensorFlow's tf.data or tf.distribute.
unit: envs
	$(MAKE) unit-tf unit-jax unit-jax-tf unit-torch

unit-tf: $(STAMP)
	KERAS_BACKEND=tensorflow $(PY) -m pytest $(XDIST) tests

unit-jax: $(NOTF_STAMP)
	RESNET_EXPECT_NO_TENSORFLOW=1 RESNET_ONE_BACKEND_DONE=1 KERAS_BACKEND=jax \
	  $(NOTF_VENV)/bin/python -m pytest $(XDIST) tests

unit-jax-tf: $(STAMP)
	RESNET_ONE_BACKEND_DONE=1 KERAS_BACKEND=jax $(PY) -m pytest $(XDIST) -m "tensorflow and not slow" tests

# the torch backend's own tests (the recorded runs' path), in the JAX environment that has torch
unit-torch: $(NOTF_STAMP)
	RESNET_EXPECT_NO_TENSORFLOW=1 RESNET_ONE_BACKEND_DONE=1 KERAS_BACKEND=torch \
	  $(NOTF_VENV)/bin/python -m pytest -m "torch and not slow" tests

nbval: $(STAMP)
	@if ls book/*.ipynb >/dev/null 2>&1; then \
	  RESNET_BOOK_PROFILE=smoke $(PY) -m pytest -n $(WORKERS) --dist loadscope --nbval-lax --nbval-current-env --ignore=book/_build book; \
	else echo "no notebooks under book/ yet"; fi

# The browser first: the unit tests of scripts/check_book_browser.py drive it too. Then the
# TensorFlow pass on both cores; then two halves of about equal length, one pytest worker each:
# the smoke build (one kernel at a time) and then the JAX-on-tf.data pass, beside the JAX pass
# and then torch's. Measured on 2 idle cores, fresh clone (benchmarks/make_test.md): 11:56 to
# 14:05 in all, by the hour; more processes than cores cost more than they save (everything at
# once: 13:08, in the morning's state).
# --output-sync keeps each one's log in one piece. Each chapter is executed once, by the smoke
# build: nbval (make nbval) executed every chapter a second time in the same profile, for the
# same check (no cell fails), so make test leaves it to those who want it.
test: browser envs
	$(MAKE) unit-tf
	$(MAKE) -j2 --output-sync=target book-then-jax-tf jax-then-torch XDIST=

# the two halves of make test's last phase, of about equal length
book-then-jax-tf:
	$(MAKE) book-check unit-jax-tf

jax-then-torch:
	$(MAKE) unit-jax unit-torch

# Debian's Chromium when none is there (root or sudo; scripts/install_browser.sh)
browser:
	bash scripts/install_browser.sh

# The pages as a reader meets them, on a quick build (smoke profile):
# scripts/check_book_html.py reads the HTML, scripts/check_book_browser.py lays each page out
# in headless Chromium at 1280 and 390 px.
book-check: $(STAMP) browser
	rm -rf $(BOOK_CHECK_DIR)/_build
	RESNET_BOOK_RUNS=$(abspath $(BOOK_CHECK_DIR))/runs RESNET_BOOK_DATA=$(abspath $(BOOK_CHECK_DIR))/data \
	RESNET_BOOK_STATIC=1 RESNET_BOOK_PROFILE=smoke $(VENV)/bin/jupyter-book build book \
	  --path-output $(BOOK_CHECK_DIR) --warningiserror --keep-going
	$(PY) scripts/check_book_html.py $(BOOK_CHECK_DIR)/_build/html
	$(PY) scripts/check_book_browser.py $(BOOK_CHECK_DIR)/_build/html

book: $(STAMP)
	# RESNET_BOOK_STATIC: progress is printed as one line per loop (a widget would be blank on the page)
	RESNET_BOOK_STATIC=1 RESNET_BOOK_PROFILE=cpu $(VENV)/bin/jupyter-book build book --warningiserror --keep-going
	# the pages as a reader meets them: no stderr, one widget each with its static view, sizes that fit
	$(PY) scripts/check_book_html.py book/_build/html
	$(PY) scripts/check_book_browser.py --if-browser book/_build/html
	@echo "The book is in book/_build/html/index.html"

clean:
	rm -rf book/_build $(BOOK_CHECK_DIR) .pytest_cache
