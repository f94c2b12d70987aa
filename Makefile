# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed

.PHONY: setup postgres test demo lint clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip
	# The CPU wheel of torch first: a plain `torch` would pull a multi-GB CUDA build.
	$(PIP) install torch==2.13.0
	$(PIP) install -e ".[all,dev]"
	touch $(STAMP)

# The distributed-storage tests start their own PostgreSQL server on loopback; install the Debian
# packages when they are missing and we can (root with apt-get), else those tests are skipped.
postgres:
	@if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "Installing PostgreSQL from Debian packages (for tests/test_fault_tolerance.py)"; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get install -y -q --no-install-recommends postgresql >/dev/null \
			|| { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends postgresql >/dev/null; }; \
		service postgresql stop >/dev/null 2>&1 || true; \
	else echo "PostgreSQL not found and not installable here: its tests will be skipped"; fi

# two pytest-xdist workers (CI has 2 cores); tests/conftest.py keeps the Ray tests on one worker
# and the multi-process storage tests on one worker, one at a time. PYTEST_ARGS= runs serially.
PYTEST_ARGS ?= -n 2 --dist loadgroup

test: setup postgres
	$(PY) -m pytest $(PYTEST_ARGS)

demo: setup
	$(PY) -m nas_meta_tune.cli demo

lint: setup
	$(VENV)/bin/ruff check nas_meta_tune tests examples benchmarks
	$(VENV)/bin/lint-imports --no-cache pyproject.toml
	$(VENV)/bin/mypy

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache
