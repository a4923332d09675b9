//! go-plugin's `GRPCController`: Terraform's Shutdown call becomes a stop signal for the server.
//!
//! Terraform calls Shutdown once it is done with a provider process and kills the process two
//! seconds later if it is still there, so answering it promptly saves two seconds per process
//! (3–5 processes per command). What stopping means (draining, exiting) is up to whoever waits
//! on the [`ShutdownSignal`]: see [`super::serve`] and [`super::debug`].

use std::sync::Arc;

use tokio::sync::watch;
use tonic::{Request, Response, Status};

use super::pb::plugin::Empty;
use super::pb::plugin::grpc_controller_server::GrpcController;

/// Creates a connected trigger and signal.
pub fn shutdown_channel() -> (ShutdownTrigger, ShutdownSignal) {
    let (sender, receiver) = watch::channel(false);
    (ShutdownTrigger(Arc::new(sender)), ShutdownSignal(receiver))
}

/// Fires the [`ShutdownSignal`]; cheap to clone, and firing twice is harmless.
#[derive(Debug, Clone)]
pub struct ShutdownTrigger(Arc<watch::Sender<bool>>);

impl ShutdownTrigger {
    /// Asks everything waiting on the signal to stop.
    pub fn trigger(&self) {
        self.0.send_replace(true);
    }
}

/// Resolves once shutdown was triggered, or once every trigger is gone (no one is left who could
/// keep the server alive, e.g. a dropped in-process server handle).
#[derive(Debug, Clone)]
pub struct ShutdownSignal(watch::Receiver<bool>);

impl ShutdownSignal {
    /// Waits for the shutdown.
    pub async fn wait(mut self) {
        // An error means every trigger was dropped, which counts as a shutdown (see the type doc).
        let _ = self.0.wait_for(|stopped| *stopped).await;
    }

    /// Whether shutdown was already triggered.
    pub fn is_triggered(&self) -> bool {
        *self.0.borrow()
    }
}

/// The `plugin.GRPCController` service.
#[derive(Debug)]
pub struct Controller {
    trigger: ShutdownTrigger,
}

impl Controller {
    /// A controller whose Shutdown fires `trigger`.
    pub fn new(trigger: ShutdownTrigger) -> Self {
        Self { trigger }
    }
}

#[tonic::async_trait]
impl GrpcController for Controller {
    async fn shutdown(&self, _request: Request<Empty>) -> Result<Response<Empty>, Status> {
        tracing::debug!("Terraform asked the provider to shut down");
        // Only signal here: the reply must still go out before the server stops.
        self.trigger.trigger();
        Ok(Response::new(Empty {}))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn shutdown_rpc_fires_the_signal() {
        let (trigger, signal) = shutdown_channel();
        let controller = Controller::new(trigger);
        assert!(!signal.is_triggered());

        controller.shutdown(Request::new(Empty {})).await.unwrap();

        assert!(signal.is_triggered());
        tokio::time::timeout(Duration::from_secs(5), signal.wait())
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn signal_waits_while_a_trigger_lives_and_ends_when_all_are_dropped() {
        let (trigger, signal) = shutdown_channel();
        let second = trigger.clone();
        let waiting = tokio::spawn(signal.clone().wait());
        drop(trigger);
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished(), "one trigger is still alive");
        drop(second);
        tokio::time::timeout(Duration::from_secs(5), waiting)
            .await
            .unwrap()
            .unwrap();
        assert!(!signal.is_triggered(), "dropping is not triggering");
    }
}
