//! `terraform-provider-konoha`: a Terraform provider, written in Rust, for Konoha's multi-tenant
//! Spark SQL service.
//!
//! Start reading at [`provider`], which lists the resources and wires the clients, then
//! `docs/ARCHITECTURE.md` for the layer picture. The layers, lowest first:
//!
//! - [`tf`]: Terraform values, types, paths, diagnostics and their wire codecs;
//! - [`framework`]: schemas, the [`framework::Resource`] trait and the protocol's planning rules;
//! - [`plugin`]: go-plugin handshake, mutual TLS and the tfplugin5 gRPC service;
//! - domain ([`spark`], [`kyuubi`], sharing [`placement`] and [`names`]) and clients
//!   ([`vault`], [`kube`]): pure rules and remote APIs, with [`clients`] holding the clients
//!   the resources share;
//! - [`resources`]: the resources and data sources, gluing the above together;
//! - [`provider`]: the provider block, which configures [`clients`] and lists the resources.

pub mod clients;
pub mod digest;
pub mod framework;
pub mod kube;
pub mod kyuubi;
pub mod names;
pub mod placement;
pub mod plugin;
pub mod provider;
pub mod resources;
pub mod rules;
pub mod secret;
pub mod spark;
pub mod tf;
pub mod vault;

/// The provider's version: `Cargo.toml`'s, or the release tag's when `scripts/release.sh` or
/// GoReleaser builds a release (see `build.rs`).
pub const VERSION: &str = env!("KONOHA_VERSION");
