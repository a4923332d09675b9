//! The konoha provider served inside the test process, for `TF_REATTACH_PROVIDERS`: faster
//! than starting the binary for every Terraform command, and the same code behind the gRPC
//! boundary. One test per file still goes through the binary (see `spark_profile.rs`).

use konoha::plugin::{InProcessServer, ProviderService, serve_in_process};
use konoha::provider::Konoha;

use super::terraform::ProviderHookup;

/// A provider serving on its own runtime until dropped.
pub struct InProcessProvider {
    server: Option<InProcessServer>,
    // Declared last so it drops after the server handle: dropping the runtime ends the task.
    runtime: tokio::runtime::Runtime,
}

impl InProcessProvider {
    /// Starts a fresh, unconfigured provider.
    pub fn start() -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a tokio runtime for the in-process provider");
        let server = runtime
            .block_on(serve_in_process(ProviderService::new(Konoha::new())))
            .expect("the in-process provider starts");
        Self {
            server: Some(server),
            runtime,
        }
    }

    /// How Terraform reaches this provider.
    pub fn hookup(&self) -> ProviderHookup {
        let env = self
            .server
            .as_ref()
            .map(InProcessServer::reattach_env)
            .unwrap_or_default();
        ProviderHookup::Reattach { env }
    }
}

impl Drop for InProcessProvider {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            let _ = self.runtime.block_on(server.shutdown());
        }
    }
}
