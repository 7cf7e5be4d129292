# Developer set-up in two commands (see README.md): `make run` and `make test`.
# Both create the virtual environment at .venv when it is missing.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test test-fast lint install system-deps deb

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# What a real Qt window and the installer checks need from the system (Xvfb, xcb libraries,
# makensis, desktop-file-validate): installed when missing and root.
system-deps:
	tools/install_system_deps.sh

# The app's main job: the window on the demo library (offline, tiny model); without a display,
# the terminal demo.
run: $(STAMP) system-deps
	$(VENV)/bin/photosearch gui --demo $(ARGS)

lint: $(STAMP)
	$(PY) -m ruff check photosearch tests tools benchmarks installers
	$(PY) -m ruff format --check photosearch tests tools benchmarks installers
	$(PY) -m mypy
	$(VENV)/bin/lint-imports --no-cache

# Tests run on one worker process per core (pytest-xdist), a test file at a time: the tests of a
# file share its costly fixtures (the .deb's build, a running worker, a window), built once.
# WORKERS=0 runs them in this process, one after another.
WORKERS ?= auto
XDIST := -n $(WORKERS) --dist loadfile

# Everything, as CI runs it: lint, types, import contracts, the whole suite (slowest tests listed).
test: lint system-deps
	$(PY) -m pytest $(XDIST) --durations=25 $(PYTEST_ARGS)

# The everyday loop: the same checks without the tests marked slow (those costing more than
# about 5 s: a fresh model export, the .deb, many kills).
test-fast: lint
	$(PY) -m pytest -m "not slow" $(XDIST) --durations=15 $(PYTEST_ARGS)

# The Linux installer, built and proven end to end (as root: it installs, runs and purges it).
deb:
	installers/linux/build.sh
	installers/linux/test.sh dist/photosearch_$$($(PYTHON) installers/bundle_contents.py)_$$(dpkg --print-architecture).deb
