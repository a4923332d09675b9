#!/usr/bin/env bash
# `make release`: the Terraform Registry's release layout for the host platform, in dist/.
#
#   terraform-provider-konoha_<version>_<os>_<arch>.zip     the binary terraform-provider-konoha_v<version>
#   terraform-provider-konoha_<version>_manifest.json       terraform-registry-manifest.json, renamed
#   terraform-provider-konoha_<version>_SHA256SUMS          sha256 of every zip and of the manifest
#   terraform-provider-konoha_<version>_SHA256SUMS.sig      detached GPG signature of SHA256SUMS
#   signing-key.asc                                         the signing key's public half (not a
#                                                           registry file: upload it to the registry)
#
# The same names as .goreleaser.yml, which builds every platform in CI; tests/release.rs fails
# when the two drift apart.
#
# Building and packaging are separate steps: set KONOHA_RELEASE_BINARY to package a binary that
# is already built (the tests package the one cargo built for them); otherwise this runs
# `cargo build --release`. Settings, all optional:
#
#   KONOHA_RELEASE_VERSION  the version; default: the tag at HEAD (v1.2.3 -> 1.2.3), else Cargo.toml's
#   KONOHA_RELEASE_BINARY   an already-built binary to package; its --version must match
#   KONOHA_RELEASE_DIST     the output directory; default: dist/. Earlier release files in it
#                           (terraform-provider-konoha_*, signing-key.asc) are removed first
#   GPG_PRIVATE_KEY         an ASCII-armoured secret key to sign with (GPG_PASSPHRASE if it has one),
#   GPG_FINGERPRINT         and which of its keys to use; without GPG_PRIVATE_KEY a throwaway key
#                           is made for this run only
#
# gpg runs in a temporary GNUPGHOME that is deleted afterwards; the user's keyring is never read.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

project="terraform-provider-konoha"

die() {
    echo "release: $*" >&2
    exit 1
}

# Fails naming the Debian package for every missing tool (scripts/check-tools.sh can install them).
missing=()
for tool in zip:zip sha256sum:coreutils gpg:gnupg; do
    command -v "${tool%%:*}" >/dev/null 2>&1 || missing+=("${tool%%:*} (Debian package ${tool#*:})")
done
if ((${#missing[@]})); then
    die "missing tools: ${missing[*]}; install them, or run scripts/check-tools.sh as root to install them with apt-get"
fi

if [[ -n "${GPG_FINGERPRINT:-}" && -z "${GPG_PRIVATE_KEY:-}" ]]; then
    die "GPG_FINGERPRINT is set without GPG_PRIVATE_KEY; export the key (gpg --armor --export-secret-keys \$GPG_FINGERPRINT) into GPG_PRIVATE_KEY: this script never reads your keyring"
fi

# The version: what the caller says, else the tag at HEAD, else Cargo.toml's.
version="${KONOHA_RELEASE_VERSION:-}"
if [[ -z "$version" ]]; then
    tag="$(git describe --tags --exact-match --match 'v[0-9]*' 2>/dev/null || true)"
    if [[ -n "$tag" ]]; then
        version="${tag#v}"
    else
        version="$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)"
    fi
fi
version="${version#v}"
semver='^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$'
[[ "$version" =~ $semver ]] || die "version '$version' is not a semantic version such as 1.2.3 or 1.2.3-rc.1"

# The host platform in Go's names, which the registry and Terraform use.
case "$(uname -s)" in
    Linux) os=linux ;;
    Darwin) os=darwin ;;
    *) die "cannot name the operating system '$(uname -s)' the way Terraform does" ;;
esac
case "$(uname -m)" in
    x86_64 | amd64) arch=amd64 ;;
    aarch64 | arm64) arch=arm64 ;;
    *) die "cannot name the architecture '$(uname -m)' the way Terraform does" ;;
esac

# Build, unless the caller hands over a binary.
binary="${KONOHA_RELEASE_BINARY:-}"
if [[ -z "$binary" ]]; then
    echo "==> building $project $version (cargo build --release)"
    KONOHA_RELEASE_VERSION="$version" cargo build --release --locked --bin "$project"
    target_dir="$(cargo metadata --format-version 1 --no-deps |
        sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
    binary="$target_dir/release/$project"
fi
[[ -x "$binary" ]] || die "$binary is not an executable file"
# The binary must say the version its archive will be named for.
reported="$("$binary" --version)"
reported="${reported%%$'\n'*}"
[[ "$reported" == "$project $version" ]] ||
    die "$binary reports '$reported', not '$project $version'; build it with KONOHA_RELEASE_VERSION=$version"

dist="${KONOHA_RELEASE_DIST:-$repo/dist}"

# Everything is made in a temp dir and moved to $dist at the end, so a failure leaves no
# half-made release behind.
work="$(mktemp -d -t konoha-release-XXXXXX)"
export GNUPGHOME="$work/gnupg"
cleanup() {
    gpgconf --homedir "$GNUPGHOME" --kill all >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
mkdir -m 700 "$GNUPGHOME"
out="$work/out"
mkdir "$out"

# Archive: one file, executable, with the commit's time so the same commit gives the same zip.
stamp="$(git log -1 --format=%ct 2>/dev/null || date +%s)"
mkdir "$work/archive"
packaged="$work/archive/${project}_v${version}"
cp "$binary" "$packaged"
chmod 0755 "$packaged"
touch -d "@$stamp" "$packaged"
zip_name="${project}_${version}_${os}_${arch}.zip"
(cd "$work/archive" && TZ=UTC zip -q -X "$out/$zip_name" "${project}_v${version}")

manifest_name="${project}_${version}_manifest.json"
cp terraform-registry-manifest.json "$out/$manifest_name"

sums_name="${project}_${version}_SHA256SUMS"
(cd "$out" && sha256sum "$zip_name" "$manifest_name" >"$sums_name")

# The signing key: the one given, else a throwaway made without a passphrase.
gpg_batch=(gpg --batch --no-tty --quiet)
if [[ -n "${GPG_PRIVATE_KEY:-}" ]]; then
    "${gpg_batch[@]}" --import <<<"$GPG_PRIVATE_KEY" 2>/dev/null || die "GPG_PRIVATE_KEY is not a key gpg can import"
    fingerprint="${GPG_FINGERPRINT:-$("${gpg_batch[@]}" --list-secret-keys --with-colons |
        awk -F: '$1 == "fpr" { print $10; exit }')}"
    key_source="from GPG_PRIVATE_KEY"
else
    "${gpg_batch[@]}" --passphrase '' --quick-gen-key \
        "konoha release (throwaway, $(date -u +%Y-%m-%d)) <release@konoha.invalid>" rsa3072 sign 7d 2>/dev/null
    fingerprint="$("${gpg_batch[@]}" --list-secret-keys --with-colons | awk -F: '$1 == "fpr" { print $10; exit }')"
    key_source="throwaway, made for this run"
fi
[[ -n "$fingerprint" ]] || die "no signing key found"
sign=("${gpg_batch[@]}" --local-user "$fingerprint" --detach-sign --output "$out/$sums_name.sig")
if [[ -n "${GPG_PASSPHRASE:-}" ]]; then
    "${sign[@]}" --pinentry-mode loopback --passphrase-fd 3 "$out/$sums_name" 3<<<"$GPG_PASSPHRASE"
else
    "${sign[@]}" "$out/$sums_name"
fi
"${gpg_batch[@]}" --armor --export "$fingerprint" >"$out/signing-key.asc"

mkdir -p "$dist"
dist="$(cd "$dist" && pwd)"
# Only files this script writes, so a mistaken KONOHA_RELEASE_DIST loses nothing else.
find "$dist" -maxdepth 1 -type f \( -name "${project}_*" -o -name signing-key.asc \) -delete
mv "$out"/* "$dist/"

echo "==> $project $version for ${os}_${arch} in $dist"
(cd "$dist" && ls -1)
echo "signing key fingerprint: $fingerprint ($key_source)"
