# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed

.PHONY: setup test demo lint clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip
	# The CPU wheel of torch first: a plain `torch` would pull a multi-GB CUDA build.
	$(PIP) install torch==2.13.0
	$(PIP) install -e ".[all,dev]"
	touch $(STAMP)

test: setup
	$(PY) -m pytest $(PYTEST_ARGS)

demo: setup
	$(PY) -m nas_meta_tune.cli demo

lint: setup
	$(VENV)/bin/ruff check nas_meta_tune tests examples benchmarks

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache
