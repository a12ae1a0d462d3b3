# smgr.server_manager: set-up, checks and tests. `make help` lists the targets.
# Every target is non-interactive; tool output goes to the terminal, logs to .build/logs/.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

ROOT := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
VENV := $(ROOT)/.venv
BIN := $(VENV)/bin
COLLECTIONS := $(ROOT)/.build/collections

export PATH := $(BIN):$(PATH)
export CONTAINERS_CONF := $(ROOT)/tests/containers.conf
export ANSIBLE_COLLECTIONS_PATH := $(COLLECTIONS)

.PHONY: help setup venv lint sanity units integration release molecule image test demo bench clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/^([a-z-]+):.*## /  make \1\t/' | expand -t 22

setup: ## install apt packages (as root, only missing ones), the venv (when requirements changed), the collection link
	@scripts/setup-host.sh

venv: # the venv and collection link only (fast no-op when up to date); a prerequisite of the tool targets
	@SMGR_SKIP_APT=1 SMGR_QUIET=1 scripts/setup-host.sh

lint: venv ## ruff check + format check, ansible-lint (production profile), shellcheck, changelog fragments
	@scripts/run-lint.sh

sanity: venv ## ansible-test sanity on a copy of the git-tracked files (no ignore entries)
	@scripts/run-sanity.sh

units: venv ## pytest tests/unit, and the bench in smoke mode (tests/bench: BENCH_QUICK=1 bench/run)
	@pytest tests/unit tests/bench

integration: venv ## every target in tests/integration/targets (see tests/integration/README.md)
	@scripts/run-integration.sh

molecule: venv ## every Molecule scenario in extensions/molecule (builds the test image when needed)
	@scripts/run-molecule.sh

image: ## build the Debian 12 test image localhost/smgr-debian12 (skipped when up to date; FORCE=1 rebuilds)
	@scripts/build-test-image.sh

release: venv ## build the collection tarball, install it into an empty path, ansible-doc and converge from it, EE context
	@scripts/check-release.sh

test: ## setup + lint + sanity + units + integration + release + molecule; stops at the first failure
	@scripts/run-steps.sh setup lint sanity units integration release molecule

demo: setup ## run the demo (scripts/demo.sh)
	@bash scripts/demo.sh

bench: setup ## run the benchmarks (bench/run; BENCH_QUICK=1 for the smoke mode)
	@bash bench/run

clean: ## remove test and build output (keeps .venv, the collection link, caches and the test image)
	rm -rf .build/sanity .build/integration .build/integration-output.* .build/logs .build/image-rootfs \
		tests/output .pytest_cache .ruff_cache
	find . -path ./.venv -prune -o -type d -name __pycache__ -prune -exec rm -rf {} +
