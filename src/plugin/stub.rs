//! A provider that implements nothing: every RPC answers gRPC `Unimplemented`.
//!
//! A stand-in so the binary can serve before the real tfplugin5 service exists; delete this file
//! once `main` serves the real provider.

use super::pb::tfplugin5::provider_server::Provider;

/// The provider whose every RPC is the generated default, `Unimplemented`.
#[derive(Debug, Default, Clone, Copy)]
pub struct Unimplemented;

#[tonic::async_trait]
impl Provider for Unimplemented {}
