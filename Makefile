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

.PHONY: install synth deploy test lint typecheck bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
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

# Figures, not pass/fail: polling cost against a fixed 60 s poller, synth time against an
# empty stack and the AWS Solutions Constructs peer (installed into .bench/ on first run), and a
# 25-shard batch's concurrency trace against one shard at a time.
bench: install
	$(BIN)/python benchmarks/polling.py
	$(BIN)/python benchmarks/synth.py
	$(BIN)/python benchmarks/batch.py

clean:
	rm -rf cdk.out .pytest_cache .mypy_cache .ruff_cache
