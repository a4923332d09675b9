//! Generates the tfplugin5 and go-plugin gRPC server code from `proto/`, and fixes the version
//! the binary reports.
//!
//! Uses protox, a pure-Rust protobuf compiler, so building needs no system `protoc`. Only server
//! code is generated; the tests talk to the server through tonic's generic client instead.

use std::error::Error;

/// The proto files, relative to the crate root. All live under the single include root `proto`.
const PROTOS: [&str; 3] = [
    "proto/tfplugin5.proto",
    "proto/grpc_controller.proto",
    "proto/grpc_stdio.proto",
];

/// Set by `scripts/release.sh` and `.goreleaser.yml` to the version of the release tag (without
/// its `v`); unset, the binary reports `Cargo.toml`'s version.
const RELEASE_VERSION_VAR: &str = "KONOHA_RELEASE_VERSION";

/// The variable that asks the tests for a real control plane (see `tests/support/cluster.rs`).
const ASSETS_ENV: &str = "KUBEBUILDER_ASSETS";

fn main() -> Result<(), Box<dyn Error>> {
    // `konoha_real_cluster` marks a build whose tests run on a real control plane, so a test
    // that only a real API server can answer is reported as ignored on the double rather than
    // passing without having checked anything.
    println!("cargo::rustc-check-cfg=cfg(konoha_real_cluster)");
    println!("cargo:rerun-if-env-changed={ASSETS_ENV}");
    if std::env::var_os(ASSETS_ENV).is_some_and(|dir| !dir.is_empty()) {
        println!("cargo:rustc-cfg=konoha_real_cluster");
    }
    // Watching the directory reruns codegen when any proto changes, and only then.
    println!("cargo:rerun-if-changed=proto");
    println!("cargo:rerun-if-env-changed={RELEASE_VERSION_VAR}");
    println!("cargo:rustc-env=KONOHA_VERSION={}", version()?);
    let descriptors = protox::compile(PROTOS, ["proto"])?;
    tonic_prost_build::configure()
        .build_client(false)
        // Default `Unimplemented` bodies: RPCs konoha does not support need no code.
        .generate_default_stubs(true)
        .compile_fds(descriptors)?;
    Ok(())
}

/// The release version when one is set, else the package's. A release version that is not a
/// semantic version fails the build: Terraform would refuse the archive names made from it.
fn version() -> Result<String, Box<dyn Error>> {
    match std::env::var(RELEASE_VERSION_VAR) {
        Ok(release) if !release.is_empty() => {
            if is_semantic_version(&release) {
                Ok(release)
            } else {
                Err(format!(
                    "{RELEASE_VERSION_VAR}={release:?} is not a semantic version such as 1.2.3 \
                     or 1.2.3-rc.1 (give the tag's version without its leading v)"
                )
                .into())
            }
        }
        _ => Ok(std::env::var("CARGO_PKG_VERSION")?),
    }
}

/// `MAJOR.MINOR.PATCH`, then optionally `-PRERELEASE` and `+BUILD` made of dot-separated
/// alphanumeric or `-` identifiers.
fn is_semantic_version(text: &str) -> bool {
    let (rest, build) = match text.split_once('+') {
        Some((rest, build)) => (rest, Some(build)),
        None => (text, None),
    };
    let (core, pre) = match rest.split_once('-') {
        Some((core, pre)) => (core, Some(pre)),
        None => (rest, None),
    };
    let numbers: Vec<&str> = core.split('.').collect();
    let numeric = |part: &&str| {
        !part.is_empty()
            && part.bytes().all(|b| b.is_ascii_digit())
            && (*part == "0" || !part.starts_with('0'))
    };
    let identifiers = |text: &str| {
        text.split('.')
            .all(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
    };
    numbers.len() == 3
        && numbers.iter().all(numeric)
        && pre.is_none_or(identifiers)
        && build.is_none_or(identifiers)
}
