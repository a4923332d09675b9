//! The kubelet's side of pods (status, readiness, the events of pods that never become ready)
//! and the event recorder every controller uses.
//!
//! Leaves out containers that really run: a pod is ready when the controller says so, and a pod
//! that never will is reported once (image pull back-off for a `broken` image, failing readiness
//! probes otherwise), not every back-off period.

use super::clock;
use super::schema::Kind;
use super::store::{Store, Via};
use serde_json::{Value, json};

/// The node every pod lands on.
pub(crate) const NODE: &str = "double-node";

fn str_at<'a>(o: &'a Value, p: &str) -> &'a str {
    o.pointer(p).and_then(Value::as_str).unwrap_or("")
}

/// Whether the pod's Ready condition is True.
pub(crate) fn pod_ready(p: &Value) -> bool {
    let conds = p.pointer("/status/conditions").and_then(Value::as_array);
    conds
        .into_iter()
        .flatten()
        .any(|c| c["type"] == "Ready" && c["status"] == "True")
}

/// The status the kubelet reports for a running pod, ready or not.
pub(crate) fn running(pod: &Value, ready: bool) -> Value {
    let now = clock::now();
    let flag = if ready { "True" } else { "False" };
    let containers = pod
        .pointer("/spec/containers")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let statuses: Vec<Value> = containers
        .iter()
        .map(|c| json!({"name": c["name"], "image": c["image"], "imageID": "", "ready": ready,
                        "restartCount": 0, "started": true, "state": {"running": {"startedAt": now}}}))
        .collect();
    json!({
        "phase": "Running",
        "conditions": [
            {"type": "Initialized", "status": "True", "lastTransitionTime": now},
            {"type": "Ready", "status": flag, "lastTransitionTime": now},
            {"type": "ContainersReady", "status": flag, "lastTransitionTime": now},
            {"type": "PodScheduled", "status": "True", "lastTransitionTime": now}
        ],
        "hostIP": "10.0.0.10", "podIP": "10.244.0.10", "startTime": now,
        "containerStatuses": statuses, "qosClass": "BestEffort"
    })
}

/// Events and status of a pod that never becomes ready: image pull back-off for a `broken`
/// image, failing readiness probes otherwise.
pub(crate) fn report_never_ready(store: &mut Store, pod: &Value) {
    let ns = str_at(pod, "/metadata/namespace").to_owned();
    let containers = pod
        .pointer("/spec/containers")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for c in &containers {
        let image = c["image"].as_str().unwrap_or("");
        let cname = c["name"].as_str().unwrap_or("");
        let r = json!({"kind": "Pod", "namespace": ns, "name": pod["metadata"]["name"],
                       "uid": pod["metadata"]["uid"], "apiVersion": "v1",
                       "resourceVersion": pod["metadata"]["resourceVersion"],
                       "fieldPath": format!("spec.containers{{{cname}}}")});
        let events: Vec<(&str, &str, String)> = if image.contains("broken") {
            vec![
                ("Normal", "Pulling", format!("Pulling image {image:?}")),
                (
                    "Warning",
                    "Failed",
                    format!(
                        "Failed to pull image {image:?}: rpc error: code = NotFound desc = failed to pull and unpack image {image:?}: not found"
                    ),
                ),
                ("Warning", "Failed", "Error: ErrImagePull".to_owned()),
                (
                    "Normal",
                    "BackOff",
                    format!("Back-off pulling image {image:?}"),
                ),
                ("Warning", "Failed", "Error: ImagePullBackOff".to_owned()),
            ]
        } else {
            vec![
                ("Normal", "Started", format!("Started container {cname}")),
                ("Warning", "Unhealthy", "Readiness probe failed: dial tcp 10.244.0.10:10009: connect: connection refused".to_owned()),
            ]
        };
        for (kind, reason, message) in events {
            event(store, &r, kind, reason, &message, "kubelet");
        }
    }
    let key = (Kind::Pod, ns, str_at(pod, "/metadata/name").to_owned());
    let broken = containers
        .iter()
        .any(|c| c["image"].as_str().unwrap_or("").contains("broken"));
    store.update(&key, "kubelet", Via::Status, |p| {
        p["status"] = running(pod, false);
        if broken {
            p["status"]["phase"] = json!("Pending");
            for s in p["status"]["containerStatuses"].as_array_mut().into_iter().flatten() {
                s["started"] = json!(false);
                s["state"] = json!({"waiting": {"reason": "ImagePullBackOff",
                    "message": format!("Back-off pulling image {:?}", s["image"].as_str().unwrap_or(""))}});
            }
        }
    });
}

/// Records a core/v1 Event about `involved` (an ObjectReference), as `component` would.
pub(crate) fn event(
    store: &mut Store,
    involved: &Value,
    kind: &str,
    reason: &str,
    message: &str,
    component: &str,
) {
    let ns = str_at(involved, "/namespace").to_owned();
    let name = format!("{}.{}", str_at(involved, "/name"), store.ids.event_suffix());
    let now = clock::now();
    let mut source = json!({"component": component});
    if component == "kubelet" {
        source["host"] = json!(NODE);
    }
    let manager = if component == "kubelet" {
        "kubelet"
    } else {
        "kube-controller-manager"
    };
    // Controllers and the kubelet name themselves as the reporting component too, and the
    // kubelet its node as the instance (recordings 19 and 33); empty ones are left unset, so
    // that nobody owns them.
    let mut e = json!({"apiVersion": "v1", "kind": "Event", "metadata": {"name": name, "namespace": ns},
        "involvedObject": involved, "reason": reason, "message": message, "source": source,
        "firstTimestamp": now, "lastTimestamp": now, "count": 1, "type": kind,
        "reportingComponent": component});
    if component == "kubelet" {
        e["reportingInstance"] = json!(NODE);
    }
    store.create(Kind::Event, &ns, e, manager);
}
