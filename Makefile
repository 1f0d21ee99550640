# goldlab: `make` sets up a venv and builds the book; `make test` runs every test.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
export GOLDLAB_PROFILE ?= quick
export TF_CPP_MIN_LOG_LEVEL ?= 2

.PHONY: all setup book screenshots test lint test-jax test-tf215 test-units test-pages execute full clean

all: book

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[book,dev]"
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $@

book: setup
	$(BIN)/jupyter-book build . -W -n --keep-going

# Every page of the built book in headless Chromium at 1,400 and 420 px: screenshots and layout defects in
# _build/screenshots/ (report.md); fails when a page has a defect. Needs chromium; not part of `make test`.
screenshots: book
	$(BIN)/python .ci/screenshots.py --html _build/html --out _build/screenshots

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The model, monitor and training-loop tests again under Keras-JAX (TensorFlow is the default backend).
test-jax: setup
	KERAS_BACKEND=jax $(BIN)/pytest -q -p no:cacheprovider tests/test_models.py tests/test_monitor.py tests/test_monitor_zoo.py tests/test_loops.py \
	    tests/test_monitor_fit.py tests/test_clipping.py

# The practice page's pasted TapeMonitor on the blog's own stack, TensorFlow 2.15 with tf.keras (Keras 2), in a
# venv of its own (tensorflow-cpu only, no goldlab): the page's cell against an independent GradientTape.
PYTHON311  ?= python3.11
TF215_VENV ?= build/venv-tf215

test-tf215: $(TF215_VENV)/.installed
	$(TF215_VENV)/bin/python .ci/tf215_snippet.py book/practice.ipynb

$(TF215_VENV)/.installed:
	@start=$$(date +%s); $(PYTHON311) -m venv $(TF215_VENV) && \
	    $(TF215_VENV)/bin/pip install -q "tensorflow-cpu==2.15.*" && \
	    echo "TensorFlow 2.15 venv installed in $$(( $$(date +%s) - start )) s"
	touch $@

# The unit tests (TensorFlow backend).
test-units: setup
	KERAS_BACKEND=tensorflow $(BIN)/pytest -q -p no:cacheprovider tests

# Every chapter re-executed under nbval in the quick profile (TensorFlow backend), in the book's order.
test-pages: setup
	KERAS_BACKEND=tensorflow $(BIN)/pytest -q --nbval-lax -p no:cacheprovider notebooks book

# The parts run two at a time (CI has 2 cores; most of a test's time is one core's Python and XLA work), each
# part's output kept together; test-pages, the longest, starts first and so closes the log.
test: setup
	$(MAKE) -j2 --output-sync=target test-pages test-units lint test-jax test-tf215 book

NOTEBOOKS := notebooks/01_diagnose.ipynb notebooks/02_clip.ipynb notebooks/03_orthogonal.ipynb \
             notebooks/04_residual.ipynb notebooks/05_long_memory.ipynb \
             book/why_fails.ipynb book/what_decides.ipynb \
             book/practice.ipynb book/results.ipynb book/intro.ipynb

# Re-execute every notebook in place in $(GOLDLAB_PROFILE), without timing metadata (what gets committed).
execute: setup
	for nb in $(NOTEBOOKS); do \
	    $(BIN)/jupyter nbconvert --to notebook --execute --inplace --ExecutePreprocessor.timeout=-1 \
	        --ExecutePreprocessor.record_timing=False $$nb || exit 1; done
	$(BIN)/python .ci/clean_notebooks.py $(NOTEBOOKS)

# The full profile: the blog's 50 epochs x 5 seeds (meant for a GPU), then the notebooks on its results.
full: setup
	GOLDLAB_PROFILE=full $(BIN)/python -m goldlab ablation --profile full --out results/full
	$(MAKE) execute GOLDLAB_PROFILE=full

clean:
	rm -rf _build .pytest_cache
