//! Generates the tfplugin5 and go-plugin gRPC server code from `proto/`.
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
    let descriptors = protox::compile(PROTOS, ["proto"])?;
    tonic_prost_build::configure()
        .build_client(false)
        // Default `Unimplemented` bodies: RPCs konoha does not support need no code.
        .generate_default_stubs(true)
        .compile_fds(descriptors)?;
    Ok(())
}
