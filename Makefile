# One entry point. Every target sets up ./venv with the pinned dependencies on first use.
STACK ?= dev
VENV := venv
PY := $(VENV)/bin/python
PYTHON ?= python3

# With 256 MB for the rendering Lambda the sample panorama does not fit it: the demo shows both routes.
DEMO_ARGS ?= --set lambda.memoryMb=256
.PHONY: demo preview test lint review snapshots bench bench-e2e

demo: $(VENV)/.installed  ## The main job: STACK deployed into an in-process AWS emulator, sample images run through it
	$(PY) -m app.demo --stack $(STACK) $(DEMO_ARGS)

preview: $(VENV)/.installed  ## Offline `pulumi preview`: the resource tree of STACK under mocks
	$(PY) -m review.preview --stack $(STACK)

test: $(VENV)/.installed  ## Lint and run every test
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m pytest

review: $(VENV)/.installed  ## Offline review report of STACK (Markdown): written to .build/review/$(STACK).md and printed
	$(PY) -m review --stack $(STACK)

snapshots: $(VENV)/.installed  ## Refresh the committed graph snapshots, review/snapshots/<stack>.json, from every stack
	$(PY) -m review.snapshot --write

lint: $(VENV)/.installed
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

$(VENV)/.installed: requirements.txt requirements-dev.txt handlers/requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

bench: $(VENV)/.installed bench/node_modules/.installed  ## Image core vs naive Pillow vs sharp; not part of `test`
	$(PY) bench/run.py

bench-e2e: $(VENV)/.installed  ## Images/s and latency through the local cloud (200 uploads); not part of `test`
	$(PY) bench/e2e.py

bench/node_modules/.installed: bench/package.json bench/package-lock.json
	cd bench && npm ci --no-audit --no-fund
	touch $@
