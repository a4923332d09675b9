//! An in-process test double of kube-apiserver (plus the Deployment/ReplicaSet controllers and a
//! kubelet) that answers the requests konoha makes exactly as the recordings in
//! `tests/fixtures/k8s-api` show a real 1.32 cluster answering them.
//!
//! Start one per test with [`KubeDouble::start`] (on the test's tokio runtime) or
//! [`KubeDouble::start_background`] (own thread; use it when the test blocks, e.g. waits on a
//! `terraform` child process), point a client at [`KubeDouble::write_kubeconfig`], and steer or
//! inspect it with the control methods. Served: namespaced ConfigMaps, Secrets, Services,
//! ServiceAccounts, Pods, Events, Deployments, Roles, RoleBindings and PodDisruptionBudgets
//! (stored and defaulted, with no disruption controller filling in their status) with GET, list (label and
//! field selectors), server-side apply (PATCH `application/apply-patch+yaml`, JSON bodies), DELETE
//! and deletecollection; a Deployment's `/scale` (GET and merge patch); `GET /api/v1/namespaces/{ns}`
//! and `GET /version`; TokenReview (`POST /apis/authentication.k8s.io/v1/tokenreviews`) of the
//! service-account tokens [`KubeDouble::issue_service_account_token`] hands out, which also
//! authenticate requests as bearer tokens.
//!
//! Leaves out watches, other POSTs and PUT, strategic-merge and JSON patches, TLS, cluster-scoped kinds and
//! admission plugins; see each file's header for what it simplifies. Pods of a Deployment never
//! become ready when a container image contains `broken`, or after [`KubeDouble::set_never_ready`].
//!
//! Include it as `#[path = "support/kube_double/mod.rs"] mod kube_double;` or through a
//! `tests/support/mod.rs` with `pub mod kube_double;`.

// Each test crate uses a different part of the control API.
#![allow(dead_code)]

mod api;
mod clock;
mod conditions;
mod controller;
mod defaults;
pub(crate) mod faults;
mod fields;
mod kubelet;
mod schema;
mod server;
mod ssa;
mod status;
mod store;
mod tokenreview;

use serde_json::{Value, json};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};
use store::{Store, Via};
use tokio::task::JoinHandle;

/// The bearer token written into the kubeconfig. Requests without a token are allowed too
/// (anonymous); a different token gets 401.
pub(crate) const TOKEN: &str = "double-token";

/// Everything behind the double's one lock.
#[derive(Debug)]
pub(crate) struct State {
    store: Store,
    controller: controller::Controller,
    log: Vec<(String, String)>,
    /// The bearer token accepted: [`TOKEN`] unless a test chose another.
    token: String,
    faults: faults::Faults,
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    // A panicking test thread must not take the double down for the other requests.
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

/// How the double's tasks are stopped when the handle is dropped.
#[derive(Debug)]
enum Stopper {
    Tasks(Vec<JoinHandle<()>>),
    Thread(Option<tokio::sync::oneshot::Sender<()>>),
}

/// A running double; dropping it shuts the server and controllers down.
#[derive(Debug)]
pub(crate) struct KubeDouble {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    stopper: Stopper,
}

impl Drop for KubeDouble {
    fn drop(&mut self) {
        match &mut self.stopper {
            Stopper::Tasks(tasks) => tasks.iter().for_each(JoinHandle::abort),
            Stopper::Thread(tx) => {
                if let Some(tx) = tx.take() {
                    // The thread may already be gone (runtime shut down); nothing left to stop.
                    let _ = tx.send(());
                }
            }
        }
    }
}

fn new_state() -> Arc<Mutex<State>> {
    Arc::new(Mutex::new(State {
        store: Store::new(),
        controller: controller::Controller::default(),
        log: Vec::new(),
        token: TOKEN.to_owned(),
        faults: faults::Faults::default(),
    }))
}

fn bind() -> std::net::TcpListener {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap_or_else(|e| panic!("kube double: cannot bind 127.0.0.1:0: {e}"));
    listener
        .set_nonblocking(true)
        .unwrap_or_else(|e| panic!("kube double: cannot make the listener non-blocking: {e}"));
    listener
}

fn local_addr(listener: &std::net::TcpListener) -> SocketAddr {
    listener
        .local_addr()
        .unwrap_or_else(|e| panic!("kube double: no local address: {e}"))
}

impl KubeDouble {
    /// Starts a double on the current tokio runtime, listening on a free port of 127.0.0.1.
    /// With a current-thread runtime the double only answers while the test is awaiting.
    pub(crate) async fn start() -> KubeDouble {
        let std_listener = bind();
        let addr = local_addr(&std_listener);
        let listener = tokio::net::TcpListener::from_std(std_listener)
            .unwrap_or_else(|e| panic!("kube double: cannot register the listener: {e}"));
        let state = new_state();
        let tasks = vec![
            tokio::spawn(server::serve(listener, state.clone())),
            tokio::spawn(server::run_controllers(state.clone())),
        ];
        KubeDouble {
            addr,
            state,
            stopper: Stopper::Tasks(tasks),
        }
    }

    /// Starts a double on a thread of its own, so it keeps answering while the test blocks.
    pub(crate) fn start_background() -> KubeDouble {
        let std_listener = bind();
        let addr = local_addr(&std_listener);
        let state = new_state();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let thread_state = state.clone();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap_or_else(|e| panic!("kube double: cannot build a runtime: {e}"));
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(std_listener)
                    .unwrap_or_else(|e| panic!("kube double: cannot register the listener: {e}"));
                let serve = tokio::spawn(server::serve(listener, thread_state.clone()));
                let control = tokio::spawn(server::run_controllers(thread_state));
                // Either a shutdown signal or the handle's drop (closed channel) ends the double.
                let _ = rx.await;
                serve.abort();
                control.abort();
            });
        });
        KubeDouble {
            addr,
            state,
            stopper: Stopper::Thread(Some(tx)),
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Writes `dir/kubeconfig` (cluster, context and user all named `double`, token
    /// [`TOKEN`], namespace `default`) and returns its path.
    pub(crate) fn write_kubeconfig(&self, dir: &Path) -> PathBuf {
        let path = dir.join("kubeconfig");
        let text = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: double\n  cluster:\n    server: {}\n\
             contexts:\n- name: double\n  context:\n    cluster: double\n    user: double\n    namespace: default\n\
             current-context: double\nusers:\n- name: double\n  user:\n    token: {TOKEN}\npreferences: {{}}\n",
            self.url()
        );
        std::fs::write(&path, text)
            .unwrap_or_else(|e| panic!("kube double: cannot write {}: {e}", path.display()));
        path
    }

    /// Creates a namespace (`default`, `kube-system` and `kube-public` exist from the start).
    pub(crate) fn create_namespace(&self, ns: &str) {
        lock(&self.state).store.create_namespace(ns);
    }

    /// Sends a request straight to the handlers (not logged): `(status code, body)`.
    /// `api_path` may carry a query (`?labelSelector=...`).
    pub(crate) fn request(
        &self,
        method: &str,
        api_path: &str,
        content_type: &str,
        body: Option<&Value>,
    ) -> (u16, Value) {
        let (path, query) = api_path.split_once('?').unwrap_or((api_path, ""));
        let bytes = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
        let request = api::Request {
            method,
            path,
            query,
            content_type,
            user_agent: "konoha-test",
            body: &bytes,
        };
        let reply = api::handle(&mut lock(&self.state).store, &request);
        (reply.code, reply.body)
    }

    /// What a GET of `api_path` (object or list) returns, or `None` unless it answers 200.
    pub(crate) fn get(&self, api_path: &str) -> Option<Value> {
        match self.request("GET", api_path, "", None) {
            (200, body) => Some(body),
            _ => None,
        }
    }

    /// Server-side apply of `body` by `manager` (out-of-band edits): the object, or the
    /// failure `Status` body (e.g. a 409 conflict).
    pub(crate) fn apply_as(
        &self,
        manager: &str,
        api_path: &str,
        body: &Value,
        force: bool,
    ) -> Result<Value, Value> {
        let sep = if api_path.contains('?') { '&' } else { '?' };
        let path = format!("{api_path}{sep}fieldManager={manager}&force={force}");
        match self.request("PATCH", &path, "application/apply-patch+yaml", Some(body)) {
            (200 | 201, o) => Ok(o),
            (_, status) => Err(status),
        }
    }

    /// An Update-operation edit by `manager` (like `kubectl edit`): `mutate` changes the object;
    /// `status` and server-set metadata changes are ignored, as on the main resource.
    pub(crate) fn update_as(
        &self,
        manager: &str,
        api_path: &str,
        mutate: impl FnOnce(&mut Value),
    ) -> Result<Value, Value> {
        let Some(key) = api::object_key(api_path) else {
            return Err(status::no_route().body);
        };
        let reply = lock(&self.state)
            .store
            .update(&key, manager, Via::Main, mutate);
        if reply.code == 200 {
            Ok(reply.body)
        } else {
            Err(reply.body)
        }
    }

    /// What `kubectl rollout restart deployment/NAME -n NS` does: sets the pod-template
    /// annotation `kubectl.kubernetes.io/restartedAt` to now as manager `kubectl-rollout`.
    pub(crate) fn rollout_restart(&self, ns: &str, name: &str) -> Result<Value, Value> {
        let path = format!("/apis/apps/v1/namespaces/{ns}/deployments/{name}");
        let now = clock::now();
        self.update_as("kubectl-rollout", &path, |d| {
            d["spec"]["template"]["metadata"]["annotations"]["kubectl.kubernetes.io/restartedAt"] =
                json!(now);
        })
    }

    /// What `kubectl scale deployment/NAME --replicas=N` does: `spec.replicas` set through
    /// `/scale` by `manager` (an Update entry with subresource `scale`); the Scale, or the
    /// failure `Status` body.
    pub(crate) fn scale_as(
        &self,
        manager: &str,
        ns: &str,
        name: &str,
        replicas: i64,
    ) -> Result<Value, Value> {
        let reply = lock(&self.state)
            .store
            .set_scale(ns, name, replicas, manager);
        if reply.code == 200 {
            Ok(reply.body)
        } else {
            Err(reply.body)
        }
    }

    /// DELETE of `api_path` (object or collection, with a query): the response body, or the
    /// failure `Status` body.
    pub(crate) fn delete(&self, api_path: &str) -> Result<Value, Value> {
        match self.request("DELETE", api_path, "", None) {
            (200, body) => Ok(body),
            (_, status) => Err(status),
        }
    }

    /// Creates a running, ready pod (say, a Spark driver) with `labels`; returns it.
    pub(crate) fn create_pod(&self, ns: &str, name: &str, labels: &[(&str, &str)]) -> Value {
        let labels: serde_json::Map<String, Value> = labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), json!(v)))
            .collect();
        let pod = json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": ns, "labels": labels},
            "spec": {"containers": [{"name": "spark-kubernetes-driver", "image": "apache/spark:3.5.1"}]}
        });
        let mut guard = lock(&self.state);
        let created = guard
            .store
            .create(schema::Kind::Pod, ns, pod, "spark-submit");
        if created.code != 201 {
            panic!(
                "kube double: create_pod {ns}/{name} failed: {}",
                created.body
            );
        }
        let key = (schema::Kind::Pod, ns.to_owned(), name.to_owned());
        let body = created.body.clone();
        guard.store.update(&key, "kubelet", Via::Status, |p| {
            p["status"] = kubelet::running(&body, true);
        });
        guard.store.render(&key).unwrap_or(Value::Null)
    }

    /// `(kind, namespace, name)` of every object whose labels match `selector` (`a=b,c`).
    pub(crate) fn objects_with_label(&self, selector: &str) -> Vec<(String, String, String)> {
        let reqs = api::parse_selector(selector)
            .unwrap_or_else(|e| panic!("kube double: bad selector {selector:?}: {e}"));
        let guard = lock(&self.state);
        guard
            .store
            .objects()
            .iter()
            .filter(|(_, s)| api::selects(&reqs, |k| api::label(&s.obj, k)))
            .map(|((kind, ns, name), _)| (kind.name().to_owned(), ns.clone(), name.clone()))
            .collect()
    }

    /// Every HTTP request so far, as `(method, path?query)`, in arrival order.
    pub(crate) fn requests(&self) -> Vec<(String, String)> {
        lock(&self.state).log.clone()
    }

    /// The requests that could change something (anything but GET).
    pub(crate) fn writes(&self) -> Vec<(String, String)> {
        let log = lock(&self.state).log.clone();
        log.into_iter().filter(|(m, _)| m != "GET").collect()
    }

    /// Empties the request log.
    pub(crate) fn clear_requests(&self) {
        lock(&self.state).log.clear();
    }

    /// Accepts `token` as the bearer token from now on, instead of [`TOKEN`] (which the written
    /// kubeconfig carries), for a test that needs a token nobody else knows.
    pub(crate) fn set_token(&self, token: &str) {
        lock(&self.state).token = token.to_owned();
    }

    /// A service-account token for `ns/name` (the account is created if missing): TokenReview
    /// authenticates it as `system:serviceaccount:<ns>:<name>` while the account exists, and
    /// the server accepts it as a bearer token.
    pub(crate) fn issue_service_account_token(&self, ns: &str, name: &str) -> String {
        let mut guard = lock(&self.state);
        let store = &mut guard.store;
        let key = (schema::Kind::ServiceAccount, ns.to_owned(), name.to_owned());
        if store.render(&key).is_none() {
            let account = json!({
                "apiVersion": "v1", "kind": "ServiceAccount",
                "metadata": {"name": name, "namespace": ns}
            });
            let created = store.create(schema::Kind::ServiceAccount, ns, account, "kubectl-create");
            if created.code != 201 {
                panic!(
                    "kube double: cannot create service account {ns}/{name}: {}",
                    created.body
                );
            }
        }
        let uid = store
            .render(&key)
            .and_then(|a| a.pointer("/metadata/uid")?.as_str().map(str::to_owned))
            .unwrap_or_default();
        store.tokens.issue(&mut store.ids, ns, name, &uid)
    }

    /// The `spec.token` of every TokenReview received, in arrival order.
    pub(crate) fn reviewed_tokens(&self) -> Vec<String> {
        lock(&self.state).store.tokens.reviewed.clone()
    }

    /// Makes the requests `fault` matches fail (see [`faults`]), after the faults already set.
    pub(crate) fn inject(&self, fault: faults::Fault) {
        lock(&self.state).faults.push(fault);
    }

    /// Removes every injected fault: the double answers normally again.
    pub(crate) fn clear_faults(&self) {
        lock(&self.state).faults.clear();
    }

    /// Makes the pods of deployment `ns/name` never become ready (or ready again), like an
    /// image containing `broken` does; only pods created afterwards are affected.
    pub(crate) fn set_never_ready(&self, ns: &str, name: &str, never: bool) {
        let key = (ns.to_owned(), name.to_owned());
        let mut guard = lock(&self.state);
        if never {
            guard.controller.never_ready.insert(key);
        } else {
            guard.controller.never_ready.remove(&key);
        }
    }

    /// Polls `done` every 20 ms until it holds or `timeout` passes; true if it held.
    pub(crate) async fn wait_for(
        &self,
        timeout: Duration,
        mut done: impl FnMut(&KubeDouble) -> bool,
    ) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if done(self) {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}
