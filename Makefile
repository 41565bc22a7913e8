# Two commands on a fresh machine with Python 3.11+ and make: `make run`, `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=
PORT ?= 8000
SCALE ?= default
# `make bench SECTIONS=import,slices,pages,soak` adds the soak (10 minutes of mixed traffic).
SECTIONS ?= import,slices,pages

.PHONY: install run test lint format browser bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required")'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: install
	$(PY) -m bzpeer.dev run --port $(PORT)

# The real-browser tests drive Debian's chromium through Playwright.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "Installing Debian's chromium for the browser tests"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium >/dev/null; }

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy .

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

test: install browser lint
	$(PY) -m bzpeer.dev test $(PYTEST_ARGS)

bench: install
	$(PY) -m bzpeer.dev exec $(PY) -m bench --scale $(SCALE) --sections $(SECTIONS)

clean:
	rm -rf $(VENV) .data .pytest_cache .mypy_cache .ruff_cache
