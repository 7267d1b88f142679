# The newcomer's commands. Each does its own set-up first (scripts/setup.sh).
#   make demo    run the store on this machine and say what runs
#   make test    lint, type-check and the whole test suite
#   make bench   the benchmarks (one JSON line per figure)
#   make fuzz    every parser the outside world reaches, over 1,000,000 generated inputs
#   make screenshots  the README's screenshots, from the browser tests
#   make package the store's .deb and the simulators' (dist/); make package-test tries them
#   make lock    refresh uv.lock (the one lock: setup, CI and the package install from it)
SHELL := /bin/bash
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.edge-agent-installed

.PHONY: demo test lint typecheck bench fuzz screenshots setup clean lock package repo package-test

demo: setup
	$(BIN)/edge-agent demo

test: setup lint typecheck
	$(BIN)/pytest

NODE_BIN := $(VENV)/node/node_modules/.bin
WEB := edge_agent/web

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(NODE_BIN)/prettier --check "$(WEB)/*.js" "$(WEB)/*.html" "$(WEB)/*.css" "$(WEB)/*.json"
	NODE_TOOLS=$(VENV)/node $(NODE_BIN)/eslint --max-warnings 0 "$(WEB)"

typecheck: setup
	$(BIN)/mypy

bench: setup
	$(BIN)/python bench/codes.py
	$(BIN)/python bench/llrp.py
	$(BIN)/python bench/verify.py
	$(BIN)/python bench/pipeline.py
	$(BIN)/python bench/daemon.py
	$(BIN)/python bench/sync.py
	$(BIN)/python bench/api.py
	$(BIN)/python bench/fiscal.py
	$(BIN)/python bench/fanin.py
	$(BIN)/python bench/security.py
	$(BIN)/python bench/gate.py
	$(BIN)/python bench/rf.py
	$(BIN)/python bench/age.py

fuzz: setup
	$(BIN)/python -m tests.fuzz.run --runs-per-target 150000

screenshots: setup
	scripts/screenshots.sh

setup: $(STAMP)

# the store's Debian package and the simulators' (dist/*.deb), from uv.lock
package: setup
	packaging/build-deb.sh

# a signed apt repository of dist/*.deb (dist/repo); GNUPGHOME and REPO_KEY pick the key
repo: package
	packaging/build-repo.sh

# the packages on a fresh Debian 12 root: install, sell, upgrade, downgrade, purge
package-test: setup
	EDGE_AGENT_PACKAGE_TEST=1 $(BIN)/pytest -n 0 -s tests/package

# newer releases within pyproject.toml's ranges, then the venv and the licence table from them
lock: setup
	$(BIN)/uv lock --upgrade
	VENV=$(VENV) scripts/setup.sh
	$(BIN)/python scripts/licences.py --write

$(STAMP): pyproject.toml uv.lock scripts/setup.sh
	VENV=$(VENV) scripts/setup.sh
	touch $@

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis build dist *.egg-info
