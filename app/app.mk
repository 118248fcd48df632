# The sample application's targets, included by the Makefile: deleting app/ removes them with the sample.

# With 256 MB for the rendering Lambda the sample panorama does not fit it: the demo shows both routes.
DEMO_ARGS ?= --set lambda.memoryMb=256
# KEEP_CATALOG=1: after the run, the catalog's PostgreSQL stays up for the psql command the demo prints, until Ctrl-C.
KEEP_CATALOG ?=
.PHONY: demo bench bench-e2e

demo: $(VENV)/.installed  ## The main job: STACK deployed into an in-process AWS emulator, sample images run through it
	$(PY) -m app.demo --stack $(STACK) $(DEMO_ARGS)$(if $(KEEP_CATALOG), --keep-catalog)

bench: $(VENV)/.installed bench/node_modules/.installed  ## Image core vs naive Pillow, pyvips and sharp, and each entry point's INIT; not part of `test`
	$(PY) bench/run.py

bench-e2e: $(VENV)/.installed  ## Images/s and latency through the emulator (200 uploads); not part of `test`
	$(PY) bench/e2e.py

bench/node_modules/.installed: bench/package.json bench/package-lock.json
	cd bench && npm ci --no-audit --no-fund
	touch $@
