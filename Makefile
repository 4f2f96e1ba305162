# Set-up and everyday commands. `make demo` and `make test` are the README's two set-up commands.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test test-unit test-integration typecheck lint bench clean conformance-cwl conformance-wdl fuzz fuzz-ci chaos chaos-ci appliance

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[test,cwl,wdl,aws,google,azure,kubernetes]'
	touch $(STAMP)

install: $(STAMP)

# A real workflow on the embedded defaults: a parallel merge sort of a generated file
# (local batch system, file: job store).
demo: install
	rm -rf demo-jobstore
	$(BIN)/python examples/mergesort.py file:demo-jobstore --generate 200000 --output demo-output/sorted.txt \
		--logLevel WARNING

# Lint, format check and type check, fast unit tests first, then integration tests that run real workflows, the bad-input and
# fault-injection slices, and the conformance suites.
test: install
	$(MAKE) lint
	$(BIN)/python -m mypy src/toil
	$(BIN)/python -m pytest -q tests/unit
	$(BIN)/python -m pytest -q tests/integration
	$(MAKE) fuzz-ci
	$(MAKE) chaos-ci
	$(MAKE) conformance-wdl
	$(MAKE) conformance-cwl

# The whole CWL v1.2 conformance suite (../shared/conformance/cwl-v1.2) with cwltest, -j2; fails on a
# test not listed in conformance/cwl-v1.2-known-failures.txt. CWL_TAGS=required runs only those.
conformance-cwl: install
	$(BIN)/python conformance/cwl_conformance.py $(if $(CWL_TAGS),--tags $(CWL_TAGS))

test-unit: install
	$(BIN)/python -m pytest -q tests/unit

test-integration: install
	$(BIN)/python -m pytest -q tests/integration

# ruff (configured in pyproject.toml): lint rules, and the formatter's check (`ruff format` fixes what it finds).
LINTED := src tests bench conformance examples infra
lint: install
	$(BIN)/ruff check $(LINTED)
	$(BIN)/ruff format --check $(LINTED)

typecheck: install
	$(BIN)/python -m mypy src/toil

# The WDL conformance suite (../shared/conformance/wdl, or $$WDL_CONFORMANCE_DIR): fails on a test not
# listed in conformance/wdl-known-failures.txt.
conformance-wdl: install
	$(BIN)/python conformance/wdl_conformance.py --jobs 2

# Fault injection on a ~500-job workflow (tests/chaos): 100 leader kills with --restart, job process kills,
# torn job store state, a full disk, two leaders, toil kill, failing file system calls; prints a table and
# fails on a missed target. Needs root (tmpfs). chaos-ci is the slice `make test` runs (about 2.5 minutes).
chaos: install
	$(BIN)/python -m tests.chaos.run

chaos-ci: install
	$(BIN)/python -m tests.chaos.run --slice

bench: install
	$(BIN)/python bench/run_all.py

# Bad inputs (CWL and WDL documents and inputs, Python job graphs, job store locators, command lines, toil
# subcommands), generated with hypothesis: every one must end in a one-line error (or be valid), never a traceback,
# and write nothing outside its own directory. Prints a table; fails on any case that breaks a rule.
fuzz: install
	$(BIN)/python -m tests.fuzz.run

# The slice that CI runs on every change.
fuzz-ci: install
	$(BIN)/python -m tests.fuzz.run --cases 100

# The appliance image Kubernetes pods run the worker in (localhost/toil:VERSION-pyX.Y, or $$TOIL_APPLIANCE_SELF),
# built with Podman without a registry and imported into containerd when it runs; skipped when up to date.
appliance: install
	bash infra/appliance.sh

clean:
	rm -rf $(VENV) demo-jobstore demo-output .pytest_cache build *.egg-info src/*.egg-info
