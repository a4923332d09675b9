//! The control calls acceptance tests make on a cluster (reads, out-of-band edits, pods that
//! Spark would create), sent over the HTTP API the way the real actor sends them, so they work
//! on any API server: a real kube-apiserver, or the in-process double where it serves the verb.
//!
//! What each call sends: `apply_as` and `create_pod` a server-side apply; `update_as` the JSON
//! merge patch between the object as read and as mutated (what `kubectl edit` amounts to: an
//! Update operation owning exactly the changed fields); `scale` kubectl's merge patch of
//! `/scale`; `rollout_restart` kubectl's
//! strategic-merge patch; `create_namespace` a POST; `set_pod_ready` a merge patch of the
//! `status` subresource. The double serves GET, apply and DELETE only, so the POST, merge and
//! strategic-merge calls are checked against it nowhere: `tests/cluster_selftest.rs` checks their
//! wire shape against a scripted server instead.
//!
//! Leaves out watches, retries and paging of lists (test clusters hold a handful of objects).

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};

use super::http::{ApiClient, percent_encode};

/// Every labelled kind konoha writes or deletes, with its cluster-wide collection path.
pub const LABELLED_KINDS: [(&str, &str); 8] = [
    ("ConfigMap", "/api/v1/configmaps"),
    ("Secret", "/api/v1/secrets"),
    ("Service", "/api/v1/services"),
    ("ServiceAccount", "/api/v1/serviceaccounts"),
    ("Pod", "/api/v1/pods"),
    ("Deployment", "/apis/apps/v1/deployments"),
    ("Role", "/apis/rbac.authorization.k8s.io/v1/roles"),
    (
        "RoleBinding",
        "/apis/rbac.authorization.k8s.io/v1/rolebindings",
    ),
];

/// `kubectl scale`'s request (recording 24): the target, the Deployment's `/scale`, and the JSON
/// merge patch of `spec.replicas`. kubectl names its field manager `kubectl` through its
/// User-Agent; the query says the same, since these clients send their own User-Agent.
pub fn scale_patch(ns: &str, name: &str, replicas: i64) -> (String, Value) {
    let path = format!("/apis/apps/v1/namespaces/{ns}/deployments/{name}/scale");
    (
        with_query(&path, &[("fieldManager", "kubectl")]),
        json!({"spec": {"replicas": replicas}}),
    )
}

/// The annotation `kubectl rollout restart` sets on the pod template.
pub const RESTARTED_AT: &str = "kubectl.kubernetes.io/restartedAt";

const JSON: &str = "application/json";
const APPLY: &str = "application/apply-patch+yaml";
const MERGE: &str = "application/merge-patch+json";
const STRATEGIC: &str = "application/strategic-merge-patch+json";

/// `path` plus query pairs, each value percent-encoded, after any query `path` already has.
pub fn with_query(path: &str, pairs: &[(&str, &str)]) -> String {
    let mut out = path.to_owned();
    for (i, (key, value)) in pairs.iter().enumerate() {
        let sep = if i == 0 && !path.contains('?') {
            '?'
        } else {
            '&'
        };
        out.push_str(&format!("{sep}{key}={}", percent_encode(value)));
    }
    out
}

fn ok_or_status(reply: super::http::Reply, ok: &[u16]) -> Result<Value, Value> {
    if ok.contains(&reply.status) {
        Ok(reply.body)
    } else {
        Err(reply.body)
    }
}

impl ApiClient {
    /// What a GET of `api_path` (object or list, query allowed) returns, or `None` unless 200.
    pub fn get(&self, api_path: &str) -> Option<Value> {
        let reply = self.call("GET", api_path, None, None);
        (reply.status == 200).then_some(reply.body)
    }

    /// Server-side apply of `body` by `manager`: the object, or the failure `Status`.
    pub fn apply_as(
        &self,
        manager: &str,
        api_path: &str,
        body: &Value,
        force: bool,
    ) -> Result<Value, Value> {
        let force = if force { "true" } else { "false" };
        let target = with_query(api_path, &[("fieldManager", manager), ("force", force)]);
        ok_or_status(
            self.call("PATCH", &target, Some(APPLY), Some(body)),
            &[200, 201],
        )
    }

    /// An Update-operation edit by `manager`: reads the object, lets `mutate` change a copy and
    /// sends the difference as a JSON merge patch, so `manager` owns exactly what changed.
    /// Without a `resourceVersion` in the patch a concurrent status write cannot make it fail.
    pub fn update_as(
        &self,
        manager: &str,
        api_path: &str,
        mutate: impl FnOnce(&mut Value),
    ) -> Result<Value, Value> {
        let read = self.call("GET", api_path, None, None);
        let before = ok_or_status(read, &[200])?;
        let mut after = before.clone();
        mutate(&mut after);
        let patch = merge_patch(&before, &after);
        let target = with_query(api_path, &[("fieldManager", manager)]);
        ok_or_status(
            self.call("PATCH", &target, Some(MERGE), Some(&patch)),
            &[200],
        )
    }

    /// What `kubectl scale deployment/NAME -n NS --replicas=N` sends ([`scale_patch`]): the
    /// `Scale` it answers, or the failure `Status`.
    pub fn scale(&self, ns: &str, name: &str, replicas: i64) -> Result<Value, Value> {
        let (target, patch) = scale_patch(ns, name, replicas);
        ok_or_status(
            self.call("PATCH", &target, Some(MERGE), Some(&patch)),
            &[200],
        )
    }

    /// What `kubectl rollout restart deployment/NAME -n NS` sends: a strategic-merge patch
    /// setting the pod-template annotation [`RESTARTED_AT`] to now, as `kubectl-rollout`.
    pub fn rollout_restart(&self, ns: &str, name: &str) -> Result<Value, Value> {
        let path = format!("/apis/apps/v1/namespaces/{ns}/deployments/{name}");
        let target = with_query(&path, &[("fieldManager", "kubectl-rollout")]);
        let patch = restart_patch(&now_rfc3339());
        ok_or_status(
            self.call("PATCH", &target, Some(STRATEGIC), Some(&patch)),
            &[200],
        )
    }

    /// DELETE of `api_path` (object, or collection with a query): the answer, or the failure
    /// `Status`. 202 (deletion pending on finalizers) counts as success.
    pub fn delete(&self, api_path: &str) -> Result<Value, Value> {
        ok_or_status(self.call("DELETE", api_path, None, None), &[200, 202])
    }

    /// Creates namespace `ns` (an existing one is fine). Panics on any other failure.
    pub fn create_namespace(&self, ns: &str) {
        let body = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}});
        let reply = self.call("POST", "/api/v1/namespaces", Some(JSON), Some(&body));
        if !matches!(reply.status, 201 | 409) {
            panic!(
                "creating namespace {ns}: status {} body {}",
                reply.status, reply.body
            );
        }
    }

    /// Creates a bare pod (say, a Spark driver) with `labels` by server-side apply as
    /// `spark-submit`; panics, leaving it alone, when it exists. Its status is left to [`ApiClient::set_pod_ready`].
    pub fn create_pod(&self, ns: &str, name: &str, labels: &[(&str, &str)]) -> Value {
        let labels: Map<String, Value> = labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), json!(v)))
            .collect();
        let pod = json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": ns, "labels": labels},
            "spec": {"containers": [{"name": "spark-kubernetes-driver", "image": "apache/spark:3.5.1"}]}
        });
        let path = format!("/api/v1/namespaces/{ns}/pods/{name}");
        // Apply would quietly rewrite an existing pod; creating must not touch one.
        if self.get(&path).is_some() {
            panic!("create_pod {ns}/{name}: the pod already exists");
        }
        let target = with_query(
            &path,
            &[("fieldManager", "spark-submit"), ("force", "false")],
        );
        let reply = self.call("PATCH", &target, Some(APPLY), Some(&pod));
        if reply.status != 201 {
            panic!(
                "create_pod {ns}/{name}: status {} body {}",
                reply.status, reply.body
            );
        }
        reply.body
    }

    /// Reports `pod` running and ready through its `status` subresource, as the kubelet would.
    pub fn set_pod_ready(&self, pod: &Value) -> Result<Value, Value> {
        let ns = str_at(pod, "/metadata/namespace");
        let name = str_at(pod, "/metadata/name");
        let path = format!("/api/v1/namespaces/{ns}/pods/{name}/status");
        let target = with_query(&path, &[("fieldManager", "kubelet")]);
        let patch = json!({"status": ready_pod_status(pod, &now_rfc3339())});
        ok_or_status(
            self.call("PATCH", &target, Some(MERGE), Some(&patch)),
            &[200],
        )
    }

    /// `(kind, namespace, name)` of every object of the [`LABELLED_KINDS`] matching `selector`
    /// in any namespace, sorted. Panics when a list fails (e.g. a malformed selector).
    pub fn objects_with_label(&self, selector: &str) -> Vec<(String, String, String)> {
        let mut found = Vec::new();
        for (kind, collection) in LABELLED_KINDS {
            let target = with_query(collection, &[("labelSelector", selector)]);
            let reply = self.call("GET", &target, None, None);
            if reply.status != 200 {
                panic!(
                    "listing {kind} by {selector:?}: status {} body {}",
                    reply.status, reply.body
                );
            }
            for item in reply.body["items"].as_array().into_iter().flatten() {
                let ns = str_at(item, "/metadata/namespace").to_owned();
                let name = str_at(item, "/metadata/name").to_owned();
                found.push((kind.to_owned(), ns, name));
            }
        }
        found.sort();
        found
    }
}

/// The strategic-merge patch of `kubectl rollout restart` at time `now`.
pub fn restart_patch(now: &str) -> Value {
    json!({"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: now}}}}})
}

/// The JSON merge patch (RFC 7386) turning `before` into `after`: changed and new members,
/// removed ones as `null`, objects recursively, anything else (arrays too) whole.
pub fn merge_patch(before: &Value, after: &Value) -> Value {
    let (Value::Object(old), Value::Object(new)) = (before, after) else {
        return after.clone();
    };
    let mut patch = Map::new();
    for (key, value) in new {
        match old.get(key) {
            Some(prior) if prior == value => {}
            Some(prior @ Value::Object(_)) if value.is_object() => {
                patch.insert(key.clone(), merge_patch(prior, value));
            }
            _ => {
                patch.insert(key.clone(), value.clone());
            }
        }
    }
    for key in old.keys().filter(|k| !new.contains_key(*k)) {
        patch.insert(key.clone(), Value::Null);
    }
    Value::Object(patch)
}

/// The status a kubelet reports for `pod` once every container runs and is ready. No node
/// or pod IPs: test clusters have no nodes, and those fields are validated against each other.
pub fn ready_pod_status(pod: &Value, now: &str) -> Value {
    let containers = pod
        .pointer("/spec/containers")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let statuses: Vec<Value> = containers
        .iter()
        .map(|c| {
            json!({"name": c["name"], "image": c["image"], "imageID": "", "ready": true,
                   "restartCount": 0, "started": true, "state": {"running": {"startedAt": now}}})
        })
        .collect();
    let condition = |kind: &str| json!({"type": kind, "status": "True", "lastTransitionTime": now});
    json!({
        "phase": "Running",
        "conditions": [condition("PodScheduled"), condition("Initialized"),
                       condition("ContainersReady"), condition("Ready")],
        "startTime": now,
        "containerStatuses": statuses,
    })
}

/// Whether `pod`'s Ready condition is True.
pub fn pod_ready(pod: &Value) -> bool {
    let conditions = pod.pointer("/status/conditions").and_then(Value::as_array);
    conditions
        .into_iter()
        .flatten()
        .any(|c| c["type"] == "Ready" && c["status"] == "True")
}

/// The string at JSON pointer `p`, or `""`.
pub fn str_at<'a>(v: &'a Value, p: &str) -> &'a str {
    v.pointer(p).and_then(Value::as_str).unwrap_or("")
}

/// Now as RFC 3339 in UTC with second precision, the form Kubernetes timestamps take.
pub fn now_rfc3339() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    rfc3339(secs)
}

/// Seconds since the Unix epoch as `YYYY-MM-DDTHH:MM:SSZ` (proleptic Gregorian calendar).
pub fn rfc3339(secs: u64) -> String {
    let days = secs / 86_400;
    let rem = secs % 86_400;
    // Civil date from a day count, shifting the year to start in March so leap days come last.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3_600,
        rem % 3_600 / 60,
        rem % 60
    )
}
