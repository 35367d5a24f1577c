# Two entry points for a fresh machine: `make synth` and `make test`. Both install what they need.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
NODE_BIN := $(CURDIR)/node_modules/.bin

# jsii runs on the pinned Node 22 LTS from package.json (the machine's Node 20 is end-of-life);
# the CDK CLI runs under the same node, first on PATH.
export JSII_NODE := $(NODE_BIN)/node
export PATH := $(NODE_BIN):$(CURDIR)/$(BIN):$(PATH)

.PHONY: install synth deploy test test-minimum lint typecheck bench lock clean

# The development environment: pyproject.toml's ranges resolved to the versions locked in
# constraints.txt, so snapshots are the same on every machine.
$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $@

# The oldest versions the library declares (each dependency's lower bound in pyproject.toml),
# installed into a fresh environment whenever pyproject.toml changes.
MIN_VENV := .venv-minimum
$(MIN_VENV)/.installed: pyproject.toml tools/minimums.py
	rm -rf $(MIN_VENV)
	$(PYTHON) -m venv $(MIN_VENV)
	$(MIN_VENV)/bin/pip install --quiet --upgrade pip
	$(MIN_VENV)/bin/python -m tools.minimums > $(MIN_VENV)/constraints.txt
	$(MIN_VENV)/bin/pip install --quiet -c $(MIN_VENV)/constraints.txt -e '.[dev]'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

install: $(VENV)/.installed node_modules/.installed

synth: install
	cdk synth --quiet
	@test -s cdk.out/KeyPhrasesStack.template.json && echo "wrote cdk.out/KeyPhrasesStack.template.json"

# Needs AWS credentials and a bootstrapped account (`cdk bootstrap`); not part of set-up.
deploy: install
	cdk deploy KeyPhrasesStack

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

test: install lint typecheck
	$(BIN)/pytest -n 2
	$(MAKE) test-minimum

# The whole suite on the declared minimums, snapshot comparisons aside (they hold for the locked
# versions). tests/test_packaging.py checks that this environment really has those versions.
test-minimum: node_modules/.installed $(MIN_VENV)/.installed
	PATH=$(CURDIR)/$(MIN_VENV)/bin:$$PATH CDK_KP_CONSTRAINTS=$(MIN_VENV)/constraints.txt \
		$(MIN_VENV)/bin/pytest -n 2 -p no:cacheprovider --ignore=tests/test_snapshots.py

# Figures, not pass/fail: polling cost against a fixed 60 s poller, synth time against an
# empty stack and the AWS Solutions Constructs peer (installed into .bench/ on first run), and a
# 25-shard batch's concurrency trace against one shard at a time, and the client's uploads
# (parallel against one at a time) and planning memory (100 MB and 1.5 GB files).
bench: install
	$(BIN)/python -m benchmarks.polling
	$(BIN)/python -m benchmarks.synth
	$(BIN)/python -m benchmarks.batch
	$(BIN)/python -m benchmarks.upload

# A fresh resolution of pyproject.toml's ranges, written to constraints.txt. Not part of set-up:
# run it to move the development environment forward, then read the snapshot diff.
lock:
	rm -rf .venv-lock
	$(PYTHON) -m venv .venv-lock
	.venv-lock/bin/pip install --quiet --upgrade pip
	.venv-lock/bin/pip install --quiet -e '.[dev]'
	{ sed -n '/^#/p' constraints.txt; .venv-lock/bin/pip freeze --exclude-editable; } > constraints.txt.new
	mv constraints.txt.new constraints.txt
	rm -rf .venv-lock

clean:
	rm -rf cdk.out .pytest_cache .mypy_cache .ruff_cache $(MIN_VENV)
