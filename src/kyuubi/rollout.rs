//! Judging a Deployment's rollout from one read of it, by the rules of `kubectl rollout status`.
//!
//! Pure: the wait loop (fetch, judge, back off, honour the timeout) and collecting pod events for
//! a failure belong to the resource and the Kubernetes client.

use serde_json::Value;

/// Where a rollout stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rollout {
    /// Not done yet; the text says what is awaited (kubectl's wording).
    Progressing(String),
    /// Every replica runs the current template and is available; no old pod remains.
    Complete,
    /// It will not finish by waiting; the text says why.
    Failed(String),
}

/// The Progressing condition's reason once the controller gave up (`progressDeadlineSeconds`).
const DEADLINE_EXCEEDED: &str = "ProgressDeadlineExceeded";

fn int(value: &Value, pointer: &str) -> Option<i64> {
    value.pointer(pointer).and_then(Value::as_i64)
}

/// Judges a Deployment as read from the API (`None`: it does not exist).
///
/// In kubectl's order: until the controller has observed the current generation nothing else
/// counts; then a Progressing condition with reason `ProgressDeadlineExceeded` fails; then it
/// waits for all `spec.replicas` to be updated, for old replicas to terminate, and for the
/// updated ones to be available. A missing status field counts as 0.
///
/// A missing Deployment is `Failed`: this is called after konoha applied it, so it was deleted
/// meanwhile, and waiting will not bring it back.
pub fn judge(deployment: Option<&Value>) -> Rollout {
    let Some(deployment) = deployment else {
        return Rollout::Failed(
            "the Deployment does not exist: it was deleted while konoha waited for its rollout"
                .to_owned(),
        );
    };
    let name = deployment
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let generation = int(deployment, "/metadata/generation").unwrap_or(0);
    let observed = int(deployment, "/status/observedGeneration").unwrap_or(0);
    if generation > observed {
        return Rollout::Progressing(
            "Waiting for deployment spec update to be observed...".to_owned(),
        );
    }
    let conditions = deployment
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let progressing = conditions
        .iter()
        .find(|c| c.get("type").and_then(Value::as_str) == Some("Progressing"));
    if let Some(condition) = progressing
        && condition.get("reason").and_then(Value::as_str) == Some(DEADLINE_EXCEEDED)
    {
        let detail = condition
            .get("message")
            .and_then(Value::as_str)
            .map(|m| format!(": {m}"))
            .unwrap_or_default();
        return Rollout::Failed(format!(
            "deployment {name:?} exceeded its progress deadline{detail}"
        ));
    }
    let replicas = int(deployment, "/status/replicas").unwrap_or(0);
    let updated = int(deployment, "/status/updatedReplicas").unwrap_or(0);
    let available = int(deployment, "/status/availableReplicas").unwrap_or(0);
    if let Some(wanted) = int(deployment, "/spec/replicas")
        && updated < wanted
    {
        return Rollout::Progressing(format!(
            "Waiting for deployment {name:?} rollout to finish: {updated} out of {wanted} new replicas have been updated..."
        ));
    }
    if replicas > updated {
        return Rollout::Progressing(format!(
            "Waiting for deployment {name:?} rollout to finish: {} old replicas are pending termination...",
            replicas - updated
        ));
    }
    if available < updated {
        return Rollout::Progressing(format!(
            "Waiting for deployment {name:?} rollout to finish: {available} of {updated} updated replicas are available..."
        ));
    }
    Rollout::Complete
}

#[cfg(test)]
mod tests;
