# Gangplank: `make run` to try it, `make test` to prove it. See README.md.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
PORT ?= 8000
UV_INSTALL = $(BIN)/uv pip install --quiet --python $(BIN)/python

# The suite's services: PostgreSQL, Redis (each test session uses its own queue).
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/gangplank
TEST_BROKER_URL ?= redis://127.0.0.1:6379/0

.PHONY: install lock run test test-fast lint format bench bench-dora bench-home bench-events clean

install: $(VENV)/.installed

# Installs come from the lock files, hash-checked: requirements-build.lock (uv, and the
# setuptools that builds xstatic-bootstrap, an sdist whose setup.py still needs
# pkg_resources, hence setuptools<81 and --no-build-isolation) with the venv's own pip, then
# requirements.lock with uv, in a fraction of pip's time, compiled to bytecode once (else each
# process of each start compiles what it imports where PYTHONDONTWRITEBYTECODE is set).
$(VENV)/.installed: pyproject.toml requirements.lock requirements-build.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check --no-compile --require-hashes \
	  -r requirements-build.lock
	$(BIN)/python .ci/check_lock.py
	$(UV_INSTALL) --compile-bytecode --require-hashes --no-build-isolation -r requirements.lock
	$(UV_INSTALL) --no-deps --no-build-isolation -e .
	touch $@

# Regenerates both lock files from pyproject.toml (the runtime dependencies and the `dev`
# extra) for CPython 3.11 on Linux x86_64, keeping the current pins of what did not change;
# `make lock UPGRADE=1` moves every pin to the newest release allowed.
LOCK_FLAGS = --quiet --generate-hashes --python-version 3.11 \
  --python-platform x86_64-unknown-linux-gnu --custom-compile-command "make lock" \
  $(if $(UPGRADE),--upgrade)

lock:
	@test -x $(BIN)/uv || { $(PYTHON) -m venv $(VENV) && $(BIN)/pip install --quiet uv; }
	$(BIN)/uv pip compile pyproject.toml --extra dev $(LOCK_FLAGS) -o requirements.lock
	printf 'setuptools<81\nwheel\nuv\n' | $(BIN)/uv pip compile - -c requirements.lock \
	  $(LOCK_FLAGS) -o requirements-build.lock

run: install
	@if [ "$${GANGPLANK_SANDBOX:-on}" != off ] && ! command -v bwrap >/dev/null; then \
	  echo "Gangplank runs every playbook in a bubblewrap sandbox, and bwrap is missing:"; \
	  echo "  sudo apt-get install bubblewrap    (Debian, Ubuntu; 'dnf install bubblewrap' on Fedora)"; \
	  echo "or, to try it without one (unsafe: playbooks see everything the worker does):"; \
	  echo "  GANGPLANK_SANDBOX=off make run"; \
	  exit 1; \
	fi
	$(BIN)/python manage.py setup_local
	@PATH="$(BIN):$$PATH" PORT=$(PORT) GANGPLANK_HTTPS=false $(BIN)/python deploy/run_local.py

# The example catalogue passes gangplank-lint (its fixtures run in the sandbox, ~40 s on two
# cores) before the suite runs; CATALOG_LINT=0 skips it, for a quick targeted run.
test: install
	export DATABASE_URL="$${DATABASE_URL:-$(TEST_DATABASE_URL)}" \
	  CELERY_BROKER_URL="$${CELERY_BROKER_URL:-$(TEST_BROKER_URL)}" \
	  GANGPLANK_DATA_DIR="$${GANGPLANK_DATA_DIR:-$(CURDIR)/var/test}" \
	  GANGPLANK_HTTPS=false PATH="$(BIN):$$PATH"; \
	$(if $(filter 0,$(CATALOG_LINT)),,$(BIN)/gangplank-lint playbooks &&) \
	$(BIN)/pytest $(if $(PYTEST_MARKERS),-m "$(PYTEST_MARKERS)") $(PYTEST_ARGS)

# The tests that need neither the real worker nor chromium (markers set in tests/conftest.py).
test-fast:
	@$(MAKE) --no-print-directory test PYTEST_MARKERS="not worker and not browser"

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy platform

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: install
	export DATABASE_URL="$${DATABASE_URL:-$(TEST_DATABASE_URL)}" \
	  CELERY_BROKER_URL="$${CELERY_BROKER_URL:-$(TEST_BROKER_URL)}" \
	  GANGPLANK_DATA_DIR="$${GANGPLANK_DATA_DIR:-$(CURDIR)/var/bench}" \
	  GANGPLANK_HTTPS=false PATH="$(BIN):$$PATH"; \
	$(BIN)/python bench/run_overhead.py

# What the DORA figures cost at 100,000 runs (PostgreSQL, a database of its own).
bench-dora: install
	export DATABASE_URL="$${DATABASE_URL:-$(TEST_DATABASE_URL)}" \
	  GANGPLANK_DATA_DIR="$${GANGPLANK_DATA_DIR:-$(CURDIR)/var/bench}" \
	  GANGPLANK_HTTPS=false PATH="$(BIN):$$PATH"; \
	$(BIN)/python bench/dora.py

bench-home: install
	export DATABASE_URL="$${DATABASE_URL:-$(TEST_DATABASE_URL)}" \
	  GANGPLANK_DATA_DIR="$${GANGPLANK_DATA_DIR:-$(CURDIR)/var/bench}"; \
	$(BIN)/python bench/home.py $(BENCH_ARGS)

# How fast a run's events are stored, against a plain COPY (PostgreSQL, a database of its own).
bench-events: install
	export DATABASE_URL="$${DATABASE_URL:-$(TEST_DATABASE_URL)}" \
	  GANGPLANK_DATA_DIR="$${GANGPLANK_DATA_DIR:-$(CURDIR)/var/bench}"; \
	$(BIN)/python bench/events.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var/test .pytest_cache .mypy_cache
