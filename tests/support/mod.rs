//! Shared support for the integration and acceptance tests: a Terraform step runner and an
//! OpenBao dev server.
//!
//! Each test binary includes this with `mod support;`. What lives where:
//!
//! - [`terraform`]: drives the real `terraform` CLI in a fresh temp dir per test.
//!   [`terraform::TestCase`] and [`terraform::Step`] mirror terraform-plugin-testing's
//!   `resource.Test`. [`terraform::Workdir`] runs raw commands. [`terraform::State`] and
//!   [`terraform::Plan`] are typed views over `terraform show -json`.
//! - [`kube_double`]: an in-process Kubernetes API server that answers like the real one.
//! - [`openbao`]: starts and stops a throwaway OpenBao dev server for Vault-backed tests.
//! - [`fault_proxy`]: a proxy in front of OpenBao that fails chosen requests on cue.
//! - [`hcl`]: configuration text the acceptance tests share (the provider header).
//! - [`provider`]: serves the provider inside the test process for `TF_REATTACH_PROVIDERS`.
//! - [`release`]: packages the cargo-built binary with `scripts/release.sh` and checks the
//!   files; [`registry`] serves them over Terraform's provider registry protocol on loopback.
//! - [`walk`]: the seeded generator of the random walks (`*_sequences.rs`).
//! - [`world`]: the cluster, OpenBao, provider and working dir the Kyuubi acceptance and fault
//!   tests share, with the Terraform steps they all repeat.
//!
//! Nothing here skips a test. A missing `terraform` or `bao` binary is a panic that says what
//! to install, because `make test` provides both.
//!
//! Left out: the provider itself. Tests pick how Terraform reaches it with
//! [`terraform::ProviderHookup`], which is either the cargo-built binary or an in-process
//! server started by the test.

// Every test binary compiles this module privately and uses only part of it. `pub` marks the
// harness API, not items exported from the test crate. Test code may panic on broken setup.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

pub mod cluster;
pub mod envtest;
pub mod fault_proxy;
pub mod hcl;
pub mod kube_double;
pub mod openbao;
pub mod provider;
pub mod registry;
pub mod release;
pub mod terraform;
pub mod walk;
pub mod world;
