//! Reattach mode: the provider runs on its own (under a debugger, or inside a test) and Terraform
//! attaches to it through `TF_REATTACH_PROVIDERS` instead of starting it.
//!
//! Two entry points: [`serve_debug`] for `terraform-provider-konoha --debug`, and
//! [`serve_in_process`] for tests that want the provider in their own process. Both serve
//! plaintext gRPC on 127.0.0.1 (reattach has no TLS) and need no magic cookie. The config says
//! `"Test": true`, so Terraform neither calls Shutdown nor kills the process when it is done;
//! the provider lives until Ctrl-C or until the handle is dropped.

use std::net::SocketAddr;

use serde_json::json;
use tokio::task::JoinHandle;

use super::controller::{self, ShutdownTrigger};
use super::handshake::{APP_PROTOCOL_VERSION, PortRange};
use super::pb::tfplugin5::provider_server::Provider;
use super::serve::{self, ServeError};

/// The provider's address in Terraform configurations; the key of the reattach config.
pub const PROVIDER_ADDRESS: &str = "registry.terraform.io/konoha/konoha";

/// The `TF_REATTACH_PROVIDERS` value for a provider listening on `addr` in process `pid`.
pub fn reattach_config(addr: SocketAddr, pid: u32) -> String {
    json!({
        PROVIDER_ADDRESS: {
            "Protocol": "grpc",
            "ProtocolVersion": APP_PROTOCOL_VERSION,
            "Pid": pid,
            "Test": true,
            "Addr": { "Network": "tcp", "String": addr.to_string() },
        }
    })
    .to_string()
}

/// What `--debug` prints, in terraform-plugin-go's words, for a person to paste into a shell.
pub fn debug_banner(reattach_config: &str) -> String {
    format!(
        "Provider started. To attach Terraform CLI, set the TF_REATTACH_PROVIDERS environment \
         variable with the following:\n\n\tTF_REATTACH_PROVIDERS='{reattach_config}'\n"
    )
}

/// Serves `provider` for reattaching until Ctrl-C (or a Shutdown call), after printing the
/// reattach instructions to stdout.
pub async fn serve_debug<P: Provider>(provider: P) -> Result<(), ServeError> {
    let listener = serve::bind(PortRange::ANY).await?;
    let addr = listener.local_addr().map_err(ServeError::LocalAddr)?;
    let (trigger, signal) = controller::shutdown_channel();
    let router = serve::routes(provider, trigger.clone()).await;
    tokio::spawn(async move {
        match tokio::signal::ctrl_c().await {
            Ok(()) => tracing::info!("interrupted; stopping the provider"),
            Err(err) => tracing::warn!(error = %err, "cannot listen for Ctrl-C"),
        }
        trigger.trigger();
    });
    serve::announce(&debug_banner(&reattach_config(addr, std::process::id())))?;
    serve::serve_plaintext(router, listener, signal).await
}

/// Starts serving `provider` on the caller's tokio runtime, for tests.
///
/// Point Terraform at it with `TF_REATTACH_PROVIDERS` = [`InProcessServer::reattach_env`].
/// The server runs on the caller's runtime, so run Terraform without blocking it (e.g. with
/// `tokio::process`, or `spawn_blocking` on a multi-threaded runtime).
pub async fn serve_in_process<P: Provider>(provider: P) -> Result<InProcessServer, ServeError> {
    let listener = serve::bind(PortRange::ANY).await?;
    let addr = listener.local_addr().map_err(ServeError::LocalAddr)?;
    let (trigger, signal) = controller::shutdown_channel();
    let router = serve::routes(provider, trigger.clone()).await;
    let task = tokio::spawn(serve::serve_plaintext(router, listener, signal));
    Ok(InProcessServer {
        addr,
        trigger,
        task: Some(task),
    })
}

/// A provider served in this process; stops when dropped or [`shut down`](Self::shutdown).
#[derive(Debug)]
pub struct InProcessServer {
    addr: SocketAddr,
    trigger: ShutdownTrigger,
    task: Option<JoinHandle<Result<(), ServeError>>>,
}

impl InProcessServer {
    /// Where the server listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The value for `TF_REATTACH_PROVIDERS`.
    pub fn reattach_env(&self) -> String {
        reattach_config(self.addr, std::process::id())
    }

    /// Stops the server and waits until its connections have drained.
    pub async fn shutdown(mut self) -> Result<(), ServeError> {
        self.trigger.trigger();
        match self.task.take() {
            Some(task) => task.await.map_err(ServeError::ServerTask)?,
            None => Ok(()),
        }
    }
}

impl Drop for InProcessServer {
    fn drop(&mut self) {
        // The server task drains its connections in the background (or is cancelled with the
        // runtime); dropping must not block.
        self.trigger.trigger();
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn reattach_config_is_what_terraform_parses() {
        let addr: SocketAddr = "127.0.0.1:4567".parse().unwrap();
        assert_eq!(
            reattach_config(addr, 42),
            r#"{"registry.terraform.io/konoha/konoha":{"Addr":{"Network":"tcp","String":"127.0.0.1:4567"},"Pid":42,"Protocol":"grpc","ProtocolVersion":5,"Test":true}}"#
        );
    }

    #[test]
    fn banner_matches_terraform_plugin_go() {
        assert_eq!(
            debug_banner("{}"),
            "Provider started. To attach Terraform CLI, set the TF_REATTACH_PROVIDERS environment \
             variable with the following:\n\n\tTF_REATTACH_PROVIDERS='{}'\n"
        );
    }
}
