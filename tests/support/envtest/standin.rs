//! Stand-ins for what envtest's control plane lacks, each a thread polling the API server over
//! HTTP every [`PERIOD`] until dropped:
//!
//! - [`Role::Kubelet`], used when `kube-controller-manager` runs: the real Deployment and
//!   ReplicaSet controllers create pods, which nothing schedules or runs; this marks each pod
//!   Ready through `pods/{name}/status`, except pods with an image containing `broken` and pods
//!   of Deployments marked never-ready. Those stay Pending, so the real controller reports
//!   `ProgressDeadlineExceeded` by itself.
//! - [`Role::DeploymentController`], used otherwise: no pods exist at all; this writes each
//!   Deployment's status through `deployments/{name}/status`: observed generation, replica
//!   counts and the Available and Progressing conditions of a finished rollout, or, for a
//!   never-ready one, an unavailable rollout that turns `ProgressDeadlineExceeded` once
//!   `progressDeadlineSeconds` pass after its generation was first seen.
//!
//! Leaves out events (the kubelet's pull and probe failures), ReplicaSet objects in the
//! controller stand-in, surge arithmetic (a never-ready update reports no old replicas), and
//! never-ready marks on pods already Ready. A failing request is retried on the next pass.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};

use super::control::{merge_patch, now_rfc3339, pod_ready, str_at, with_query};
use super::http::ApiClient;

/// How often a stand-in looks at the cluster.
pub const PERIOD: Duration = Duration::from_millis(100);

/// Deployments whose pods never become ready, by `(namespace, name)`.
pub type NeverReady = Arc<Mutex<BTreeSet<(String, String)>>>;

/// Which stand-in runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Marks pods Ready (the real controllers run).
    Kubelet,
    /// Writes Deployment status (no controllers run).
    DeploymentController,
}

/// A running stand-in thread; dropping it stops the thread and waits for it.
#[derive(Debug)]
pub struct StandIn {
    /// What it stands in for.
    pub role: Role,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl StandIn {
    /// Starts `role` against `client`, consulting `never` on every pass.
    pub fn spawn(role: Role, client: ApiClient, never: NeverReady) -> StandIn {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut progress = Progress::default();
            while !flag.load(Ordering::Relaxed) {
                let marked = never.lock().unwrap_or_else(PoisonError::into_inner).clone();
                match role {
                    Role::Kubelet => kubelet_pass(&client, &marked),
                    Role::DeploymentController => controller_pass(&client, &mut progress, &marked),
                }
                // Pacing between polls of the API server, not synchronisation.
                std::thread::sleep(PERIOD);
            }
        });
        StandIn {
            role,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            // A panicked stand-in has nothing left to clean up.
            let _ = thread.join();
        }
    }
}

/// The Deployment owning `pod` through a ReplicaSet named `<deployment>-<pod-template-hash>`.
pub fn owning_deployment(pod: &Value) -> Option<String> {
    let hash = str_at(pod, "/metadata/labels/pod-template-hash");
    let owners = pod.pointer("/metadata/ownerReferences")?.as_array()?;
    let rs = owners
        .iter()
        .find(|o| o["kind"] == "ReplicaSet" && o["controller"] == true)?;
    let rs_name = rs["name"].as_str()?;
    let deployment = rs_name.strip_suffix(hash)?.strip_suffix('-')?;
    (!hash.is_empty() && !deployment.is_empty()).then(|| deployment.to_owned())
}

fn images_broken(containers: Option<&Value>) -> bool {
    containers
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .any(|c| str_at(c, "/image").contains("broken"))
}

/// Whether the kubelet stand-in should report `pod` Ready now.
pub fn should_mark_ready(pod: &Value, never: &BTreeSet<(String, String)>) -> bool {
    if pod.pointer("/metadata/deletionTimestamp").is_some() || pod_ready(pod) {
        return false;
    }
    if images_broken(pod.pointer("/spec/containers")) {
        return false;
    }
    let ns = str_at(pod, "/metadata/namespace").to_owned();
    owning_deployment(pod).is_none_or(|d| !never.contains(&(ns, d)))
}

/// One kubelet pass: every pod that should be Ready is reported so.
pub fn kubelet_pass(client: &ApiClient, never: &BTreeSet<(String, String)>) {
    let Ok(reply) = client.send("GET", "/api/v1/pods", None, None) else {
        return;
    };
    for pod in reply.body["items"].as_array().into_iter().flatten() {
        if should_mark_ready(pod, never) {
            // A pod deleted meanwhile answers 404; the next pass sees the truth.
            let _ = client.set_pod_ready(pod);
        }
    }
}

/// When the controller stand-in first saw each Deployment generation, by uid.
#[derive(Debug, Default)]
pub struct Progress(HashMap<String, (i64, Instant)>);

impl Progress {
    /// How long ago generation `generation` of `uid` was first seen (now, if never before).
    pub fn since(&mut self, uid: &str, generation: i64) -> Duration {
        let entry = self
            .0
            .entry(uid.to_owned())
            .or_insert((generation, Instant::now()));
        if entry.0 != generation {
            *entry = (generation, Instant::now());
        }
        entry.1.elapsed()
    }
}

/// One controller pass: every Deployment whose status is not what it should be gets it.
pub fn controller_pass(
    client: &ApiClient,
    progress: &mut Progress,
    never: &BTreeSet<(String, String)>,
) {
    let Ok(reply) = client.send("GET", "/apis/apps/v1/deployments", None, None) else {
        return;
    };
    for d in reply.body["items"].as_array().into_iter().flatten() {
        if d.pointer("/metadata/deletionTimestamp").is_some() {
            continue;
        }
        let ns = str_at(d, "/metadata/namespace");
        let name = str_at(d, "/metadata/name");
        let generation = d
            .pointer("/metadata/generation")
            .and_then(Value::as_i64)
            .unwrap_or(1);
        let stalled = progress.since(str_at(d, "/metadata/uid"), generation);
        let never_ready = never.contains(&(ns.to_owned(), name.to_owned()))
            || images_broken(d.pointer("/spec/template/spec/containers"));
        let current = d.get("status").cloned().unwrap_or(json!({}));
        let desired = deployment_status(d, never_ready, stalled, &now_rfc3339());
        if current != desired {
            let path = format!("/apis/apps/v1/namespaces/{ns}/deployments/{name}/status");
            let target = with_query(&path, &[("fieldManager", "kube-controller-manager")]);
            // Nulls for fields the new status drops, which a plain merge would keep.
            let patch = merge_patch(&json!({"status": current}), &json!({"status": desired}));
            let _ = client.send(
                "PATCH",
                &target,
                Some("application/merge-patch+json"),
                Some(&patch),
            );
        }
    }
}

/// The status the Deployment controller would report for `d`: a complete rollout, or for a
/// `never_ready` one an unavailable rollout that has been stalled for `stalled`. Conditions
/// keep their timestamps while their status and reason stay, so an unchanged status compares
/// equal to the one already stored.
pub fn deployment_status(d: &Value, never_ready: bool, stalled: Duration, now: &str) -> Value {
    let generation = d
        .pointer("/metadata/generation")
        .cloned()
        .unwrap_or(json!(1));
    let replicas = d
        .pointer("/spec/replicas")
        .and_then(Value::as_u64)
        .unwrap_or(1);
    let deadline = d
        .pointer("/spec/progressDeadlineSeconds")
        .and_then(Value::as_u64)
        .unwrap_or(600);
    let rs = format!("{}-standin", str_at(d, "/metadata/name"));
    let old = d
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let ready = if never_ready { 0 } else { replicas };
    let (available, progressing) = if !never_ready {
        (
            (
                "True",
                "MinimumReplicasAvailable",
                "Deployment has minimum availability.",
            ),
            (
                "True",
                "NewReplicaSetAvailable",
                format!("ReplicaSet {rs:?} has successfully progressed."),
            ),
        )
    } else if stalled > Duration::from_secs(deadline) {
        (
            (
                "False",
                "MinimumReplicasUnavailable",
                "Deployment does not have minimum availability.",
            ),
            (
                "False",
                "ProgressDeadlineExceeded",
                format!("ReplicaSet {rs:?} has timed out progressing."),
            ),
        )
    } else {
        (
            (
                "False",
                "MinimumReplicasUnavailable",
                "Deployment does not have minimum availability.",
            ),
            (
                "True",
                "ReplicaSetUpdated",
                format!("ReplicaSet {rs:?} is progressing."),
            ),
        )
    };
    let conditions = vec![
        condition(
            &old,
            "Available",
            available.0,
            available.1,
            available.2,
            now,
        ),
        condition(
            &old,
            "Progressing",
            progressing.0,
            progressing.1,
            &progressing.2,
            now,
        ),
    ];
    let mut status = Map::new();
    status.insert("observedGeneration".into(), generation);
    // Like the real controller, zero counts are left out.
    for (field, n) in [
        ("replicas", replicas),
        ("updatedReplicas", replicas),
        ("readyReplicas", ready),
        ("availableReplicas", ready),
        ("unavailableReplicas", replicas - ready),
    ] {
        if n > 0 {
            status.insert(field.into(), json!(n));
        }
    }
    status.insert("conditions".into(), Value::Array(conditions));
    Value::Object(status)
}

/// Condition `kind` as the controllers write it, reusing the old one when status and reason
/// did not change, and keeping the transition time while the status stays.
fn condition(
    old: &[Value],
    kind: &str,
    status: &str,
    reason: &str,
    message: &str,
    now: &str,
) -> Value {
    let prior = old.iter().find(|c| c["type"] == kind);
    if let Some(p) = prior
        && p["status"] == status
        && p["reason"] == reason
    {
        return p.clone();
    }
    let transition = match prior {
        Some(p) if p["status"] == status => p["lastTransitionTime"].clone(),
        _ => json!(now),
    };
    json!({"type": kind, "status": status, "lastUpdateTime": now,
           "lastTransitionTime": transition, "reason": reason, "message": message})
}
