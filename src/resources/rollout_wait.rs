//! Waiting on the cluster: for a Deployment's rollout to complete (judged by
//! `crate::kyuubi::rollout`), and for deleted objects to disappear. Only fetches, judges and
//! backs off; every decision is the pure judgement's.

use std::time::Duration;

use serde_json::Value as Json;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::kube::{KubeClient, ObjectRef};
use crate::kyuubi::rollout::{Rollout, judge};
use crate::tf::{Diagnostic, Diagnostics};

/// The first and the longest pause between two polls.
const FIRST_PAUSE: Duration = Duration::from_millis(100);
const LONGEST_PAUSE: Duration = Duration::from_secs(2);

/// How long past the deadline the last look may take: the Deployment read that judges the
/// rollout once more, and its events for the error. The client's own deadline is moved out by
/// this much, so that a wait ends as "timed out" with its reasons rather than cut mid-request.
const LAST_LOOK: Duration = Duration::from_secs(10);

/// How many of the newest events a failure shows.
const EVENTS_SHOWN: usize = 10;

/// How a wait ended.
#[derive(Debug)]
pub enum RolloutOutcome {
    /// Complete: the Deployment as last read.
    Complete(Json),
    /// Failed (e.g. `ProgressDeadlineExceeded`), with the reason and the pods' recent events.
    Failed(String),
    /// The deadline passed first, with the last progress message.
    TimedOut(String),
    /// Terraform asked the provider to stop.
    Stopped,
    /// The cluster could not be read.
    Error(Diagnostic),
}

/// Polls `deployment` until its rollout completes or fails, `deadline` passes, or `stop` fires.
pub async fn wait_for_rollout(
    kube: &KubeClient,
    deployment: &ObjectRef,
    deadline: Instant,
    stop: &CancellationToken,
) -> RolloutOutcome {
    let kube = &kube.clone().until(deadline + LAST_LOOK);
    let mut pause = FIRST_PAUSE;
    loop {
        let live = match kube.get_opt(deployment).await {
            Ok(live) => live,
            // Stop fired while the read was in flight: the same as during the pause.
            Err(e) if e.is_stopped() => return RolloutOutcome::Stopped,
            Err(e) => {
                return RolloutOutcome::Error(super::remote_error(
                    "Unable to read the Deployment",
                    &e,
                ));
            }
        };
        let last = match judge(live.as_ref()) {
            Rollout::Complete => return RolloutOutcome::Complete(live.unwrap_or(Json::Null)),
            Rollout::Failed(reason) => {
                let events = recent_events(kube, deployment).await;
                return RolloutOutcome::Failed(format!("{reason}\n\nRecent events:\n{events}"));
            }
            Rollout::Progressing(message) => message,
        };
        if Instant::now() >= deadline {
            let events = recent_events(kube, deployment).await;
            return RolloutOutcome::TimedOut(format!("{last}\n\nRecent events:\n{events}"));
        }
        tokio::select! {
            () = tokio::time::sleep_until((Instant::now() + pause).min(deadline)) => {}
            () = stop.cancelled() => return RolloutOutcome::Stopped,
        }
        pause = (pause * 2).min(LONGEST_PAUSE);
    }
}

/// The newest events of the Deployment and of everything named after it (its ReplicaSets and
/// pods), one per line, or a note that there are none.
async fn recent_events(kube: &KubeClient, deployment: &ObjectRef) -> String {
    match kube
        .events_matching(&deployment.namespace, &deployment.name)
        .await
    {
        Ok(events) if events.is_empty() => "  (none)".to_owned(),
        Ok(events) => events
            .iter()
            .rev()
            .take(EVENTS_SHOWN)
            .map(|e| format!("  {e}"))
            .collect::<Vec<_>>()
            .join("\n"),
        Err(e) => format!("  (events could not be read: {e})"),
    }
}

/// Polls until none of `targets` exists any more.
pub async fn wait_until_gone(
    kube: &KubeClient,
    targets: &[ObjectRef],
    deadline: Instant,
    stop: &CancellationToken,
) -> Result<(), Diagnostics> {
    let kube = &kube.clone().until(deadline + LAST_LOOK);
    let mut pause = FIRST_PAUSE;
    loop {
        let mut remaining = Vec::new();
        for target in targets {
            match kube.get_opt(target).await {
                Ok(Some(_)) => remaining.push(target.to_string()),
                Ok(None) => {}
                Err(e) if e.is_stopped() => return Err(interrupted().into()),
                Err(e) => {
                    return Err(super::remote_error("Unable to check a deleted object", &e).into());
                }
            }
        }
        if remaining.is_empty() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(Diagnostic::error(
                "Timed out waiting for deletion",
                format!("Still present: {}.", remaining.join(", ")),
            )
            .into());
        }
        tokio::select! {
            () = tokio::time::sleep_until((Instant::now() + pause).min(deadline)) => {}
            () = stop.cancelled() => return Err(interrupted().into()),
        }
        pause = (pause * 2).min(LONGEST_PAUSE);
    }
}

fn interrupted() -> Diagnostic {
    Diagnostic::error("Interrupted", "Terraform stopped the delete.")
}
