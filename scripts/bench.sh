#!/usr/bin/env bash
# `make bench`: what a no-change `terraform plan` costs with the konoha provider, against
# Terraform's own floor (the same number of `terraform_data` resources), plus the provider's
# start-up time to the handshake line and its peak memory. Prints a Markdown table; the figures
# in docs/PERFORMANCE.md come from it. Not a test: nothing here passes or fails on a number.
#
#   scripts/bench.sh [N]      N resources of each kind (default 50), release build
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
count="${1:-50}"
runs=5

scripts/check-tools.sh >/dev/null
bao="${KONOHA_BAO_BIN:-$repo/.venv/bin/bao}"
[[ -x "$bao" ]] || bao="$(bash scripts/install-openbao.sh | tail -n 1)"
cargo build --release --bin terraform-provider-konoha >&2
binary="$repo/target/release/terraform-provider-konoha"

work="$(mktemp -d -t konoha-bench-XXXXXX)"
bao_pid=""
cleanup() {
    [[ -n "$bao_pid" ]] && kill "$bao_pid" 2>/dev/null && wait "$bao_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
export VAULT_ADDR="http://127.0.0.1:$port" VAULT_TOKEN="bench-token"
"$bao" server -dev -dev-no-store-token -dev-root-token-id="$VAULT_TOKEN" \
    -dev-listen-address="127.0.0.1:$port" >"$work/openbao.log" 2>&1 &
bao_pid=$!
until BAO_ADDR="$VAULT_ADDR" "$bao" status >/dev/null 2>&1; do sleep 0.1; done

# The provider runs under /usr/bin/time through a wrapper, so every process Terraform starts
# records its peak resident memory.
mkdir -p "$work/plugins"
cat >"$work/plugins/terraform-provider-konoha" <<WRAP
#!/usr/bin/env bash
exec /usr/bin/time -a -o "$work/rss.txt" -f "%M" "$binary" "\$@"
WRAP
chmod +x "$work/plugins/terraform-provider-konoha"
cat >"$work/dev.tfrc" <<TFRC
provider_installation {
  dev_overrides {
    "registry.terraform.io/konoha/konoha" = "$work/plugins"
  }
  direct {}
}
TFRC
export TF_CLI_CONFIG_FILE="$work/dev.tfrc" CHECKPOINT_DISABLE=1 TF_IN_AUTOMATION=1 TF_INPUT=0

mkdir "$work/konoha" "$work/floor"
{
    echo 'terraform {'
    echo '  required_providers {'
    echo '    konoha = { source = "konoha/konoha" }'
    echo '  }'
    echo '}'
    echo 'provider "konoha" {}'
    for i in $(seq 1 "$count"); do
        printf 'resource "konoha_spark_profile" "p%d" {\n  mount = "secret"\n  name = "bench/p%d"\n  executor_instances = %d\n}\n' "$i" "$i" "$((i % 8 + 1))"
    done
} >"$work/konoha/main.tf"
for i in $(seq 1 "$count"); do
    printf 'resource "terraform_data" "d%d" {\n  input = "p%d"\n}\n' "$i" "$i"
done >"$work/floor/main.tf"

(cd "$work/konoha" && terraform apply -auto-approve >/dev/null)
(cd "$work/floor" && terraform apply -auto-approve >/dev/null)

# Median wall time of `runs` no-change plans, in milliseconds.
median_plan_ms() {
    local dir="$1" times=()
    shift
    for _ in $(seq 1 "$runs"); do
        local start end
        start=$(date +%s%N)
        (cd "$dir" && terraform plan -detailed-exitcode "$@" >/dev/null)
        end=$(date +%s%N)
        times+=($(((end - start) / 1000000)))
    done
    printf '%s\n' "${times[@]}" | sort -n | sed -n "$(((runs + 1) / 2))p"
}

: >"$work/rss.txt"
konoha_ms=$(median_plan_ms "$work/konoha")
floor_ms=$(median_plan_ms "$work/floor")
norefresh_ms=$(median_plan_ms "$work/konoha" -refresh=false)
peak_kib=$(sort -n "$work/rss.txt" | tail -n 1)

# Start-up: from exec to the handshake line, median of `runs`, with a client certificate like
# Terraform's (ECDSA P-521, self-signed), so the server certificate is generated as in real use.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-521 -nodes -days 1 -subj /CN=localhost \
    -keyout "$work/client.key" -out "$work/client.pem" 2>/dev/null
handshake_ms=$(python3 - "$binary" "$runs" "$work/client.pem" <<'PY'
import os, subprocess, sys, time, statistics
binary, runs = sys.argv[1], int(sys.argv[2])
env = dict(os.environ, TF_PLUGIN_MAGIC_COOKIE="d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2",
           PLUGIN_PROTOCOL_VERSIONS="5", PLUGIN_MIN_PORT="20000", PLUGIN_MAX_PORT="29000",
           PLUGIN_CLIENT_CERT=open(sys.argv[3]).read())
samples = []
for _ in range(runs):
    start = time.perf_counter()
    p = subprocess.Popen([binary], env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    p.stdout.readline()
    samples.append((time.perf_counter() - start) * 1000)
    p.kill(); p.wait()
print(f"{statistics.median(samples):.1f}")
PY
)

cat <<TABLE
| measure | value |
|---|---|
| no-change \`terraform plan\`, $count \`konoha_spark_profile\` (median of $runs) | ${konoha_ms} ms |
| the same with \`-refresh=false\` (no Vault reads) | ${norefresh_ms} ms |
| no-change \`terraform plan\`, $count \`terraform_data\` (Terraform's floor) | ${floor_ms} ms |
| provider start to handshake line (median of $runs, with mutual TLS set up) | ${handshake_ms} ms |
| provider peak resident memory, any process during the plans | $((peak_kib / 1024)) MiB |
| release binary size | $(($(stat -c %s "$binary") / 1024 / 1024)) MiB |
TABLE
