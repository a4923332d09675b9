//! The Deployment controller, ReplicaSet controller, garbage collector and kubelet, folded into
//! one tick: rollouts create pods per pod-template hash, pods turn ready, old pods go, status and
//! events follow what recordings 11, 14, 18 and 19 show.
//!
//! Leaves out ReplicaSet objects (only their names, uids and events exist), surge arithmetic (all
//! new pods start at once; old pods go once every new one is ready), minReadySeconds and pause.
//! Pods never become ready when a container image contains `broken` or when the deployment was
//! marked with `set_never_ready`.

use super::clock;
use super::schema::Kind;
use super::store::{Key, Store, Via, owning_deployment};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

/// How long a healthy pod takes to become ready.
const READY_AFTER: Duration = Duration::from_millis(100);
/// The node every pod lands on.
const NODE: &str = "double-node";

#[derive(Debug)]
struct Rollout {
    uid: String,
    hash: String,
    revision: u64,
    progress_at: Instant,
    ready: usize,
    /// The replica count last announced with a ScalingReplicaSet event.
    scaled: usize,
}

/// Controller memory that does not live in objects.
#[derive(Debug, Default)]
pub(crate) struct Controller {
    rollouts: BTreeMap<(String, String), Rollout>,
    /// Pod → when it becomes ready (`None`: never).
    pods: BTreeMap<(String, String), Option<Instant>>,
    reported: BTreeSet<(String, String)>,
    rs_uids: BTreeMap<(String, String), String>,
    /// Deployments whose pods never become ready, by (namespace, name).
    pub(crate) never_ready: BTreeSet<(String, String)>,
}

fn str_at<'a>(o: &'a Value, p: &str) -> &'a str {
    o.pointer(p).and_then(Value::as_str).unwrap_or("")
}

fn pod_ready(p: &Value) -> bool {
    let conds = p.pointer("/status/conditions").and_then(Value::as_array);
    conds
        .into_iter()
        .flatten()
        .any(|c| c["type"] == "Ready" && c["status"] == "True")
}

fn terminating(o: &Value) -> bool {
    o.pointer("/metadata/deletionTimestamp").is_some()
}

/// Canonical JSON (sorted keys) so the template hash does not depend on key order.
fn canonical(v: &Value) -> String {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let parts: Vec<String> = keys
                .iter()
                .map(|k| format!("{}:{}", json!(k), canonical(&m[*k])))
                .collect();
            format!("{{{}}}", parts.join(","))
        }
        Value::Array(a) => format!(
            "[{}]",
            a.iter().map(canonical).collect::<Vec<_>>().join(",")
        ),
        other => other.to_string(),
    }
}

/// Adds or replaces condition `new` the way the controllers do: an unchanged status and reason
/// is left alone; a changed one moves to the end, keeping its transition time if status stayed.
fn set_condition(conds: &mut Vec<Value>, kind: &str, status: &str, reason: &str, message: &str) {
    let pos = conds.iter().position(|c| c["type"] == kind);
    let old = pos.map(|i| conds.remove(i));
    if let Some(old) = &old {
        if old["status"] == status && old["reason"] == reason {
            conds.insert(pos.unwrap_or(conds.len()), old.clone());
            return;
        }
    }
    let now = clock::now();
    let transition = match &old {
        Some(o) if o["status"] == status => o["lastTransitionTime"].clone(),
        _ => json!(now),
    };
    conds.push(
        json!({"type": kind, "status": status, "lastUpdateTime": now,
                      "lastTransitionTime": transition, "reason": reason, "message": message}),
    );
}

impl Controller {
    /// One pass over everything; the double runs it every 50 ms.
    pub(crate) fn tick(&mut self, store: &mut Store) {
        self.collect(store);
        let deployments: Vec<Key> = store
            .objects
            .keys()
            .filter(|k| k.0 == Kind::Deployment)
            .cloned()
            .collect();
        for key in deployments {
            self.sync(store, &key);
        }
        self.kubelet(store);
    }

    /// Garbage collection: terminating pods go, pods of deleted deployments start terminating,
    /// foreground-deleted deployments go once their pods are gone.
    fn collect(&mut self, store: &mut Store) {
        let done: Vec<Key> = store
            .objects
            .iter()
            .filter(|(k, s)| k.0 == Kind::Pod && terminating(&s.obj))
            .map(|(k, _)| k.clone())
            .collect();
        for key in done {
            store.objects.remove(&key);
            self.pods.remove(&(key.1.clone(), key.2.clone()));
        }
        let orphans: Vec<Key> = store
            .objects
            .iter()
            .filter(|(k, _)| k.0 == Kind::Pod)
            .filter(|(k, s)| {
                owning_deployment(&s.obj).is_some_and(|d| {
                    let owner = store
                        .objects
                        .get(&(Kind::Deployment, k.1.clone(), d.to_owned()));
                    owner.is_none_or(|o| terminating(&o.obj))
                })
            })
            .map(|(k, _)| k.clone())
            .collect();
        for key in &orphans {
            store.delete(key, None);
        }
        let finished: Vec<Key> = store
            .objects
            .iter()
            .filter(|(k, s)| k.0 == Kind::Deployment && terminating(&s.obj))
            .filter(|(k, _)| {
                !store.objects.iter().any(|(pk, p)| {
                    pk.0 == Kind::Pod && pk.1 == k.1 && owning_deployment(&p.obj) == Some(&k.2)
                })
            })
            .map(|(k, _)| k.clone())
            .collect();
        for key in finished {
            store.objects.remove(&key);
            self.rollouts.remove(&(key.1, key.2));
        }
    }

    fn pods_of(store: &Store, ns: &str, name: &str) -> Vec<(Key, Value)> {
        store
            .objects
            .iter()
            .filter(|(k, s)| k.0 == Kind::Pod && k.1 == ns && !terminating(&s.obj))
            .filter(|(_, s)| owning_deployment(&s.obj) == Some(name))
            .map(|(k, s)| (k.clone(), s.obj.clone()))
            .collect()
    }

    fn sync(&mut self, store: &mut Store, key: &Key) {
        let Some(d) = store.objects.get(key).map(|s| s.obj.clone()) else {
            return;
        };
        if terminating(&d) {
            return;
        }
        let (ns, name) = (key.1.clone(), key.2.clone());
        let uid = str_at(&d, "/metadata/uid").to_owned();
        let replicas = d
            .pointer("/spec/replicas")
            .and_then(Value::as_u64)
            .unwrap_or(1) as usize;
        let deadline = d
            .pointer("/spec/progressDeadlineSeconds")
            .and_then(Value::as_u64);
        let template = d.pointer("/spec/template").cloned().unwrap_or(Value::Null);
        let hash = clock::safe_hash(&canonical(&template));
        let rs = format!("{name}-{hash}");
        let r = self
            .rollouts
            .entry((ns.clone(), name.clone()))
            .or_insert(Rollout {
                uid: String::new(),
                hash: String::new(),
                revision: 0,
                progress_at: Instant::now(),
                ready: 0,
                scaled: 0,
            });
        if r.uid != uid {
            *r = Rollout {
                uid: uid.clone(),
                hash: String::new(),
                revision: 0,
                progress_at: Instant::now(),
                ready: 0,
                scaled: 0,
            };
        }
        let new_rs = r.hash != hash;
        if new_rs {
            r.hash = hash.clone();
            r.revision += 1;
            r.progress_at = Instant::now();
            r.ready = 0;
        }
        let revision = r.revision;
        let announce = new_rs || r.scaled != replicas;
        r.scaled = replicas;
        let rs_uid = self.rs_uid(store, &ns, &rs);
        // ReplicaSets are not stored; the current resourceVersion stands in for theirs.
        let rs_ref = json!({"kind": "ReplicaSet", "namespace": ns, "name": rs, "uid": rs_uid,
                            "apiVersion": "apps/v1", "resourceVersion": store.resource_version()});
        let d_ref = json!({"kind": "Deployment", "namespace": ns, "name": name, "uid": uid,
                           "apiVersion": "apps/v1",
                           "resourceVersion": str_at(&d, "/metadata/resourceVersion")});
        let pods = Self::pods_of(store, &ns, &name);
        let current: Vec<&(Key, Value)> = pods
            .iter()
            .filter(|(_, p)| str_at(p, "/metadata/labels/pod-template-hash") == hash)
            .collect();
        if announce && replicas > 0 {
            let msg = format!("Scaled up replica set {rs} to {replicas}");
            event(
                store,
                &d_ref,
                "Normal",
                "ScalingReplicaSet",
                &msg,
                "deployment-controller",
            );
        }
        if current.len() < replicas {
            let images = template
                .pointer("/spec/containers")
                .and_then(Value::as_array);
            let never = self.never_ready.contains(&(ns.clone(), name.clone()))
                || images
                    .into_iter()
                    .flatten()
                    .any(|c| str_at(c, "/image").contains("broken"));
            for _ in current.len()..replicas {
                self.create_pod(store, &template, &rs_ref, &hash, never);
            }
        }
        for (k, _) in current.iter().skip(replicas) {
            store.delete(k, None);
        }
        let ready_new = current.iter().filter(|(_, p)| pod_ready(p)).count();
        let old: Vec<&(Key, Value)> = pods
            .iter()
            .filter(|(_, p)| str_at(p, "/metadata/labels/pod-template-hash") != hash)
            .collect();
        if ready_new >= replicas && !old.is_empty() {
            let mut scaled = BTreeSet::new();
            for (k, p) in &old {
                let old_rs = str_at(p, "/metadata/ownerReferences/0/name").to_owned();
                let old_ref = json!({"kind": "ReplicaSet", "namespace": ns, "name": old_rs,
                    "uid": self.rs_uid(store, &ns, &old_rs), "apiVersion": "apps/v1",
                    "resourceVersion": store.resource_version()});
                if scaled.insert(old_rs.clone()) {
                    let msg = format!("Scaled down replica set {old_rs} to 0");
                    event(
                        store,
                        &d_ref,
                        "Normal",
                        "ScalingReplicaSet",
                        &msg,
                        "deployment-controller",
                    );
                }
                let msg = format!("Deleted pod: {}", k.2);
                event(
                    store,
                    &old_ref,
                    "Normal",
                    "SuccessfulDelete",
                    &msg,
                    "replicaset-controller",
                );
                store.delete(k, None);
            }
        }
        let pods = Self::pods_of(store, &ns, &name);
        let total = pods.len();
        let updated = pods
            .iter()
            .filter(|(_, p)| str_at(p, "/metadata/labels/pod-template-hash") == hash)
            .count();
        let available = pods.iter().filter(|(_, p)| pod_ready(p)).count();
        let max_unavailable = max_unavailable(&d, replicas);
        let mut conds: Vec<Value> = d
            .pointer("/status/conditions")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if available + max_unavailable >= replicas {
            set_condition(
                &mut conds,
                "Available",
                "True",
                "MinimumReplicasAvailable",
                "Deployment has minimum availability.",
            );
        } else {
            set_condition(
                &mut conds,
                "Available",
                "False",
                "MinimumReplicasUnavailable",
                "Deployment does not have minimum availability.",
            );
        }
        let r = self.rollouts.get_mut(&(ns.clone(), name.clone()));
        let Some(r) = r else { return };
        let complete = updated == replicas && total == replicas && ready_new >= replicas;
        let exceeded = conds
            .iter()
            .any(|c| c["type"] == "Progressing" && c["reason"] == "ProgressDeadlineExceeded");
        if new_rs {
            set_condition(
                &mut conds,
                "Progressing",
                "True",
                "NewReplicaSetCreated",
                &format!("Created new replica set {rs:?}"),
            );
        } else if complete {
            set_condition(
                &mut conds,
                "Progressing",
                "True",
                "NewReplicaSetAvailable",
                &format!("ReplicaSet {rs:?} has successfully progressed."),
            );
        } else if exceeded {
        } else if ready_new > r.ready {
            r.progress_at = Instant::now();
            set_condition(
                &mut conds,
                "Progressing",
                "True",
                "ReplicaSetUpdated",
                &format!("ReplicaSet {rs:?} is progressing."),
            );
        } else if deadline.is_some_and(|s| r.progress_at.elapsed() > Duration::from_secs(s)) {
            set_condition(
                &mut conds,
                "Progressing",
                "False",
                "ProgressDeadlineExceeded",
                &format!("ReplicaSet {rs:?} has timed out progressing."),
            );
        }
        r.ready = ready_new;
        let mut status = Map::new();
        status.insert(
            "observedGeneration".into(),
            d.pointer("/metadata/generation")
                .cloned()
                .unwrap_or(json!(1)),
        );
        for (field, n) in [
            ("replicas", total),
            ("updatedReplicas", updated),
            ("readyReplicas", available),
            ("availableReplicas", available),
            ("unavailableReplicas", total.saturating_sub(available)),
        ] {
            if n > 0 {
                status.insert(field.into(), json!(n));
            }
        }
        status.insert("conditions".into(), Value::Array(conds));
        store.update(key, "kube-controller-manager", Via::Status, |o| {
            o["status"] = Value::Object(status);
            o["metadata"]["annotations"]["deployment.kubernetes.io/revision"] =
                json!(revision.to_string());
        });
    }

    fn rs_uid(&mut self, store: &mut Store, ns: &str, rs: &str) -> String {
        let key = (ns.to_owned(), rs.to_owned());
        self.rs_uids
            .entry(key)
            .or_insert_with(|| store.ids.uid())
            .clone()
    }

    fn create_pod(
        &mut self,
        store: &mut Store,
        template: &Value,
        rs_ref: &Value,
        hash: &str,
        never: bool,
    ) {
        let ns = str_at(rs_ref, "/namespace").to_owned();
        let rs = str_at(rs_ref, "/name");
        let name = format!("{rs}-{}", store.ids.suffix(5));
        let mut meta = template.get("metadata").cloned().unwrap_or(json!({}));
        meta["name"] = json!(name);
        meta["labels"]["pod-template-hash"] = json!(hash);
        meta["ownerReferences"] = json!([{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": rs,
            "uid": rs_ref["uid"], "controller": true, "blockOwnerDeletion": true}]);
        if let Some(m) = meta.as_object_mut() {
            m.remove("creationTimestamp");
        }
        let mut spec = template.get("spec").cloned().unwrap_or(json!({}));
        spec["nodeName"] = json!(NODE);
        let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec});
        store.create(Kind::Pod, &ns, pod, "kube-controller-manager");
        let msg = format!("Created pod: {name}");
        event(
            store,
            rs_ref,
            "Normal",
            "SuccessfulCreate",
            &msg,
            "replicaset-controller",
        );
        let ready_at = (!never).then(|| Instant::now() + READY_AFTER);
        self.pods.insert((ns, name), ready_at);
    }

    /// Marks pods ready when their time comes; reports once on pods that never will.
    fn kubelet(&mut self, store: &mut Store) {
        let now = Instant::now();
        for ((ns, name), ready_at) in self.pods.clone() {
            let key = (Kind::Pod, ns.clone(), name.clone());
            let Some(pod) = store.objects.get(&key).map(|s| s.obj.clone()) else {
                self.pods.remove(&(ns, name));
                continue;
            };
            match ready_at {
                Some(at) if at <= now && !pod_ready(&pod) => {
                    store.update(&key, "kubelet", Via::Status, |p| {
                        p["status"] = running(&pod, true)
                    });
                }
                None if self.reported.insert((ns.clone(), name.clone())) => {
                    report_never_ready(store, &pod);
                }
                _ => {}
            }
        }
    }
}

fn max_unavailable(d: &Value, replicas: usize) -> usize {
    match d.pointer("/spec/strategy/rollingUpdate/maxUnavailable") {
        Some(Value::Number(n)) => n.as_u64().unwrap_or(0) as usize,
        Some(Value::String(p)) => {
            let pct: usize = p.trim_end_matches('%').parse().unwrap_or(25);
            replicas * pct / 100
        }
        _ => 0,
    }
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
fn report_never_ready(store: &mut Store, pod: &Value) {
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
    let e = json!({"apiVersion": "v1", "kind": "Event", "metadata": {"name": name, "namespace": ns},
        "involvedObject": involved, "reason": reason, "message": message, "source": source,
        "firstTimestamp": now, "lastTimestamp": now, "count": 1, "type": kind});
    store.create(Kind::Event, &ns, e, manager);
}
