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

fn main() -> Result<(), Box<dyn Error>> {
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
