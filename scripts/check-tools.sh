#!/usr/bin/env bash
# Checks that the tools `make test` needs are installed and prints their versions. Fails, naming
# what to install, when cargo or terraform (>= 1.5) is missing. OpenBao is not checked here:
# scripts/install-openbao.sh installs it into .venv.
set -euo pipefail

status=0
fail() {
    echo "check-tools: $*" >&2
    status=1
}

if command -v cargo >/dev/null 2>&1; then
    echo "cargo:         $(cargo --version)"
else
    fail "cargo not found on PATH: install the Rust toolchain (rustup) to build and test the provider"
fi

if cargo nextest --version >/dev/null 2>&1; then
    echo "test runner:   $(cargo nextest --version | head -n 1)"
else
    echo "test runner:   cargo test (cargo-nextest not installed)"
fi

# The same lookup as tests/support/terraform/workdir.rs: TF_ACC_TERRAFORM_PATH, else PATH.
terraform="${TF_ACC_TERRAFORM_PATH:-}"
if [[ -n "$terraform" && ! -x "$terraform" ]]; then
    fail "TF_ACC_TERRAFORM_PATH=$terraform is not an executable file"
    terraform=""
elif [[ -z "$terraform" ]]; then
    terraform="$(command -v terraform || true)"
    if [[ -z "$terraform" ]]; then
        fail "terraform not found on PATH: the acceptance tests need the real terraform CLI (>= 1.5); install it or set TF_ACC_TERRAFORM_PATH"
    fi
fi
if [[ -n "$terraform" ]]; then
    version="$(CHECKPOINT_DISABLE=1 "$terraform" version -json 2>/dev/null |
        sed -n 's/.*"terraform_version": *"\([^"]*\)".*/\1/p')"
    IFS=. read -r major minor _ <<<"${version:-0.0.0}"
    if [[ "$major" =~ ^[0-9]+$ && "$minor" =~ ^[0-9]+$ ]] && ((major > 1 || (major == 1 && minor >= 5))); then
        echo "terraform:     $version ($terraform)"
    else
        fail "$terraform is terraform '${version:-unknown}'; the acceptance tests need >= 1.5"
    fi
fi

if [[ -f "$(dirname "${BASH_SOURCE[0]}")/install-openbao.sh" ]] && ! command -v python3 >/dev/null 2>&1; then
    fail "python3 not found on PATH: scripts/install-openbao.sh needs it (with the venv module) to install OpenBao"
fi

exit "$status"
