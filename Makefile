# One entry point. Every target sets up ./venv with the pinned dependencies on first use.
STACK ?= dev
VENV := venv
PY := $(VENV)/bin/python
PYTHON ?= python3

# The application's own targets and test requirements (the sample's live in app/): a fork that deletes app/ keeps a
# working Makefile, with the platform's targets only.
APP_REQUIREMENTS := $(wildcard app/requirements-dev.txt)
-include app/app.mk
.PHONY: preview test lint review snapshots package

preview: $(VENV)/.installed  ## Offline `pulumi preview`: the resource tree of STACK under mocks
	$(PY) -m review.preview --stack $(STACK)

test: $(VENV)/.installed  ## Lint and run every test
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m pytest

review: $(VENV)/.installed  ## Offline review report of STACK (Markdown): written to .build/review/$(STACK).md and printed; options in REVIEW_ARGS
	$(PY) -m review --stack $(STACK) $(REVIEW_ARGS)

snapshots: $(VENV)/.installed  ## Refresh the committed graph snapshots, review/snapshots/<stack>.json, from every stack
	$(PY) -m review.snapshot --write

package: $(VENV)/.installed  ## Regenerate the component package's schema.json and profile_args.py (components/)
	$(PY) -m components.package

lint: $(VENV)/.installed
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

$(VENV)/.installed: requirements.txt requirements-dev.txt $(APP_REQUIREMENTS) $(wildcard handlers/requirements.txt)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt $(addprefix -r ,$(APP_REQUIREMENTS))
	touch $@
