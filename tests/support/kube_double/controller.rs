//! The Deployment controller, ReplicaSet controller and garbage collector, folded into one tick
//! (which also drives the kubelet in `kubelet.rs`): rollouts create pods per pod-template hash,
//! pods turn ready, old pods go, status and events follow recordings 11, 14, 18 and 19.
//!
//! A tick looks only at what changed since the last one (the store's change record, which
//! counts a pod's change as its Deployment's), at Deployments still rolling out (whose progress
//! deadline runs on the clock) and at pods waiting to turn ready, so a quiet cluster costs
//! nothing however many objects it holds. A tick that finds work is one pass over those objects:
//! what it writes is looked at on the next tick, as a real controller reacts to its own writes.
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
    /// Pods not yet ready → when they become ready (`None`: never, reported once and dropped).
    pods: BTreeMap<(String, String), Option<Instant>>,
    /// Deployments whose last sync left the rollout unfinished: synced every tick, since time
    /// alone (the progress deadline) can change their status.
    rolling: BTreeSet<Key>,
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
    /// One pass over what changed since the last tick; the double runs it every 50 ms. Returns
    /// how many Deployments it synced.
    pub(crate) fn tick(&mut self, store: &mut Store) -> usize {
        let changed = store.take_changed();
        self.collect(store, &changed);
        let due: BTreeSet<Key> = changed
            .into_iter()
            .filter(|k| k.0 == Kind::Deployment)
            .chain(std::mem::take(&mut self.rolling))
            .collect();
        let synced = due.len();
        for key in due {
            if self.sync(store, &key) == Synced::Rolling {
                self.rolling.insert(key);
            }
        }
        self.kubelet(store);
        synced
    }

    /// Garbage collection of what changed: terminating pods go, pods of deleted deployments start
    /// terminating, foreground-deleted objects go once their dependents (a Deployment's pods)
    /// are gone. Every object that starts terminating is in the change record of the next tick,
    /// and so is a Deployment whose pod went, so nothing waiting is missed.
    fn collect(&mut self, store: &mut Store, changed: &BTreeSet<Key>) {
        let is_terminating =
            |store: &Store, k: &Key| store.objects().get(k).is_some_and(|s| terminating(&s.obj));
        let done: Vec<&Key> = changed
            .iter()
            .filter(|k| k.0 == Kind::Pod && is_terminating(store, k))
            .collect();
        for key in done {
            store.remove(key);
            self.pods.remove(&(key.1.clone(), key.2.clone()));
        }
        let ownerless = |store: &Store, ns: &str, deployment: &str| {
            let owner = (Kind::Deployment, ns.to_owned(), deployment.to_owned());
            store
                .objects()
                .get(&owner)
                .is_none_or(|o| terminating(&o.obj))
        };
        let mut orphans: BTreeSet<Key> = BTreeSet::new();
        for key in changed {
            match key.0 {
                Kind::Pod => {
                    let owner = store
                        .objects()
                        .get(key)
                        .and_then(|s| owning_deployment(&s.obj));
                    if owner.is_some_and(|d| ownerless(store, &key.1, d)) {
                        orphans.insert(key.clone());
                    }
                }
                Kind::Deployment if ownerless(store, &key.1, &key.2) => {
                    let pods = Self::pods_of(store, &key.1, &key.2);
                    orphans.extend(pods.into_iter().map(|(k, _)| k));
                }
                _ => {}
            }
        }
        for key in &orphans {
            store.delete(key, None);
        }
        let finished: Vec<&Key> = changed
            .iter()
            .filter(|k| k.0 != Kind::Pod && is_terminating(store, k))
            // Only a Deployment has dependents here (its pods, by owner); any other object,
            // even one named like a Deployment, goes at once, as a real garbage collector
            // finds no dependents by owner reference for it.
            .filter(|k| k.0 != Kind::Deployment || !Self::has_pods(store, &k.1, &k.2))
            .collect();
        for key in finished {
            store.remove(key);
            self.rollouts.remove(&(key.1.clone(), key.2.clone()));
            self.rolling.remove(key);
        }
    }

    /// Whether any pod, terminating or not, belongs to Deployment `ns/name`.
    fn has_pods(store: &Store, ns: &str, name: &str) -> bool {
        store
            .objects()
            .iter()
            .any(|(k, p)| k.0 == Kind::Pod && k.1 == ns && owning_deployment(&p.obj) == Some(name))
    }

    fn pods_of(store: &Store, ns: &str, name: &str) -> Vec<(Key, Value)> {
        store
            .objects()
            .iter()
            .filter(|(k, s)| k.0 == Kind::Pod && k.1 == ns && !terminating(&s.obj))
            .filter(|(_, s)| owning_deployment(&s.obj) == Some(name))
            .map(|(k, s)| (k.clone(), s.obj.clone()))
            .collect()
    }

    /// Brings Deployment `key` one step closer to its spec, and says whether it must be looked
    /// at again without any change (a rollout in progress).
    fn sync(&mut self, store: &mut Store, key: &Key) -> Synced {
        let Some(d) = store.objects().get(key).map(|s| s.obj.clone()) else {
            return Synced::Settled;
        };
        if terminating(&d) {
            return Synced::Settled;
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
        let Some(r) = r else {
            return Synced::Settled;
        };
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
        if complete {
            Synced::Settled
        } else {
            Synced::Rolling
        }
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

    /// Marks pods ready when their time comes; reports once on pods that never will. Either
    /// way the pod leaves the waiting list: nothing else makes a pod unready.
    fn kubelet(&mut self, store: &mut Store) {
        let now = Instant::now();
        let due: Vec<(String, String)> = self
            .pods
            .iter()
            .filter(|(_, ready_at)| ready_at.is_none_or(|at| at <= now))
            .map(|(pod, _)| pod.clone())
            .collect();
        for (ns, name) in due {
            let ready_at = self.pods.remove(&(ns.clone(), name.clone())).flatten();
            let key = (Kind::Pod, ns, name);
            let Some(pod) = store.objects().get(&key).map(|s| s.obj.clone()) else {
                continue;
            };
            if ready_at.is_none() {
                report_never_ready(store, &pod);
            } else if !pod_ready(&pod) {
                store.update(&key, "kubelet", Via::Status, |p| {
                    p["status"] = running(&pod, true)
                });
            }
        }
    }
}

/// What a sync leaves behind.
#[derive(Debug, PartialEq, Eq)]
enum Synced {
    /// Nothing changes until an object does.
    Settled,
    /// The rollout is unfinished: its conditions may change with time alone.
    Rolling,
}

#[cfg(test)]
mod tests {
    use super::{Controller, Kind, Store};
    use serde_json::{Value, json};
    use std::time::{Duration, Instant};

    const NS: &str = "default";

    fn deployment(image: &str) -> Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "srv"},
            "spec": {"selector": {"matchLabels": {"app": "srv"}},
                     "template": {"metadata": {"labels": {"app": "srv"}},
                                  "spec": {"containers": [{"name": "c", "image": image}]}}}})
    }

    fn live(store: &Store) -> Value {
        let key = (Kind::Deployment, NS.to_owned(), "srv".to_owned());
        store.render(&key).unwrap_or(Value::Null)
    }

    fn pods(store: &Store) -> Vec<String> {
        let keys = store.objects().keys();
        keys.filter(|k| k.0 == Kind::Pod)
            .map(|k| k.2.clone())
            .collect()
    }

    /// Ticks until `done` holds and a tick finds nothing to sync; false after 10 s.
    fn settle(c: &mut Controller, store: &mut Store, done: impl Fn(&Store) -> bool) -> bool {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if c.tick(store) == 0 && done(store) {
                return true;
            }
            // Pods turn ready on the clock (READY_AFTER); this only paces the polling.
            std::thread::sleep(Duration::from_millis(5));
        }
        false
    }

    #[test]
    fn a_tick_syncs_only_deployments_that_changed_or_are_rolling_out() {
        let mut store = Store::new();
        let mut c = Controller::default();
        let created = store.apply(
            Kind::Deployment,
            NS,
            "srv",
            deployment("i:1"),
            "konoha",
            false,
        );
        assert_eq!(created.code, 201, "{}", created.body);
        let ready = |s: &Store| live(s)["status"]["availableReplicas"] == 1;
        assert!(settle(&mut c, &mut store, ready), "{}", live(&store));
        let (before, pods_before) = (live(&store), pods(&store));
        for _ in 0..3 {
            assert_eq!(c.tick(&mut store), 0, "a settled deployment is left alone");
        }
        assert_eq!(live(&store), before);

        // A change to one of its pods is the Deployment's business: the pod is replaced.
        let pod = (Kind::Pod, NS.to_owned(), pods_before[0].clone());
        assert_eq!(store.delete(&pod, None).code, 200);
        assert_eq!(c.tick(&mut store), 1);
        let replaced = |s: &Store| ready(s) && pods(s).len() == 1 && pods(s) != pods_before;
        assert!(settle(&mut c, &mut store, replaced), "{:?}", pods(&store));

        // So is a change of its own: a new template rolls out.
        let updated = store.apply(
            Kind::Deployment,
            NS,
            "srv",
            deployment("i:2"),
            "konoha",
            false,
        );
        assert_eq!(updated.code, 200, "{}", updated.body);
        assert_eq!(c.tick(&mut store), 1);
        let rolled = |s: &Store| ready(s) && live(s)["status"]["updatedReplicas"] == 1;
        assert!(settle(&mut c, &mut store, rolled), "{}", live(&store));
        assert_eq!(
            live(&store)["metadata"]["annotations"]["deployment.kubernetes.io/revision"],
            "2"
        );
    }
}
