//! The object store: every write (apply, update, create, delete) goes through here, which gives
//! objects their uid, resourceVersion (one global counter), generation, defaults and managedFields.
//!
//! It also remembers which objects changed since the controllers last looked
//! ([`Store::take_changed`]), so that a controller tick visits only those.
//!
//! Leaves out watches, optimistic-concurrency preconditions on writes and `generateName`; the
//! merge rules live in `ssa.rs`, defaults and validation in `defaults.rs`.

use super::clock::{self, Ids};
use super::defaults;
use super::fields::{self, Entry};
use super::schema::Kind;
use super::ssa::{self, ApplyError};
use super::status::{self, Reply};
use super::tokenreview::{self, Tokens};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet};

/// Where an object lives: kind, namespace, name.
pub(crate) type Key = (Kind, String, String);

/// An object as stored: its JSON without `managedFields`, and the ownership entries.
#[derive(Clone, Debug)]
pub(crate) struct Stored {
    pub(crate) obj: Value,
    pub(crate) entries: Vec<Entry>,
}

/// Which endpoint a write came through: the main resource ignores `status`, the status
/// subresource ignores everything but `status` and metadata annotations and labels, and `/scale`
/// everything but `spec.replicas`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Via {
    Main,
    Status,
    Scale,
}

/// All objects of one double.
#[derive(Debug)]
pub(crate) struct Store {
    /// Private, so that every change passes [`Store::changed`]'s bookkeeping.
    objects: BTreeMap<Key, Stored>,
    /// Objects stored, changed or removed since the last [`Store::take_changed`], and for each
    /// such pod the Deployment that owns it, before and after: what the controllers react to.
    changed: BTreeSet<Key>,
    namespaces: BTreeMap<String, Value>,
    rv: u64,
    pub(crate) ids: Ids,
    next_ip: u32,
    /// Service-account tokens issued, and the tokens reviewed.
    pub(crate) tokens: Tokens,
}

fn meta(o: &mut Value) -> &mut Map<String, Value> {
    if !o.get("metadata").is_some_and(Value::is_object) {
        o["metadata"] = json!({});
    }
    o["metadata"]
        .as_object_mut()
        .unwrap_or_else(|| unreachable!("metadata was just made an object"))
}

fn str_at<'a>(o: &'a Value, pointer: &str) -> Option<&'a str> {
    o.pointer(pointer).and_then(Value::as_str)
}

impl Store {
    /// A store with the namespaces every cluster has.
    pub(crate) fn new() -> Store {
        let mut s = Store {
            objects: BTreeMap::new(),
            changed: BTreeSet::new(),
            namespaces: BTreeMap::new(),
            rv: 200,
            ids: Ids::new(),
            next_ip: 10,
            tokens: Tokens::default(),
        };
        for ns in ["default", "kube-system", "kube-public"] {
            s.create_namespace(ns);
        }
        s
    }

    /// Every object, by key.
    pub(crate) fn objects(&self) -> &BTreeMap<Key, Stored> {
        &self.objects
    }

    /// What changed since the last call (see [`Store::changed`]), emptying the record.
    pub(crate) fn take_changed(&mut self) -> BTreeSet<Key> {
        std::mem::take(&mut self.changed)
    }

    /// Records that the object at `key`, which is (or was) `obj`, changed; a pod's change
    /// counts as a change of the Deployment that owns it, whose status counts its pods.
    fn touch(&mut self, key: &Key, obj: &Value) {
        if key.0 == Kind::Pod
            && let Some(deployment) = owning_deployment(obj)
        {
            let owner = (Kind::Deployment, key.1.clone(), deployment.to_owned());
            self.changed.insert(owner);
        }
        self.changed.insert(key.clone());
    }

    /// Removes the object at `key` at once (the garbage collector's last step).
    pub(crate) fn remove(&mut self, key: &Key) -> Option<Stored> {
        let removed = self.objects.remove(key)?;
        self.touch(key, &removed.obj);
        Some(removed)
    }

    /// Answers a TokenReview (`body`): a token this double issued, whose service account still
    /// exists with the uid it was issued for, authenticates.
    pub(crate) fn review_token(&mut self, body: &[u8]) -> Reply {
        let Store {
            objects, tokens, ..
        } = self;
        tokenreview::review(tokens, body, |ns, name| {
            let key = (Kind::ServiceAccount, ns.to_owned(), name.to_owned());
            let account = &objects.get(&key)?.obj;
            account
                .pointer("/metadata/uid")?
                .as_str()
                .map(str::to_owned)
        })
    }

    /// The current resourceVersion (what lists report).
    pub(crate) fn resource_version(&self) -> String {
        self.rv.to_string()
    }

    fn bump(&mut self) -> String {
        self.rv += 1;
        self.rv.to_string()
    }

    /// Creates namespace `ns` if it does not exist.
    pub(crate) fn create_namespace(&mut self, ns: &str) {
        if self.namespaces.contains_key(ns) {
            return;
        }
        let (uid, rv, now) = (self.ids.uid(), self.bump(), clock::now());
        let namespace = json!({
            "kind": "Namespace", "apiVersion": "v1",
            "metadata": {"name": ns, "uid": uid, "resourceVersion": rv, "creationTimestamp": now,
                         "labels": {"kubernetes.io/metadata.name": ns}},
            "spec": {"finalizers": ["kubernetes"]},
            "status": {"phase": "Active"}
        });
        self.namespaces.insert(ns.to_owned(), namespace);
    }

    /// The namespace object, or 404.
    pub(crate) fn namespace(&self, ns: &str) -> Result<Value, Reply> {
        self.namespaces
            .get(ns)
            .cloned()
            .ok_or_else(|| status::namespace_not_found(ns))
    }

    /// The object at `key` as the API shows it (with `managedFields`).
    pub(crate) fn render(&self, key: &Key) -> Option<Value> {
        let stored = self.objects.get(key)?;
        let mut o = stored.obj.clone();
        if !stored.entries.is_empty() {
            meta(&mut o).insert(
                "managedFields".into(),
                fields::render_entries(&stored.entries),
            );
        }
        Some(o)
    }

    /// GET of one object.
    pub(crate) fn get(&self, kind: Kind, ns: &str, name: &str) -> Reply {
        let key = (kind, ns.to_owned(), name.to_owned());
        match self.render(&key) {
            Some(o) => Reply::ok(200, o),
            None => status::not_found(kind, name),
        }
    }

    /// A `<Kind>List` of the objects in `ns` that `keep` accepts, sorted by name.
    pub(crate) fn list(&self, kind: Kind, ns: &str, keep: impl Fn(&Value) -> bool) -> Value {
        let items: Vec<Value> = self
            .objects
            .keys()
            .filter(|(k, n, _)| *k == kind && n == ns)
            .filter_map(|key| self.render(key))
            .filter(|o| keep(o))
            .map(|mut o| {
                if let Some(m) = o.as_object_mut() {
                    m.remove("kind");
                    m.remove("apiVersion");
                }
                o
            })
            .collect();
        json!({
            "kind": format!("{}List", kind.name()),
            "apiVersion": kind.api_version(),
            "metadata": {"resourceVersion": self.resource_version()},
            "items": items
        })
    }

    /// Server-side apply of `body` by `manager` (PATCH with `application/apply-patch+yaml`).
    pub(crate) fn apply(
        &mut self,
        kind: Kind,
        ns: &str,
        name: &str,
        mut body: Value,
        manager: &str,
        force: bool,
    ) -> Reply {
        let version = str_at(&body, "/apiVersion").unwrap_or("");
        let k = str_at(&body, "/kind").unwrap_or("");
        if version.is_empty() || k.is_empty() {
            // The server cannot even tell the type: it prints the group/version and kind it
            // decoded, empty ones included (recording 09).
            let (group, version) = version.rsplit_once('/').unwrap_or(("", version));
            return status::bad_request(format!(
                "invalid object type: {group}/{version}, Kind={k}"
            ));
        }
        if version != kind.api_version() {
            return status::bad_request(format!(
                "Incorrect version specified in apply patch. Specified patch version: {version}, expected: {}",
                kind.api_version()
            ));
        }
        if k != kind.name() {
            return status::bad_request(format!(
                "Incorrect kind specified in apply patch. Specified patch kind: {k}, expected: {}",
                kind.name()
            ));
        }
        if let Some(n) = str_at(&body, "/metadata/name").filter(|n| *n != name) {
            return status::bad_request(format!(
                "the name of the object ({n}) does not match the name on the URL ({name})"
            ));
        }
        if str_at(&body, "/metadata/namespace").is_some_and(|n| n != ns) {
            return status::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request"
                    .into(),
            );
        }
        if !self.namespaces.contains_key(ns) {
            return status::namespace_not_found(ns);
        }
        let key = (kind, ns.to_owned(), name.to_owned());
        let old = self.objects.get(&key).cloned();
        if old.is_none() {
            let errors = defaults::name_errors(kind, name);
            if !errors.is_empty() {
                return status::invalid(kind, name, &errors);
            }
        }
        // What the server sets is not the applier's to set; status belongs to the subresource.
        if let Some(m) = body.as_object_mut() {
            m.remove("status");
        }
        let keep = [
            "name",
            "namespace",
            "labels",
            "annotations",
            "ownerReferences",
            "finalizers",
        ];
        meta(&mut body).retain(|k, _| keep.contains(&k.as_str()));
        let live = match &old {
            Some(s) => s.obj.clone(),
            None => json!({"apiVersion": kind.api_version(), "kind": kind.name(),
                           "metadata": {"name": name, "namespace": ns}}),
        };
        let no_entries = Vec::new();
        let entries = old.as_ref().map_or(&no_entries, |s| &s.entries);
        match ssa::apply(kind, &live, entries, &body, manager, force) {
            Ok((merged, entries)) => self.commit(key, old.as_ref(), merged, entries, Via::Main),
            Err(ApplyError::Conflicts(c)) => status::apply_conflict(&c),
            Err(ApplyError::Schema(m)) => status::internal(format!(
                "failed to create typed patch object ({ns}/{name}; {}, Kind={}): {m}",
                kind.api_version(),
                kind.name()
            )),
        }
    }

    /// An Update-operation write by `manager` (like `kubectl edit`, or a controller's status
    /// update when `via` is [`Via::Status`]).
    pub(crate) fn update(
        &mut self,
        key: &Key,
        manager: &str,
        via: Via,
        mutate: impl FnOnce(&mut Value),
    ) -> Reply {
        let Some(old) = self.objects.get(key).cloned() else {
            return status::not_found(key.0, &key.2);
        };
        let mut edited = old.obj.clone();
        mutate(&mut edited);
        let mut new = old.obj.clone();
        match via {
            Via::Main => {
                for (k, v) in edited.as_object().into_iter().flatten() {
                    if !matches!(k.as_str(), "status" | "metadata" | "apiVersion" | "kind") {
                        new[k] = v.clone();
                    }
                }
                if let Some(m) = new.as_object_mut() {
                    let gone: Vec<String> = m
                        .keys()
                        .filter(|k| edited.get(k.as_str()).is_none())
                        .cloned()
                        .collect();
                    gone.iter().for_each(|k| drop(m.remove(k)));
                }
            }
            Via::Status => new["status"] = edited["status"].clone(),
            Via::Scale => new["spec"]["replicas"] = edited["spec"]["replicas"].clone(),
        }
        for field in ["labels", "annotations", "ownerReferences", "finalizers"] {
            match edited.pointer(&format!("/metadata/{field}")) {
                Some(v) => drop(meta(&mut new).insert(field.into(), v.clone())),
                None => drop(meta(&mut new).remove(field)),
            }
        }
        let sub = match via {
            Via::Main => None,
            Via::Status => Some("status"),
            Via::Scale => Some("scale"),
        };
        let entries = ssa::update(key.0, &old.obj, &new, &old.entries, manager, sub);
        self.commit(key.clone(), Some(&old), new, entries, via)
    }

    /// Creates `obj` in `ns` as an Update-operation write by `manager` (how controllers and
    /// kubectl create objects); 409 if it exists.
    pub(crate) fn create(&mut self, kind: Kind, ns: &str, obj: Value, manager: &str) -> Reply {
        if !self.namespaces.contains_key(ns) {
            return status::namespace_not_found(ns);
        }
        let name = str_at(&obj, "/metadata/name").unwrap_or("").to_owned();
        let key = (kind, ns.to_owned(), name.clone());
        if self.objects.contains_key(&key) {
            return status::already_exists(kind, &name);
        }
        let errors = defaults::name_errors(kind, &name);
        if !errors.is_empty() {
            return status::invalid(kind, &name, &errors);
        }
        let entries = ssa::update(kind, &json!({}), &obj, &[], manager, None);
        self.commit(key, None, obj, entries, Via::Main)
    }

    fn commit(
        &mut self,
        key: Key,
        old: Option<&Stored>,
        mut obj: Value,
        entries: Vec<Entry>,
        via: Via,
    ) -> Reply {
        let kind = key.0;
        obj["apiVersion"] = json!(kind.api_version());
        obj["kind"] = json!(kind.name());
        meta(&mut obj).insert("name".into(), json!(key.2));
        meta(&mut obj).insert("namespace".into(), json!(key.1));
        match old {
            Some(old) => {
                if via != Via::Status {
                    match old.obj.get("status") {
                        Some(s) => obj["status"] = s.clone(),
                        None => drop(obj.as_object_mut().map(|m| m.remove("status"))),
                    }
                }
            }
            None => {
                let (uid, now) = (self.ids.uid(), clock::now());
                let m = meta(&mut obj);
                m.insert("uid".into(), json!(uid));
                m.insert("creationTimestamp".into(), json!(now));
                if kind.has_generation() {
                    m.insert("generation".into(), json!(1));
                }
                if let Some(s) = kind.initial_status() {
                    obj["status"] = s;
                }
                if kind == Kind::Service && obj.pointer("/spec/clusterIP").is_none() {
                    self.next_ip += 1;
                    let ip = format!("10.96.{}.{}", self.next_ip / 250, self.next_ip % 250);
                    obj["spec"]["clusterIP"] = json!(ip);
                    obj["spec"]["clusterIPs"] = json!([ip]);
                }
            }
        }
        defaults::apply(kind, &mut obj);
        defaults::tidy(kind, &mut Vec::new(), &mut obj);
        if via != Via::Status {
            let errors = defaults::validate(kind, &obj);
            if !errors.is_empty() {
                return status::invalid(kind, &key.2, &errors);
            }
        }
        if let Some(old) = old {
            if kind.has_generation() && via != Via::Status {
                // Deployments count annotation changes too (the rollback annotation); a
                // PodDisruptionBudget only its spec.
                let changed = obj.get("spec") != old.obj.get("spec")
                    || (kind == Kind::Deployment
                        && obj.pointer("/metadata/annotations")
                            != old.obj.pointer("/metadata/annotations"));
                let generation = old
                    .obj
                    .pointer("/metadata/generation")
                    .and_then(Value::as_i64);
                let next = generation.unwrap_or(1) + i64::from(changed);
                meta(&mut obj).insert("generation".into(), json!(next));
            }
            if obj == old.obj && fields::same_ownership(&entries, &old.entries) {
                // A no-op write is not stored: resourceVersion and timestamps stay (recording 02).
                return self.get(kind, &key.1, &key.2);
            }
        }
        let rv = self.bump();
        meta(&mut obj).insert("resourceVersion".into(), json!(rv));
        let created = old.is_none();
        if let Some(old) = old {
            // A pod that changed owner counts for both Deployments.
            self.touch(&key, &old.obj);
        }
        self.touch(&key, &obj);
        self.objects.insert(key.clone(), Stored { obj, entries });
        let body = self.render(&key).unwrap_or(Value::Null);
        Reply::ok(if created { 201 } else { 200 }, body)
    }

    /// A Deployment's `/scale` as `autoscaling/v1` shows it (recording 24).
    pub(crate) fn scale(&self, ns: &str, name: &str) -> Reply {
        let key = (Kind::Deployment, ns.to_owned(), name.to_owned());
        let Some(stored) = self.objects.get(&key) else {
            return status::not_found(Kind::Deployment, name);
        };
        let d = &stored.obj;
        let mut metadata = Map::new();
        for field in [
            "name",
            "namespace",
            "uid",
            "resourceVersion",
            "creationTimestamp",
        ] {
            if let Some(v) = d.pointer(&format!("/metadata/{field}")) {
                metadata.insert(field.into(), v.clone());
            }
        }
        let selector: Vec<String> = d
            .pointer("/spec/selector/matchLabels")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
            .collect();
        Reply::ok(
            200,
            json!({
                "kind": "Scale", "apiVersion": "autoscaling/v1",
                "metadata": metadata,
                "spec": {"replicas": d.pointer("/spec/replicas").cloned().unwrap_or(json!(1))},
                "status": {
                    "replicas": d.pointer("/status/replicas").cloned().unwrap_or(json!(0)),
                    "selector": selector.join(","),
                },
            }),
        )
    }

    /// `kubectl scale`: `spec.replicas` set through `/scale` by `manager`, the Scale back.
    pub(crate) fn set_scale(
        &mut self,
        ns: &str,
        name: &str,
        replicas: i64,
        manager: &str,
    ) -> Reply {
        let key = (Kind::Deployment, ns.to_owned(), name.to_owned());
        let reply = self.update(&key, manager, Via::Scale, |d| {
            d["spec"]["replicas"] = json!(replicas);
        });
        if reply.code != 200 {
            return reply;
        }
        self.scale(ns, name)
    }

    /// DELETE: pods (graceful) and foreground deletions of any kind linger with
    /// `deletionTimestamp` until the controller finishes them, even an object with no
    /// dependents (recordings 28 and 44); everything else goes at once. `Orphan` strips owner
    /// references from pods.
    pub(crate) fn delete(&mut self, key: &Key, propagation: Option<&str>) -> Reply {
        let Some(stored) = self.objects.get(key).cloned() else {
            return status::not_found(key.0, &key.2);
        };
        let graceful = key.0 == Kind::Pod;
        let foreground = !graceful && propagation == Some("Foreground");
        if graceful || foreground {
            if stored.obj.pointer("/metadata/deletionTimestamp").is_none() {
                let rv = self.bump();
                self.touch(key, &stored.obj);
                if let Some(s) = self.objects.get_mut(key) {
                    let generation = s
                        .obj
                        .pointer("/metadata/generation")
                        .and_then(Value::as_i64);
                    let m = meta(&mut s.obj);
                    m.insert("deletionTimestamp".into(), json!(clock::now()));
                    m.insert("resourceVersion".into(), json!(rv));
                    if graceful {
                        m.insert("deletionGracePeriodSeconds".into(), json!(30));
                    } else {
                        // Setting the deletion bumps a kind with generations (recording 28).
                        m.insert("deletionGracePeriodSeconds".into(), json!(0));
                        m.insert("finalizers".into(), json!(["foregroundDeletion"]));
                        if let Some(generation) = generation {
                            m.insert("generation".into(), json!(generation + 1));
                        }
                    }
                }
            }
            return self.get(key.0, &key.1, &key.2);
        }
        if key.0 == Kind::Deployment && propagation == Some("Orphan") {
            self.orphan_pods_of(&key.1, &key.2);
        }
        self.remove(key);
        let uid = str_at(&stored.obj, "/metadata/uid").unwrap_or("");
        status::deleted(key.0, &key.2, uid)
    }

    fn orphan_pods_of(&mut self, ns: &str, deployment: &str) {
        for (key, s) in self.objects.iter_mut() {
            let (kind, pod_ns, _) = key;
            if *kind == Kind::Pod && pod_ns == ns && owning_deployment(&s.obj) == Some(deployment) {
                meta(&mut s.obj).remove("ownerReferences");
                self.changed.insert(key.clone());
            }
        }
    }
}

/// The Deployment that owns a pod through its ReplicaSet (`<deployment>-<pod-template-hash>`).
pub(crate) fn owning_deployment(pod: &Value) -> Option<&str> {
    let rs = str_at(pod, "/metadata/ownerReferences/0/name")?;
    let hash = str_at(pod, "/metadata/labels/pod-template-hash")?;
    rs.strip_suffix(hash)?.strip_suffix('-')
}
