//! The Deployment controller, ReplicaSet controller and garbage collector, folded into one tick
//! (which also drives the kubelet in `kubelet.rs`): rollouts create pods per pod-template hash,
//! pods turn ready, old pods go, status and events follow recordings 11, 14, 18 and 19.
//!
//! Leaves out ReplicaSet objects (only their names, uids and events exist), surge arithmetic (all
//! new pods start at once; old pods go once every new one is ready), minReadySeconds and pause.
//! Pods never become ready when a container image contains `broken` or when the deployment was
//! marked with `set_never_ready`.

use super::clock;
use super::conditions::{canonical, max_unavailable, set_condition};
use super::kubelet::{NODE, event, pod_ready, report_never_ready, running};
use super::schema::Kind;
use super::store::{Key, Store, Via, owning_deployment};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

/// How long a healthy pod takes to become ready.
const READY_AFTER: Duration = Duration::from_millis(100);

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

fn terminating(o: &Value) -> bool {
    o.pointer("/metadata/deletionTimestamp").is_some()
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
    /// foreground-deleted objects go once their dependents (a Deployment's pods) are gone.
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
            .filter(|(k, s)| k.0 != Kind::Pod && terminating(&s.obj))
            // Only a Deployment has dependents here (its pods, by owner); any other object,
            // even one named like a Deployment, goes at once, as a real garbage collector
            // finds no dependents by owner reference for it.
            .filter(|(k, _)| {
                k.0 != Kind::Deployment
                    || !store.objects.iter().any(|(pk, p)| {
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
        // A new replica set starts from 0 (recording 19: "Scaled up replica set X from 0 to 1").
        let scaled_from = if new_rs { 0 } else { r.scaled };
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
        if announce && replicas != scaled_from {
            let direction = if replicas > scaled_from { "up" } else { "down" };
            let msg =
                format!("Scaled {direction} replica set {rs} from {scaled_from} to {replicas}");
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
            let mut old_counts: BTreeMap<&str, usize> = BTreeMap::new();
            for (_, p) in &old {
                *old_counts
                    .entry(str_at(p, "/metadata/ownerReferences/0/name"))
                    .or_default() += 1;
            }
            for (k, p) in &old {
                let old_rs = str_at(p, "/metadata/ownerReferences/0/name").to_owned();
                let old_ref = json!({"kind": "ReplicaSet", "namespace": ns, "name": old_rs,
                    "uid": self.rs_uid(store, &ns, &old_rs), "apiVersion": "apps/v1",
                    "resourceVersion": store.resource_version()});
                if scaled.insert(old_rs.clone()) {
                    let from = old_counts.get(old_rs.as_str()).copied().unwrap_or(0);
                    let msg = format!("Scaled down replica set {old_rs} from {from} to 0");
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
